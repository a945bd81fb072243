// /metrics in Prometheus text, with kube-apiserver's metric names and labels where they apply
// (prom-client), plus the Talos calls this server makes.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConnectionStats } from './connections.js';
import type { RequestInfo } from './requestinfo.js';
import { workqueueMetrics } from './workqueuemetrics.js';

/** kube-apiserver's request duration buckets */
const DURATION_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];
const REQUEST_LABELS = [
  'verb',
  'dry_run',
  'group',
  'version',
  'resource',
  'subresource',
  'scope',
  'component',
] as const;

/** the verb label as kube-apiserver cleans it (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE) */
export function metricVerb(info: RequestInfo, contentType: string | undefined): string {
  switch (info.verb) {
    case 'create':
      return 'POST';
    case 'update':
      return 'PUT';
    case 'patch':
      return (contentType ?? '').startsWith('application/apply-patch') ? 'APPLY' : 'PATCH';
    case 'deletecollection':
      return 'DELETE';
    default:
      return info.verb.toUpperCase();
  }
}

function scope(info: RequestInfo): string {
  if (info.name) return 'resource';
  return info.namespace ? 'namespace' : 'cluster';
}

export interface StorageCount {
  resource: string;
  objects: number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    labelNames: [...REQUEST_LABELS, 'code'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
    labelNames: [...REQUEST_LABELS],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'apiserver_current_inflight_requests',
    help: 'Maximal number of currently used inflight request limit of this apiserver per request kind in last second.',
    labelNames: ['request_kind'],
    registers: [this.registry],
  });
  readonly longRunning = new Gauge({
    name: 'apiserver_longrunning_requests',
    help: 'Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component'],
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'apiserver_dropped_requests_total',
    help: "Number of requests dropped with 'Try again later' response.",
    labelNames: ['request_kind'],
    registers: [this.registry],
  });
  private readonly talosCalls = new Counter({
    name: 'talos_fleet_talos_requests_total',
    help: 'Talos machine API calls made, by method and outcome (OK or the failure reason).',
    labelNames: ['method', 'code'],
    registers: [this.registry],
  });
  private readonly talosDuration = new Histogram({
    name: 'talos_fleet_talos_request_duration_seconds',
    help: 'Latency of Talos machine API calls in seconds, by method.',
    labelNames: ['method'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  /** the controllers' work queues */
  readonly workqueues = workqueueMetrics(this.registry);

  constructor(storageCounts: () => StorageCount[]) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'apiserver_storage_objects',
      help: 'Number of stored objects at the time of last check split by kind.',
      labelNames: ['resource'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const c of storageCounts()) this.set({ resource: c.resource }, c.objects);
      },
    });
  }

  /** the listener's connections, by whether a request on them authenticated, and those refused */
  connections(stats: () => ConnectionStats): void {
    new Gauge({
      name: 'talos_fleet_connections',
      help: 'Open client connections, by whether a request on them passed authentication.',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const s = stats();
        this.set({ state: 'authenticated' }, s.open - s.unauthenticated);
        this.set({ state: 'unauthenticated' }, s.unauthenticated);
      },
    });
    new Gauge({
      name: 'talos_fleet_unauthenticated_connection_addresses',
      help: 'Client addresses with at least one open connection no request has authenticated yet.',
      registers: [this.registry],
      collect() {
        this.set(stats().unauthenticatedAddresses);
      },
    });
    new Counter({
      name: 'talos_fleet_refused_connections_total',
      help: 'Connections closed on accept because their address had --max-unauthenticated-connections-per-address unauthenticated ones.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(stats().refused);
      },
    });
  }

  labels(info: RequestInfo, contentType: string | undefined, dryRun: boolean) {
    return {
      verb: metricVerb(info, contentType),
      dry_run: dryRun ? 'All' : '',
      group: info.apiGroup,
      version: info.apiVersion,
      resource: info.resource,
      subresource: info.subresource,
      scope: info.isResourceRequest ? scope(info) : '',
      component: 'apiserver',
    };
  }

  observeRequest(labels: ReturnType<ServerMetrics['labels']>, code: number, seconds: number): void {
    this.requests.inc({ ...labels, code: String(code) });
    this.duration.observe(labels, seconds);
  }

  /** the Talos client's observer */
  observeTalosCall = (method: string, outcome: string, ms: number): void => {
    this.talosCalls.inc({ method, code: outcome });
    this.talosDuration.observe({ method }, ms / 1000);
  };

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
