// talosconfig parsing and writing, endpoint syntax, and the Ed25519 key label Node's TLS needs.
import { createPrivateKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createOsCA, issueClientCert, talosKeyLabel, type CertPair, type Issuer } from '../../hack/talos-sim/pki.js';
import {
  nodeTlsKey,
  parseTalosconfig,
  selectContext,
  serializeTalosconfig,
  TalosconfigError,
} from '../../src/talos/talosconfig.js';
import { EndpointError, formatEndpoint, parseEndpoint } from '../../src/talos/endpoint.js';
import { nodeFailureStatus } from '../../src/subresources/failures.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('talosconfig', () => {
  let ca: Issuer;
  let admin: CertPair;
  let talosKey: string;
  beforeAll(async () => {
    ca = await createOsCA();
    admin = await issueClientCert(ca, ['os:admin']);
    talosKey = talosKeyLabel(admin.keyPem, 'ed25519');
  });

  function file(ctx: Record<string, unknown> = {}, top: Record<string, unknown> = {}): string {
    return stringify({
      context: 'prod',
      contexts: {
        prod: {
          endpoints: ['10.0.0.5', '[fd00::5]:50000'],
          nodes: ['10.0.0.6'],
          ca: b64(ca.certPem),
          crt: b64(admin.certPem),
          key: b64(talosKey),
          ...ctx,
        },
      },
      ...top,
    });
  }

  it('parses the active context, decoding base64 PEM', () => {
    const config = parseTalosconfig(file());
    expect(config.context).toBe('prod');
    const ctx = selectContext(config);
    expect(ctx.endpoints).toEqual(['10.0.0.5', '[fd00::5]:50000']);
    expect(ctx.nodes).toEqual(['10.0.0.6']);
    expect(ctx.ca).toBe(ca.certPem);
    expect(ctx.key).toContain('BEGIN ED25519 PRIVATE KEY');
  });

  it('round-trips through serialize', () => {
    const config = parseTalosconfig(file());
    expect(parseTalosconfig(serializeTalosconfig(config))).toEqual(config);
  });

  it('merges the legacy target key into endpoints; nodes and endpoints may be absent', () => {
    const ctx = selectContext(parseTalosconfig(file({ endpoints: undefined, nodes: undefined, target: '10.9.9.9' })));
    expect(ctx.endpoints).toEqual(['10.9.9.9']);
    expect(ctx.nodes).toEqual([]);
  });

  it('re-labels ED25519 PRIVATE KEY so Node can load it', () => {
    expect(() => createPrivateKey(talosKey)).toThrow();
    const key = createPrivateKey(nodeTlsKey(talosKey));
    expect(key.asymmetricKeyType).toBe('ed25519');
    // other labels are left alone
    expect(nodeTlsKey(admin.keyPem)).toBe(admin.keyPem);
  });

  const malformed: [string, () => string, RegExp][] = [
    ['not YAML', () => 'context: [unclosed', /not valid YAML \(line \d+, column \d+\)/],
    ['not a mapping', () => '- a\n- b\n', /must be a YAML mapping/],
    ['no context', () => stringify({ contexts: {} }), /context: must name the active context/],
    [
      'unknown context',
      () => file().replace('context: prod', 'context: staging'),
      /names "staging", which is not in contexts/,
    ],
    ['endpoints not a list', () => file({ endpoints: 'nope' }), /contexts\.prod\.endpoints: must be a list of strings/],
    ['ca missing', () => file({ ca: undefined }), /contexts\.prod\.ca: is required/],
    ['crt not base64', () => file({ crt: '***not base64***' }), /contexts\.prod\.crt: is not base64/],
    [
      'key not PEM',
      () => file({ key: b64('just some text') }),
      /contexts\.prod\.key: does not decode to the expected PEM block/,
    ],
  ];

  it.each(malformed)(
    'rejects %s with a typed error (a 400 where a request carried it) that names the key, never its value',
    (_label, input, message) => {
      let err: unknown;
      try {
        parseTalosconfig(input());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TalosconfigError);
      const e = err as TalosconfigError;
      expect(nodeFailureStatus(e)?.toStatus()).toMatchObject({ code: 400, reason: 'BadRequest', message: e.message });
      expect(e.message).toMatch(message);
      expect(e.message).not.toMatch(/PRIVATE KEY|LS0tLS1/);
    },
  );

  it('a YAML error inside a key line does not echo the key', () => {
    const text = `context: prod\ncontexts:\n  prod:\n    key: "${b64(talosKey)}\n    crt: [`;
    expect(() => parseTalosconfig(text)).toThrow(TalosconfigError);
    try {
      parseTalosconfig(text);
    } catch (e) {
      expect((e as Error).message).not.toContain(b64(talosKey).slice(0, 20));
    }
  });
});

describe('endpoints', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5', 50000],
    ['10.0.0.5:50001', '10.0.0.5', 50001],
    ['node-1.example.com', 'node-1.example.com', 50000],
    ['node-1:123', 'node-1', 123],
    ['[fd00::5]:50000', 'fd00::5', 50000],
    ['[::1]', '::1', 50000],
    ['fd00::5', 'fd00::5', 50000],
  ])('%s', (text, host, port) => {
    expect(parseEndpoint(text)).toEqual({ host, port });
  });

  it.each([
    '',
    'https://10.0.0.5',
    '10.0.0.5:0',
    '10.0.0.5:70000',
    '10.0.0.5:x',
    '[10.0.0.5]:1',
    'bad host:1',
    'a:b:c',
  ])('rejects %j', (text) => {
    let err: unknown;
    try {
      parseEndpoint(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EndpointError);
    expect(nodeFailureStatus(err)?.toStatus()).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: (err as Error).message,
    });
  });

  it('formats IPv6 in brackets', () => {
    expect(formatEndpoint({ host: 'fd00::5', port: 50000 })).toBe('[fd00::5]:50000');
    expect(formatEndpoint({ host: '10.0.0.5', port: 1 })).toBe('10.0.0.5:1');
  });
});
