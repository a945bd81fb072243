// What a work queue reports, as client-go's workqueue metrics provider sees it. The runtime knows
// only this interface; the server implements it on its Prometheus registry (label `name`), so the
// series carry client-go's names and a queue never imports the HTTP edge.

export interface QueueMetrics {
  /** a key entered the queue (a key already waiting there is not counted again) */
  added(): void;
  /** the number of keys waiting changed by `delta` */
  depth(delta: number): void;
  /** a key was put back to be handed out later (a failure, or a requested look later) */
  retried(): void;
  /** how long a key waited in the queue before a worker took it */
  waited(seconds: number): void;
  /** how long a worker spent on a key */
  worked(seconds: number): void;
}

export interface QueueMetricsProvider {
  /** the metrics of the queue called `name` (the controller's name in --controllers) */
  forQueue(name: string): QueueMetrics;
}
