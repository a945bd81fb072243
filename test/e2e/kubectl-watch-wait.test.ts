// The real kubectl's long-running commands: get -w, wait --for=condition|delete|jsonpath (also on
// the watch-list path, sendInitialEvents=true) and delete --wait on an object with a finalizer.
// Synchronisation is on kubectl's own output: with -v=6 kubectl logs each response, so a test
// changes the object only after kubectl is watching.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';
import {
  adoptedServer,
  createNamespace,
  eventually,
  expectClean,
  getJSON,
  kubernetesCluster,
  ok,
  startKubectl,
  type KubectlProcess,
} from './kubectl-helpers.js';

let s: TestServer;
const running: KubectlProcess[] = [];
const NS = 'watch';
const WATCH_STARTED = /verb="GET" url="[^"]*[?&]watch=true[^"]*" status="200 OK"/;
const WATCH_LIST = /verb="GET" url="[^"]*sendInitialEvents=true[^"]*watch=true[^"]*" status="200 OK"/;
const WATCH_LIST_ENV = { KUBE_FEATURE_WatchListClient: 'true' };

function start(args: string[], env?: Record<string, string>): KubectlProcess {
  const p = startKubectl(s, args, env);
  running.push(p);
  return p;
}

/** kubectl's stderr without its -v=6 request log lines must hold no warning */
function expectNoWarnings(stderr: string): void {
  expect(stderr).not.toMatch(/^(warning\b|W\d{4} |E\d{4} )/im);
}

const condition = (type: string, status: string) =>
  JSON.stringify({
    status: {
      conditions: [
        { type, status, reason: 'Probe', message: `${type} is ${status}`, lastTransitionTime: '2025-01-01T00:00:00Z' },
      ],
    },
  });

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  await createNamespace(s, NS);
});

afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  await disposeServer(s);
});

describe('kubectl get -w', () => {
  it('prints the current rows, then a later change, then a new object', async () => {
    await ok(s, ['create', '-f', '-'], { input: adoptedServer('w-1', NS, { hostname: 'before' }) });
    const w = start(['get', 'as', '-n', NS, '-w']);
    await w.waitFor(/^w-1\s+before\s+worker\s+false\s+\d+s\n/m);
    expect(w.stdout().split('\n')[0].split(/\s+/)).toEqual([
      'NAME',
      'HOSTNAME',
      'TYPE',
      'ACCEPTED',
      'CONNECTED',
      'READY',
      'HEALTH',
      'AGE',
    ]);

    await ok(s, ['patch', 'as', 'w-1', '-n', NS, '--type=merge', '-p', '{"spec":{"talos":{"hostname":"after"}}}']);
    await w.waitFor(/^w-1\s+after\s+worker\s+false\s+\d+s$/m);
    await ok(s, ['create', '-f', '-'], { input: adoptedServer('w-2', NS, { hostname: 'new' }) });
    await w.waitFor(/^w-2\s+new\s+worker\s+false\s+\d+s$/m);
    expect(w.child.exitCode).toBeNull();
    await w.kill();
    expectNoWarnings(w.stderr());
    expect(w.stderr()).toBe('');
  });

  it('--output-watch-events shows event types, including DELETED', async () => {
    const w = start(['get', 'as', 'w-2', '-n', NS, '-w', '--output-watch-events']);
    await w.waitFor(/^ADDED\s+w-2\s+new\s+worker\s+false\s+\d+s$/m);
    expect(w.stdout().split('\n')[0].split(/\s+/)).toEqual([
      'EVENT',
      'NAME',
      'HOSTNAME',
      'TYPE',
      'ACCEPTED',
      'CONNECTED',
      'READY',
      'HEALTH',
      'AGE',
    ]);
    await ok(s, ['patch', 'as', 'w-2', '-n', NS, '--type=merge', '-p', '{"spec":{"accepted":true}}']);
    await w.waitFor(/^MODIFIED\s+w-2\s+new\s+worker\s+true\s+\d+s$/m);
    await ok(s, ['delete', 'as', 'w-2', '-n', NS]);
    await w.waitFor(/^DELETED\s+w-2\s+new\s+worker\s+true\s+\d+s$/m);
    await w.kill();
    expect(w.stderr()).toBe('');
  });

  it('-A -w --watch-only sees changes in every namespace', async () => {
    await createNamespace(s, 'watch-other');
    const w = start(['get', 'kc', '-A', '-w', '--watch-only', '-v=6']);
    await w.waitFor(WATCH_STARTED, 'stderr');
    await ok(s, ['create', '-f', '-'], { input: kubernetesCluster('far', 'watch-other') });
    await w.waitFor(/^watch-other\s+far\s+talos\s+west\s+1\s+\d+s$/m);
    await w.kill();
    expectNoWarnings(w.stderr());
  });
});

