// `npm run demo [-- server flags]`: the standalone server plus, on loopback, a simulated three-node
// Talos cluster, adopted (`kubectl get talos` shows Ready servers within seconds), and four
// simulated machines in maintenance mode that the simulator hands out as a machine provider: the
// example KubernetesCluster is applied with kubectl and followed from its first phase to Ready.
// The server may dial loopback only. Ctrl-C stops everything and keeps the data directory
// (./.data-demo by default). A busy --secure-port (another demo, `npm start`) is no failure: the
// demo serves on a free port and says which.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { parseServerOptions } from '../apiservice/options.js';
import { startServer } from '../apiservice/server.js';
import { adoptedServerKind, kubernetesClusterKind, secretKind } from '../src/api/index.js';
import { SKIP_UNREACHABLE_ANNOTATION } from '../src/api/kubernetescluster.js';
import { groupVersion, type KindDefinition } from '../src/machinery/kind.js';
import { systemContext } from '../src/machinery/registry/context.js';
import { StatusError } from '../src/machinery/errors.js';
import type { APIRegistry } from '../src/machinery/registry/apis.js';
import { provideMachines } from './talos-sim/provider.js';
import { startSimulator, type Simulator } from './talos-sim/simulator.js';

const SECRET = 'talos-demo';
const CLUSTER = 'demo-cluster';

/** the upstream example KubernetesCluster, with an endpoint (never dialed: Talos checks Kubernetes itself) */
const CLUSTER_MANIFEST = `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata:
  name: ${CLUSTER}
  namespace: default
spec:
  data:
    clusterUid: "a30fbc8d-596f-48d0-8541-dbc23bca28a1"
    clusterId: "${CLUSTER}-id"
    provider: talos
    environment: dev
    datacenter: trd1
    project: demo
    region: west-trondelag
    workorder: "demo"
    zone: "demo"
    workspace: "demo"
  topology:
    version: "1.33"
    controlplane:
      replicas: 1
      version: "1.33"
    workers:
      - name: worker-pool-1
        replicas: 2
        version: "1.33"
  talos:
    endpoint: https://10.20.0.1:6443
`;

function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  return new Promise((res, rej) =>
    execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig } }, (err, stdout, stderr) =>
      err ? rej(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : res(stdout),
    ),
  );
}

/** the cluster of an earlier run lives on machines that are gone: it is deleted, skipping their reset */
async function forgetEarlierRun(registry: APIRegistry): Promise<void> {
  const store = registry.storeOf(kubernetesClusterKind)!;
  const old = await store.get('default', CLUSTER).catch(() => undefined);
  if (!old) return;
  process.stderr.write(`deleting ${CLUSTER} of an earlier run (its machines are gone)\n`);
  const annotations = { [SKIP_UNREACHABLE_ANNOTATION]: 'true' };
  await store.patch('default', CLUSTER, 'merge', { metadata: { annotations } }, systemContext());
  await store.delete('default', CLUSTER, {}, systemContext()).catch(() => undefined);
  while (
    await store.get('default', CLUSTER).then(
      () => true,
      () => false,
    )
  )
    await new Promise((r) => setTimeout(r, 200));
}

