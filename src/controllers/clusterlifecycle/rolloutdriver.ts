// What a kind of rollout (Talos, Kubernetes) tells the shared rollout loop (rollout.ts) about
// one node: how to ask it, how to follow it, when a finished node is steady enough for the next
// to start, and on resume whether a failed node is now where the rollout wants it.
import type { ClusterUpgradeStatus, UpgradeNodeStatus } from '../../api/kubernetescluster.js';
import type { NodeView, Round } from './round.js';

export interface RolloutOptions {
  /** how long a node may take from being asked to being done before it is failed */
  nodeTimeoutMs: number;
}

export interface RolloutDriver {
  /** asks the node for its next step (its intent written first); also re-asks one whose call may not have arrived */
  start(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus, v: NodeView): Promise<void>;
  /** judges a node that was asked: done, still going, or failed */
  follow(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus, v: NodeView, o: RolloutOptions): Promise<void>;
  /** a node done with its step runs what the rollout wants, healthy: the next may start */
  steady(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus, v: NodeView): boolean;
  /** on resume: why a failed node is still failed, undefined when it is now at the target */
  stillFailing(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus): Promise<string | undefined>;
}
