// apid's authorization in the simulator, seen through the client's error mapping: roles from
// Subject O per method, EKU exactly [clientAuth], and client chains that must reach the OS CA.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCA, issueClientCert } from '../../hack/talos-sim/pki.js';
import { nodeTlsKey } from '../../src/talos/talosconfig.js';
import { clientFor, clientWithCert, controlPlane, expectFailure, simulator, type Simulator } from './helpers.js';

describe('simulator authorization', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await simulator({ nodes: 2 });
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('a reader may read but is refused Kubeconfig -> 403 PermissionDenied', async () => {
    const reader = await clientWithCert(sim, controlPlane(sim), ['os:reader']);
    try {
      expect((await reader.version()).version.tag).toBe('v1.13.9');
      expect((await reader.etcdMemberList()).length).toBe(1);
      const e = await expectFailure(reader.kubeconfig(), 'PermissionDenied', 403);
      expect(e.reason).toBe('Forbidden');
      expect(e.message).toContain('os:admin');
      await expectFailure(reader.reboot(), 'PermissionDenied', 403);
    } finally {
      reader.close();
    }
  });

  it('an operator may reboot but not upgrade', async () => {
    const operator = await clientWithCert(sim, controlPlane(sim), ['os:operator']);
    try {
      await expectFailure(
        operator.upgrade({ image: 'ghcr.io/siderolabs/installer:v1.13.10' }),
        'PermissionDenied',
        403,
      );
      await expectFailure(
        operator.applyConfiguration({ data: 'version: v1alpha1\n', mode: 'AUTO' }),
        'PermissionDenied',
        403,
      );
    } finally {
      operator.close();
    }
  });

  it('etcd:backup may read etcd status but not the version', async () => {
    const backup = await clientWithCert(sim, controlPlane(sim), ['os:etcd:backup']);
    try {
      expect((await backup.etcdStatus()).memberId).toMatch(/^\d+$/);
      await expectFailure(backup.version(), 'PermissionDenied', 403);
    } finally {
      backup.close();
    }
  });

  it('a certificate with no role is refused everything', async () => {
    const nobody = await clientWithCert(sim, controlPlane(sim), []);
    try {
      await expectFailure(nobody.version(), 'PermissionDenied', 403);
    } finally {
      nobody.close();
    }
  });

  it('a client certificate with EKU serverAuth+clientAuth is refused, even as admin', async () => {
    const both = await clientWithCert(sim, controlPlane(sim), ['os:admin'], ['serverAuth', 'clientAuth']);
    try {
      const e = await expectFailure(both.version(), 'Unauthenticated', 403);
      expect(e.message).toContain('exactly [clientAuth]');
    } finally {
      both.close();
    }
  });

  it('a client certificate from another CA fails the TLS handshake -> 503 TLSError', async () => {
    const otherCA = await createCA('talos', 'ed25519');
    const foreign = await issueClientCert(otherCA, ['os:admin']);
    const client = clientFor(sim, controlPlane(sim), {
      crt: foreign.certPem,
      key: nodeTlsKey(foreign.keyPem),
      timeoutMs: 3_000,
    });
    try {
      const e = await expectFailure(client.version(), 'TLSError', 503);
      expect(e.message).not.toContain('PRIVATE KEY');
    } finally {
      client.close();
    }
  });
});
