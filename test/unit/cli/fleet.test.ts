import { describe, expect, it } from 'vitest';
import { fleetOf, type FleetLists } from '../../../src/cli/fleet.js';
import { renderFleet } from '../../../src/cli/fleetrender.js';
import type { KubeObject } from '../../../src/machinery/kind.js';

/** namespace '' for a cluster-scoped object */
const meta = (name: string, extra: Partial<KubeObject['metadata']> = {}, namespace = 'fleet') => ({
  name,
  ...(namespace ? { namespace } : {}),
  uid: `uid-${name}`,
  ...extra,
});

const cluster = (name: string, status: Record<string, unknown>, annotations?: Record<string, string>): KubeObject =>
  ({
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: meta(name, annotations ? { annotations } : {}),
    spec: { topology: { version: '1.33.1' }, talos: { version: 'v1.13.9' } },
    status,
  }) as KubeObject;

const machine = (name: string, clusterName: string | undefined, phase: string): KubeObject =>
  ({
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'Machine',
    metadata: meta(name, clusterName ? { labels: { 'cluster.vitistack.io/cluster-name': clusterName } } : {}),
    status: { phase },
  }) as KubeObject;

const adopted = (name: string, endpoint: string, status: Record<string, unknown>): KubeObject =>
  ({
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'AdoptedServer',
    metadata: meta(name),
    spec: { accepted: true, talos: { endpoint } },
    status,
  }) as KubeObject;

const event = (kind: string, name: string, reason: string, message: string, at: string, namespace = 'fleet') =>
  ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: meta(`${name}.${at}`, {}, namespace),
    involvedObject: { kind, name, namespace },
    reason,
    message,
    lastTimestamp: at,
  }) as unknown as KubeObject;

const ready = { type: 'Ready', status: 'True', reason: 'Ready' };
const notReady = (reason: string) => ({ type: 'Ready', status: 'False', reason });

const lists = (l: Partial<FleetLists>): FleetLists => ({
  clusters: [],
  machines: [],
  adoptedServers: [],
  servers: [],
  events: [],
  ...l,
});

const prod = cluster('prod', {
  conditions: [ready, { type: 'Healthy', status: 'True', reason: 'Healthy' }],
  nodes: [
    {
      machine: 'prod-ctp0',
      address: '10.0.0.5:50000',
      role: 'controlplane',
      state: 'Member',
      talosVersion: 'v1.13.9',
      kubernetesVersion: '1.33.1',
      hostname: 'prod-ctp0',
    },
    {
      machine: 'prod-wrk0',
      address: '10.0.0.6:50000',
      role: 'worker',
      state: 'Unreachable',
      talosVersion: 'v1.13.9',
      kubernetesVersion: '1.33.1',
      lastError: 'Talos node 10.0.0.6:50000 is unreachable',
    },
  ],
});

