// Every machine a simulator runs, and what they share: the Talos clusters their installed configs
// made (keyed by cluster id and OS CA), the certificates each node presents, etcd joins (a waiting
// control plane joins once its cluster's etcd runs with quorum), and how many nodes were down at
// once. Handlers reach other nodes through it, as apid reaches them when it proxies.
import { createHash, randomUUID } from 'node:crypto';
import type { ConfigFacts } from './config-facts.js';
import { joinWaitingControlPlanes } from './etcd.js';
import { followKubernetes, type KubernetesChange } from './kubernetes.js';
import {
  createCA,
  issue,
  issueNodeCert,
  loadIssuer,
  SERVER_CERT_LIFETIME_MS,
  type CertPair,
  type Issuer,
} from './pki.js';
import { SimNode } from './node.js';
import { TalosCluster } from './talos-cluster.js';

export interface FleetOptions {
  /** the version a machine boots from its ISO (maintenance mode) */
  version: string;
  /** how long a reboot keeps a node off the network, ms */
  rebootMs: number;
  /** from a reply to a node going away, long enough for the reply to leave, ms */
  shutdownMs: number;
  /** how long installing an image (apply in maintenance mode, upgrade) takes before the reboot, ms */
  installMs: number;
  /** the Kubernetes version (`1.36.3`) of a component whose image the node's config does not name */
  kubernetesVersion: string;
}

/** What a node's listener presents and asks for. */
export interface ServerTls {
  pair: CertPair;
  /** the CA client certificates must chain to; undefined: no client certificate (maintenance mode) */
  clientCA: string | undefined;
  /** changes whenever the listener must be bound again with other credentials */
  key: string;
}

export class SimFleet {
  readonly nodes: SimNode[];
  private readonly clusters = new Map<string, TalosCluster>();
  private readonly certs = new Map<string, Promise<CertPair>>();
  private settling = false;
  private tracking = false;
  /** the most nodes not listening at the same time since tracking started */
  maxDownAtOnce = 0;
  /** the same, per role (controlplane, worker): a rolling upgrade's bound is per role */
  maxDownByRole: Record<string, number> = {};
  /** every change of a Kubernetes component version a node reports, oldest first */
  readonly kubernetesChanges: KubernetesChange[] = [];

  private constructor(
    readonly opts: FleetOptions,
    addresses: string[],
    /** a CA nobody trusts, for the wrongCA fault */
    private readonly rogueCA: Issuer,
    metalAddresses: string[],
  ) {
    this.nodes = [
      ...addresses.map((ip, i) => new SimNode(`node-${i}`, ip, opts.version)),
      ...metalAddresses.map((ip, i) => new SimNode(`metal-${i}`, ip, opts.version, true)),
    ];
    for (const n of this.nodes) {
      // components first: whatever else reacts to the change sees what the node now runs
      n.on('change', () => this.followKubernetes(n));
      n.on('change', () => this.settle());
      n.on('listening', () => this.countDown());
      n.on('closed', () => this.countDown());
    }
  }

  /** `metalAddresses`: bare-metal machines (metal-0, ...), which boot only when their BMC powers them on */
  static async create(opts: FleetOptions, addresses: string[], metalAddresses: string[] = []): Promise<SimFleet> {
    return new SimFleet(opts, addresses, await createCA('talos', 'ed25519'), metalAddresses);
  }

  /** the nodes that are not bare-metal machines (the pre-configured cluster, the machine provider's) */
  vms(): SimNode[] {
    return this.nodes.filter((n) => !n.bareMetal);
  }

  /** A node by id, name (hostname once configured) or IP address. */
  resolve(ref: string): SimNode | undefined {
    return this.nodes.find((n) => n.id === ref || n.name === ref || n.ip === ref);
  }

  /** A node by hostname or IP address, as the `node` metadata names it. */
  find(nameOrIp: string): SimNode | undefined {
    return this.nodes.find((n) => (n.configured && n.name === nameOrIp) || n.ip === nameOrIp);
  }

  /** Whether a node answers on the network right now (for proxied calls and health checks). */
  reachable(node: SimNode): boolean {
    return node.up && node.listening && !node.faults.frozen && !node.faults.wrongCA;
  }

  allClusters(): TalosCluster[] {
    return [...this.clusters.values()];
  }

