// The AdoptedServer controller: on every change of an object's spec, and every resync period
// after its last look, it checks the accepted gate, asks the node (connectivity, node info,
// health), reflects SideroLink's configuration, syncs with the Management API when enabled, writes
// the status and records Events for transitions. While an upgrade runs it looks much more often,
// to follow the node through its reboot. It runs on the controller runtime, under the server's
// leadership: a failed look (a Management API that is down while the object is being deleted) is
// retried with the runtime's backoff.
import {
  adoptedServerFinalizer,
  adoptedServerKind,
  releaseWithoutManagementAPIAnnotation,
} from '../../api/adoptedserver.js';
import { StatusError } from '../../machinery/errors.js';
import type { KubeObject } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext } from '../../machinery/registry/context.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { ManagementAPIError } from '../../managementapi/client.js';
import { withNode, type NodeAccess } from '../../nodeaccess/connect.js';
import { CredentialsError } from '../../nodeaccess/credentials.js';
import { probeNode } from '../../nodeaccess/health.js';
import { upgradeInProgress, type UpgradeProgress } from '../../nodeaccess/upgrade.js';
import { TalosError } from '../../talos/errors.js';
import type { OutboundAllowList } from '../../talos/outbound.js';
import type { EventRecorder } from '../../events/recorder.js';
import type { ControllerSpec } from '../runtime/controller.js';
import { splitKey } from '../runtime/listwatch.js';
import { registryListWatch } from '../runtime/registrylistwatch.js';
import { conditionOf, rfc3339, setCondition, type Condition } from '../conditions.js';
import { syncManagementAPI, unregisterFromManagementAPI } from './managementapi.js';
import { planStatus, specOf, statusChanged, type Contact } from './status.js';

export interface AdoptedServerControllerOptions {
  registry: APIRegistry;
  access: NodeAccess;
  allowList: OutboundAllowList;
  events: EventRecorder;
  /** every object is looked at again this often after its last look (--resync-period) */
  resyncMs: number;
  /** how often a node in the middle of an upgrade is looked at */
  upgradePollMs: number;
  /** a status with only fresher timestamps is still written this often, so lastContactTime means something */
  heartbeatMs?: number;
  /** nodes asked at the same time */
  concurrency?: number;
}

const HEARTBEAT_MS = 5 * 60_000;

function contactFailure(e: unknown): Contact {
  if (e instanceof CredentialsError) return { ok: false, reason: e.failure, message: e.message };
  if (e instanceof TalosError) {
    const reason = e.failure === 'Unreachable' ? 'TalosAPIUnreachable' : e.failure;
    return { ok: false, reason, message: e.message };
  }
  throw e;
}

/** a Management API that cannot be reached or answers 5xx is away, not broken: no stack in the log */
function managementAPIAway(e: unknown): boolean {
  return (
    e instanceof ManagementAPIError && (e.reason === 'Unreachable' || e.reason === 'Timeout' || (e.status ?? 0) >= 500)
  );
}

const releaseAnnotated = (obj: KubeObject) =>
  obj.metadata.annotations?.[releaseWithoutManagementAPIAnnotation] !== undefined;

/** what calls for another look: spec, finalizers, deletion or the release annotation; not our own status writes */
const stampOf = (obj: KubeObject) =>
  `${obj.metadata.generation}|${obj.metadata.deletionTimestamp ?? ''}|${(obj.metadata.finalizers ?? []).join(',')}|${releaseAnnotated(obj)}`;

export function adoptedServerController(o: AdoptedServerControllerOptions): ControllerSpec {
  const store = o.registry.storeOf(adoptedServerKind);
  if (!store) throw new Error('the adoptedservers kind is not registered');
  const c = new AdoptedServerReconciler(store, o);
  return {
    name: 'adoptedserver',
    workers: o.concurrency ?? 8,
    setup(ctx) {
      const key = (obj: KubeObject) => `${obj.metadata.namespace}/${obj.metadata.name}`;
      // the periodic look is each reconcile's requeueAfter, timed from that object's last look
      ctx.inform(registryListWatch(store), { resyncMs: 0 }).addEventHandler({
        add: (obj) => ctx.queue.add(key(obj)),
        update: (old, cur) => {
          if (stampOf(old) !== stampOf(cur)) ctx.queue.add(key(cur));
        },
      });
    },
    async reconcile(key) {
      const next = await c.reconcile(key);
      return next === undefined ? undefined : { requeueAfterMs: next };
    },
    isExpectedFailure: managementAPIAway,
  };
}

