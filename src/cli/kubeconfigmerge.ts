// Merging a fetched admin kubeconfig into an existing kubeconfig file, as `talosctl kubeconfig`
// does: its clusters, users and contexts are added; an entry whose name is taken by a different
// entry is added under a new name (`NAME-1`, `NAME-2`, ...) and the references to it follow; an
// identical entry is reused. The merged file's current-context is the new context. Pure: text in,
// text out; the caller reads and writes the file.
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'yaml';

type Named = { name: string } & Record<string, unknown>;

interface Kubeconfig extends Record<string, unknown> {
  clusters?: Named[];
  users?: Named[];
  contexts?: (Named & { context?: { cluster?: string; user?: string } & Record<string, unknown> })[];
  'current-context'?: string;
}

export interface MergeResult {
  text: string;
  /** the current-context of the merged file: the new kubeconfig's context, renamed if it had to be */
  context: string;
  /** `cluster "a" as "a-1"`, one per entry added under another name */
  renamed: string[];
}

/** a kubeconfig's text as an object; an Error saying why it is not one */
function load(text: string, what: string): Kubeconfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${what} is not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return { apiVersion: 'v1', kind: 'Config' };
  if (typeof doc !== 'object' || Array.isArray(doc) || (doc as { kind?: unknown }).kind !== 'Config')
    throw new Error(`${what} is not a kubeconfig (kind: Config)`);
  const k = doc as Kubeconfig;
  for (const list of ['clusters', 'users', 'contexts'] as const) {
    const v = k[list];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.every((e) => typeof e?.name === 'string')))
      throw new Error(`${what}: ${list} is not a list of named entries`);
  }
  return k;
}

/** adds `entry` to `list` under its name or the first free `NAME-i`; returns the name it has there */
function place(list: Named[], entry: Named): string {
  for (let i = 0; ; i++) {
    const name = i === 0 ? entry.name : `${entry.name}-${i}`;
    const there = list.find((e) => e.name === name);
    if (!there) {
      list.push({ ...entry, name });
      return name;
    }
    if (isDeepStrictEqual({ ...there, name: entry.name }, entry)) return name;
  }
}

export function mergeKubeconfig(existingText: string, incomingText: string): MergeResult {
  const existing = load(existingText, 'the existing file');
  const incoming = load(incomingText, 'the fetched kubeconfig');
  const out: Kubeconfig = { ...existing };
  const clusters = [...(existing.clusters ?? [])];
  const users = [...(existing.users ?? [])];
  const contexts = [...(existing.contexts ?? [])];
  const renamed: string[] = [];
  const note = (what: string, from: string, to: string) => {
    if (from !== to) renamed.push(`${what} "${from}" as "${to}"`);
    return to;
  };
  const clusterNames = new Map<string, string>();
  for (const c of incoming.clusters ?? []) clusterNames.set(c.name, note('cluster', c.name, place(clusters, c)));
  const userNames = new Map<string, string>();
  for (const u of incoming.users ?? []) userNames.set(u.name, note('user', u.name, place(users, u)));
  const contextNames = new Map<string, string>();
  for (const c of incoming.contexts ?? []) {
    const ctx = { ...(c.context ?? {}) };
    if (ctx.cluster !== undefined) ctx.cluster = clusterNames.get(ctx.cluster) ?? ctx.cluster;
    if (ctx.user !== undefined) ctx.user = userNames.get(ctx.user) ?? ctx.user;
    contextNames.set(c.name, note('context', c.name, place(contexts, { ...c, context: ctx })));
  }
  const wanted = incoming['current-context'] ?? incoming.contexts?.[0]?.name;
  const context = (wanted !== undefined ? contextNames.get(wanted) : undefined) ?? existing['current-context'] ?? '';
  Object.assign(out, {
    apiVersion: existing.apiVersion ?? 'v1',
    kind: 'Config',
    clusters,
    users,
    contexts,
    'current-context': context,
  });
  return { text: stringify(out), context, renamed };
}
