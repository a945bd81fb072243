// The simulated cluster: its nodes, the PKI they share, and cluster-wide facts (etcd bootstrapped,
// membership). Handlers reach other nodes through it, as apid reaches them when it proxies.
import { createCA, createOsCA, issueNodeCert, type CertPair, type Issuer } from './pki.js';
import { SimNode, type Role } from './node.js';

export interface NodeSpec {
  name: string;
  ip: string;
  role: Role;
}

export interface ClusterOptions {
  clusterName: string;
  version: string;
  /** how long a reboot keeps a node off the network, ms */
  rebootMs: number;
  /** false: the cluster waits for Bootstrap (etcd Preparing) */
  bootstrapped: boolean;
  /** trust and sign with this OS CA (from a secrets bundle) instead of a new one */
  osCA?: Issuer;
}

export class SimCluster {
  readonly nodes: SimNode[];
  bootstrapped: boolean;
  private readonly serverCerts = new Map<string, CertPair>();
  private readonly rogueCerts = new Map<string, CertPair>();

  private constructor(
    readonly opts: ClusterOptions,
    specs: NodeSpec[],
    readonly osCA: Issuer,
    /** signs the admin kubeconfig's client certificate (ECDSA, as Talos' Kubernetes CA) */
    readonly k8sCA: Issuer,
    /** a CA nobody trusts, for the wrongCA fault */
    private readonly rogueCA: Issuer,
  ) {
    this.bootstrapped = opts.bootstrapped;
    this.nodes = specs.map((s) => new SimNode(s.name, s.ip, s.role, opts.version, opts.bootstrapped));
  }

  static async create(opts: ClusterOptions, specs: NodeSpec[]): Promise<SimCluster> {
    const [osCA, k8sCA, rogueCA] = await Promise.all([
      opts.osCA ?? createOsCA(),
      createCA('kubernetes', 'ecdsa'),
      createCA('talos', 'ed25519'),
    ]);
    const cluster = new SimCluster(opts, specs, osCA, k8sCA, rogueCA);
    await Promise.all(
      cluster.nodes.map(async (n) => {
        cluster.serverCerts.set(n.name, await issueNodeCert(osCA, n.name, n.ip));
        cluster.rogueCerts.set(n.name, await issueNodeCert(rogueCA, n.name, n.ip));
      }),
    );
    return cluster;
  }

  get name(): string {
    return this.opts.clusterName;
  }

  /** The certificate a node presents: its own, or a look-alike from the rogue CA. */
  serverCert(node: SimNode): CertPair {
    const pair = (node.faults.wrongCA ? this.rogueCerts : this.serverCerts).get(node.name);
    if (!pair) throw new Error(`no certificate for node ${node.name}`);
    return pair;
  }

  /** A node by hostname or IP address, as the `node` metadata names it. */
  find(nameOrIp: string): SimNode | undefined {
    return this.nodes.find((n) => n.name === nameOrIp || n.ip === nameOrIp);
  }

  byName(name: string): SimNode | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  controlPlanes(): SimNode[] {
    return this.nodes.filter((n) => n.isControlPlane);
  }

  workers(): SimNode[] {
    return this.nodes.filter((n) => !n.isControlPlane);
  }

  /** https://<first control plane>:6443, what cluster.controlPlane.endpoint would say. */
  get controlPlaneEndpoint(): string {
    const cp = this.controlPlanes()[0] ?? this.nodes[0];
    return `https://${cp?.ip ?? '127.0.0.1'}:6443`;
  }

  /** Whether a node answers on the network right now (for proxied calls and health checks). */
  reachable(node: SimNode): boolean {
    return node.listening && !node.faults.frozen && !node.faults.wrongCA;
  }

  /** etcd starts on every control-plane node once one of them is bootstrapped. */
  bootstrap(): void {
    this.bootstrapped = true;
    for (const cp of this.controlPlanes()) cp.startEtcd();
  }

  /** The etcd leader: the first control-plane node whose etcd runs. */
  etcdLeader(): SimNode | undefined {
    return this.controlPlanes().find((n) => n.services.get('etcd')?.state === 'Running');
  }
}
