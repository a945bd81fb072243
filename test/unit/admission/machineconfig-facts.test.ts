// A Machine's own facts reach its machine-config Secret through admission: a provider's status
// write (disks, NICs) regenerates the config, a spec fact that cannot be used refuses the write
// that sets it, and a write that leaves the spec as it is only warns about it (ratcheting).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { talosConfigAdmission } from '../../../src/admission/machineconfig.js';
import { StatusError } from '../../../src/machinery/errors.js';
import type { KubeObject } from '../../../src/machinery/kind.js';
import type { APIRegistry } from '../../../src/machinery/registry/apis.js';
import { systemContext } from '../../../src/machinery/registry/context.js';
import type { SecretStore } from '../../../src/secrets/secretstore.js';
import { FIXTURES_DIR } from '../machineconfig/generate/fixtures.js';

const HASH = 'talos.vitistack.io/config-hash';

const cluster: KubeObject = {
  apiVersion: 'vitistack.io/v1alpha1',
  kind: 'KubernetesCluster',
  metadata: { name: 'c', namespace: 'ns', uid: 'uid-c' },
  spec: {
    data: { clusterId: 'c-id', provider: 'talos' },
    topology: { version: '1.33', controlplane: { replicas: 1, version: '1.33' } },
    talos: { endpoint: 'https://10.0.0.1:6443', version: 'v1.11.6', installDisk: '/dev/sda' },
  },
};

function machine(spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'Machine',
    metadata: {
      name: 'c-ctp0',
      namespace: 'ns',
      uid: 'uid-m',
      labels: { 'cluster.vitistack.io/cluster-name': 'c', 'vitistack.io/node-role': 'controlplane' },
    },
    spec: { provider: 'kubevirt', name: 'c-ctp0', disks: [{ name: 'disk-0', boot: true }], ...spec },
    ...(status ? { status } : {}),
  };
}

/** Secret data by name */
let written: Map<string, Record<string, string>>;
let hooks: ReturnType<typeof talosConfigAdmission>;

beforeEach(() => {
  written = new Map([
    ['c-talos-secrets', { 'secrets.yaml': readFileSync(join(FIXTURES_DIR, 'secrets.yaml'), 'utf8') }],
  ]);
  const secrets: SecretStore = {
    get: async (_ns, name) => written.get(name),
    put: async (_ns, s) => void written.set(s.name, s.data),
    create: async () => false,
    delete: async () => undefined,
  };
  const registry = { storeOf: () => ({ get: async () => cluster }) } as unknown as APIRegistry;
  hooks = talosConfigAdmission({ registry: () => registry, secrets, log: pino({ level: 'silent' }) });
});

/** runs a write through the hooks as the registry does; the config written, the warnings */
async function write(op: 'CREATE' | 'UPDATE', obj: KubeObject, old?: KubeObject) {
  const ctx = systemContext();
  const stored = structuredClone(obj);
  await hooks.mutate!(op, stored, old, ctx);
  await hooks.committed!(op, stored, ctx);
  const v1alpha1 = parseAllDocuments(written.get('c-ctp0-machineconfig')?.['machineconfig.yaml'] ?? '')[0]?.toJS();
  return { stored, v1alpha1, warnings: ctx.warnings };
}

describe("a Machine's facts in its machine-config Secret", () => {
  it('start with its name and go on with what the provider reports in its status', async () => {
    const created = await write('CREATE', machine({ network: { privateIP: '10.0.0.5', subnet: '10.0.0.0/24' } }));
    expect(created.v1alpha1.machine.network).toEqual({ hostname: 'c-ctp0' });
    expect(created.v1alpha1.machine.install.disk).toBe('/dev/sda');
    expect(created.warnings).toEqual([
      'Machine c-ctp0 spec.network.privateIP: "10.0.0.5": not in the machine config yet: no hardware address of the primary interface is reported in status.networkInterfaces',
    ]);

    const reported = machine(
      { network: { privateIP: '10.0.0.5', subnet: '10.0.0.0/24' } },
      {
        disks: [{ name: 'disk-0', device: '/dev/vda' }],
        networkInterfaces: [{ name: 'default', macAddress: '52:54:00:12:34:56', ipAddresses: ['10.0.0.5'] }],
      },
    );
    const updated = await write('UPDATE', { ...reported, metadata: created.stored.metadata }, created.stored);
    expect(updated.warnings).toEqual([]);
    expect(updated.stored.metadata.annotations![HASH]).not.toBe(created.stored.metadata.annotations![HASH]);
    expect(updated.v1alpha1.machine.install.disk).toBe('/dev/vda');
    expect(updated.v1alpha1.machine.network).toEqual({
      hostname: 'c-ctp0',
      interfaces: [{ deviceSelector: { hardwareAddr: '52:54:00:12:34:56' }, addresses: ['10.0.0.5/24'], dhcp: true }],
    });
  });

  it('refuse the write that brings in a fact that cannot be used, naming the field; one already stored is only warned', async () => {
    const bad = machine({ network: { privateIP: '10.0.0.999' } });
    const refusal = await write('CREATE', bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(StatusError);
    expect((refusal as StatusError).code).toBe(422);
    expect((refusal as StatusError).details?.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'spec.network.privateIP',
        message:
          'Invalid value: "10.0.0.999": must be an IP address, or one with its prefix length such as 10.0.0.5/24',
      },
    ]);
    expect(written.has('c-ctp0-machineconfig')).toBe(false);

    // stored before the rule (or before the Machine joined a cluster): its status stays writable,
    // and so does the rest of its spec
    const warning =
      'Machine c-ctp0 spec.network.privateIP: "10.0.0.999": must be an IP address, or one with its prefix length such as 10.0.0.5/24';
    const statusWrite = await write('UPDATE', { ...bad, status: { phase: 'Running' } }, bad);
    expect(statusWrite.warnings).toEqual([warning]);
    expect(statusWrite.v1alpha1.machine.network).toEqual({ hostname: 'c-ctp0' });
    const specWrite = await write(
      'UPDATE',
      { ...bad, spec: { ...(bad.spec as object), sshKeys: ['ssh-ed25519 AAAA'] } },
      bad,
    );
    expect(specWrite.warnings).toEqual([warning]);
    // another unusable value is brought in by this write: refused
    await expect(write('UPDATE', machine({ network: { privateIP: '10.0.0.998' } }), bad)).rejects.toThrow(
      /spec.network.privateIP: Invalid value: "10.0.0.998"/,
    );
  });
});
