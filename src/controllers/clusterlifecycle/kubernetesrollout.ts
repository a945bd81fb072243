// The Kubernetes rollout's node steps, what `talosctl upgrade-k8s` does, without a reboot: each
// control plane in turn gets its new control-plane components (its config with the new
// kube-apiserver, kube-controller-manager, scheduler and kube-proxy images while its kubelet stays
// where it runs), confirmed by the node reporting those static pods at the new version and
// ready; then every node's kubelet (its whole new config), control planes first, confirmed by
// the node's kubelet at the new version and healthy. A config apply may be repeated safely, so a
// restart re-asks a node whose call may not have arrived; a node not there in time is failed
// and the rollout stops (rolloutrecord.ts).
import { createHash } from 'node:crypto';
import type { ClusterUpgradeStatus, UpgradeNodeStatus } from '../../api/kubernetescluster.js';
import { compareVersions } from '../../machineconfig/upgradepolicy.js';
import {
  CONTROL_PLANE_COMPONENTS,
  kubernetesComponents,
  type KubernetesComponents,
} from '../../nodeaccess/kubernetescomponents.js';
import { using } from '../../nodeaccess/machinenode.js';
import { unhealthyServices } from '../../nodeaccess/sighting.js';
import { TalosError } from '../../talos/errors.js';
import { event, isMember, live, now, ordered, type NodeView, type Round } from './round.js';
import type { RolloutDriver, RolloutOptions } from './rolloutdriver.js';
import { summary, writeRollout } from './rolloutrecord.js';
import { bare, withKubeletImage, type ConfigVersions } from './versions.js';

/** a Machine's config as its Secret holds it, with the versions it asks for */
export interface DesiredConfig extends ConfigVersions {
  text: string;
}

async function componentsOf(r: Round, v: NodeView): Promise<KubernetesComponents | string> {
  if (v.sighting?.mode !== 'configured') return v.sighting?.error ?? `the node is ${v.sighting?.mode ?? 'not seen'}`;
  try {
    return await using(r.deps.nodes.configured(v.endpoint!, r.creds), (c) => kubernetesComponents(c));
  } catch (e) {
    if (!(e instanceof TalosError)) throw e;
    return `its Kubernetes components could not be read: ${e.message}`;
  }
}

/** why the control-plane components of a node are not at `to` and ready; undefined when they are */
function componentsBehind(k: KubernetesComponents, to: string): string | undefined {
  const problems = CONTROL_PLANE_COMPONENTS.flatMap((name) => {
    const c = k.controlPlane.find((x) => x.component === name);
    if (!c) return [`${name} is not running`];
    if (!c.version || bare(c.version) !== to) return [`${name} runs ${c.version ?? c.image}`];
    return c.ready ? [] : [`${name} ${c.version} is not ready`];
  });
  return problems.length ? problems.join(', ') : undefined;
}

/** why a node's kubelet is not at `to` and healthy; undefined when it is */
function kubeletBehind(k: KubernetesComponents, v: NodeView, to: string): string | undefined {
  if (!k.kubelet) return 'the node reports no kubelet';
  if (!k.kubelet.version || bare(k.kubelet.version) !== to)
    return `its kubelet runs ${k.kubelet.version ?? k.kubelet.image}`;
  const sick = unhealthyServices((v.sighting?.services ?? []).filter((s) => s.id === 'kubelet'));
  return sick.length ? `kubelet ${to} is unhealthy: ${sick.join(', ')}` : undefined;
}

const targetOf = (u: ClusterUpgradeStatus, n: UpgradeNodeStatus) => n.to ?? u.to;

/** why node `n` is not done with its rollout (both steps); undefined when it is */
function notThere(k: KubernetesComponents | string, v: NodeView, n: UpgradeNodeStatus, to: string) {
  if (typeof k === 'string') return k;
  return (n.role === 'controlplane' ? componentsBehind(k, to) : undefined) ?? kubeletBehind(k, v, to);
}

