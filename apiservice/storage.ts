// Opens the configured backend and stacks the storage layers: backend -> encryption at rest ->
// watch cache. Also tells which key root the registry uses and how controllers elect a leader.
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { KindDefinition } from '../src/machinery/kind.js';
import { resourceKeyPrefix } from '../src/machinery/registry/codec.js';
import { etcdLeadership, singleReplica, type Leadership } from '../src/controllers/leader.js';
import { CachedStorage } from '../src/storage/cache/storage.js';
import { openEmbeddedStore } from '../src/storage/embedded/store.js';
import { ensureDefaultEncryptionConfig, loadEncryptionConfig } from '../src/storage/encryption/config.js';
import { resourceOfKey, withEncryption } from '../src/storage/encryption/storage.js';
import { openEtcdStore } from '../src/storage/etcd3/store.js';
import type { Storage } from '../src/storage/storage.js';
import type { ServerOptions } from './options.js';

export interface StorageStack {
  /** the key root of the registry: /registry, or --etcd-prefix */
  root: string;
  storage: CachedStorage;
  leadership: Leadership;
  close(): Promise<void>;
}

export async function openStorageStack(
  opts: ServerOptions,
  kinds: KindDefinition[],
  log: Logger,
): Promise<StorageStack> {
  const etcd = opts.storageBackend === 'etcd3';
  const root = etcd ? opts.etcd.prefix : '/registry';
  const tls = { caFile: opts.etcd.caFile, certFile: opts.etcd.certFile, keyFile: opts.etcd.keyFile };
  const raw: Storage = etcd
    ? await openEtcdStore({
        endpoints: opts.etcd.servers,
        ...tls,
        compactionIntervalMs: opts.etcd.compactionIntervalMs,
        onCompaction: (report) => log.debug({ report }, 'etcd compaction'),
      })
    : await openEmbeddedStore(join(opts.dataDir, 'store'), {
        compactionIntervalMs: opts.etcd.compactionIntervalMs,
        maxHistoryBytes: opts.embedded.maxHistoryBytes,
        repairLog: opts.embedded.repairLog,
        log: log.child({ component: 'embedded-store' }),
      });
  try {
    // secret material is encrypted at rest; without a configuration file standalone mode makes one
    // with a random key in the data directory, so secrets are never stored in plaintext by default
    const configPath = opts.encryptionProviderConfig ?? (await ensureDefaultEncryptionConfig(opts.dataDir));
    const encrypted = withEncryption(raw, await loadEncryptionConfig(configPath), resourceOfKey(root));
    // one watch cache per resource: lists, gets and watches are served from memory
    const storage = new CachedStorage(
      encrypted,
      kinds.map((k) => resourceKeyPrefix(root, k)),
    );
    await storage.start();
    const leadership = etcd
      ? await etcdLeadership({
          endpoints: opts.etcd.servers,
          ...tls,
          name: `${root}/talos-fleet-apiserver/controller-leader`,
          identity: `${hostname()}_${process.pid}`,
          log: log.child({ component: 'leader-election' }),
        })
      : singleReplica(log.child({ component: 'controllers' }));
    return {
      root,
      storage,
      leadership,
      async close() {
        await leadership.stop();
        await storage.close();
      },
    };
  } catch (e) {
    await raw.close();
    throw e;
  }
}