describe('the fleet model', () => {
  it('joins a cluster, its Machines and their nodes; an AdoptedServer of a node sits under it', () => {
    const f = fleetOf(
      lists({
        clusters: [prod],
        machines: [machine('prod-wrk0', 'prod', 'Running'), machine('prod-ctp0', 'prod', 'Running')],
        adoptedServers: [
          adopted('ctp-adopted', '10.0.0.5', {
            conditions: [ready],
            connected: true,
            health: { status: 'Healthy' },
            nodeInfo: { talosVersion: 'v1.13.9', kubernetesVersion: '1.33.1' },
          }),
          adopted('lonely', '10.9.9.9:50000', { conditions: [notReady('NotConnected')], connected: false }),
        ],
        events: [
          event('KubernetesCluster', 'prod', 'Old', 'older', '2026-12-01T10:00:00Z'),
          event('KubernetesCluster', 'prod', 'ClusterReady', 'the cluster is\nready', '2026-12-01T10:05:00Z'),
          event('KubernetesCluster', 'prod', 'Other', 'another namespace', '2026-12-01T11:00:00Z', 'elsewhere'),
        ],
      }),
    );
    expect(f.clusters).toHaveLength(1);
    const c = f.clusters[0]!;
    expect(c).toMatchObject({
      label: 'kubernetescluster/prod',
      ready: 'Ready',
      state: 'ok',
      health: 'Healthy',
      talos: 'v1.13.9',
      kubernetes: '1.33.1',
      lastEvent: 'ClusterReady: the cluster is ready',
    });
    expect(c.children.map((m) => m.label)).toEqual(['machine/prod-ctp0', 'machine/prod-wrk0']);
    const [cp, wrk] = c.children;
    expect(cp!.children[0]).toMatchObject({
      label: 'node prod-ctp0 (controlplane) 10.0.0.5:50000',
      ready: 'Member',
      state: 'ok',
    });
    expect(cp!.children[0]!.children[0]).toMatchObject({ label: 'adoptedserver/ctp-adopted', health: 'Healthy' });
    expect(wrk!.children[0]).toMatchObject({
      ready: 'Unreachable',
      state: 'bad',
      health: 'Talos node 10.0.0.6:50000 is unreachable',
    });
    // outside every cluster: only the AdoptedServer of no node, with why it is not Ready
    expect(f.standalone).toHaveLength(1);
    expect(f.standalone[0]).toMatchObject({
      label: 'adoptedserver/lonely',
      ready: 'NotReady (NotConnected)',
      state: 'bad',
    });
  });

  it('shows a rollout in progress as yellow, per cluster and per node', () => {
    const rolling = cluster('rolling', {
      conditions: [notReady('Upgrading')],
      nodes: [{ machine: 'rolling-ctp0', address: '10.0.0.7:50000', state: 'Member', talosVersion: 'v1.13.9' }],
      upgrade: {
        kind: 'Talos',
        from: 'v1.13.9',
        to: 'v1.13.10',
        nodes: [
          { machine: 'rolling-ctp0', phase: 'rebooting' },
          { machine: 'rolling-wrk0', phase: 'done' },
        ],
      },
    });
    const f = fleetOf(lists({ clusters: [rolling], machines: [machine('rolling-ctp0', 'rolling', 'Running')] }));
    expect(f.clusters[0]).toMatchObject({
      state: 'progressing',
      ready: 'NotReady (Upgrading)',
      upgrade: 'Talos v1.13.9 -> v1.13.10 1/2',
    });
    expect(f.clusters[0]!.children[0]!.children[0]).toMatchObject({
      state: 'progressing',
      upgrade: 'Talos -> v1.13.10: rebooting',
    });
  });

  it("reads the talos-operator's progress annotations when there is no status.upgrade", () => {
    const c = cluster(
      'annotated',
      { conditions: [ready] },
      {
        'upgrade.vitistack.io/talos-status': 'in-progress',
        'upgrade.vitistack.io/talos-progress': '1/3',
      },
    );
    expect(fleetOf(lists({ clusters: [c] })).clusters[0]!.upgrade).toBe('Talos in-progress 1/3');
  });

  it('an AdoptedServer upgrading is yellow; stale health of a disconnected one shows as unknown', () => {
    const f = fleetOf(
      lists({
        adoptedServers: [
          adopted('up', '10.0.1.1', {
            conditions: [notReady('NotConnected')],
            connected: false,
            health: { status: 'Healthy' },
            upgrade: { phase: 'Rebooting', toVersion: 'v1.13.10' },
          }),
        ],
      }),
    );
    expect(f.standalone[0]).toMatchObject({
      state: 'progressing',
      upgrade: 'Rebooting -> v1.13.10',
      health: 'Unknown (not connected)',
    });
  });

  it('puts a Server bound to a cluster Machine under it, and free Servers and Machines outside', () => {
    const server = (name: string, machineKey?: string, ready?: boolean): KubeObject =>
      ({
        apiVersion: 'metal.sidero.dev/v1alpha2',
        kind: 'Server',
        metadata: meta(name, machineKey ? { annotations: { 'metal.sidero.dev/machine': machineKey } } : {}, ''),
        spec: { accepted: true },
        status: { ready, power: 'on' },
      }) as KubeObject;
    const f = fleetOf(
      lists({
        clusters: [prod],
        machines: [machine('prod-ctp0', 'prod', 'Running'), machine('spare', undefined, 'Pending')],
        servers: [server('uuid-1', 'fleet/prod-ctp0', true), server('uuid-2', undefined, false)],
        events: [event('Server', 'uuid-2', 'PowerCycled', 'powered off', '2026-12-01T10:00:00Z', '')],
      }),
    );
    const cp = f.clusters[0]!.children[0]!;
    expect(cp.children.map((r) => r.label)).toEqual(['node prod-ctp0 (controlplane) 10.0.0.5:50000', 'server/uuid-1']);
    expect(f.standalone.map((r) => [r.label, r.ready, r.state])).toEqual([
      ['machine/spare', 'Pending', 'progressing'],
      ['server/uuid-2', 'NotReady', 'bad'],
    ]);
    expect(f.standalone[1]!.lastEvent).toBe('PowerCycled: powered off');
  });
});

