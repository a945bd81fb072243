// The controllers' work queues on /metrics, with client-go's workqueue metric names, help texts
// and buckets (label `name`: the controller's name in --controllers).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { QueueMetricsProvider } from '../src/controllers/runtime/metrics.js';

/** client-go's prometheus.ExponentialBuckets(10e-9, 10, 10): 10 ns to 10 s */
const BUCKETS = Array.from({ length: 10 }, (_, i) => 1e-8 * 10 ** i);

export function workqueueMetrics(registry: Registry): QueueMetricsProvider {
  const registers = [registry];
  const labelNames = ['name'];
  const depth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames, registers });
  const adds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames,
    registers,
  });
  const retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames,
    registers,
  });
  const queued = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested.',
    labelNames,
    buckets: BUCKETS,
    registers,
  });
  const worked = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes.',
    labelNames,
    buckets: BUCKETS,
    registers,
  });
  return {
    forQueue(name) {
      const l = { name };
      // every series exists from the queue's start, so a scrape sees each controller's queue at zero
      depth.inc(l, 0);
      adds.inc(l, 0);
      retries.inc(l, 0);
      queued.zero(l);
      worked.zero(l);
      return {
        added: () => adds.inc(l),
        depth: (delta) => depth.inc(l, delta),
        retried: () => retries.inc(l),
        waited: (s) => queued.observe(l, s),
        worked: (s) => worked.observe(l, s),
      };
    },
  };
}
