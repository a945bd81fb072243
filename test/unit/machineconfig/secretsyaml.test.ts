// secrets.yaml import and export in talosctl's format.
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateSecretsBundle, type SecretsBundle } from '../../../src/machineconfig/bundle.js';
import { issueCertificate } from '../../../src/machineconfig/pki.js';
import { MAX_SECRETS_YAML_BYTES, parseSecretsYaml, secretsToYaml } from '../../../src/machineconfig/secretsyaml.js';
import { HOUR_MS, NOW } from './helpers.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
type Doc = Record<string, Record<string, unknown>> & { certs: Record<string, Record<string, string>> };

let bundle: SecretsBundle;
let text: string;
beforeAll(async () => {
  bundle = await generateSecretsBundle({ contract: { major: 1, minor: 13 }, now: NOW });
  text = secretsToYaml(bundle);
});

/** the exported file as plain data, for editing into a broken one */
const exported = (): Doc => parse(text) as Doc;

function problemsOf(input: string): { field: string; message: string }[] {
  const r = parseSecretsYaml(input);
  if (r.ok) throw new Error('expected the secrets.yaml to be rejected');
  return r.error.problems.map(({ field, message }) => ({ field, message }));
}

describe('secretsToYaml', () => {
  it("writes talosctl's layout: cluster, secrets, trustdinfo, certs", () => {
    const doc = exported();
    expect(Object.keys(doc)).toEqual(['cluster', 'secrets', 'trustdinfo', 'certs']);
    expect(doc.cluster).toEqual({ id: bundle.cluster.id, secret: bundle.cluster.secret });
    expect(doc.secrets).toEqual({
      bootstraptoken: bundle.secrets.bootstraptoken,
      secretboxencryptionsecret: bundle.secrets.secretboxencryptionsecret,
    });
    expect(doc.trustdinfo).toEqual({ token: bundle.trustdinfo.token });
    expect(Object.keys(doc.certs)).toEqual(['etcd', 'k8s', 'k8saggregator', 'k8sserviceaccount', 'os']);
  });

  it('writes pairs as {crt, key} and the service-account key alone, each base64 of the PEM', () => {
    const { certs } = exported();
    for (const name of ['etcd', 'k8s', 'k8saggregator', 'os'] as const) {
      expect(Object.keys(certs[name] ?? {})).toEqual(['crt', 'key']);
      expect(unb64(certs[name]?.crt ?? '')).toBe(bundle.certs[name].crt);
      expect(unb64(certs[name]?.key ?? '')).toBe(bundle.certs[name].key);
    }
    expect(certs.k8sserviceaccount).toEqual({ key: b64(bundle.certs.k8sserviceaccount.key) });
  });

  it('keeps each base64 value on one line', () => {
    const longest = Math.max(...text.split('\n').map((l) => l.length));
    expect(longest).toBeGreaterThan(1000); // the RSA 4096 key
    expect(
      text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .every((l) => /^ *[a-z0-9]+: ?\S*$/.test(l)),
    ).toBe(true);
  });
});

describe('parseSecretsYaml: round trip', () => {
  it('reads back the bundle it was written from', () => {
    const r = parseSecretsYaml(text);
    expect(r).toEqual({ ok: true, bundle });
  });

  it('import then export is structurally equal to the input, whatever its indentation and key order', () => {
    const doc = exported();
    const reordered = {
      certs: doc.certs,
      trustdinfo: doc.trustdinfo,
      cluster: { secret: doc.cluster.secret, id: doc.cluster.id },
      secrets: doc.secrets,
    };
    const input = stringify(reordered, { indent: 2, lineWidth: 0 });
    const r = parseSecretsYaml(input);
    if (!r.ok) throw r.error;
    expect(parse(secretsToYaml(r.bundle))).toEqual(parse(input));
  });

  it('keeps an OS key given under the generic PKCS#8 label', () => {
    const doc = exported();
    const relabelled = bundle.certs.os.key.replace(/ED25519 PRIVATE KEY/g, 'PRIVATE KEY');
    doc.certs.os = { crt: b64(bundle.certs.os.crt), key: b64(relabelled) };
    const r = parseSecretsYaml(stringify(doc));
    if (!r.ok) throw r.error;
    expect(r.bundle.certs.os.key).toBe(relabelled);
    expect(parse(secretsToYaml(r.bundle))).toEqual(doc);
  });

  it('round-trips an AES-CBC bundle (contract 1.2) without inventing a secretbox secret', async () => {
    const old = await generateSecretsBundle({ contract: { major: 1, minor: 2 } });
    const out = secretsToYaml(old);
    expect(Object.keys((parse(out) as Doc).secrets)).toEqual(['bootstraptoken', 'aescbcencryptionsecret']);
    expect(parseSecretsYaml(out)).toEqual({ ok: true, bundle: old });
  });
});

