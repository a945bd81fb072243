// The simulator as a machine provider (what a kubevirt or Proxmox operator is for real machines):
// it watches the Machines of one namespace, gives each new one (no status.phase yet) a free
// maintenance-mode node, and writes what a provider owns of the Machine's status through the
// status subresource under its own field manager (server-side apply): phase Running, the node's
// address as publicIPAddresses and privateIPAddresses, its boot disk and network interface. When a
// Machine is deleted its node is powered off and, after recycleMs, comes back as a fresh
// maintenance-mode machine for the next one (as a destroyed VM is replaced by a new one).
import { createHash } from 'node:crypto';
import { KubeAPI, KubeUnreachable, type WatchEvent } from '../../src/kubeapi/client.js';
import { machineKind } from '../../src/api/index.js';
import { groupVersion } from '../../src/machinery/kind.js';
import type { Simulator } from './simulator.js';
import { BOOT_DISK_BYTES } from './storage-service.js';

export const FIELD_MANAGER = 'talos-sim-provider';
const GROUP_VERSION = groupVersion(machineKind);
const MAX_BACKOFF_MS = 5_000;

export interface ProvideMachinesOptions {
  /** how to reach the API server that serves the Machines */
  api: { kubeconfig: string; context?: string };
  /** whose Machines (default: the kubeconfig context's namespace) */
  namespace?: string;
  /** how long a destroyed machine's node stays off before it is a fresh node again, ms (default 200) */
  recycleMs?: number;
  /** the first retry after a failed list, watch or status write, ms (doubling to 5 s; default 100) */
  retryMs?: number;
}

export interface MachineProvider {
  namespace: string;
  /** machine name -> node id */
  assignments(): Map<string, string>;
  stop(): Promise<void>;
}

interface MachineObject {
  metadata: { name: string; uid?: string; resourceVersion?: string };
  status?: { phase?: string; publicIPAddresses?: string[] };
}

