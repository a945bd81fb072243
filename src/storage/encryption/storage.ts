// Encryption at rest as a Storage wrapper: values are encrypted on their way into the inner store and
// decrypted on every way out (reads, lists, watch events, Conflict errors), so everything above
// sees plaintext and everything below, files or etcd, only sees ciphertext. Keys whose resource no
// rule matches pass through untouched, as kube-apiserver stores them with identity.
import {
  MAX_VALUE_BYTES,
  StorageError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Storage,
  type StorageEvent,
  type StorageWatch,
  type WatchHandlers,
} from '../storage.js';
import { providerTransformer, type ValueTransformer } from './aesgcm.js';
import { providersForResource, type EncryptionConfig } from './config.js';

/**
 * keyToResource for the registry layout under `root` (e.g. '/registry'):
 * `<root>/secrets/...` -> 'secrets'; `<root>/<group>/<resource>/...` -> '<resource>.<group>'
 * (a first segment with a dot is a group; core resources have none).
 */
export function resourceOfKey(root: string): (key: string) => string | undefined {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return (key) => {
    if (!key.startsWith(prefix)) return undefined;
    const [first, second] = key.slice(prefix.length).split('/', 2);
    if (!first) return undefined;
    if (!first.includes('.')) return first;
    return second ? `${second}.${first}` : undefined;
  };
}

export function withEncryption(
  inner: Storage,
  config: EncryptionConfig,
  keyToResource: (key: string) => string | undefined,
): Storage {
  return new EncryptedStorage(inner, config, keyToResource);
}

class EncryptedStorage implements Storage {
  // one transformer per rule, shared by the resources it matches; null: the resource is not encrypted
  private readonly byResource = new Map<string, ValueTransformer | null>();
  private readonly byRule = new Map<unknown, ValueTransformer>();
  /** present exactly when the inner store has it: a watch cache above tells the two cases apart */
  readonly requestProgress?: () => void;

  constructor(
    private readonly inner: Storage,
    private readonly config: EncryptionConfig,
    private readonly keyToResource: (key: string) => string | undefined,
  ) {
    if (inner.requestProgress) this.requestProgress = () => inner.requestProgress?.();
  }

  private transformer(key: string): ValueTransformer | null {
    const resource = this.keyToResource(key);
    if (resource === undefined) return null;
    let t = this.byResource.get(resource);
    if (t === undefined) {
      const providers = providersForResource(this.config, resource);
      if (providers) {
        t = this.byRule.get(providers) ?? providerTransformer(providers);
        this.byRule.set(providers, t);
      } else {
        t = null;
      }
      this.byResource.set(resource, t);
    }
    return t;
  }

  private seal(key: string, value: Buffer): { t: ValueTransformer | null; stored: Buffer } {
    const t = this.transformer(key);
    if (!t) return { t, stored: value };
    const stored = t.toStorage(value, key);
    if (stored.length > MAX_VALUE_BYTES) {
      const encrypted = value.length <= MAX_VALUE_BYTES ? ` once encrypted (${stored.length} bytes)` : '';
      throw new StorageError(
        'TooLarge',
        `value of ${value.length} bytes is over the limit of ${MAX_VALUE_BYTES} bytes${encrypted}`,
      );
    }
    return { t, stored };
  }

  private open(kv: KeyValue): KeyValue {
    const t = this.transformer(kv.key);
    return t ? { ...kv, value: t.fromStorage(kv.value, kv.key) } : kv;
  }

  /** a Conflict's current value is decrypted like any other read */
  private translate(err: unknown): never {
    if (err instanceof StorageError && err.current) {
      throw new StorageError(err.code, err.message, err.revision, this.open(err.current));
    }
    throw err;
  }

  currentRevision(): Promise<number> {
    return this.inner.currentRevision();
  }

  compactedRevision(): Promise<number> {
    return this.inner.compactedRevision();
  }

  async create(key: string, value: Buffer): Promise<KeyValue> {
    const { t, stored } = this.seal(key, value);
    const kv = await this.inner.create(key, stored);
    return t ? { ...kv, value: Buffer.from(value) } : kv;
  }

  async get(key: string, revision?: number): Promise<KeyValue | null> {
    const kv = await this.inner.get(key, revision);
    return kv && this.open(kv);
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    const res = await this.inner.list(prefix, opts);
    return { ...res, kvs: res.kvs.map((kv) => this.open(kv)) };
  }

  async update(key: string, value: Buffer, expectedModRevision: number): Promise<KeyValue> {
    const { t, stored } = this.seal(key, value);
    const kv = await this.inner.update(key, stored, expectedModRevision).catch((err: unknown) => this.translate(err));
    return t ? { ...kv, value: Buffer.from(value) } : kv;
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const kv = await this.inner.delete(key, expectedModRevision).catch((err: unknown) => this.translate(err));
    return this.open(kv);
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): StorageWatch {
    let done = false;
    let innerWatch: StorageWatch | undefined;
    const stop = (): void => {
      done = true;
      innerWatch?.close();
    };
    const wrapped: WatchHandlers = {
      onEvent: (ev) => {
        if (done) return;
        let out: StorageEvent;
        try {
          out = { ...ev, kv: this.open(ev.kv) };
          if (ev.prevKv) out.prevKv = this.open(ev.prevKv);
        } catch (err) {
          // a value that cannot be decrypted ends the watch: skipping it would be a silent gap
          stop();
          handlers.onError(err instanceof StorageError ? err : new StorageError('Internal', String(err)));
          return;
        }
        handlers.onEvent(out);
      },
      onError: (err) => {
        if (done) return;
        done = true;
        handlers.onError(err);
      },
    };
    if (handlers.onProgress) {
      const onProgress = handlers.onProgress.bind(handlers);
      wrapped.onProgress = (revision) => {
        if (!done) onProgress(revision);
      };
    }
    innerWatch = this.inner.watch(prefix, fromRevision, wrapped);
    if (done) innerWatch.close(); // failed during a synchronous replay, before innerWatch was set
    return { close: stop };
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