describe('parseSecretsYaml: problems', () => {
  it('reports every problem at once, each with its path, in file order', async () => {
    const doc = exported();
    delete doc.cluster.secret;
    doc.secrets.bootstraptoken = 'NOT-A-TOKEN';
    doc.secrets.secretboxencryptionsecret = Buffer.alloc(16).toString('base64');
    doc.certs.etcd = { crt: b64(bundle.certs.etcd.key), key: b64(bundle.certs.etcd.key) };
    doc.certs.k8s = { crt: 'not base64!', key: b64(bundle.certs.k8s.key) };
    doc.certs.os = { crt: b64(bundle.certs.os.crt), key: b64(bundle.certs.k8s.key) };
    const leaf = await issueCertificate(bundle.certs.os, { extKeyUsage: ['clientAuth'], lifetimeMs: HOUR_MS });
    doc.certs.k8saggregator = { crt: b64(leaf.crt), key: b64(leaf.key) };
    delete doc.certs.k8sserviceaccount;

    expect(problemsOf(stringify(doc))).toEqual([
      { field: 'cluster.secret', message: 'cluster.secret: Required value' },
      {
        field: 'secrets.bootstraptoken',
        message: 'secrets.bootstraptoken: Invalid value: must match [a-z0-9]{6}.[a-z0-9]{16}',
      },
      {
        field: 'secrets.secretboxencryptionsecret',
        message: 'secrets.secretboxencryptionsecret: Invalid value: must decode to 32 bytes, got 16',
      },
      {
        field: 'certs.etcd.crt',
        message: 'certs.etcd.crt: Invalid value: PEM label "EC PRIVATE KEY" is not CERTIFICATE',
      },
      { field: 'certs.k8s.crt', message: 'certs.k8s.crt: Invalid value: must be base64 of a PEM block' },
      {
        field: 'certs.k8saggregator.crt',
        message:
          'certs.k8saggregator.crt: Invalid value: is not a CA certificate (BasicConstraints CA:TRUE is missing)',
      },
      { field: 'certs.os.key', message: 'certs.os.key: Invalid value: does not match the certificate in certs.os.crt' },
      { field: 'certs.k8sserviceaccount.key', message: 'certs.k8sserviceaccount.key: Required value' },
    ]);
  });

  it('reports wrong types by path without repeating them as missing', () => {
    const doc = exported() as Record<string, unknown> & Doc;
    doc.cluster = 'a string' as never;
    doc.trustdinfo.token = 12345;
    doc.certs.os = ['crt', 'key'] as never;
    expect(problemsOf(stringify(doc)).map((p) => p.message)).toEqual([
      'cluster: Invalid value: must be a mapping',
      'trustdinfo.token: Invalid value: must be a string',
      'certs.os: Invalid value: must be a mapping',
    ]);
  });

  it('does not take tagged values (!!binary, !!set) for mappings or strings', () => {
    const problems = problemsOf(
      'cluster: !!binary AAAA\ntrustdinfo: !!set {a, b}\nsecrets: {bootstraptoken: !!binary AAAA}',
    );
    expect(problems.filter((p) => ['cluster', 'secrets.bootstraptoken', 'trustdinfo'].includes(p.field))).toEqual([
      { field: 'cluster', message: 'cluster: Invalid value: must be a mapping' },
      { field: 'secrets.bootstraptoken', message: 'secrets.bootstraptoken: Invalid value: must be a string' },
      { field: 'trustdinfo', message: 'trustdinfo: Invalid value: must be a mapping' },
    ]);
  });

  it('lists every field of an empty mapping as required', () => {
    expect(problemsOf('{}').map((p) => p.field)).toEqual([
      'cluster.id',
      'cluster.secret',
      'secrets.bootstraptoken',
      'secrets.secretboxencryptionsecret',
      'trustdinfo.token',
      'certs.etcd.crt',
      'certs.etcd.key',
      'certs.k8s.crt',
      'certs.k8s.key',
      'certs.k8saggregator.crt',
      'certs.k8saggregator.key',
      'certs.os.crt',
      'certs.os.key',
      'certs.k8sserviceaccount.key',
    ]);
  });

  it('rejects both encryption secrets at once', () => {
    const doc = exported();
    doc.secrets.aescbcencryptionsecret = doc.secrets.secretboxencryptionsecret;
    expect(problemsOf(stringify(doc))).toEqual([
      {
        field: 'secrets',
        message: 'secrets: Invalid value: only one of secretboxencryptionsecret and aescbcencryptionsecret may be set',
      },
    ]);
  });

  it('rejects an Ed25519 service-account key, which kube-apiserver cannot sign tokens with', () => {
    const doc = exported();
    doc.certs.k8sserviceaccount = {
      key: b64(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    };
    expect(problemsOf(stringify(doc))).toEqual([
      {
        field: 'certs.k8sserviceaccount.key',
        message: 'certs.k8sserviceaccount.key: Invalid value: must be an RSA or ECDSA key, not ed25519',
      },
    ]);
  });

  it('never puts secret values into messages', () => {
    const doc = exported();
    doc.cluster.secret = Buffer.from('a secret that is 35 bytes long.....').toString('base64');
    doc.trustdinfo.token = 'Secret-Token-Value';
    const joined = problemsOf(stringify(doc))
      .map((p) => p.message)
      .join('\n');
    expect(joined).toContain('cluster.secret: Invalid value: must decode to 32 bytes, got 35');
    expect(joined).not.toContain(String(doc.cluster.secret));
    expect(joined).not.toContain('Secret-Token-Value');

    const broken = 'cluster:\n  secret: "hunter2-very-secret\n';
    const messages = problemsOf(broken)
      .map((p) => p.message)
      .join('\n');
    expect(messages).toMatch(/^<root>: Invalid value: not valid YAML \(\w+ at line \d+, column \d+\)/);
    expect(messages).not.toContain('hunter2');
  });

  it('converts to a 422 Invalid Status with one cause per problem', () => {
    const doc = exported();
    delete doc.cluster.id;
    doc.trustdinfo.token = 'x';
    const r = parseSecretsYaml(stringify(doc));
    if (r.ok) throw new Error('expected a failure');
    expect(r.error).toBeInstanceOf(Error);
    expect(r.error.message).toBe(
      'secrets bundle is invalid: [cluster.id: Required value, trustdinfo.token: Invalid value: must match [a-z0-9]{6}.[a-z0-9]{16}]',
    );
    const status = r.error.toStatusError().toStatus();
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', code: 422, reason: 'Invalid' });
    expect(status.details?.causes).toEqual([
      { reason: 'FieldValueRequired', field: 'cluster.id', message: 'Required value' },
      {
        reason: 'FieldValueInvalid',
        field: 'trustdinfo.token',
        message: 'Invalid value: must match [a-z0-9]{6}.[a-z0-9]{16}',
      },
    ]);
    // read from a Secret: named as kube-apiserver names an invalid object, the key in each field
    const stored = r.error.toStatusError({ secret: 'prod-secrets', key: 'secrets.yaml' }).toStatus();
    expect(stored).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message:
        'Secret "prod-secrets" is invalid: [data[secrets.yaml].cluster.id: Required value, data[secrets.yaml].trustdinfo.token: Invalid value: must match [a-z0-9]{6}.[a-z0-9]{16}]',
      details: { name: 'prod-secrets', group: '', kind: 'Secret' },
    });
    expect(stored.details?.causes?.map((c) => c.field)).toEqual([
      'data[secrets.yaml].cluster.id',
      'data[secrets.yaml].trustdinfo.token',
    ]);
  });
});