/** A locally administered MAC from the node id, so a node keeps its MAC across machines. */
function macOf(nodeId: string): string {
  const h = createHash('sha256').update(nodeId).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** What the provider writes: the fields a provider owns, nothing the Machine controller learns. */
export function providerStatus(node: { id: string; ip: string }): Record<string, unknown> {
  return {
    phase: 'Running',
    provider: 'talos-sim',
    publicIPAddresses: [node.ip],
    privateIPAddresses: [node.ip],
    disks: [{ name: 'sda', device: '/dev/sda', size: BOOT_DISK_BYTES, type: 'ssd' }],
    networkInterfaces: [{ name: 'eth0', macAddress: macOf(node.id), ipAddresses: [node.ip], state: 'up', mtu: 1500 }],
  };
}

export async function provideMachines(sim: Simulator, opts: ProvideMachinesOptions): Promise<MachineProvider> {
  const api = KubeAPI.load({ file: opts.api.kubeconfig, ...(opts.api.context ? { context: opts.api.context } : {}) });
  const provider = new Provider(sim, api, opts.namespace ?? api.namespace, opts.recycleMs ?? 200, opts.retryMs ?? 100);
  await provider.start();
  return provider;
}

class Provider implements MachineProvider {
  private readonly assigned = new Map<string, { nodeId: string; uid: string | undefined }>();
  /** machines without a node yet (none was free) */
  private readonly waiting = new Map<string, MachineObject>();
  /** nodes powered off for a deleted machine, not yet free again */
  private readonly recycling = new Set<string>();
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** all work on machines and nodes runs one step at a time */
  private queue: Promise<void> = Promise.resolve();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly sim: Simulator,
    private readonly api: KubeAPI,
    readonly namespace: string,
    private readonly recycleMs: number,
    private readonly retryMs: number,
  ) {}

  private get path(): string {
    return `/apis/${GROUP_VERSION}/namespaces/${encodeURIComponent(this.namespace)}/${machineKind.plural}`;
  }

  assignments(): Map<string, string> {
    return new Map([...this.assigned].map(([name, a]) => [name, a.nodeId]));
  }

  /** Lists once (failing loudly when the API cannot be read at all), then watches in the background. */
  async start(): Promise<void> {
    const rv = await this.list();
    this.loop = this.watchLoop(rv);
  }

  private enqueue(step: () => Promise<void> | void): Promise<void> {
    this.queue = this.queue.then(step).catch((e: unknown) => this.warn(e));
    return this.queue;
  }

  private warn(e: unknown): void {
    if (!this.abort.signal.aborted)
      process.emitWarning(`talos-sim provider: ${e instanceof Error ? e.message : String(e)}`);
  }

  private async list(): Promise<string> {
    const reply = await this.api.call('GET', this.path, { userAgent: FIELD_MANAGER });
    if (reply.code !== 200) throw new Error(`listing Machines in ${this.namespace}: HTTP ${reply.code}: ${reply.body}`);
    const list = JSON.parse(reply.body) as { metadata: { resourceVersion: string }; items: MachineObject[] };
    const present = new Set(list.items.map((m) => m.metadata.name));
    await this.enqueue(() => {
      for (const name of [...this.assigned.keys(), ...this.waiting.keys()]) if (!present.has(name)) this.release(name);
    });
    for (const m of list.items) await this.enqueue(() => this.offer(m));
    return list.metadata.resourceVersion;
  }

  private async watchLoop(fromRv: string): Promise<void> {
    let rv = fromRv;
    let backoff = this.retryMs;
    while (!this.abort.signal.aborted) {
      try {
        let expired = false;
        const ended = await this.api.watch(
          `${this.path}?watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`,
          (ev) => {
            // an ERROR event is a Status (410 Gone: our resourceVersion is compacted away)
            if (ev.type === 'ERROR') return (expired = true);
            rv = (ev.object as unknown as MachineObject).metadata?.resourceVersion ?? rv;
            void this.enqueue(() => this.onEvent(ev));
            return false;
          },
          this.abort.signal,
          FIELD_MANAGER,
        );
        if (this.abort.signal.aborted) return;
        if (expired || typeof ended === 'object') {
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          rv = await this.list();
        } else backoff = this.retryMs;
      } catch (e) {
        if (this.abort.signal.aborted) return;
        if (!(e instanceof KubeUnreachable)) this.warn(e);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private async onEvent(ev: WatchEvent): Promise<void> {
    const m = ev.object as unknown as MachineObject;
    if (ev.type === 'DELETED') this.release(m.metadata.name);
    else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') await this.offer(m);
  }

  /** Gives a new Machine a free node; keeps track of Machines it provided before. */
  private async offer(m: MachineObject): Promise<void> {
    const name = m.metadata.name;
    const mine = this.assigned.get(name);
    if (mine && mine.uid === m.metadata.uid) {
      // someone cleared what we own: write it again
      if (!m.status?.phase) await this.writeStatus(name, mine.nodeId);
      return;
    }
    if (mine) this.release(name); // a new Machine of the same name
    if (m.status?.phase) {
      // provided before this provider started: find its node by the address we wrote
      const ip = m.status.publicIPAddresses?.[0];
      const node = this.sim.fleet.nodes.find((n) => n.ip === ip);
      if (node && ![...this.assigned.values()].some((a) => a.nodeId === node.id))
        this.assigned.set(name, { nodeId: node.id, uid: m.metadata.uid });
      return;
    }
    const node = this.freeNode();
    if (!node) {
      this.waiting.set(name, m);
      return;
    }
    this.waiting.delete(name);
    this.assigned.set(name, { nodeId: node.id, uid: m.metadata.uid });
    await this.writeStatus(name, node.id);
  }

  private freeNode(): { id: string; ip: string } | undefined {
    const taken = new Set([...this.assigned.values()].map((a) => a.nodeId));
    return this.sim.fleet.nodes.find(
      (n) => !n.bareMetal && !n.configured && n.up && n.listening && !taken.has(n.id) && !this.recycling.has(n.id),
    );
  }

  private async writeStatus(name: string, nodeId: string): Promise<void> {
    const node = this.sim.node(nodeId);
    const body = {
      apiVersion: GROUP_VERSION,
      kind: machineKind.kind,
      metadata: { name },
      status: providerStatus(node),
    };
    let backoff = this.retryMs;
    while (!this.abort.signal.aborted && this.assigned.get(name)?.nodeId === nodeId) {
      const reply = await this.api
        .call('PATCH', `${this.path}/${encodeURIComponent(name)}/status?fieldManager=${FIELD_MANAGER}&force=true`, {
          body,
          contentType: 'application/apply-patch+yaml',
          userAgent: FIELD_MANAGER,
        })
        .catch((e: unknown) => ({ code: 0, body: e instanceof Error ? e.message : String(e) }));
      if (reply.code === 200 || reply.code === 201) return;
      if (reply.code === 404) {
        this.release(name);
        return;
      }
      this.warn(new Error(`writing the status of Machine ${name}: HTTP ${reply.code}: ${reply.body}`));
      await this.sleep(backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** The Machine is gone: its node is powered off and comes back later as a new blank machine. */
  private release(name: string): void {
    this.waiting.delete(name);
    const a = this.assigned.get(name);
    if (!a) return;
    this.assigned.delete(name);
    this.recycling.add(a.nodeId);
    void this.sim.inject(a.nodeId, 'power-off').catch((e: unknown) => this.warn(e));
    this.later(this.recycleMs, () =>
      this.enqueue(async () => {
        if (this.abort.signal.aborted) return;
        await this.sim.inject(a.nodeId, 'reprovision');
        await this.untilListening(a.nodeId);
        this.recycling.delete(a.nodeId);
        for (const m of [...this.waiting.values()]) await this.offer(m);
      }),
    );
  }

  /** Resolves once the node serves again (a reprovisioned machine boots for the reboot time). */
  private untilListening(nodeId: string): Promise<void> {
    const node = this.sim.node(nodeId);
    return new Promise((resolve) => {
      const check = () => {
        if ((node.listening && node.up) || this.abort.signal.aborted) {
          node.off('listening', check);
          this.abort.signal.removeEventListener('abort', check);
          resolve();
        }
      };
      node.on('listening', check);
      this.abort.signal.addEventListener('abort', check);
      check();
    });
  }

  private later(ms: number, fn: () => unknown): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Waits `ms`, or less when the provider stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.timers.delete(t);
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.timers.add(t);
      this.abort.signal.addEventListener('abort', done);
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.loop;
    await this.queue;
  }
}
