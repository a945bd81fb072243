// `kubectl talos upgrade kubernetescluster/NAME --to ...`: posts an UpgradeRequest to the cluster's
// upgrade subresource (which records the target in the spec, judged by the server's upgrade rule)
// and, with --wait, follows status.upgrade per node, the Talos rollout and then (with --kubernetes)
// the Kubernetes one, until both targets are reached (exit 0) or a node failed (exit 1, naming it):
// the server stops there and waits for the user's retry or skip.
import { kubernetesClusterKind } from '../api/kubernetescluster.js';
import { groupVersion } from '../machinery/kind.js';
import { CLIError, type KubeClient } from './kubeclient.js';
import { EXIT } from './exitcodes.js';

export interface ClusterUpgradeFlags {
  to: string;
  kubernetes?: string;
  maxUnavailable?: number;
  allowDowngrade?: boolean;
  wait: boolean;
  timeoutMs: number;
}

interface NodeProgress {
  machine: string;
  role?: string;
  phase: string;
  step?: string;
  message?: string;
}

interface RolloutStatus {
  kind?: string;
  from?: string;
  to?: string;
  supersededBy?: string;
  finishedAt?: string;
  nodes?: NodeProgress[];
}

const VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
const clustersPath = (kc: KubeClient) =>
  `/apis/${groupVersion(kubernetesClusterKind)}/namespaces/${encodeURIComponent(kc.namespace)}/${kubernetesClusterKind.plural}`;

export async function upgradeCluster(
  kc: KubeClient,
  name: string,
  flags: ClusterUpgradeFlags,
  out: NodeJS.WritableStream,
): Promise<number> {
  if (!VERSION.test(flags.to))
    throw new CLIError(`--to "${flags.to}" is not a Talos version such as v1.13.10`, EXIT.usage);
  if (flags.kubernetes !== undefined && !VERSION.test(flags.kubernetes))
    throw new CLIError(`--kubernetes "${flags.kubernetes}" is not a Kubernetes version such as 1.36.3`, EXIT.usage);
  const to = flags.to.startsWith('v') ? flags.to : `v${flags.to}`;
  const body = {
    apiVersion: groupVersion(kubernetesClusterKind),
    kind: 'UpgradeRequest',
    spec: {
      talosVersion: to,
      ...(flags.kubernetes ? { kubernetesVersion: flags.kubernetes } : {}),
      strategy: 'Rolling',
      ...(flags.maxUnavailable !== undefined ? { maxUnavailable: flags.maxUnavailable } : {}),
      allowDowngrade: !!flags.allowDowngrade,
    },
  };
  const started = Date.now();
  const reply = await kc.call('POST', `${clustersPath(kc)}/${encodeURIComponent(name)}/upgrade`, body);
  const result = JSON.parse(reply.body) as { status?: { message?: string } };
  out.write(`kubernetescluster/${name}: ${result.status?.message ?? `asks for Talos ${to}`}\n`);
  if (!flags.wait) return EXIT.ok;
  const targets: Target[] = [
    { kind: 'Talos', to },
    ...(flags.kubernetes ? [{ kind: 'Kubernetes' as const, to: bare(flags.kubernetes) }] : []),
  ];
  return followRollout(kc, name, targets, flags.timeoutMs, started, out);
}

interface ClusterStatus {
  upgrade?: RolloutStatus;
  nodes?: { talosVersion?: string; kubernetesVersion?: string; role?: string; skippedUpgrades?: string[] }[];
}

const bare = (v: string) => v.replace(/^v/, '');
const label = (t: Target) => `${t.kind} ${t.to}`;

interface Target {
  kind: 'Talos' | 'Kubernetes';
  to: string;
}

/**
 * the rollout to `t` finished, or none was needed: every node (every control plane, for
 * Kubernetes) runs it or was left out of it by skip-failed-nodes
 */
function arrived(s: ClusterStatus, t: Target): boolean {
  const u = s.upgrade;
  if (u?.kind === t.kind && u.to !== undefined && bare(u.to) === bare(t.to) && u.finishedAt && !u.supersededBy)
    return true;
  if (u && !u.finishedAt) return false;
  const nodes = (s.nodes ?? []).filter((n) => t.kind === 'Talos' || n.role === 'controlplane');
  const runs = (n: (typeof nodes)[number]) => (t.kind === 'Talos' ? n.talosVersion : n.kubernetesVersion);
  const leftOut = (n: (typeof nodes)[number]) => (n.skippedUpgrades ?? []).includes(label(t));
  return nodes.length > 0 && nodes.every((n) => bare(runs(n) ?? '') === bare(t.to) || leftOut(n));
}

/** one line per node whose phase changed; the verdict once every target arrived or a node failed */
async function followRollout(
  kc: KubeClient,
  name: string,
  targets: Target[],
  timeoutMs: number,
  started: number,
  out: NodeJS.WritableStream,
): Promise<number> {
  const signal = AbortSignal.timeout(timeoutMs);
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  const seen = new Map<string, string>();
  let verdict: number | undefined;
  let failure = '';
  let stoppedIn = '';
  let shown = '';
  const path = `${clustersPath(kc)}?watch=true&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
  while (verdict === undefined && !signal.aborted) {
    // a watch the server ends (timeout, restart) is simply opened again
    await kc.watch(
      path,
      (ev) => {
        if (ev.type === 'DELETED')
          throw new CLIError(`kubernetescluster/${name} was deleted during the upgrade`, EXIT.notFound);
        const s = (ev.object.status ?? {}) as ClusterStatus;
        const u = s.upgrade;
        const ours = targets.find((t) => u?.kind === t.kind && u.to !== undefined && bare(u.to) === bare(t.to));
        if (u && ours) {
          const heading = `${u.kind} ${u.from ?? '?'} -> ${u.to}`;
          if (heading !== shown) out.write(`${heading}\n`);
          shown = heading;
          for (const n of u.nodes ?? []) {
            const step = n.step ? ` (${n.step})` : '';
            const line = `${n.phase}${step}${n.message ? `: ${n.message}` : ''}`;
            if (seen.get(n.machine) !== line)
              out.write(`[${elapsed().padStart(4)}] ${n.machine} (${n.role ?? 'node'}) ${line}\n`);
            seen.set(n.machine, line);
          }
          const failed = (u.nodes ?? []).filter((n) => n.phase === 'failed');
          if (failed.length > 0 && !u.supersededBy) {
            failure = failed.map((n) => `${n.machine}: ${n.message ?? 'failed'}`).join('; ');
            stoppedIn = label(ours);
            verdict = EXIT.unhealthy;
            return true;
          }
        }
        if (targets.every((t) => arrived(s, t))) verdict = EXIT.ok;
        return verdict !== undefined;
      },
      signal,
    );
  }
  const what = targets.map(label).join(' and ');
  if (verdict === undefined)
    throw new CLIError(
      `the upgrade of kubernetescluster/${name} to ${what} did not finish within ${Math.round(timeoutMs / 1000)}s`,
      EXIT.timeout,
    );
  if (verdict === EXIT.unhealthy)
    throw new CLIError(
      `the ${stoppedIn} upgrade of kubernetescluster/${name} stopped on a failed node (${failure}); annotate the cluster with upgrade.vitistack.io/retry-failed-nodes=true or skip-failed-nodes=true`,
      EXIT.unhealthy,
    );
  out.write(`kubernetescluster/${name}: every node runs ${what}\n`);
  return EXIT.ok;
}