describe('rendering the fleet', () => {
  const f = fleetOf(
    lists({
      clusters: [prod],
      machines: [machine('prod-ctp0', 'prod', 'Running'), machine('prod-wrk0', 'prod', 'Running')],
      adoptedServers: [adopted('lonely', '10.9.9.9', { conditions: [notReady('NotConnected')] })],
    }),
  );

  it('draws a tree in one table, with a blank line before what is outside the clusters', () => {
    const text = renderFleet(f, { color: false, namespaces: false });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+HEALTH\s+TALOS\s+KUBERNETES\s+UPGRADE\s+LAST EVENT$/);
    expect(lines[1]).toMatch(/^kubernetescluster\/prod\s+Ready\s+Healthy\s+v1\.13\.9\s+1\.33\.1$/);
    expect(lines[2]).toMatch(/^├─ machine\/prod-ctp0\s+Running/);
    expect(lines[3]).toMatch(/^│  └─ node prod-ctp0 \(controlplane\) 10\.0\.0\.5:50000\s+Member\s+v1/);
    expect(lines[4]).toMatch(/^└─ machine\/prod-wrk0\s+Running/);
    expect(lines[5]).toMatch(/^   └─ node prod-wrk0 \(worker\) 10\.0\.0\.6:50000\s+Unreachable\s+Talos node/);
    expect(lines[6]).toBe('');
    expect(lines[7]).toMatch(/^adoptedserver\/lonely\s+NotReady \(NotConnected\)$/);
    expect(text).not.toContain('\x1b[');
    // every READY cell starts in the same column
    const at = lines[0]!.indexOf('READY');
    for (const l of lines.slice(1).filter(Boolean))
      expect(l.slice(at)).toMatch(/^(Ready|Running|Member|Unreach|NotReady)/);
  });

  it('colours READY green, red and yellow when asked, and cuts lines to a width', () => {
    const text = renderFleet(f, { color: true, namespaces: true, width: 96 });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+READY/);
    expect(lines[1]).toContain('\x1b[32mReady\x1b[0m');
    expect(lines[1]).toMatch(/^fleet\s+kubernetescluster\/prod/);
    expect(text).toContain('\x1b[31mUnreachable\x1b[0m');
    expect(text).toContain('\x1b[31mNotReady (NotConnected)\x1b[0m');
    const plain = lines.map((l) => l.replace(/\x1b\[\d+m/g, ''));
    for (const l of plain) expect(l.length).toBeLessThanOrEqual(96);
    expect(plain[5]).toMatch(/Unreachable\s+Talos n…$/);
  });

  it('says so when there is nothing', () => {
    expect(renderFleet(fleetOf(lists({})), { color: true, namespaces: false })).toBe(
      'No KubernetesClusters, Machines, AdoptedServers or Servers found.\n',
    );
  });
});
