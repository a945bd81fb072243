// startSimulator(): a simulated Talos cluster in this process. N nodes (the first K control planes),
// each an mTLS apid on its own loopback address, one admin talosconfig accepted by all of them,
// and the failure-injection control endpoint. Optionally writes talosconfig, nodes.json and
// control.json into a directory (each atomically) once every node listens.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { serializeTalosconfig, type Talosconfig } from '../../src/talos/talosconfig.js';
import { SimCluster, type NodeSpec } from './cluster.js';
import { inject, clusterState, startControlServer, type Action, type ControlServer } from './control.js';
import { removeFiles, writeFileAtomic } from './files.js';
import { Lifecycle } from './lifecycle.js';
import { isTalosVersion, type SimNode } from './node.js';
import { issueClientCert, talosKeyLabel, type CertPair, type Eku, type Issuer } from './pki.js';
import { osCAFromSecretsFile } from './secrets.js';
import { NodeServer } from './server.js';

export const DEFAULT_VERSION = 'v1.13.9';
export const MAX_NODES = 200;

export interface SimulatorOptions {
  nodes: number;
  /** the first K nodes are control planes (default 1) */
  controlPlanes?: number;
  version?: string;
  /** how long a reboot or upgrade keeps a node off the network (default 3) */
  rebootSeconds?: number;
  /** trust and sign with the OS CA of this talosctl secrets.yaml */
  secretsFile?: string;
  /** or with this issuer (tests) */
  osCA?: Issuer;
  clusterName?: string;
  /** false: etcd waits for a Bootstrap call (default true: an already running cluster) */
  bootstrapped?: boolean;
  /** write talosconfig, nodes.json and control.json here */
  dir?: string;
  controlPort?: number;
}

export interface NodeInfo {
  name: string;
  endpoint: string;
  role: 'controlplane' | 'worker';
  version: string;
}

export interface Simulator {
  /** the nodes as nodes.json lists them (versions as they are now) */
  nodes(): NodeInfo[];
  talosconfig: Talosconfig;
  talosconfigYaml: string;
  control: { url: string };
  cluster: SimCluster;
  node(name: string): SimNode;
  /** a client certificate from the cluster's OS CA, e.g. a reader, or one with the wrong EKU */
  issueClientCert(roles: string[], eku?: Eku[]): Promise<CertPair>;
  inject(name: string, action: Action, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  state(): Record<string, unknown>;
  stop(): Promise<void>;
}

/** Whether this host lets us bind 127.0.0.2 (Linux routes all of 127/8 to lo; macOS does not). */
async function loopbackAliasesWork(): Promise<boolean> {
  const probe = createServer();
  try {
    probe.listen(0, '127.0.0.2');
    await once(probe, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    probe.close();
  }
}

function nodeSpecs(count: number, controlPlanes: number, clusterName: string, aliases: boolean): NodeSpec[] {
  let cp = 0;
  let worker = 0;
  return Array.from({ length: count }, (_, i) => {
    const role = i < controlPlanes ? ('controlplane' as const) : ('worker' as const);
    const name = role === 'controlplane' ? `${clusterName}-cp-${++cp}` : `${clusterName}-worker-${++worker}`;
    return { name, role, ip: aliases ? `127.0.0.${i + 2}` : '127.0.0.1' };
  });
}

function validate(o: SimulatorOptions): void {
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > MAX_NODES)
    throw new Error(`nodes must be 1..${MAX_NODES}`);
  const k = o.controlPlanes ?? 1;
  if (!Number.isInteger(k) || k < 1 || k > o.nodes)
    throw new Error('controlplanes must be between 1 and the number of nodes');
  if (o.version !== undefined && !isTalosVersion(o.version))
    throw new Error(`version ${o.version} is not a Talos version tag like v1.13.9`);
  if (o.rebootSeconds !== undefined && !(o.rebootSeconds >= 0))
    throw new Error('reboot-seconds must be a non-negative number');
  if (o.clusterName !== undefined && !/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(o.clusterName))
    throw new Error('cluster name must be a DNS label');
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  validate(opts);
  const clusterName = opts.clusterName ?? 'talos-sim';
  const osCA = opts.osCA ?? (opts.secretsFile ? await osCAFromSecretsFile(opts.secretsFile) : undefined);
  const specs = nodeSpecs(opts.nodes, opts.controlPlanes ?? 1, clusterName, await loopbackAliasesWork());
  const cluster = await SimCluster.create(
    {
      clusterName,
      version: opts.version ?? DEFAULT_VERSION,
      rebootMs: (opts.rebootSeconds ?? 3) * 1000,
      bootstrapped: opts.bootstrapped ?? true,
      ...(osCA ? { osCA } : {}),
    },
    specs,
  );
  const lifecycle = new Lifecycle(cluster);
  const servers = new Map(cluster.nodes.map((n) => [n.name, new NodeServer(n, cluster, lifecycle)]));
  const target = { cluster, servers };
  let control: ControlServer | undefined;
  const written: string[] = [];
  const stop = async () => {
    // nodes.json first, the reverse of writing: readers wait for it
    await removeFiles(written.reverse());
    lifecycle.stop();
    await Promise.all([...servers.values()].map((s) => s.close()));
    await control?.close();
  };
  try {
    await Promise.all([...servers.values()].map((s) => s.reconcile()));
    const unbound = cluster.nodes.filter((n) => !n.listening).map((n) => n.name);
    if (unbound.length > 0) throw new Error(`nodes failed to listen: ${unbound.join(', ')}`);
    control = await startControlServer(target, opts.controlPort ?? 0);
  } catch (e) {
    await stop();
    throw e;
  }

  const admin = await issueClientCert(cluster.osCA, ['os:admin']);
  const talosconfig: Talosconfig = {
    context: clusterName,
    contexts: {
      [clusterName]: {
        endpoints: cluster.nodes.map((n) => n.endpoint),
        nodes: [],
        ca: cluster.osCA.certPem,
        crt: admin.certPem,
        key: talosKeyLabel(admin.keyPem, cluster.osCA.kind),
      },
    },
  };
  const talosconfigYaml = serializeTalosconfig(talosconfig);
  const nodes = (): NodeInfo[] =>
    cluster.nodes.map((n) => ({ name: n.name, endpoint: n.endpoint, role: n.role, version: n.version }));
  if (opts.dir) {
    // nodes.json last: its appearance tells a waiting reader that everything else is in place
    written.push(await writeFileAtomic(opts.dir, 'talosconfig', talosconfigYaml, 0o600));
    written.push(await writeFileAtomic(opts.dir, 'control.json', `${JSON.stringify({ url: control.url })}\n`));
    written.push(await writeFileAtomic(opts.dir, 'nodes.json', `${JSON.stringify(nodes(), null, 2)}\n`));
  }
  return {
    nodes,
    talosconfig,
    talosconfigYaml,
    control: { url: control.url },
    cluster,
    node(name) {
      const n = cluster.byName(name);
      if (!n) throw new Error(`no node named ${name}`);
      return n;
    },
    issueClientCert: (roles, eku) => issueClientCert(cluster.osCA, roles, eku),
    inject: (name, action, params) => inject(target, name, action, params),
    state: () => clusterState(target),
    stop,
  };
}