  /** A cluster made up by the simulator itself (the pre-configured modes), with both CA keys. */
  addCluster(name: string, endpoint: string, osCA: Issuer, k8sCA: Issuer): TalosCluster {
    const cluster = new TalosCluster(randomUUID(), name, endpoint, osCA.certPem, () => this.nodes);
    cluster.osCA = osCA;
    cluster.k8sCA = k8sCA;
    this.clusters.set(`${cluster.id}/${osCA.certPem}`, cluster);
    return cluster;
  }

  /** The cluster a config belongs to; learns the CA keys a control plane's config carries. */
  async clusterFor(facts: ConfigFacts): Promise<TalosCluster> {
    const key = `${facts.clusterId}/${facts.osCA.crt}`;
    let cluster = this.clusters.get(key);
    if (!cluster) {
      cluster = new TalosCluster(facts.clusterId, facts.clusterName, facts.endpoint, facts.osCA.crt, () => this.nodes);
      this.clusters.set(key, cluster);
    }
    if (!cluster.osCA && facts.osCA.key) {
      cluster.osCA = await loadIssuer(facts.osCA.crt, facts.osCA.key);
      // workers waiting for a certificate (as for trustd on a control plane) can serve now
      for (const n of cluster.nodes()) n.changed();
    }
    if (!cluster.k8sCA && facts.k8sCA?.key) cluster.k8sCA = await loadIssuer(facts.k8sCA.crt, facts.k8sCA.key);
    return cluster;
  }

  private cached(key: string, make: () => Promise<CertPair>): Promise<CertPair> {
    let pair = this.certs.get(key);
    if (!pair) {
      pair = make();
      this.certs.set(key, pair);
      pair.catch(() => this.certs.delete(key));
    }
    return pair;
  }

  /**
   * What the node's listener presents: in maintenance mode a throw-away self-signed certificate per
   * boot and no client authentication; configured, a certificate from its cluster's OS CA (undefined
   * while that key is unknown: a worker waits for a control plane, as for trustd) and mTLS.
   */
  async serverTls(node: SimNode): Promise<ServerTls | undefined> {
    const identity = node.identity;
    if (!identity) {
      const key = `maintenance/${node.id}/${node.boots}`;
      const pair = await this.cached(key, () => throwAwayCert(node.ip));
      return { pair, clientCA: undefined, key };
    }
    const cluster = identity.cluster;
    const rogue = node.faults.wrongCA;
    const issuer = rogue ? this.rogueCA : cluster.osCA;
    if (!issuer) return undefined;
    const key = `${rogue ? 'rogue' : 'os'}/${cluster.id}/${digest(cluster.osCACertPem)}/${node.id}/${identity.hostname}`;
    const pair = await this.cached(key, () => issueNodeCert(issuer, identity.hostname, node.ip));
    return { pair, clientCA: cluster.osCACertPem, key };
  }

  /** Brings the node's Kubernetes components in line with its config (also at the simulator's start). */
  followKubernetes(node: SimNode): void {
    followKubernetes(node, this.opts.kubernetesVersion, this.kubernetesChanges);
  }

  /** Lets waiting control planes join etcd after any change; re-entrant calls are folded in. */
  private settle(): void {
    if (this.settling) return;
    this.settling = true;
    try {
      for (const cluster of this.clusters.values()) joinWaitingControlPlanes(cluster);
    } finally {
      this.settling = false;
    }
  }

  /** From now on, count nodes that are not listening (before, they were still starting); again: count afresh. */
  trackDowntime(): void {
    this.tracking = true;
    this.maxDownAtOnce = 0;
    this.maxDownByRole = {};
    this.countDown();
  }

  /** nodes not listening; bare-metal machines are off until powered on, so only configured ones count */
  private counted(): SimNode[] {
    return this.nodes.filter((n) => !n.bareMetal || n.configured);
  }

  downNow(): number {
    return this.counted().filter((n) => !n.listening).length;
  }

  private countDown(): void {
    if (!this.tracking) return;
    this.maxDownAtOnce = Math.max(this.maxDownAtOnce, this.downNow());
    for (const role of ['controlplane', 'worker']) {
      const down = this.counted().filter((n) => !n.listening && n.role === role).length;
      this.maxDownByRole[role] = Math.max(this.maxDownByRole[role] ?? 0, down);
    }
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A maintenance-mode certificate: self-signed, made at boot, verifiable by nobody. */
async function throwAwayCert(ip: string): Promise<CertPair> {
  const ca = await createCA('', 'ed25519');
  return issue(ca, {
    subject: 'CN=maintenance',
    eku: ['serverAuth'],
    ipAddresses: [ip],
    lifetimeMs: SERVER_CERT_LIFETIME_MS,
  });
}
