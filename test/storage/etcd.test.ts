import { afterAll, beforeAll } from 'vitest';
import { openEtcdStore } from '../../src/storage/etcd3/store.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { runStorageConformance } from './conformance.js';

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.cleanup();
});

runStorageConformance('etcd3', async () => {
  const store = await openEtcdStore({ endpoints: etcd.endpoints, compactionIntervalMs: 0, requestTimeoutMs: 5_000 });
  return { store, cleanup: () => store.close() };
});
