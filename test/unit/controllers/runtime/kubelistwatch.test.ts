// An informer on what kube-apiserver holds (cluster mode's Secrets), against the fake kube-apiserver
// of the cluster-mode tests: a list with the label selector, a watch from its resourceVersion, a
// new list after an ERROR 410 Expired; and, with no kube-apiserver to reach, list attempts spaced
// by a growing backoff, each logged once and without a stack trace.
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Informer } from '../../../../src/controllers/runtime/informer.js';
import { metadataOnly } from '../../../../src/controllers/runtime/listwatch.js';
import { KubeAPI } from '../../../../src/kubeapi/client.js';
import { kubeListWatch } from '../../../../src/controllers/runtime/kubelistwatch.js';
import { startHarness, type Harness } from '../../../helpers/aggregator.js';
import { tempDir } from '../../../e2e/kubectl-helpers.js';
import { capturedLog, until } from './helpers.js';

const tmp = tempDir();
let h: Harness;

beforeAll(async () => {
  h = await startHarness(tmp.dir);
});

afterAll(async () => {
  await h?.stop();
  tmp.remove();
});

const BUNDLE = { 'talos.vitistack.io/secret': 'secrets' };

describe('kube-apiserver list+watch', () => {
  it('lists and watches the selected Secrets, and lists again after a 410', async () => {
    h.putSecret('fleet', 'one-talos-secrets', { 'secrets.yaml': 'YQ==' }, BUNDLE);
    h.putSecret('fleet', 'unrelated', { x: 'eQ==' });
    const source = kubeListWatch(KubeAPI.load({ file: h.kube.kubeconfig }), '/api/v1/secrets', {
      resource: 'secrets',
      labelSelector: 'talos.vitistack.io/secret=secrets',
    });
    const i = new Informer({
      source,
      resyncMs: 0,
      relistBaseMs: 1,
      relistMaxMs: 20,
      transform: metadataOnly,
      log: capturedLog().log,
    });
    const seen: string[] = [];
    i.addEventHandler({
      add: (o) => seen.push(`add ${o.metadata.name}`),
      update: (_o, c) => seen.push(`update ${c.metadata.name}`),
    });
    const before = h.secretQueries.length;
    i.start();
    try {
      expect(await i.whenSynced()).toBe(true);
      expect(i.store.keys()).toEqual(['fleet/one-talos-secrets']);
      // what an informer keeps of a Secret: never its data
      expect(i.store.get('fleet/one-talos-secrets')).toMatchObject({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { labels: BUNDLE },
      });
      expect(i.store.get('fleet/one-talos-secrets')!.data).toBeUndefined();
      const watching = () => h.secretQueries.slice(before).filter((q) => q.get('watch') === '1').length;
      await until(() => watching() === 1, 'the watch');
      const [list, watch] = h.secretQueries.slice(before);
      expect(list!.get('labelSelector')).toBe('talos.vitistack.io/secret=secrets');
      // two Secrets were put: the list is at version 3, and the watch starts there
      expect(watch!.get('resourceVersion')).toBe('3');
      expect(watch!.get('allowWatchBookmarks')).toBe('true');

      h.putSecret('fleet', 'two-talos-secrets', { 'secrets.yaml': 'Yg==' }, BUNDLE);
      await until(() => seen.includes('add two-talos-secrets'), 'the watched add');

      h.expireSecretWatches();
      h.putSecret('fleet', 'three-talos-secrets', { 'secrets.yaml': 'Yw==' }, BUNDLE);
      await until(() => seen.includes('add three-talos-secrets') && watching() === 2, 'a new list and watch');
      const lists = h.secretQueries.slice(before).filter((q) => q.get('watch') === null);
      expect(lists).toHaveLength(2);
      expect(seen.filter((s) => s.startsWith('add'))).toEqual([
        'add one-talos-secrets',
        'add two-talos-secrets',
        'add three-talos-secrets',
      ]);
    } finally {
      i.stop();
    }
  });

  it('with kube-apiserver away, retries the list with a growing backoff, one line per attempt and no stack', async () => {
    // a loopback port nobody listens on: connections are refused
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const kubeconfig = join(tmp.dir, 'nowhere.kubeconfig');
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'c',
        clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      }),
    );
    const { log, lines } = capturedLog();
    const source = kubeListWatch(KubeAPI.load({ file: kubeconfig }), '/api/v1/secrets', { resource: 'secrets' });
    const i = new Informer({ source, resyncMs: 0, relistBaseMs: 2, relistMaxMs: 16, log });
    i.start();
    const synced = i.whenSynced();
    const failures = () => lines.filter((l) => l.msg === 'list failed; listing again');
    await until(() => failures().length >= 6, 'six list attempts');
    i.stop();
    expect(await synced).toBe(false);
    expect(i.hasSynced()).toBe(false);
    const six = failures().slice(0, 6);
    expect(six.map((l) => l.retryInMs)).toEqual([2, 4, 8, 16, 16, 16]);
    expect(six.map((l) => l.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const l of six) {
      expect(l.error).toMatch(/ECONNREFUSED/);
      expect(JSON.stringify(l)).not.toMatch(/stack/);
      expect(l.informer).toBe('secrets');
    }
  });
});