/** prints each phase the cluster passes through until it is Ready */
async function follow(registry: APIRegistry, machines: Simulator): Promise<void> {
  const store = registry.storeOf(kubernetesClusterKind)!;
  let last = '';
  const started = Date.now();
  for (;;) {
    const kc = await store.get('default', CLUSTER).catch(() => undefined);
    const status = (kc?.status ?? {}) as { phase?: string; message?: string };
    const line = `${status.phase ?? '-'}${status.message ? `: ${status.message}` : ''}`;
    if (line !== last) process.stderr.write(`  [${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
    last = line;
    if (status.phase === 'Ready') break;
    // a demo: a look twice a second is plenty
    await new Promise((r) => setTimeout(r, 500));
  }
  const configured = machines.nodes().filter((n) => n.configured);
  process.stderr.write(
    `  ${configured.length} simulated machines run the cluster: ${configured.map((n) => `${n.hostname} (${n.role}, ${n.address})`).join(', ')}\n`,
  );
}

/** whether a listener could take `port` on `host` now (0: any free port, always) */
function portFree(host: string, port: number): Promise<boolean> {
  if (port === 0) return Promise.resolve(true);
  return new Promise((res, rej) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? res(false) : rej(e)));
    probe.listen(port, host, () => probe.close(() => res(true)));
  });
}

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
  const base = [
    '--data-dir',
    './.data-demo',
    '--allowed-outbound-networks',
    '127.0.0.0/8,::1/128',
    '--resync-period',
    '5s',
    '--cluster-poll-interval',
    '500ms',
  ];
  const opts = parseServerOptions([...base, ...args]);
  // the last --secure-port wins, as with any flag given twice
  const busy = !(await portFree(opts.bindAddress, opts.securePort)) ? opts.securePort : undefined;
  const port = busy === undefined ? [] : ['--secure-port', '0'];
  const log = pino({ level: opts.logLevel });
  const sim = await startSimulator({
    nodes: 3,
    controlPlanes: 1,
    clusterName: 'demo',
    dir: join(resolve(opts.dataDir), 'simulator'),
  });
  // blank machines for the KubernetesCluster: the server must know their Talos API port
  const machines = await startSimulator({ nodes: 4, maintenance: true, rebootMs: 1000, installMs: 500 });
  const withPort = parseServerOptions([...base, '--talos-api-port', String(machines.port), ...args, ...port]);
  const server = await startServer(withPort, log);
  const kubeconfig = resolve(server.kubeconfigPath!);
  if (busy !== undefined)
    process.stderr.write(
      `port ${busy} on ${opts.bindAddress} is in use (another demo or server?): the demo serves on ${server.url} instead (choose one with: npm run demo -- --secure-port N)\n`,
    );
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
  const provider = await provideMachines(machines, {
    api: { kubeconfig },
    namespace: 'default',
  });
  await forgetEarlierRun(server.registry);
  const manifest = join(resolve(opts.dataDir), `${CLUSTER}.yaml`);
  await writeFile(manifest, CLUSTER_MANIFEST);
  process.stderr.write(`\n$ kubectl apply -f ${manifest}\n`);
  try {
    process.stderr.write(await kubectl(kubeconfig, ['apply', '-f', manifest]));
  } catch (e) {
    // no kubectl on PATH: the same object, created directly
    process.stderr.write(`(${(e as Error).message.split('\n')[0]}; creating it directly)\n`);
    await createOrKeep(server.registry, kubernetesClusterKind, parse(CLUSTER_MANIFEST) as Record<string, unknown>);
  }
  await follow(server.registry, machines);
  const [cp, worker] = sim.nodes();
  process.stderr.write(`
The demo runs: ${server.url}, with ${sim.nodes().length} simulated Talos nodes adopted in namespace default.

  export KUBECONFIG=${kubeconfig}
  kubectl get talos -o wide
  kubectl describe adoptedserver ${cp!.name}
  kubectl get --raw /apis/${groupVersion(adoptedServerKind)}/namespaces/default/${adoptedServerKind.plural}/${cp!.name}/health
  npm run build && npm link      # puts kubectl-talos on PATH
  kubectl talos health adoptedserver/${worker!.name}
  kubectl talos upgrade adoptedserver/${worker!.name} --to v1.13.10 --wait

Failure injection: curl -X POST ${sim.control.url}/nodes/${worker!.name}/stop   (then .../start)

KubernetesCluster ${CLUSTER} is Ready on ${machines.nodes().length} simulated maintenance-mode machines
(the simulator is their machine provider; control endpoint ${machines.control.url}):

  kubectl get kc ${CLUSTER} -o wide; kubectl get machines; kubectl describe kc ${CLUSTER}
  kubectl talos health kubernetescluster/${CLUSTER}
  kubectl talos kubeconfig kubernetescluster/${CLUSTER} -o ${CLUSTER}.kubeconfig
  kubectl patch kc ${CLUSTER} --type=json -p='[{"op":"replace","path":"/spec/topology/workers/0/replicas","value":1}]'
  kubectl delete kc ${CLUSTER}

Ctrl-C stops everything.
`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void Promise.allSettled([provider.stop(), server.close(), sim.stop(), machines.stop()]).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  // taken between the check above and the server's listen: the same advice, without a stack
  const err = e as NodeJS.ErrnoException & { port?: number };
  if (err.code === 'EADDRINUSE') {
    process.stderr.write(
      `demo failed: port ${err.port ?? ''} is in use: stop what listens there, or run npm run demo -- --secure-port 0\n`,
    );
    process.exit(1);
  }
  process.stderr.write(`demo failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
