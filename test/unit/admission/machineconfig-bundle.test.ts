// A new cluster's secrets bundle is created once: two writes of the cluster racing through
// admission (its create and the controller's first status write, or two replicas) must not store
// two bundles, and the talosconfig must be signed by the one that was stored.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/machinery/kind.js';
import type { APIRegistry } from '../../../src/machinery/registry/apis.js';
import { systemContext } from '../../../src/machinery/registry/context.js';
import { talosConfigAdmission } from '../../../src/admission/machineconfig.js';
import type { SecretStore, StoredSecret } from '../../../src/secrets/secretstore.js';
import { parseSecretsYaml } from '../../../src/machineconfig/secretsyaml.js';
import { parseTalosconfig } from '../../../src/talos/talosconfig.js';

/** Secrets in memory; every call yields first, so concurrent callers interleave as over the network */
function memorySecrets(): SecretStore & { stored: Map<string, StoredSecret>; creates: string[] } {
  const stored = new Map<string, StoredSecret>();
  const creates: string[] = [];
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    stored,
    creates,
    async get(ns, name) {
      await tick();
      return stored.get(`${ns}/${name}`)?.data;
    },
    async create(ns, s) {
      await tick();
      creates.push(s.name);
      if (stored.has(`${ns}/${s.name}`)) return false;
      stored.set(`${ns}/${s.name}`, structuredClone(s));
      return true;
    },
    async put(ns, s) {
      await tick();
      stored.set(`${ns}/${s.name}`, structuredClone(s));
    },
    async delete(ns, name) {
      await tick();
      stored.delete(`${ns}/${name}`);
    },
  };
}

const cluster: KubeObject = {
  apiVersion: 'vitistack.io/v1alpha1',
  kind: 'KubernetesCluster',
  metadata: { name: 'race', namespace: 'ns', uid: 'u1' },
  spec: {
    data: { clusterId: 'race-id' },
    topology: { version: '1.33', controlplane: { replicas: 1, version: '1.33' } },
    talos: { endpoint: 'https://10.0.0.1:6443', version: 'v1.13.9' },
  },
};

describe('the secrets bundle of a new cluster', () => {
  it('is stored once when two writes race, and the talosconfig is signed by the stored one', async () => {
    const secrets = memorySecrets();
    const hooks = talosConfigAdmission({
      registry: () => ({}) as APIRegistry,
      secrets,
      log: pino({ level: 'silent' }),
    });
    const a = systemContext();
    const b = systemContext();
    await Promise.all([hooks.committed!('CREATE', cluster, a), hooks.committed!('UPDATE', cluster, b)]);
    expect([a.warnings, b.warnings]).toEqual([[], []]);
    // both tried, one won
    expect(secrets.creates.filter((n) => n === 'race-talos-secrets')).toHaveLength(2);
    const bundle = parseSecretsYaml(secrets.stored.get('ns/race-talos-secrets')!.data['secrets.yaml']!);
    if (!bundle.ok) throw new Error('the stored bundle does not parse');
    const talosconfig = parseTalosconfig(secrets.stored.get('ns/race-talosconfig')!.data.talosconfig!);
    expect(talosconfig.contexts.race!.ca.trim()).toBe(bundle.bundle.certs.os.crt.trim());
  });
});
