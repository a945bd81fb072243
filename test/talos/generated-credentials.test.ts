// Our own generator's output is real Talos material: a simulator started with --secrets on a
// bundle from src/machineconfig accepts the talosconfig derived from the same bundle, and refuses
// one derived from another bundle.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecretsBundle } from '../../src/machineconfig/bundle.js';
import { parseContract } from '../../src/machineconfig/contract.js';
import { secretsToYaml } from '../../src/machineconfig/secretsyaml.js';
import { generateTalosconfig, talosconfigToYaml } from '../../src/machineconfig/talosconfig.js';
import { TalosClient } from '../../src/talos/client.js';
import { parseTalosconfig } from '../../src/talos/talosconfig.js';
import { controlPlane, simulator, type Simulator } from './helpers.js';

describe('talosconfig from our generator against the simulator', () => {
  let sim: Simulator;
  let dir: string;
  const contract = parseContract('v1.13.9');
  let bundle: Awaited<ReturnType<typeof generateSecretsBundle>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tf-generated-'));
    bundle = await generateSecretsBundle({ contract });
    const file = join(dir, 'secrets.yaml');
    await writeFile(file, secretsToYaml(bundle), { mode: 0o600 });
    sim = await simulator({ nodes: 2, controlPlanes: 1, secretsFile: file });
  });

  afterAll(async () => {
    await sim?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function clientFrom(osCA: { crt: string; key: string }, endpoint: string): Promise<TalosClient> {
    // the file format talosctl reads, parsed back by the client's own reader
    const yaml = talosconfigToYaml(
      await generateTalosconfig({ clusterName: 'generated', osCA, endpoints: [endpoint] }),
    );
    return TalosClient.fromTalosconfig(parseTalosconfig(yaml), { timeoutMs: 5_000 });
  }

  it('authenticates as os:admin: admin-only calls such as Kubeconfig succeed', async () => {
    const node = sim.node(controlPlane(sim));
    const client = await clientFrom(bundle.certs.os, node.endpoint);
    try {
      expect((await client.version()).version.tag).toBe('v1.13.9');
      expect((await client.kubeconfig()).toString('utf8')).toMatch(/^kind: Config$/m);
    } finally {
      client.close();
    }
  });

  it('a talosconfig from another bundle is refused (TLS)', async () => {
    const other = await generateSecretsBundle({ contract });
    const client = await clientFrom(other.certs.os, sim.node(controlPlane(sim)).endpoint);
    try {
      await expect(client.version()).rejects.toMatchObject({ failure: 'TLSError' });
    } finally {
      client.close();
    }
  });
});
