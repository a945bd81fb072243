// startSimulator(): simulated Talos machines in this process, each an apid on its own address of
// a loopback block the simulator claims (127.A.B.2 and up, one port for all), plus the control
// endpoint. Two modes: maintenance (every machine boots without a configuration and becomes what
// an applied config makes it) or a pre-configured running cluster (N nodes, the first K control
// planes, one admin talosconfig accepted by all). Optionally writes talosconfig, control.json and
// nodes.json into a directory (each atomically) once every node listens.
import { serializeTalosconfig, type Talosconfig } from '../../src/talos/talosconfig.js';
import { BareMetalMachine } from './bare-metal.js';
import { claimBlock, MAX_BLOCK_NODES, type AddressBlock } from './addresses.js';
import { inject, fleetState, startControlServer, type Action, type ControlServer } from './control.js';
import { seedMembers } from './etcd.js';
import { SimFleet } from './fleet.js';
import { removeFiles, writeFileAtomic } from './files.js';
import { Lifecycle } from './lifecycle.js';
import type { BareMetalSpec } from './metal-inventory.js';
import { isTalosVersion, type Role, type SimNode } from './node.js';
import { NodesFile } from './nodes-file.js';
import { createCA, createOsCA, issueClientCert, talosKeyLabel, type CertPair, type Eku, type Issuer } from './pki.js';
import { osCAFromSecretsFile } from './secrets.js';
import { NodeServer } from './server.js';

export const DEFAULT_VERSION = 'v1.13.9';
/** the Kubernetes version Talos 1.13 defaults to: what a node runs where its config names no image */
export const DEFAULT_KUBERNETES_VERSION = '1.36.3';
export const MAX_NODES = 200;

export interface SimulatorOptions {
  nodes: number;
  /** every machine boots without a configuration, waiting for ApplyConfiguration */
  maintenance?: boolean;
  /** pre-configured mode: the first K nodes are control planes (default 1) */
  controlPlanes?: number;
  /** the version the machines boot (maintenance mode: until an installer image says otherwise) */
  version?: string;
  /** the Kubernetes version (`1.36.3`) of components whose image a node's config does not name (pre-configured nodes have none) */
  kubernetesVersion?: string;
  /** how long a reboot keeps a node off the network, ms (default 3000) */
  rebootMs?: number;
  /** the same in seconds (rebootMs wins) */
  rebootSeconds?: number;
  /** from a reply to a node going away, ms (default 200: the reply must leave first) */
  shutdownMs?: number;
  /** how long installing (apply in maintenance mode, upgrade) takes before the reboot, ms (default 300) */
  installMs?: number;
  /** the port every node listens on (default: a free one) */
  talosPort?: number;
  /** pre-configured mode: trust and sign with the OS CA of this talosctl secrets.yaml */
  secretsFile?: string;
  /** or with this issuer (tests) */
  osCA?: Issuer;
  clusterName?: string;
  /** pre-configured mode: false makes etcd wait for a Bootstrap call (default true: a running cluster) */
  bootstrapped?: boolean;
  /** write talosconfig (pre-configured mode), nodes.json and control.json here */
  dir?: string;
  controlPort?: number;
  /** bare-metal machines (a count, or one spec each), powered off until their BMC powers them on */
  bareMetal?: number | BareMetalSpec[];
  /** the boot listener bare-metal machines boot from, `http://host:port` (required with bareMetal) */
  bootURL?: string;
  /** attempts of one boot-time request a machine tries again (/ipxe, agent calls, /configdata; default 10) */
  bootAttempts?: number;
  /** wait between two such attempts, ms (default 2000) */
  bootRetryMs?: number;
  /** deadline of one such request, ms (default 10000) */
  bootTimeoutMs?: number;
}

export interface NodeInfo {
  /** stable: node-0, node-1, ... */
  id: string;
  /** the hostname once configured, the id before */
  name: string;
  address: string;
  port: number;
  /** address:port */
  endpoint: string;
  configured: boolean;
  role: Role | null;
  hostname: string | null;
  version: string;
  /** a bare-metal machine (its BMC powers it, its firmware boots it) */
  bareMetal: boolean;
}

