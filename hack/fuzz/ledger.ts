// What the fuzzer's successful writes could have changed, against what the watches saw change.
// Every ADDED/MODIFIED event must carry the resourceVersion of some 2xx create/update/patch/apply
// (or delete that set deletionTimestamp) of that object; every DELETED event must belong to a 2xx
// delete or deletecollection of that object (by uid) or to the write that removed its last
// finalizer. Conversely every acknowledged write must show up in the watches. The only writes the
// server makes by itself with the controllers off are the in-process admission's Secrets, which
// follow a write of their KubernetesCluster or Machine.
import type { RecordedEvent, SeenObject } from './recorder.js';
import { seen } from './recorder.js';

export interface Violation {
  what: string;
  /** the known defect it is attributed to, when the object was touched by a request that hit one */
  knownDefect?: string;
}

const objKey = (o: { resource: string; namespace: string; name: string }) => `${o.resource}|${o.namespace}|${o.name}`;

type Meta = { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
type Body = {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  details?: { uid?: string };
  items?: { metadata?: Meta }[];
};

export class Ledger {
  /** object key -> resourceVersions of its acknowledged writes */
  private readonly writes = new Map<string, Set<string>>();
  private readonly written: SeenObject[] = [];
  /** uids a 2xx delete answered for */
  private readonly deletedUids = new Set<string>();
  /** uids a 2xx deletecollection listed (deleted, or marked terminating) */
  private readonly collectedUids = new Set<string>();
  /** objects a request may have changed without a 2xx: the reason (a known defect, a timeout) */
  private readonly tainted = new Map<string, string>();
  private readonly taintedPrefixes: { key: string; reason: string }[] = [];

  constructor(
    /** apiVersion + kind -> group/resource */
    private readonly resourceOf: (apiVersion: string, kind: string) => string | undefined,
  ) {}

  /** a 2xx answer to a write that was not a dry run */
  recordWrite(method: string, body: Body): void {
    if (body.kind === 'Status') {
      if (method === 'DELETE' && body.details?.uid) this.deletedUids.add(body.details.uid);
      return;
    }
    if (Array.isArray(body.items)) {
      if (method === 'DELETE')
        for (const it of body.items) if (it.metadata?.uid) this.collectedUids.add(it.metadata.uid);
      return;
    }
    const resource = body.apiVersion && body.kind ? this.resourceOf(body.apiVersion, body.kind) : undefined;
    if (!resource || !body.metadata?.resourceVersion) return;
    const s = seen(resource, body as { metadata: Meta });
    this.written.push(s);
    const k = objKey(s);
    if (!this.writes.has(k)) this.writes.set(k, new Set());
    this.writes.get(k)!.add(s.rv);
  }

  /**
   * A write whose outcome is unknown (a known defect's 500, no answer): its object may have
   * changed. A create with generateName taints every name with that prefix.
   */
  taint(target: { resource: string; namespace: string; name: string }, reason: string, generateName?: string): void {
    this.tainted.set(objKey(target), reason);
    if (generateName) this.taintedPrefixes.push({ key: objKey({ ...target, name: generateName }), reason });
  }

  private taintOf(e: { resource: string; namespace: string; name: string }): string | undefined {
    return this.tainted.get(objKey(e)) ?? this.taintedPrefixes.find((t) => objKey(e).startsWith(t.key))?.reason;
  }

  check(initial: SeenObject[], events: RecordedEvent[]): Violation[] {
    const out: Violation[] = [];
    for (const e of events) {
      const explained = this.explains(e);
      if (explained === true) continue;
      const before = events.filter((x) => objKey(x) === objKey(e) && Number(x.rv) < Number(e.rv)).pop();
      const what = `${e.type} ${e.resource} ${e.namespace}/${e.name} at resourceVersion ${e.rv} (uid ${e.uid}) without a 2xx write that made it:\n    event: ${e.raw}\n    previous event: ${before?.raw ?? 'none'}`;
      out.push({ what, knownDefect: explained || this.taintOf(e) });
    }
    const observed = new Set([...initial, ...events].map((e) => `${objKey(e)}|${e.rv}`));
    for (const w of this.written) {
      if (!observed.has(`${objKey(w)}|${w.rv}`))
        out.push({
          what: `a 2xx write of ${w.resource} ${w.namespace}/${w.name} answered resourceVersion ${w.rv}, which no watch event carries`,
        });
    }
    return out;
  }

  private wroteAt(e: { resource: string; namespace: string; name: string }, rv: string): boolean {
    return this.writes.get(objKey(e))?.has(rv) ?? false;
  }

  /** true, or false, or the taint of the request that could have made it (an admission Secret's owner's) */
  private explains(e: RecordedEvent): boolean | string {
    if (this.wroteAt(e, e.rv)) return true;
    if (e.type === 'DELETED') return this.deletedUids.has(e.uid) || this.collectedUids.has(e.uid);
    if (e.deleting && this.collectedUids.has(e.uid)) return true;
    return this.admissionSecret(e);
  }

  /**
   * The in-process admission writes `<cluster>-talos-secrets` and `<cluster>-talosconfig` after a
   * KubernetesCluster write, `<machine>-machineconfig` after a Machine write (labelled
   * talos.vitistack.io/secret): explained when such a write of the owner came before.
   */
  private admissionSecret(e: RecordedEvent): boolean | string {
    if (e.resource !== '/secrets' || !e.labels['talos.vitistack.io/secret']) return false;
    const m = /^(.+)-(talos-secrets|talosconfig|machineconfig)$/.exec(e.name);
    if (!m) return false;
    const owner = {
      resource: m[2] === 'machineconfig' ? 'vitistack.io/machines' : 'vitistack.io/kubernetesclusters',
      namespace: e.namespace,
      name: m[1]!,
    };
    const rvs = this.writes.get(objKey(owner));
    if (rvs && [...rvs].some((rv) => Number(rv) < Number(e.rv))) return true;
    return this.taintOf(owner) ?? false;
  }
}
