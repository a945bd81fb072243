// kubectl talos health | kubeconfig | upgrade: each goes through the object's subresources
// (never to Talos directly), so the user's RBAC on those subresources is what decides. health and
// kubeconfig take an AdoptedServer (one node) or a KubernetesCluster (the whole cluster);
// upgrade takes an AdoptedServer.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { adoptedServerKind, type AdoptedServerStatus } from '../api/adoptedserver.js';
import { kubernetesClusterKind } from '../api/kubernetescluster.js';
import { groupVersion, type KindDefinition } from '../machinery/kind.js';
import { CLIError, type KubeClient } from './kubeclient.js';

const { plural } = adoptedServerKind;
const BASE = `/apis/${groupVersion(adoptedServerKind)}`;

/** every name kubectl accepts for a kind: singular, plural, short names, each also group-qualified */
const namesOf = (k: KindDefinition) =>
  new Set([k.singular, k.plural, ...k.shortNames, `${k.singular}.${k.group}`, `${k.plural}.${k.group}`]);
const TARGET_KINDS = [adoptedServerKind, kubernetesClusterKind].map((k) => ({ kind: k, names: namesOf(k) }));

export interface Target {
  kind: KindDefinition;
  name: string;
}

/** `adoptedserver/NAME` (also `as/NAME`, ...), `kubernetescluster/NAME` (also `kc/NAME`), or a bare NAME (an AdoptedServer) */
export function parseTarget(arg: string, kinds: readonly KindDefinition[] = [adoptedServerKind]): Target {
  const slash = arg.indexOf('/');
  const kindName = slash < 0 ? adoptedServerKind.singular : arg.slice(0, slash).toLowerCase();
  const name = slash < 0 ? arg : arg.slice(slash + 1);
  const kind = TARGET_KINDS.find((t) => kinds.includes(t.kind) && t.names.has(kindName))?.kind;
  if (!kind)
    throw new CLIError(`"${arg}": only ${kinds.map((k) => `${k.singular}/NAME`).join(' or ')} is supported`, 2);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
    throw new CLIError(`"${arg}": "${name}" is not a valid object name`, 2);
  return { kind, name };
}

const LIVE_KINDS = [adoptedServerKind, kubernetesClusterKind];

const targetPath = (kc: KubeClient, t: Target) =>
  `/apis/${groupVersion(t.kind)}/namespaces/${encodeURIComponent(kc.namespace)}/${t.kind.plural}/${encodeURIComponent(t.name)}`;
const objectPath = (kc: KubeClient, name: string) => targetPath(kc, { kind: adoptedServerKind, name });

interface HealthReport {
  status: string;
  checks: { name: string; status: string; message: string; durationMs: number }[];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** prints the report; exit 1 unless the node is Healthy */
export async function health(
  kc: KubeClient,
  target: string,
  output: string | undefined,
  out: NodeJS.WritableStream,
): Promise<number> {
  const t = parseTarget(target, LIVE_KINDS);
  const reply = await kc.call('GET', `${targetPath(kc, t)}/health`);
  const report = JSON.parse(reply.body) as HealthReport;
  if (output === 'json') out.write(JSON.stringify(report, null, 2) + '\n');
  else if (output === 'yaml') out.write(stringify(report));
  else if (output) throw new CLIError(`unknown output format "${output}" (json, yaml)`, 2);
  else {
    out.write(`${t.kind.singular}/${t.name}: ${report.status}\n`);
    out.write(
      table([
        ['CHECK', 'STATUS', 'TIME', 'MESSAGE'],
        ...report.checks.map((c) => [c.name, c.status, `${c.durationMs}ms`, c.message]),
      ]),
    );
  }
  return report.status === 'Healthy' ? 0 : 1;
}

export async function kubeconfig(
  kc: KubeClient,
  target: string,
  file: string | undefined,
  out: NodeJS.WritableStream,
): Promise<number> {
  const t = parseTarget(target, LIVE_KINDS);
  const reply = await kc.call('GET', `${targetPath(kc, t)}/kubeconfig`, undefined, 'application/yaml');
  if (!file || file === '-') {
    out.write(reply.body);
    return 0;
  }
  // it is an admin credential: only its owner may read it
  await writeFile(file, reply.body, { mode: 0o600 });
  out.write(`wrote the admin kubeconfig of ${t.kind.singular}/${t.name} to ${file}\n`);
  return 0;
}

export interface UpgradeFlags {
  to: string;
  wait: boolean;
  timeoutMs: number;
  stage?: boolean;
  force?: boolean;
  allowDowngrade?: boolean;
}

export async function upgrade(
  kc: KubeClient,
  target: string,
  flags: UpgradeFlags,
  out: NodeJS.WritableStream,
): Promise<number> {
  const { name } = parseTarget(target);
  if (!/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(flags.to))
    throw new CLIError(`--to "${flags.to}" is not a Talos version such as v1.13.10`, 2);
  const version = flags.to.startsWith('v') ? flags.to : `v${flags.to}`;
  const body = {
    apiVersion: groupVersion(adoptedServerKind),
    kind: 'UpgradeRequest',
    spec: { version, stage: !!flags.stage, force: !!flags.force, allowDowngrade: !!flags.allowDowngrade },
  };
  const started = Date.now();
  const reply = await kc.call('POST', `${objectPath(kc, name)}/upgrade`, body);
  const result = JSON.parse(reply.body) as { status?: { fromVersion?: string; actorID?: string; message?: string } };
  out.write(
    `upgrade of adoptedserver/${name} to ${version} started (from ${result.status?.fromVersion ?? 'unknown'}): ${result.status?.message ?? ''}\n`,
  );
  if (!flags.wait) return 0;
  return followUpgrade(kc, name, result.status?.actorID, flags.timeoutMs, started, out);
}

/** follows status.upgrade through a watch of the object, printing each phase as it arrives */
async function followUpgrade(
  kc: KubeClient,
  name: string,
  actorID: string | undefined,
  timeoutMs: number,
  started: number,
  out: NodeJS.WritableStream,
): Promise<number> {
  const signal = AbortSignal.timeout(timeoutMs);
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  let last = '';
  let verdict: number | undefined;
  const path = `${BASE}/namespaces/${encodeURIComponent(kc.namespace)}/${plural}?watch=true&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
  while (verdict === undefined && !signal.aborted) {
    // a watch the server ends (timeout, restart) is simply opened again
    await kc.watch(
      path,
      (ev) => {
        if (ev.type === 'DELETED') throw new CLIError(`adoptedserver/${name} was deleted during the upgrade`);
        const p = (ev.object.status as AdoptedServerStatus | undefined)?.upgrade;
        if (!p || (actorID && p.actorID && p.actorID !== actorID)) return false;
        const line = `${p.phase}: ${p.message ?? ''}`;
        if (line !== last) out.write(`[${elapsed().padStart(4)}] ${line}\n`);
        last = line;
        if (p.phase === 'Completed') verdict = 0;
        if (p.phase === 'Failed') verdict = 1;
        return verdict !== undefined;
      },
      signal,
    );
  }
  if (verdict === undefined)
    throw new CLIError(
      `the upgrade of adoptedserver/${name} did not finish within ${Math.round(timeoutMs / 1000)}s (last: ${last || 'no progress seen'})`,
    );
  return verdict;
}
