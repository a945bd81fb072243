// Every problem is listed, each with its path and line; none quotes a secret.
import { beforeAll, describe, expect, it } from 'vitest';
import { base64OfText } from '../../../../src/machineconfig/base64.js';
import { validateMachineConfig } from '../../../../src/machineconfig/validate/index.js';
import { expectProblem, makeSecrets, TALOS_BY_FAMILY, yamlWith, type FixtureSecrets } from './fixtures.js';

let s: FixtureSecrets;
beforeAll(async () => {
  s = await makeSecrets();
});

describe('a config with many problems', () => {
  it('lists all of them, with lines pointing at the offending keys', () => {
    const yaml = yamlWith(s, '1.12', 'worker', (d) => {
      d[0].persist = false;
      d[0].machine.ca.key = base64OfText(s.os.key);
      d[0].machine.install.grubUseUKICmdlin = true;
      d[0].machine.install.extraKernelArgs = ['console=ttyS0'];
      d[0].machine.kubelet.image = 'ghcr.io/siderolabs/kubelet:v1.20.0';
      d[0].machine.network.interfaces = [{ interface: 'eth0', vip: { ip: '10.0.0.10' } }];
      d[0].cluster.controlPlane.endpoint = 'http://cp.example.com';
      d[0].cluster.network.podSubnets = ['10.244.0.0/99'];
      d[0].cluster.token = 'wrong';
      d[0].cluster.etcd = { subnet: '10.0.0.0/8' };
      d[1].hostname = 'node-1';
    });
    const problems = validateMachineConfig(yaml, { talosVersion: TALOS_BY_FAMILY['1.12'], mode: 'metal' });
    const expected: [string, string][] = [
      ['persist', 'must not be false'],
      ['machine.ca.key', 'must be empty on a worker'],
      ['machine.install.grubUseUKICmdlin', 'unknown key'],
      ['machine.install.extraKernelArgs', 'cannot be used with grubUseUKICmdline'],
      ['machine.kubelet.image', 'outside the range'],
      ['machine.network.interfaces[0].vip', 'control-plane nodes only'],
      ['cluster.controlPlane.endpoint', 'https://'],
      ['cluster.network.podSubnets[0]', 'not a CIDR'],
      ['cluster.token', 'token shape'],
      ['cluster.etcd', 'must not be set on a worker'],
      // no schema of 1.8 to 1.14 lists etcd's `subnet`
      ['cluster.etcd.subnet', 'unknown key'],
      ['documents[1] (HostnameConfig)', 'exactly one of auto and hostname'],
    ];
    const lines = yaml.split('\n');
    for (const [path, fragment] of expected) {
      const p = expectProblem(problems, path, fragment);
      expect(p.line, `line of ${path}`).toBeGreaterThan(0);
      // the line holds the path's last key, or the list item for an indexed path (a document: its first line)
      const line = lines[(p.line ?? 0) - 1] ?? '';
      if (/\]$/.test(path) && !path.startsWith('documents')) expect(line.trimStart(), `line of ${path}`).toMatch(/^- /);
      else if (!path.startsWith('documents'))
        expect(line, `line of ${path}`).toContain(`${/[A-Za-z]+$/.exec(path)?.[0] ?? ''}:`);
    }
    expect(problems.filter((p) => p.severity === 'error')).toHaveLength(expected.length);
  });

  it('never quotes tokens, secrets or keys in messages', () => {
    const yaml = yamlWith(s, '1.13', 'worker', (d) => {
      d[0].machine.token = 'Secret.Trustd.Token.Value';
      d[0].cluster.token = 'SECRET-bootstrap-token';
      d[0].cluster.secret = 'c2VjcmV0LXRoYXQtaXMtdG9vLXNob3J0';
      d[0].cluster.id = 'not*base64*cluster*id';
      d[0].cluster.aescbcEncryptionSecret = 'YWVzY2JjLXNlY3JldC1iYWQtbGVuZ3Ro';
      d[0].cluster.secretboxEncryptionSecret = 'c2VjcmV0Ym94LWJhZA==';
      d[0].cluster.ca.key = base64OfText(s.k8s.key);
    });
    const problems = validateMachineConfig(yaml, { talosVersion: 'v1.13' });
    expect(problems.length).toBeGreaterThanOrEqual(7);
    const text = JSON.stringify(problems);
    for (const secret of [
      'Secret.Trustd.Token.Value',
      'SECRET-bootstrap-token',
      'c2VjcmV0LXRoYXQtaXMtdG9vLXNob3J0',
      'not*base64*cluster*id',
      'YWVzY2JjLXNlY3JldC1iYWQtbGVuZ3Ro',
      'c2VjcmV0Ym94LWJhZA==',
      base64OfText(s.k8s.key).slice(0, 24),
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
