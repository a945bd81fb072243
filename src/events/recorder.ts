// Kubernetes Events about our objects, as client-go's event recorder writes them: one Event per
// (object, type, reason, message), its count and lastTimestamp raised when it happens again, so a
// node that flaps does not flood the namespace. Events about cluster-scoped objects go to
// `default`, as kube does.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { eventKind } from '../api/core/event.js';
import { StatusError } from '../machinery/errors.js';
import type { KubeObject } from '../machinery/kind.js';
import type { APIRegistry } from '../machinery/registry/apis.js';
import { systemContext } from '../machinery/registry/context.js';
import { nowRFC3339, type ResourceStore } from '../machinery/registry/store.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

/** how many distinct events are remembered for aggregation before the oldest is forgotten */
const REMEMBERED = 4096;

/** where Events are written: the server's own core v1 events, or kube-apiserver's */
export interface EventSink {
  create(namespace: string, event: Record<string, unknown>): Promise<void>;
  /** a merge patch; resolves false when the event no longer exists */
  patch(namespace: string, name: string, patch: Record<string, unknown>): Promise<boolean>;
}

/** the server's own core v1 events (standalone mode) */
export function registryEventSink(registry: APIRegistry): EventSink {
  const events = (): ResourceStore => {
    const store = registry.storeOf(eventKind);
    if (!store) throw new Error('the events kind is not registered');
    return store;
  };
  return {
    async create(namespace, event) {
      await events().create(namespace, { value: event, duplicates: [] }, systemContext());
    },
    async patch(namespace, name, patch) {
      try {
        await events().patch(namespace, name, 'merge', patch, systemContext());
        return true;
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) return false;
        throw e;
      }
    },
  };
}

export class AggregatingEventRecorder implements EventRecorder {
  private readonly seen = new Map<string, { namespace: string; name: string; count: number }>();

  constructor(
    private readonly sink: EventSink,
    private readonly component: string,
    private readonly log: Logger,
  ) {}

  /** never throws: an event that cannot be written is logged, the reconcile goes on */
  async record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    try {
      await this.write(obj, type, reason, message);
    } catch (err) {
      this.log.warn({ err, reason, object: obj.metadata.name }, 'could not record an event');
    }
  }

  private async write(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const key = [obj.metadata.uid, type, reason, message].join('\0');
    const now = nowRFC3339();
    const known = this.seen.get(key);
    if (known) {
      known.count++;
      if (await this.sink.patch(known.namespace, known.name, { count: known.count, lastTimestamp: now })) return;
      this.seen.delete(key); // deleted (namespace gone, or by hand): start a new one
    }
    // client-go names events <object>.<hex nanoseconds>; random bytes make it unique across replicas
    const name = `${obj.metadata.name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`;
    await this.sink.create(namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type,
      reason,
      message,
      source: { component: this.component },
      reportingComponent: this.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
    this.seen.set(key, { namespace, name, count: 1 });
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
  }
}
