// The apply step: each Machine's generated config reaches its node. A node in maintenance mode
// gets it without verification (mode AUTO: it installs and reboots into the config); the first
// control plane goes first, the other control planes one at a time once the cluster is
// bootstrapped, each only when every control plane before it is an etcd member, and workers once
// the cluster is bootstrapped. A later change reaches configured nodes over mutual TLS in mode
// NO_REBOOT, one node per round, control planes first, only while every node is healthy; what
// Talos refuses without a reboot is reported, not forced. A change of the Talos or Kubernetes
// version is never applied here (VersionChangePending): that is an upgrade.
import { createHash } from 'node:crypto';
import { MACHINECONFIG_KEY, machineconfigSecretName } from '../../secrets/clustersecrets.js';
import { using } from '../../nodeaccess/machinenode.js';
import { unhealthyServices } from '../../nodeaccess/sighting.js';
import type { TalosClient } from '../../talos/client.js';
import { TalosError } from '../../talos/errors.js';
import type { ConditionUpdate } from '../conditions.js';
import { controlPlanes, event, isMember, live, now, ordered, type NodeView, type Round } from './round.js';
import { configVersions, versionChange } from './versions.js';

interface Findings {
  failed: string[];
  versions: string[];
  waiting: string[];
}

const healthy = (v: NodeView) =>
  v.sighting?.mode === 'configured' && !unhealthyServices(v.sighting.services ?? []).length;

async function configOf(r: Round, v: NodeView): Promise<string | undefined> {
  return (await r.deps.secrets.get(r.namespace, machineconfigSecretName(v.name)))?.[MACHINECONFIG_KEY];
}

async function applyTo(
  r: Round,
  v: NodeView,
  f: Findings,
  how: { client: TalosClient; mode: 'AUTO' | 'NO_REBOOT'; text: string },
): Promise<boolean> {
  const hash = createHash('sha256').update(how.text).digest('hex');
  try {
    const result = await using(how.client, (c) => c.applyConfiguration({ data: how.text, mode: how.mode }));
    const versions = configVersions(how.text);
    Object.assign(v.record, { configHash: hash, state: how.mode === 'AUTO' ? 'Applying' : v.record.state });
    if (versions.kubernetes) v.record.kubernetesVersion = versions.kubernetes;
    delete v.record.lastError;
    const what =
      how.mode === 'AUTO'
        ? `applied its configuration to the node of machine ${v.name} at ${v.endpoint} in maintenance mode; it installs Talos ${versions.talos ?? ''} and reboots`
        : `applied the changed configuration of machine ${v.name} to its node without a reboot (${result.modeDetails || result.mode})`;
    await event(r, 'Normal', 'ConfigApplied', what);
    return true;
  } catch (e) {
    if (!(e instanceof TalosError)) throw e;
    const refused = e.failure === 'InvalidArgument' || e.failure === 'FailedPrecondition';
    v.record.lastError = e.message;
    f.failed.push(`${v.name}: ${e.message}`);
    r.failed = true;
    await event(
      r,
      'Warning',
      refused ? 'ConfigRefused' : 'ApplyFailed',
      `${refused ? 'the node refused the configuration' : 'applying the configuration failed'} of machine ${v.name}: ${e.message}`,
    );
    return false;
  }
}

async function firstConfigs(r: Round, f: Findings, flush: () => Promise<void>, graceMs: number): Promise<void> {
  const bootstrapped = !!r.bootstrap.completedAt;
  const cps = ordered(controlPlanes(live(r)));
  // before the bootstrap only the first control plane with a node is given its config
  const first = cps.find((v) => v.endpoint);
  /** a control plane that runs (or was given) a config of the cluster */
  const started = (o: NodeView) => !!o.record.configHash || o.sighting?.mode === 'configured';
  let cpGoing = false;
  for (const v of ordered(live(r))) {
    if (v.sighting?.mode !== 'maintenance' || !v.desiredHash) continue;
    // when it was given its config is in the status, so a restart gives it the rest of its time to install
    const last = v.record.appliedAt ? Date.parse(v.record.appliedAt) : undefined;
    if (v.record.state === 'Applying' && last !== undefined && Date.now() - last < graceMs) {
      f.waiting.push(`${v.name} (installing)`);
      continue;
    }
    if (v.role === 'worker' && !bootstrapped) {
      f.waiting.push(`${v.name} (after the bootstrap)`);
      continue;
    }
    if (v.role === 'controlplane') {
      const others = cps.filter((o) => o !== v && started(o));
      const joining = others.filter((o) => !isMember(r, o)).map((o) => o.name);
      const blocked = cpGoing || (bootstrapped ? joining.length > 0 : others.length > 0 || v !== first);
      if (blocked) {
        f.waiting.push(
          bootstrapped
            ? `${v.name} (control planes join one at a time${joining.length ? `: ${joining.join(', ')} first` : ''})`
            : `${v.name} (after the bootstrap of ${first?.name})`,
        );
        continue;
      }
      cpGoing = true;
    }
    const text = await configOf(r, v);
    if (!text) {
      f.waiting.push(`${v.name} (its config Secret is not there yet)`);
      continue;
    }
    if (await applyTo(r, v, f, { client: r.deps.nodes.maintenance(v.endpoint!), mode: 'AUTO', text })) {
      v.record.appliedAt = now();
      // written at once: a restart must find it, not give the config to the installing node again
      await flush();
    }
  }
}