export interface Simulator {
  /** the nodes as nodes.json lists them, as they are now */
  nodes(): NodeInfo[];
  /** the port every node listens on */
  port: number;
  /** pre-configured mode only: the admin talosconfig */
  talosconfig: Talosconfig;
  talosconfigYaml: string;
  control: { url: string };
  fleet: SimFleet;
  /** the bare-metal machines (metal-0, ...) */
  bareMetal: BareMetalMachine[];
  /** a node by id, name or address */
  node(ref: string): SimNode;
  /** pre-configured mode only: a client certificate from the cluster's OS CA */
  issueClientCert(roles: string[], eku?: Eku[]): Promise<CertPair>;
  inject(ref: string, action: Action, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  state(): Record<string, unknown>;
  stop(): Promise<void>;
}

function metalSpecs(o: SimulatorOptions): BareMetalSpec[] {
  const m = o.bareMetal ?? 0;
  if (Array.isArray(m)) return m;
  if (!Number.isInteger(m) || m < 0 || m > MAX_NODES) throw new Error(`bareMetal must be 0..${MAX_NODES}`);
  return Array.from({ length: m }, () => ({}));
}

function validate(o: SimulatorOptions): void {
  const metal = metalSpecs(o).length;
  const least = metal > 0 ? 0 : 1;
  if (!Number.isInteger(o.nodes) || o.nodes < least || o.nodes > MAX_NODES)
    throw new Error(`nodes must be ${least}..${MAX_NODES}`);
  if (metal > 0) {
    if (!o.bootURL) throw new Error('bare-metal machines need bootURL, the boot listener they boot from');
    let url: URL;
    try {
      url = new URL(o.bootURL);
    } catch {
      throw new Error(`bootURL ${JSON.stringify(o.bootURL)} is not a URL`);
    }
    if (url.protocol !== 'http:') throw new Error('bootURL must be http:// (firmware speaks plain HTTP)');
    if (o.nodes < 1 && !o.maintenance) throw new Error('a pre-configured cluster needs at least one node');
  }
  if (o.bootAttempts !== undefined && !(Number.isInteger(o.bootAttempts) && o.bootAttempts >= 1))
    throw new Error('bootAttempts must be a whole number of at least 1');
  const k = o.controlPlanes ?? 1;
  if (!o.maintenance && (!Number.isInteger(k) || k < 1 || k > o.nodes))
    throw new Error('controlplanes must be between 1 and the number of nodes');
  if (o.version !== undefined && !isTalosVersion(o.version))
    throw new Error(`version ${o.version} is not a Talos version tag like v1.13.9`);
  if (o.kubernetesVersion !== undefined && !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(o.kubernetesVersion))
    throw new Error(`kubernetesVersion ${o.kubernetesVersion} is not a Kubernetes version like 1.36.3`);
  for (const [name, v] of [
    ['reboot-seconds', o.rebootSeconds],
    ['rebootMs', o.rebootMs],
    ['shutdownMs', o.shutdownMs],
    ['installMs', o.installMs],
    ['bootRetryMs', o.bootRetryMs],
    ['bootTimeoutMs', o.bootTimeoutMs],
  ] as const)
    if (v !== undefined && !(v >= 0)) throw new Error(`${name} must be a non-negative number`);
  if (o.clusterName !== undefined && !/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(o.clusterName))
    throw new Error('cluster name must be a DNS label');
  if (o.nodes + metal > MAX_BLOCK_NODES) throw new Error(`a simulator has at most ${MAX_BLOCK_NODES} addresses`);
}

/** The pre-configured modes: one running cluster (or one awaiting Bootstrap) made by the simulator. */
async function configureCluster(
  fleet: SimFleet,
  opts: SimulatorOptions,
  clusterName: string,
  osCA: Issuer,
): Promise<void> {
  const k8sCA = await createCA('kubernetes', 'ecdsa');
  const k = opts.controlPlanes ?? 1;
  const cluster = fleet.addCluster(clusterName, `https://${fleet.vms()[0]?.ip ?? '127.0.0.1'}:6443`, osCA, k8sCA);
  let cp = 0;
  let worker = 0;
  fleet.vms().forEach((node, i) => {
    const role: Role = i < k ? 'controlplane' : 'worker';
    const hostname = role === 'controlplane' ? `${clusterName}-cp-${++cp}` : `${clusterName}-worker-${++worker}`;
    node.identity = { cluster, role, hostname };
  });
  if (opts.bootstrapped ?? true) seedMembers(cluster);
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  validate(opts);
  const clusterName = opts.clusterName ?? 'talos-sim';
  const version = opts.version ?? DEFAULT_VERSION;
  // the pre-configured modes' OS CA first: a bad secrets file fails before any socket is opened
  const osCA = opts.maintenance
    ? undefined
    : (opts.osCA ?? (opts.secretsFile ? await osCAFromSecretsFile(opts.secretsFile) : await createOsCA()));
  const specs = metalSpecs(opts);
  const block: AddressBlock = await claimBlock(opts.talosPort ?? 0);
  let fleet: SimFleet;
  try {
    fleet = await SimFleet.create(
      {
        version,
        rebootMs: opts.rebootMs ?? (opts.rebootSeconds ?? 3) * 1000,
        shutdownMs: opts.shutdownMs ?? 200,
        installMs: opts.installMs ?? 300,
        kubernetesVersion: opts.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION,
      },
      Array.from({ length: opts.nodes }, (_, i) => block.address(i)),
      specs.map((_, i) => block.address(opts.nodes + i)),
    );
    if (osCA) await configureCluster(fleet, opts, clusterName, osCA);
  } catch (e) {
    await block.close();
    throw e;
  }
  for (const node of fleet.nodes) {
    node.port = block.port;
    if (node.bareMetal) continue;
    node.boot();
    fleet.followKubernetes(node);
  }
  const lifecycle = new Lifecycle(fleet);
  const settings = {
    bootURL: opts.bootURL ?? '',
    attempts: opts.bootAttempts ?? 10,
    retryMs: opts.bootRetryMs ?? 2000,
    timeoutMs: opts.bootTimeoutMs ?? 10_000,
  };
  const metalNodes = fleet.nodes.filter((n) => n.bareMetal);
  const machines = specs.map((spec, i) => new BareMetalMachine(metalNodes[i]!, fleet, lifecycle, settings, spec));
  const servers = new Map(fleet.nodes.map((n) => [n.id, new NodeServer(n, fleet, lifecycle)]));
  const target = { fleet, lifecycle, servers, machines };
  const nodes = (): NodeInfo[] =>
    fleet.nodes.map((n) => ({
      id: n.id,
      name: n.name,
      address: n.ip,
      port: n.port,
      endpoint: n.endpoint,
      configured: n.configured,
      role: n.role ?? null,
      hostname: n.identity?.hostname ?? null,
      version: n.version,
      bareMetal: n.bareMetal,
    }));
  let control: ControlServer | undefined;
  let nodesFile: NodesFile | undefined;
  const written: string[] = [];
  const stop = async () => {
    // nodes.json first, the reverse of writing: readers wait for it
    await nodesFile?.stop();
    await removeFiles(written.reverse());
    lifecycle.stop();
    await Promise.all(machines.map((m) => m.stop()));
    await Promise.all([...servers.values()].map((s) => s.close()));
    await control?.close();
    await block.close();
  };
  try {
    await Promise.all(machines.map((m) => m.start()));
    await Promise.all([...servers.values()].map((s) => s.reconcile()));
    const unbound = fleet
      .vms()
      .filter((n) => !n.listening)
      .map((n) => n.name);
    if (unbound.length > 0) throw new Error(`nodes failed to listen: ${unbound.join(', ')}`);
    control = await startControlServer(target, opts.controlPort ?? 0);
  } catch (e) {
    await stop();
    throw e;
  }
  fleet.trackDowntime();

  let talosconfig: Talosconfig | undefined;
  if (osCA) {
    const admin = await issueClientCert(osCA, ['os:admin']);
    talosconfig = {
      context: clusterName,
      contexts: {
        [clusterName]: {
          endpoints: fleet.vms().map((n) => n.endpoint),
          nodes: [],
          ca: osCA.certPem,
          crt: admin.certPem,
          key: talosKeyLabel(admin.keyPem, osCA.kind),
        },
      },
    };
  }
  const talosconfigYaml = talosconfig ? serializeTalosconfig(talosconfig) : '';
  if (opts.dir) {
    if (talosconfig) written.push(await writeFileAtomic(opts.dir, 'talosconfig', talosconfigYaml, 0o600));
    written.push(await writeFileAtomic(opts.dir, 'control.json', `${JSON.stringify({ url: control.url })}\n`));
    // nodes.json last: its appearance tells a waiting reader that everything else is in place
    nodesFile = await NodesFile.start(opts.dir, fleet, nodes);
  }
  const noCluster = (what: string) =>
    new Error(`${what}: a maintenance-mode simulator has no cluster of its own (clusters come from applied configs)`);
  return {
    nodes,
    port: block.port,
    get talosconfig(): Talosconfig {
      if (!talosconfig) throw noCluster('talosconfig');
      return talosconfig;
    },
    talosconfigYaml,
    control: { url: control.url },
    fleet,
    bareMetal: machines,
    node(ref) {
      const n = fleet.resolve(ref);
      if (!n) throw new Error(`no node named ${ref}`);
      return n;
    },
    issueClientCert: (roles, eku) =>
      osCA ? issueClientCert(osCA, roles, eku) : Promise.reject(noCluster('issueClientCert')),
    inject: (ref, action, params) => inject(target, ref, action, params),
    state: () => fleetState(target),
    stop,
  };
}