/** nodes whose config asks for another Kubernetes version than the one last applied to them */
function behind(r: Round, desired: ReadonlyMap<string, DesiredConfig>): NodeView[] {
  return ordered(live(r)).filter((v) => {
    const want = desired.get(v.name)?.kubernetes;
    const has = v.record.kubernetesVersion;
    return (
      !!want && !!has && bare(want) !== bare(has) && !(v.record.skippedUpgrades ?? []).includes(`Kubernetes ${want}`)
    );
  });
}

/** a new rollout when some node's config asks for another Kubernetes version; each node asked what it runs */
export async function beginKubernetes(
  r: Round,
  desired: ReadonlyMap<string, DesiredConfig>,
): Promise<ClusterUpgradeStatus | undefined> {
  const late = behind(r, desired);
  if (!late.length) return undefined;
  const views = ordered(live(r));
  const to = bare(desired.get(views[0]!.name)?.kubernetes ?? desired.get(late[0]!.name)!.kubernetes!);
  const nodes: UpgradeNodeStatus[] = [];
  for (const v of views) {
    const mine = bare(desired.get(v.name)?.kubernetes ?? to);
    const k = await componentsOf(r, v);
    const running = typeof k === 'string' ? v.record.kubernetesVersion : k.kubelet?.version;
    const n: UpgradeNodeStatus = {
      machine: v.name,
      role: v.role,
      phase: 'pending',
      step: v.role === 'controlplane' ? 'components' : 'kubelet',
      ...(running ? { from: bare(running) } : {}),
      ...(mine !== to ? { to: mine } : {}),
      attempts: 0,
    };
    if (typeof k !== 'string') {
      if (n.step === 'components' && !componentsBehind(k, mine)) n.step = 'kubelet';
      if (n.step === 'kubelet' && !kubeletBehind(k, v, mine)) {
        n.phase = 'done';
        n.message = `runs Kubernetes ${mine}`;
        v.record.kubernetesVersion = mine;
      }
    }
    nodes.push(n);
  }
  if (nodes.every((n) => n.phase === 'done')) return undefined;
  const from = nodes.find((n) => n.phase !== 'done')?.from;
  return {
    kind: 'Kubernetes',
    ...(from ? { from } : {}),
    to,
    ...(from && compareVersions(to, from) < 0 ? { rollback: true } : {}),
    startedAt: now(),
    nodes,
  };
}

/** whether the Kubernetes rollout `u` still takes every node where its config asks */
export function kubernetesStillWanted(u: ClusterUpgradeStatus, desired: ReadonlyMap<string, DesiredConfig>): boolean {
  return (u.nodes ?? []).every((n) => {
    const want = desired.get(n.machine)?.kubernetes;
    return !want || bare(want) === targetOf(u, n);
  });
}