describe('kubectl wait', () => {
  it('--for=condition=Ready returns once the condition is set through /status', async () => {
    await ok(s, ['create', '-f', '-'], { input: adoptedServer('c-1', NS) });
    const w = start(['wait', '--for=condition=Ready', 'as/c-1', '-n', NS, '--timeout=30s', '-v=6']);
    await w.waitFor(WATCH_STARTED, 'stderr');
    // another condition first: wait must keep waiting
    await ok(s, [
      'patch',
      'as',
      'c-1',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      condition('Ready', 'False'),
    ]);
    await ok(s, [
      'patch',
      'as',
      'c-1',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      condition('Ready', 'True'),
    ]);
    const r = await w.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('adoptedserver.metal.sidero.dev/c-1 condition met\n');
    expectNoWarnings(r.stderr);
    // already met: returns at once
    expect(await ok(s, ['wait', '--for=condition=Ready', 'as/c-1', '-n', NS, '--timeout=5s'])).toBe(
      'adoptedserver.metal.sidero.dev/c-1 condition met\n',
    );
  });

  it('--for=condition=Ready=false and a timeout that expires', async () => {
    await ok(s, ['create', '-f', '-'], { input: adoptedServer('c-2', NS) });
    await ok(s, [
      'patch',
      'as',
      'c-2',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      condition('Ready', 'False'),
    ]);
    expect(await ok(s, ['wait', '--for=condition=Ready=false', 'as/c-2', '-n', NS, '--timeout=5s'])).toBe(
      'adoptedserver.metal.sidero.dev/c-2 condition met\n',
    );
    const r = await s.kubectl(['wait', '--for=condition=Ready', 'as/c-2', '-n', NS, '--timeout=1s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe('error: timed out waiting for the condition on adoptedservers/c-2\n');
  });

  it('--for=jsonpath returns once the value matches', async () => {
    await ok(s, ['create', '-f', '-'], { input: kubernetesCluster('j-1', NS) });
    const w = start(['wait', '--for=jsonpath={.status.phase}=Ready', 'kc/j-1', '-n', NS, '--timeout=30s', '-v=6']);
    await w.waitFor(WATCH_STARTED, 'stderr');
    await ok(s, [
      'patch',
      'kc',
      'j-1',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Pending"}}',
    ]);
    await ok(s, [
      'patch',
      'kc',
      'j-1',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Ready","workers":2}}',
    ]);
    const r = await w.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('kubernetescluster.vitistack.io/j-1 condition met\n');
    expectNoWarnings(r.stderr);
    expect(
      await ok(s, [
        'wait',
        '--for=jsonpath={.spec.topology.workers[0].replicas}=2',
        'kc/j-1',
        '-n',
        NS,
        '--timeout=5s',
      ]),
    ).toBe('kubernetescluster.vitistack.io/j-1 condition met\n');
  });

  it('--for=delete returns once the object is gone', async () => {
    await ok(s, ['create', '-f', '-'], { input: adoptedServer('d-1', NS) });
    const w = start(['wait', '--for=delete', 'as/d-1', '-n', NS, '--timeout=30s', '-v=6']);
    await w.waitFor(WATCH_STARTED, 'stderr');
    await ok(s, ['delete', 'as', 'd-1', '-n', NS, '--wait=false']);
    const r = await w.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('adoptedserver.metal.sidero.dev/d-1 condition met\n');
    expectNoWarnings(r.stderr);
  });

  it('--for=delete on several objects selected by label', async () => {
    const objs = ['s-1', 's-2', 's-3'].map((n) => adoptedServer(n, NS, { labels: { batch: 'one' } }));
    await ok(s, ['create', '-f', '-'], { input: objs.join('---\n') });
    const w = start(['wait', '--for=delete', 'as', '-l', 'batch=one', '-n', NS, '--timeout=30s', '-v=6']);
    await w.waitFor(WATCH_STARTED, 'stderr');
    await ok(s, ['delete', 'as', '-l', 'batch=one', '-n', NS, '--wait=false']);
    const r = await w.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual([
      'adoptedserver.metal.sidero.dev/s-1 condition met',
      'adoptedserver.metal.sidero.dev/s-2 condition met',
      'adoptedserver.metal.sidero.dev/s-3 condition met',
    ]);
  });
});

describe('kubectl wait on the watch-list path (KUBE_FEATURE_WatchListClient=true)', () => {
  it('--for=condition=Ready: the initial events end with the bookmark, then the change arrives', async () => {
    await ok(s, ['create', '-f', '-'], { input: adoptedServer('wl-1', NS) });
    const w = start(['wait', '--for=condition=Ready', 'as/wl-1', '-n', NS, '--timeout=30s', '-v=6'], WATCH_LIST_ENV);
    await w.waitFor(WATCH_LIST, 'stderr');
    await ok(s, [
      'patch',
      'as',
      'wl-1',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      condition('Ready', 'True'),
    ]);
    const r = await w.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('adoptedserver.metal.sidero.dev/wl-1 condition met\n');
    expect(r.stderr).not.toMatch(/falling back|fallback/i);
    expectNoWarnings(r.stderr);
  });

  it('--for=condition on an object that already meets it returns at once', async () => {
    const r = await s.kubectl(['wait', '--for=condition=Ready', 'as/wl-1', '-n', NS, '--timeout=10s', '-v=6'], {
      env: WATCH_LIST_ENV,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('adoptedserver.metal.sidero.dev/wl-1 condition met\n');
    expect(r.stderr).toMatch(WATCH_LIST);
    expect(r.stderr).toMatch(/received the bookmark that marks the end of initial events stream/);
    expectNoWarnings(r.stderr);
  });

  it('--for=jsonpath and --for=delete', async () => {
    const j = await s.kubectl(
      ['wait', '--for=jsonpath={.spec.talos.nodeType}=worker', 'as/wl-1', '-n', NS, '--timeout=10s'],
      { env: WATCH_LIST_ENV },
    );
    expectClean(j);
    expect(j.stdout).toBe('adoptedserver.metal.sidero.dev/wl-1 condition met\n');
    const w = start(['wait', '--for=delete', 'as/wl-1', '-n', NS, '--timeout=30s', '-v=6'], WATCH_LIST_ENV);
    await w.waitFor(WATCH_LIST, 'stderr');
    await ok(s, ['delete', 'as', 'wl-1', '-n', NS, '--wait=false']);
    const r = await w.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('adoptedserver.metal.sidero.dev/wl-1 condition met\n');
    expectNoWarnings(r.stderr);
  });
});

describe('kubectl delete --wait with a finalizer', () => {
  it('returns once the finalizer is removed in the background', async () => {
    await ok(s, ['create', '-f', '-'], { input: kubernetesCluster('fin-1', NS) });
    await ok(s, [
      'patch',
      'kc',
      'fin-1',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["vitistack.io/cleanup"]}}',
    ]);
    const del = start(['delete', 'kc', 'fin-1', '-n', NS, '--timeout=30s', '-v=6']);
    // the object is marked (deletionTimestamp) and kubectl is waiting for it to go
    await del.waitFor(/verb="DELETE"[^\n]*status="200 OK"/, 'stderr');
    const marked = await eventually(async () => {
      const o = await getJSON(s, ['kc', 'fin-1', '-n', NS]);
      return o?.metadata.deletionTimestamp ? o : undefined;
    }, 'deletionTimestamp on fin-1');
    expect(marked.metadata.finalizers).toEqual(['vitistack.io/cleanup']);
    expect(del.child.exitCode).toBeNull();
    await ok(s, [
      'patch',
      'kc',
      'fin-1',
      '-n',
      NS,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers/0"}]',
    ]);
    const r = await del.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('kubernetescluster.vitistack.io "fin-1" deleted\n');
    expectNoWarnings(r.stderr);
    expect(await getJSON(s, ['kc', 'fin-1', '-n', NS])).toBeUndefined();
  });
});
