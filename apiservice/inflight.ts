// kube-apiserver's max-in-flight filter: at most N read-only and M mutating requests at once;
// more get 429 with Retry-After. Long-running requests (watches) are not counted, as in kube.
//
// Lists that return many objects are the expensive requests: one list of 5,000 objects costs the
// CPU of a few hundred gets, and its answer is megabytes in flight. Served all at once, 200 such
// lists took every request's latency to seconds and the server's memory to gigabytes. So, as
// kube's priority and fairness gives a list seats in proportion to its objects, a list estimated
// at more than LARGE_LIST_OBJECTS objects also takes a place in a small lane; a list that finds
// the lane full waits its turn in FIFO order, at most `queueWaitMs`, then gets 429. Single-object
// calls and small lists never wait behind them.
import type { ServerMetrics } from './metrics.js';
import type { RequestInfo } from './requestinfo.js';

const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);
/** kube's default page size: a list of up to this many objects is an ordinary request */
export const LARGE_LIST_OBJECTS = 500;

export function isLongRunning(info: RequestInfo): boolean {
  return info.verb === 'watch' || info.verb === 'proxy' || LONG_RUNNING_SUBRESOURCES.has(info.subresource);
}

export type Release = () => void;

export interface InflightLimits {
  maxReadOnly: number;
  maxMutating: number;
  /** large lists served at once (0: no lane, they count as ordinary reads) */
  maxLargeLists: number;
  /** how long a large list may wait for the lane before it gets 429 */
  queueWaitMs: number;
}

/** how many objects a list may return, at most: the resource's count, or its limit */
export type ListSizeEstimate = (info: RequestInfo, limit: number | undefined) => number;

interface Waiter {
  grant(): void;
}

export class InflightLimiter {
  private readOnly = 0;
  private mutating = 0;
  private largeLists = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly limits: InflightLimits,
    private readonly estimate: ListSizeEstimate = () => 0,
    private readonly metrics?: ServerMetrics,
  ) {}

  /**
   * A release function once the request may run; false when it must get 429; undefined when it
   * is not limited. Only a large list can make the caller wait (for its place in the lane).
   */
  admit(info: RequestInfo, query?: URLSearchParams): Release | false | undefined | Promise<Release | false> {
    if (isLongRunning(info)) return undefined;
    if (!this.isLargeList(info, query)) return this.admitCounted(info);
    return this.enterLane().then((leave) => {
      if (!leave) {
        this.metrics?.rejected.inc({ request_kind: 'readOnly' });
        return false;
      }
      const release = this.admitCounted(info);
      if (!release) {
        leave();
        return false;
      }
      return () => {
        release();
        leave();
      };
    });
  }

  /** lists waiting for the large-list lane */
  get queued(): number {
    return this.queue.length;
  }

  private isLargeList(info: RequestInfo, query: URLSearchParams | undefined): boolean {
    if (this.limits.maxLargeLists <= 0 || !info.isResourceRequest || info.verb !== 'list') return false;
    const limit = Number(query?.get('limit') ?? '');
    return this.estimate(info, Number.isSafeInteger(limit) && limit > 0 ? limit : undefined) > LARGE_LIST_OBJECTS;
  }

  private admitCounted(info: RequestInfo): Release | false {
    const kind = info.isResourceRequest && MUTATING.has(info.verb) ? 'mutating' : 'readOnly';
    const used = kind === 'mutating' ? this.mutating : this.readOnly;
    if (used >= (kind === 'mutating' ? this.limits.maxMutating : this.limits.maxReadOnly)) {
      this.metrics?.rejected.inc({ request_kind: kind });
      return false;
    }
    this.bump(kind, 1);
    return once(() => this.bump(kind, -1));
  }

  /** a place in the large-list lane, now or after waiting; false after queueWaitMs */
  private enterLane(): Promise<Release | false> {
    if (this.largeLists < this.limits.maxLargeLists) {
      this.largeLists++;
      return Promise.resolve(once(() => this.leaveLane()));
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          this.largeLists++;
          resolve(once(() => this.leaveLane()));
        },
      };
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        resolve(false);
      }, this.limits.queueWaitMs);
      this.queue.push(waiter);
    });
  }

  private leaveLane(): void {
    this.largeLists--;
    this.queue.shift()?.grant();
  }

  private bump(kind: 'mutating' | 'readOnly', by: number): void {
    if (kind === 'mutating') this.mutating += by;
    else this.readOnly += by;
    this.metrics?.inflight.set({ request_kind: kind }, kind === 'mutating' ? this.mutating : this.readOnly);
  }
}

function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
