// The AdoptedServer controller (seed 000): on every change of an object's spec, and every resync
// period, it checks the accepted gate, asks the node (connectivity, node info, health), reflects
// SideroLink's configuration, syncs with the Management API when enabled, writes the status and
// records Events for transitions. While an upgrade runs it looks much more often, to follow the
// node through its reboot. One active instance: it runs under the server's leadership.
import type { Logger } from 'pino';
import { adoptedServerFinalizer, adoptedServerKind } from '../../api/adoptedserver.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext } from '../../machinery/registry/context.js';
import { parseSelection } from '../../machinery/registry/selection.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { startWatch, type ActiveWatch } from '../../machinery/registry/watch.js';
import { withNode, type NodeAccess } from '../../nodes/connect.js';
import { CredentialsError } from '../../nodes/credentials.js';
import { probeNode } from '../../nodes/health.js';
import { upgradeInProgress, type UpgradeProgress } from '../../nodes/upgrade.js';
import { TalosError } from '../../talos/errors.js';
import type { OutboundAllowList } from '../../talos/outbound.js';
import type { EventRecorder } from '../events.js';
import { syncManagementAPI, unregisterFromManagementAPI } from './managementapi.js';
import { planStatus, specOf, statusChanged, type Contact } from './status.js';

export interface AdoptedServerControllerOptions {
  registry: APIRegistry;
  access: NodeAccess;
  allowList: OutboundAllowList;
  events: EventRecorder;
  log: Logger;
  /** every object is looked at again this often (--resync-period) */
  resyncMs: number;
  /** how often a node in the middle of an upgrade is looked at */
  upgradePollMs?: number;
  /** nodes asked at the same time */
  concurrency?: number;
}

/** a status with only fresher timestamps is still written this often, so lastContactTime means something */
const HEARTBEAT_MS = 5 * 60_000;
const TICK_MS = 200;
const RETRY_MS = 5_000;

function contactFailure(e: unknown): Contact {
  if (e instanceof CredentialsError) return { ok: false, reason: e.failure, message: e.message };
  if (e instanceof TalosError) {
    const reason = e.failure === 'Unreachable' ? 'TalosAPIUnreachable' : e.failure;
    return { ok: false, reason, message: e.message };
  }
  throw e;
}

export class AdoptedServerController {
  private readonly due = new Map<string, number>();
  private readonly running = new Set<string>();
  /** reconciled again at once when it finishes: its object changed while it ran */
  private readonly dirty = new Set<string>();
  private readonly seenGeneration = new Map<string, string>();
  private watch?: ActiveWatch;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly store: ResourceStore;

  constructor(private readonly o: AdoptedServerControllerOptions) {
    const store = o.registry.storeOf(adoptedServerKind);
    if (!store) throw new Error('the adoptedservers kind is not registered');
    this.store = store;
  }