class AdoptedServerReconciler {
  constructor(
    private readonly store: ResourceStore,
    private readonly o: AdoptedServerControllerOptions,
  ) {}

  /** one look at one object; resolves to when to look again (undefined: it is gone) */
  async reconcile(key: string): Promise<number | undefined> {
    const { namespace: ns, name } = splitKey(key);
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
        const skipped = releaseAnnotated(obj)
          ? `annotation ${releaseWithoutManagementAPIAnnotation} is set: the node is not unregistered from the Management API at ${spec.managementAPI.endpoint ?? '(no endpoint)'}`
          : await unregisterFromManagementAPI(obj, this.o).catch((e: unknown) => this.deletionHeld(obj, e));
        if (skipped) await this.o.events.record(obj, 'Warning', 'UnregisterSkipped', skipped);
      }
      await this.setFinalizer(obj, false);
      return undefined;
    }
    const wantsFinalizer = !!spec.managementAPI?.enabled;
    if (wantsFinalizer !== finalizers.includes(adoptedServerFinalizer))
      obj = await this.setFinalizer(obj, wantsFinalizer);

    let contact: Contact = { ok: 'skipped' };
    if (spec.accepted) {
      contact = await withNode(this.o.access, obj, async (client) => ({
        ok: true as const,
        // etcd is checked on what the node is, not on what spec.talos.nodeType declares
        probe: await probeNode(client, { callTimeoutMs: this.o.access.callTimeoutMs }),
      })).catch(contactFailure);
    }
    const sync = await syncManagementAPI(obj, contact, this.o);
    const plan = planStatus(obj, { contact, sync, now: Date.now() });
    const old = (obj.status ?? {}) as { lastContactTime?: string };
    const stale =
      !old.lastContactTime || Date.now() - Date.parse(old.lastContactTime) > (this.o.heartbeatMs ?? HEARTBEAT_MS);
    let written = obj;
    if (statusChanged(obj.status ?? {}, plan.status) || (contact.ok === true && stale)) {
      written = await this.store.patch(
        ns,
        name,
        'merge',
        { status: { ...nulledMissing(obj.status, plan.status), ...plan.status } },
        systemContext(),
        'status',
      );
    }
    for (const e of plan.events) await this.o.events.record(written, e.type, e.reason, e.message);
    const upgrading = upgradeInProgress(plan.status.upgrade as UpgradeProgress | undefined);
    return upgrading ? this.o.upgradePollMs : this.o.resyncMs;
  }

  /**
   * The Management API could not be told of a deletion: the condition ManagementAPIUnregistered and
   * a Warning Event (once per new cause) say what the finalizer waits for and how to let go; then
   * the failure is rethrown, so the runtime asks again with its backoff.
   */
  private async deletionHeld(obj: KubeObject, e: unknown): Promise<never> {
    const cause = e instanceof Error ? e.message : String(e);
    const message = `deletion waits for the Management API at ${specOf(obj).managementAPI?.endpoint} to unregister the node (${cause}); it is asked again with growing delays. To delete without it: kubectl annotate adoptedserver ${obj.metadata.name} -n ${obj.metadata.namespace} ${releaseWithoutManagementAPIAnnotation}=true`;
    const old = ((obj.status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[];
    const before = conditionOf(old, 'ManagementAPIUnregistered');
    if (before?.status !== 'False' || before.message !== message) {
      const { conditions } = setCondition(
        old,
        {
          type: 'ManagementAPIUnregistered',
          status: 'False',
          severity: 'Warning',
          reason: 'WaitingForManagementAPI',
          message,
        },
        rfc3339(),
      );
      const written = await this.store.patch(
        obj.metadata.namespace,
        obj.metadata.name!,
        'merge',
        { status: { conditions } },
        systemContext(),
        'status',
      );
      await this.o.events.record(written, 'Warning', 'UnregisterFailed', message);
    }
    throw e;
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
