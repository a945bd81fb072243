// `npm run demo [-- server flags]`: the standalone server plus a simulated three-node Talos cluster
// on loopback, adopted, so `kubectl get talos` shows Ready servers within seconds. The server may
// dial loopback only. Ctrl-C stops both and keeps the data directory (./.data-demo by default).
import { join, resolve } from 'node:path';
import pino from 'pino';
import { parseServerOptions } from '../apiservice/options.js';
import { startServer } from '../apiservice/server.js';
import { adoptedServerKind, secretKind } from '../src/api/index.js';
import { groupVersion, type KindDefinition } from '../src/machinery/kind.js';
import { systemContext } from '../src/machinery/registry/context.js';
import { StatusError } from '../src/machinery/errors.js';
import type { APIRegistry } from '../src/machinery/registry/apis.js';
import { startSimulator } from './talos-sim/simulator.js';

const SECRET = 'talos-demo';

async function createOrKeep(registry: APIRegistry, kind: KindDefinition, obj: Record<string, unknown>): Promise<void> {
  const store = registry.storeOf(kind)!;
  try {
    await store.create('default', { value: obj, duplicates: [] }, systemContext());
  } catch (e) {
    if (!(e instanceof StatusError && e.reason === 'AlreadyExists')) throw e;
    const name = (obj.metadata as { name: string }).name;
    // a demo from an earlier run: point it at this run's simulator
    await store.patch('default', name, 'merge', { ...obj, metadata: { name } }, systemContext());
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opts = parseServerOptions([
    '--data-dir',
    './.data-demo',
    '--allowed-outbound-networks',
    '127.0.0.0/8,::1/128',
    '--resync-period',
    '5s',
    ...args,
  ]);
  const log = pino({ level: opts.logLevel });
  const sim = await startSimulator({
    nodes: 3,
    controlPlanes: 1,
    clusterName: 'demo',
    dir: join(resolve(opts.dataDir), 'simulator'),
  });
  const server = await startServer(opts, log);
  const talosconfig = Buffer.from(sim.talosconfigYaml).toString('base64');
  await createOrKeep(server.registry, secretKind, {
    apiVersion: groupVersion(secretKind),
    kind: secretKind.kind,
    metadata: { name: SECRET },
    data: { talosconfig },
  });
  for (const node of sim.nodes()) {
    await createOrKeep(server.registry, adoptedServerKind, {
      apiVersion: groupVersion(adoptedServerKind),
      kind: adoptedServerKind.kind,
      metadata: { name: node.name, labels: { demo: 'true' } },
      spec: {
        talos: {
          endpoint: node.endpoint,
          nodeType: node.role,
          hostname: node.name,
          talosconfigSecretRef: { name: SECRET },
        },
        accepted: true,
      },
    });
  }
  const [cp, worker] = sim.nodes();
  process.stderr.write(`
The demo runs: ${server.url}, with ${sim.nodes().length} simulated Talos nodes adopted in namespace default.

  export KUBECONFIG=${server.kubeconfigPath}
  kubectl get talos -o wide
  kubectl describe adoptedserver ${cp!.name}
  kubectl get --raw /apis/${groupVersion(adoptedServerKind)}/namespaces/default/${adoptedServerKind.plural}/${cp!.name}/health
  npm run build && npm link      # puts kubectl-talos on PATH
  kubectl talos health adoptedserver/${worker!.name}
  kubectl talos upgrade adoptedserver/${worker!.name} --to v1.13.10 --wait

Failure injection: curl -X POST ${sim.control.url}/nodes/${worker!.name}/stop   (then .../start)
Ctrl-C stops everything.
`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void Promise.allSettled([server.close(), sim.stop()]).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