  async start(): Promise<void> {
    this.watch = await startWatch(this.store, undefined, { selection: parseSelection(this.store.kind), allowWatchBookmarks: false }, {
      send: (ev) => {
        if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') return;
        const obj = ev.object as KubeObject;
        const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
        if (ev.type === 'DELETED') return this.forget(key);
        // our own status writes do not call for another look; spec, finalizer or deletion changes do
        const stamp = `${obj.metadata.generation}|${obj.metadata.deletionTimestamp ?? ''}|${(obj.metadata.finalizers ?? []).join(',')}`;
        if (this.seenGeneration.get(key) === stamp) return;
        this.seenGeneration.set(key, stamp);
        this.enqueue(key, 0);
      },
      end: () => {
        if (!this.stopped) void this.restartWatch();
      },
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    if (this.timer) clearInterval(this.timer);
  }

  private async restartWatch(): Promise<void> {
    this.watch = undefined;
    if (this.timer) clearInterval(this.timer);
    this.seenGeneration.clear();
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        return await this.start();
      } catch (err) {
        this.o.log.warn({ err, attempt }, 'adoptedserver watch restart failed');
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  }

  private forget(key: string): void {
    this.due.delete(key);
    this.seenGeneration.delete(key);
  }

  /** look at key in delayMs (an earlier request wins) */
  private enqueue(key: string, delayMs: number): void {
    if (this.running.has(key)) {
      if (delayMs === 0) this.dirty.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const current = this.due.get(key);
    if (current === undefined || at < current) this.due.set(key, at);
  }

  private tick(): void {
    const now = Date.now();
    const limit = this.o.concurrency ?? 8;
    for (const [key, at] of this.due) {
      if (this.running.size >= limit) return;
      if (at > now) continue;
      this.due.delete(key);
      this.running.add(key);
      void this.reconcile(key)
        .catch((err: unknown) => {
          this.o.log.warn({ err, adoptedserver: key }, 'reconcile failed; retrying');
          return RETRY_MS;
        })
        .then((nextMs) => {
          this.running.delete(key);
          if (nextMs === undefined || this.stopped) return;
          this.enqueue(key, this.dirty.delete(key) ? 0 : nextMs);
        });
    }
  }

  /** one look at one object; resolves to when to look again (undefined: it is gone) */
  private async reconcile(key: string): Promise<number | undefined> {
    const [ns, name] = key.split('/') as [string, string];
    let obj: KubeObject;
    try {
      obj = await this.store.get(ns, name);
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return undefined;
      throw e;
    }
    const spec = specOf(obj);
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp) {
      if (!finalizers.includes(adoptedServerFinalizer)) return undefined;
      if (spec.managementAPI?.enabled) {
        const skipped = await unregisterFromManagementAPI(obj, this.o);
        if (skipped) await this.o.events.record(obj, 'Warning', 'UnregisterSkipped', skipped);
      }
      await this.setFinalizer(obj, false);
      return undefined;
    }
    const wantsFinalizer = !!spec.managementAPI?.enabled;
    if (wantsFinalizer !== finalizers.includes(adoptedServerFinalizer)) obj = await this.setFinalizer(obj, wantsFinalizer);

    let contact: Contact = { ok: 'skipped' };
    if (spec.accepted) {
      contact = await withNode(this.o.access, obj, async (client) => ({ ok: true as const, probe: await probeNode(client, { controlPlane: spec.talos?.nodeType === 'controlplane', callTimeoutMs: this.o.access.callTimeoutMs }) })).catch(contactFailure);
    }
    const sync = await syncManagementAPI(obj, contact, this.o);
    const plan = planStatus(obj, { contact, sync, now: Date.now() });
    const old = (obj.status ?? {}) as { lastContactTime?: string };
    const stale = !old.lastContactTime || Date.now() - Date.parse(old.lastContactTime) > HEARTBEAT_MS;
    let written = obj;
    if (statusChanged(obj.status ?? {}, plan.status) || (contact.ok === true && stale)) {
      written = await this.store.patch(ns, name, 'merge', { status: { ...nulledMissing(obj.status, plan.status), ...plan.status } }, systemContext(), 'status');
    }
    for (const e of plan.events) await this.o.events.record(written, e.type, e.reason, e.message);
    const upgrading = upgradeInProgress(plan.status.upgrade as UpgradeProgress | undefined);
    return upgrading ? (this.o.upgradePollMs ?? 1_000) : this.o.resyncMs;
  }

  private async setFinalizer(obj: KubeObject, present: boolean): Promise<KubeObject> {
    const others = (obj.metadata.finalizers ?? []).filter((f) => f !== adoptedServerFinalizer);
    const finalizers = present ? [...others, adoptedServerFinalizer] : others;
    // pinned to the version read, so a concurrent change of the list is not overwritten
    const patch = { metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion } };
    return this.store.patch(obj.metadata.namespace, obj.metadata.name!, 'merge', patch, systemContext());
  }
}

/** a merge patch removes a field only when it says null: null every field the new status dropped */
function nulledMissing(old: unknown, next: object): Record<string, null> {
  const out: Record<string, null> = {};
  for (const k of Object.keys((old ?? {}) as object)) if (!(k in next)) out[k] = null;
  return out;
}