describe('parseSecretsYaml: garbage', () => {
  const aliasBomb = [
    'a: &a [x, x, x, x, x, x, x, x, x]',
    ...['b', 'c', 'd', 'e', 'f', 'g'].map((k, i) => {
      const prev = 'abcdefg'[i];
      return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(', ')}]`;
    }),
  ].join('\n');
  const inputs: [string, string][] = [
    ['empty text', ''],
    ['null document', 'null'],
    ['a scalar', 'just words'],
    ['a list', '- cluster\n- certs'],
    ['unclosed flow mapping', '{cluster: {id: x'],
    ['bad indentation', 'cluster:\n  id: a\n secret: b'],
    ['duplicate keys', 'cluster: {}\ncluster: {}'],
    ['undefined alias', 'cluster: *nope'],
    ['an alias bomb', aliasBomb],
    ['two documents', 'cluster: {}\n---\ncerts: {}'],
    ['binary noise', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256)).toString('latin1')],
    ['a JSON number', '42'],
    ['too large', `x: "${'a'.repeat(MAX_SECRETS_YAML_BYTES)}"`],
    ['tags and anchors on every field', 'cluster: !!map &c {id: !!binary AAAA, secret: !!int 5}\ncerts: *c'],
  ];

  it('names the alias problem', () => {
    expect(problemsOf(aliasBomb).map((p) => p.message)).toEqual([
      '<root>: Invalid value: the document expands too many aliases',
    ]);
    expect(problemsOf('cluster: *nope').map((p) => p.message)).toEqual([
      '<root>: Invalid value: an alias has no anchor defined before it',
    ]);
  });

  it.each(inputs)('%s: returns problems, never throws', (_, input) => {
    const r = parseSecretsYaml(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.problems.length).toBeGreaterThan(0);
    for (const p of r.error.problems) {
      expect(typeof p.field).toBe('string');
      expect(p.message.length).toBeGreaterThan(0);
    }
  });
});
