// One Talos cluster inside the simulator: the nodes whose installed config carries the same
// cluster id and OS CA. It knows the cluster's identity (name, control-plane endpoint, the CAs and,
// once a control plane's config showed them, their keys) and its etcd: the member list, which
// outlives the nodes (a node wiped without leaving stays a member until it is removed), and how many
// Bootstrap calls took effect.
import type { Issuer } from './pki.js';
import type { SimNode } from './node.js';

export interface EtcdMemberEntry {
  /** etcd member id, the decimal string a uint64 travels as */
  id: string;
  /** the simulator's id of the node that joined with it */
  nodeId: string;
  hostname: string;
  ip: string;
}

export class TalosCluster {
  readonly members: EtcdMemberEntry[] = [];
  /** Bootstrap calls that took effect on any node of the cluster (more than one splits etcd) */
  bootstrapsEffective = 0;
  /** the OS CA with its key, once a control plane's config showed it (workers carry only the certificate) */
  osCA: Issuer | undefined;
  /** the Kubernetes CA with its key, learnt the same way; signs the admin kubeconfig */
  k8sCA: Issuer | undefined;

  constructor(
    /** cluster.id of the config */
    readonly id: string,
    readonly name: string,
    /** cluster.controlPlane.endpoint, what the admin kubeconfig points at */
    readonly endpoint: string,
    readonly osCACertPem: string,
    private readonly allNodes: () => SimNode[],
  ) {}

  /** Every node configured for this cluster, powered off or not. */
  nodes(): SimNode[] {
    return this.allNodes().filter((n) => n.cluster === this);
  }

  /** The nodes that are powered on (a discovery service would list them). */
  present(): SimNode[] {
    return this.nodes().filter((n) => n.phase !== 'off');
  }

  controlPlanes(): SimNode[] {
    return this.present().filter((n) => n.isControlPlane);
  }

  workers(): SimNode[] {
    return this.present().filter((n) => !n.isControlPlane);
  }

  member(id: string | undefined): EtcdMemberEntry | undefined {
    return id === undefined ? undefined : this.members.find((m) => m.id === id);
  }

  isMember(node: SimNode): boolean {
    return this.member(node.etcdMemberId) !== undefined;
  }

  /** The node that holds this member's data, if it still does. */
  nodeOf(entry: EtcdMemberEntry): SimNode | undefined {
    return this.allNodes().find((n) => n.id === entry.nodeId && n.etcdMemberId === entry.id);
  }

  /** Members whose node runs etcd right now. */
  runningMembers(): EtcdMemberEntry[] {
    return this.members.filter((m) => {
      const n = this.nodeOf(m);
      return n !== undefined && n.etcdRunning;
    });
  }

  hasQuorum(): boolean {
    return this.members.length > 0 && this.runningMembers().length >= Math.floor(this.members.length / 2) + 1;
  }

  /** The etcd leader: the first running member, while there is quorum. */
  leader(): EtcdMemberEntry | undefined {
    return this.hasQuorum() ? this.runningMembers()[0] : undefined;
  }
}