export function kubernetesDriver(desired: ReadonlyMap<string, DesiredConfig>, o: RolloutOptions): RolloutDriver {
  return {
    steady: (r, _u, _n, v) =>
      v.sighting?.mode === 'configured' &&
      !unhealthyServices(v.sighting.services ?? []).length &&
      (v.role !== 'controlplane' || isMember(r, v)),

    async stillFailing(r, u, n) {
      const v = live(r).find((x) => x.name === n.machine);
      if (!v) return 'its Machine is gone';
      return notThere(await componentsOf(r, v), v, n, targetOf(u, n));
    },

    async follow(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus, v: NodeView) {
      const to = targetOf(u, n);
      const k = await componentsOf(r, v);
      const why =
        typeof k === 'string' ? k : n.step === 'components' ? componentsBehind(k, to) : kubeletBehind(k, v, to);
      if (why === undefined && n.step === 'components') {
        const kubeletThere = typeof k !== 'string' && !kubeletBehind(k, v, to);
        Object.assign(n, {
          phase: kubeletThere ? 'done' : 'pending',
          step: 'kubelet',
          message: `control-plane components run ${to}${kubeletThere ? '' : '; its kubelet follows once every control plane runs them'}`,
        });
        delete n.requestedAt;
        delete n.acceptedAt;
        if (kubeletThere) n.finishedAt = now();
        await event(
          r,
          'Normal',
          'UpgradeNodeComponentsDone',
          `machine ${v.name}: control-plane components run Kubernetes ${to}`,
        );
        return;
      }
      if (why === undefined) {
        Object.assign(n, { phase: 'done', finishedAt: now(), message: `kubelet runs ${to}, healthy` });
        v.record.kubernetesVersion = to;
        await event(r, 'Normal', 'UpgradeNodeDone', `machine ${v.name} runs Kubernetes ${to}`);
        return;
      }
      n.message = `waiting: ${why}`;
      const since = Date.parse(n.acceptedAt ?? n.requestedAt ?? u.startedAt ?? now());
      if (Date.now() - since > o.nodeTimeoutMs) {
        const failed = `not at Kubernetes ${to} within ${o.nodeTimeoutMs}ms: ${why}`;
        Object.assign(n, { phase: 'failed', finishedAt: now(), message: failed });
        await event(r, 'Warning', 'UpgradeNodeFailed', `machine ${v.name} ${failed}`);
      }
    },

    async start(r: Round, u: ClusterUpgradeStatus, n: UpgradeNodeStatus, v: NodeView) {
      const to = targetOf(u, n);
      const config = desired.get(v.name);
      const step = n.step ?? 'kubelet';
      if (!(n.phase === 'upgrading' && !n.acceptedAt)) {
        Object.assign(n, { phase: 'upgrading', step, attempts: (n.attempts ?? 0) + 1, requestedAt: now() });
        delete n.acceptedAt;
        delete n.finishedAt;
        n.message = step === 'components' ? `giving the control-plane components ${to}` : `giving the kubelet ${to}`;
        await writeRollout(r, u, summary(u));
      }
      if (!config?.text) {
        n.message = 'its config Secret is not there; waiting';
        return;
      }
      let text = config.text;
      if (step === 'components') {
        // the kubelet stays at the image it runs until the kubelet step
        const k = await componentsOf(r, v);
        const running = typeof k === 'string' ? undefined : k.kubelet?.image;
        const kept =
          running ??
          (n.from && config.kubeletImage ? config.kubeletImage.replace(/:[^:/]+$/, `:v${n.from}`) : undefined);
        if (kept) text = withKubeletImage(text, kept);
      }
      try {
        await using(r.deps.nodes.configured(v.endpoint!, r.creds), (c) =>
          c.applyConfiguration({ data: text, mode: 'NO_REBOOT' }),
        );
        v.record.configHash = createHash('sha256').update(text).digest('hex');
        Object.assign(n, { acceptedAt: now(), message: `applied without a reboot; waiting for the node to run ${to}` });
        await event(
          r,
          'Normal',
          'UpgradeNodeStarted',
          step === 'components'
            ? `machine ${v.name}: control-plane components to Kubernetes ${to}, without a reboot`
            : `machine ${v.name}: kubelet to Kubernetes ${to}, without a reboot`,
        );
      } catch (e) {
        if (!(e instanceof TalosError)) throw e;
        if (e.failure === 'Unreachable' || e.failure === 'Timeout') {
          // applying again is harmless: the next round asks again, the node's timeout still runs
          n.message = `the node did not answer (${e.message}); asking again`;
          if (Date.now() - Date.parse(n.requestedAt ?? now()) <= o.nodeTimeoutMs) return;
          Object.assign(n, {
            phase: 'failed',
            finishedAt: now(),
            message: `the node did not answer within ${o.nodeTimeoutMs}ms: ${e.message}`,
          });
          await event(r, 'Warning', 'UpgradeNodeFailed', `machine ${v.name}: ${n.message}`);
          return;
        }
        Object.assign(n, {
          phase: 'failed',
          finishedAt: now(),
          message: `the node refused the configuration: ${e.message}`,
        });
        await event(
          r,
          'Warning',
          'UpgradeNodeFailed',
          `machine ${v.name}: the node refused Kubernetes ${to}: ${e.message}`,
        );
      }
    },
  };
}
