// kube-apiserver's max-in-flight filter: at most N read-only and M mutating requests at once;
// more get 429 with Retry-After. Long-running requests (watches) are not counted, as in kube.
import type { ServerMetrics } from './metrics.js';
import type { RequestInfo } from './requestinfo.js';

const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

export function isLongRunning(info: RequestInfo): boolean {
  return info.verb === 'watch' || info.verb === 'proxy' || LONG_RUNNING_SUBRESOURCES.has(info.subresource);
}

export class InflightLimiter {
  private readOnly = 0;
  private mutating = 0;

  constructor(
    private readonly maxReadOnly: number,
    private readonly maxMutating: number,
    private readonly metrics?: ServerMetrics,
  ) {}

  /** a release function, false when the limit is reached, undefined when the request is not limited */
  admit(info: RequestInfo): (() => void) | false | undefined {
    if (isLongRunning(info)) return undefined;
    const kind = info.isResourceRequest && MUTATING.has(info.verb) ? 'mutating' : 'readOnly';
    const used = kind === 'mutating' ? this.mutating : this.readOnly;
    if (used >= (kind === 'mutating' ? this.maxMutating : this.maxReadOnly)) {
      this.metrics?.rejected.inc({ request_kind: kind });
      return false;
    }
    this.bump(kind, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.bump(kind, -1);
    };
  }

  private bump(kind: 'mutating' | 'readOnly', by: number): void {
    if (kind === 'mutating') this.mutating += by;
    else this.readOnly += by;
    this.metrics?.inflight.set({ request_kind: kind }, kind === 'mutating' ? this.mutating : this.readOnly);
  }
}
