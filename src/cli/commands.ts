// kubectl talos health | kubeconfig | upgrade: each goes through the object's subresources
// (never to Talos directly), so the user's RBAC on those subresources is what decides. health and
// kubeconfig take an AdoptedServer (one node) or a KubernetesCluster (the whole cluster);
// upgrade takes an AdoptedServer.
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { adoptedServerKind, type AdoptedServerStatus } from '../api/adoptedserver.js';
import { kubernetesClusterKind } from '../api/kubernetescluster.js';
import { groupVersion, type KindDefinition } from '../machinery/kind.js';
import { CLIError, type KubeClient } from './kubeclient.js';
import { EXIT } from './exitcodes.js';
import { mergeKubeconfig, type MergeResult } from './kubeconfigmerge.js';

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
    throw new CLIError(
      `"${arg}": only ${kinds.map((k) => `${k.singular}/NAME`).join(' or ')} is supported`,
      EXIT.usage,
    );
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
    throw new CLIError(`"${arg}": "${name}" is not a valid object name`, EXIT.usage);
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
  else if (output) throw new CLIError(`unknown output format "${output}" (json, yaml)`, EXIT.usage);
  else {
    out.write(`${t.kind.singular}/${t.name}: ${report.status}\n`);
    out.write(
      table([
        ['CHECK', 'STATUS', 'TIME', 'MESSAGE'],
        ...report.checks.map((c) => [c.name, c.status, `${c.durationMs}ms`, c.message]),
      ]),
    );
  }
  return report.status === 'Healthy' ? EXIT.ok : EXIT.unhealthy;
}

export async function kubeconfig(
  kc: KubeClient,
  target: string,
  file: string | undefined,
  force: boolean,
  out: NodeJS.WritableStream,
): Promise<number> {
  const t = parseTarget(target, LIVE_KINDS);
  const reply = await kc.call('GET', `${targetPath(kc, t)}/kubeconfig`, undefined, 'application/yaml');
  if (!file || file === '-') {
    out.write(reply.body);
    return EXIT.ok;
  }
  const what = `the admin kubeconfig of ${t.kind.singular}/${t.name}`;
  const existing = force
    ? undefined
    : await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw new CLIError(`cannot read ${file}: ${e.message}`, EXIT.usage);
      });
  if (existing === undefined) {
    await writePrivate(file, reply.body);
    out.write(`wrote ${what} to ${file}\n`);
    return EXIT.ok;
  }
  let merged: MergeResult;
  try {
    merged = mergeKubeconfig(existing, reply.body);
  } catch (e) {
    throw new CLIError(`cannot merge into ${file}: ${(e as Error).message}; use --force to replace it`, EXIT.usage);
  }
  await writePrivate(file, merged.text);
  const renamed = merged.renamed.length > 0 ? ` (added ${merged.renamed.join(', ')}: the names were taken)` : '';
  out.write(`merged ${what} into ${file}${renamed}; current context "${merged.context}"\n`);
  return EXIT.ok;
}

/** an admin credential: only its owner may read it, also when the file was there before */
async function writePrivate(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

export interface UpgradeFlags {
  /** a Talos version; or `image` */
  to?: string;
  /** an installer image; or `to` */
  image?: string;
  wait: boolean;
  timeoutMs: number;
  stage?: boolean;
  force?: boolean;
  allowDowngrade?: boolean;
  preserve?: boolean;
  rebootMode?: 'default' | 'powercycle';
}

/** the UpgradeRequest spec the flags ask for; a usage error for a malformed --to or --image */
export function upgradeRequestSpec(flags: UpgradeFlags): Record<string, unknown> {
  let target: { version: string } | { image: string };
  if (flags.to !== undefined) {
    if (!/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(flags.to))
      throw new CLIError(`--to "${flags.to}" is not a Talos version such as v1.13.10`, EXIT.usage);
    target = { version: flags.to.startsWith('v') ? flags.to : `v${flags.to}` };
  } else if (flags.image !== undefined && /^[^\s:/][^\s]*$/.test(flags.image)) {
    target = { image: flags.image };
  } else {
    throw new CLIError(
      `--image "${flags.image ?? ''}" is not an image reference such as ghcr.io/siderolabs/installer:v1.13.10`,
      EXIT.usage,
    );
  }
  return {
    ...target,
    stage: !!flags.stage,
    force: !!flags.force,
    allowDowngrade: !!flags.allowDowngrade,
    preserve: !!flags.preserve,
    rebootMode: flags.rebootMode ?? 'default',
  };
}

export async function upgrade(
  kc: KubeClient,
  target: string,
  flags: UpgradeFlags,
  out: NodeJS.WritableStream,
): Promise<number> {
  const { name } = parseTarget(target);
  const spec = upgradeRequestSpec(flags);
  const wanted = String(spec.version ?? spec.image);
  const body = { apiVersion: groupVersion(adoptedServerKind), kind: 'UpgradeRequest', spec };
  const started = Date.now();
  const reply = await kc.call('POST', `${objectPath(kc, name)}/upgrade`, body);
  const result = JSON.parse(reply.body) as { status?: { fromVersion?: string; actorID?: string; message?: string } };
  out.write(
    `upgrade of adoptedserver/${name} to ${wanted} started (from ${result.status?.fromVersion ?? 'unknown'}): ${result.status?.message ?? ''}\n`,
  );
  if (!flags.wait) return EXIT.ok;
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
        if (ev.type === 'DELETED')
          throw new CLIError(`adoptedserver/${name} was deleted during the upgrade`, EXIT.notFound);
        const p = (ev.object.status as AdoptedServerStatus | undefined)?.upgrade;
        if (!p || (actorID && p.actorID && p.actorID !== actorID)) return false;
        const line = `${p.phase}: ${p.message ?? ''}`;
        if (line !== last) out.write(`[${elapsed().padStart(4)}] ${line}\n`);
        last = line;
        if (p.phase === 'Completed') verdict = EXIT.ok;
        if (p.phase === 'Failed') verdict = EXIT.unhealthy;
        return verdict !== undefined;
      },
      signal,
    );
  }
  if (verdict === undefined)
    throw new CLIError(
      `the upgrade of adoptedserver/${name} did not finish within ${Math.round(timeoutMs / 1000)}s (last: ${last || 'no progress seen'})`,
      EXIT.timeout,
    );
  return verdict;
}