async function changedConfigs(r: Round, f: Findings): Promise<void> {
  const views = ordered(live(r));
  for (const v of views) {
    if (v.sighting?.mode !== 'configured' || !v.desiredHash || v.record.configHash === v.desiredHash) continue;
    const text = await configOf(r, v);
    if (!text) continue;
    const change = versionChange(
      { talos: v.sighting.talosVersion, kubernetes: v.record.kubernetesVersion },
      configVersions(text),
    );
    if (change) {
      f.versions.push(`${v.name}: ${change}`);
      continue;
    }
    // a node configured before its record was written (a restart in between) takes the same
    // config again at once; a change waits until every node is healthy, and goes one node a round
    if (v.record.configHash) {
      const sick = views.filter((o) => !healthy(o) || (o.role === 'controlplane' && !isMember(r, o)));
      if (sick.length) {
        f.waiting.push(`${v.name} (its change waits until ${sick.map((o) => o.name).join(', ')} is healthy)`);
        return;
      }
    }
    await applyTo(r, v, f, { client: r.deps.nodes.configured(v.endpoint!, r.creds), mode: 'NO_REBOOT', text });
    if (v.record.configHash) return;
  }
}

function condition(r: Round, f: Findings): ConditionUpdate {
  const no = (reason: string, message: string, severity: 'Warning' | 'Info' = 'Warning'): ConditionUpdate => ({
    type: 'ConfigApplied',
    status: 'False',
    severity,
    reason,
    message,
  });
  if (f.failed.length) return no('ApplyFailed', f.failed.join('; '));
  const elsewhere = live(r).filter((v) => v.sighting?.mode === 'foreign');
  if (elsewhere.length)
    return no(
      'NodeConfiguredElsewhere',
      `left alone: ${elsewhere.map((v) => `${v.name} (${v.sighting!.error})`).join('; ')}`,
    );
  if (f.versions.length)
    return no(
      'VersionChangePending',
      `a version change is an upgrade, not applied here: ${f.versions.join('; ')}`,
      'Info',
    );
  const views = live(r);
  // a node still installing and rebooting into its config does not run it yet
  const runs = (v: NodeView) =>
    v.sighting?.mode === 'configured' || (v.sighting?.mode === 'unreachable' && v.record.state !== 'Applying');
  const done = views.filter((v) => v.desiredHash && v.record.configHash === v.desiredHash && runs(v));
  if (done.length === views.length)
    return {
      type: 'ConfigApplied',
      status: 'True',
      reason: 'Applied',
      message: `${done.length} nodes run their configuration`,
    };
  const without = views.filter((v) => !v.endpoint).map((v) => `${v.name} (no node yet)`);
  const away = views
    .filter((v) => v.endpoint && v.sighting?.mode === 'unreachable' && v.record.configHash !== v.desiredHash)
    .map((v) => `${v.name} (unreachable)`);
  const installing = views
    .filter((v) => v.record.state === 'Applying' && !f.waiting.some((w) => w.startsWith(`${v.name} `)))
    .map((v) => `${v.name} (installing)`);
  const waiting = [...without, ...away, ...installing, ...f.waiting];
  return no(
    'Applying',
    `${done.length} of ${views.length} nodes run their configuration${waiting.length ? `; waiting: ${waiting.join(', ')}` : ''}`,
    'Info',
  );
}

export async function applyStep(r: Round, flush: () => Promise<void>): Promise<void> {
  const f: Findings = { failed: [], versions: [], waiting: [] };
  for (const v of live(r)) {
    if (v.sighting?.mode === 'foreign' && v.previousState !== 'ConfiguredElsewhere')
      await event(r, 'Warning', 'NodeConfiguredElsewhere', `left alone: machine ${v.name}: ${v.sighting.error}`);
  }
  await firstConfigs(r, f, flush, r.deps.unreachableTimeoutMs);
  await changedConfigs(r, f);
  r.conditions.ConfigApplied = condition(r, f);
}
