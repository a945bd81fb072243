// The Storage interface has the shape of etcd's MVCC, because Kubernetes semantics are built on it:
// one global revision, compare-and-swap on a key's mod revision, ranges at a past revision,
// and watches that resume from a revision until it is compacted.
// Backends: embedded (src/storage/embedded), etcd3 (later). Both pass test/storage/conformance.

export interface KeyValue {
  key: string;
  value: Buffer;
  /** revision at which the key was (last) created */
  createRevision: number;
  /** revision of the last write to the key; for a delete event, the deletion revision */
  modRevision: number;
}

export interface ListOptions {
  /** at most this many items (0 or undefined = all) */
  limit?: number;
  /** start at this key (inclusive); must have the prefix */
  startKey?: string;
  /** read at this past revision (0/undefined = current) */
  revision?: number;
  /**
   * the caller accepts any state at least this fresh (kube's resourceVersion "0" / NotOlderThan):
   * a watch cache may answer from memory. Backends without a cache read the current state.
   */
  notOlderThan?: number;
}

export interface ListResult {
  kvs: KeyValue[];
  /** the revision the list was read at */
  revision: number;
  /** true when keys after the last returned one remain under the prefix */
  more: boolean;
  /** number of keys under the prefix after the last returned one (at that revision) */
  remaining: number;
}

export type StorageEventType = 'put' | 'delete';

export interface StorageEvent {
  type: StorageEventType;
  /** for put: the new value; for delete: the value before deletion, with modRevision = deletion revision */
  kv: KeyValue;
  /** the previous value (for put of an existing key, and for delete) */
  prevKv?: KeyValue;
  /** revision of this event (== kv.modRevision) */
  revision: number;
}

export interface StorageWatch {
  close(): void;
}

export interface WatchHandlers {
  /** events in revision order, each revision at most once */
  onEvent(ev: StorageEvent): void;
  /** fatal for this watch (e.g. compacted, closed store); no more events follow */
  onError(err: StorageError): void;
  /** every event up to this revision has been delivered (answer to Storage.requestProgress) */
  onProgress?(revision: number): void;
}

export type StorageErrorCode =
  | 'KeyExists' // create on an existing key
  | 'KeyNotFound' // update/delete of a missing key
  | 'Conflict' // mod revision precondition failed
  | 'Compacted' // revision older than the compaction point
  | 'FutureRevision' // revision newer than the store's current revision
  | 'TooLarge' // value over the size limit
  | 'Unavailable' // backend not reachable / closed
  | 'Internal';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    /** for Compacted: the compaction revision; for FutureRevision/Conflict: the current revision */
    readonly revision?: number,
    /** for Conflict: the current stored value */
    readonly current?: KeyValue,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/** etcd refuses requests over 1.5 MiB; the embedded store refuses values over this size too. */
export const MAX_VALUE_BYTES = 1.5 * 1024 * 1024;

export interface Storage {
  /** the store's current revision */
  currentRevision(): Promise<number>;
  /** lowest revision still readable (everything below was compacted) */
  compactedRevision(): Promise<number>;
  /** fails with KeyExists when the key exists */
  create(key: string, value: Buffer): Promise<KeyValue>;
  /** null when absent; `revision` reads the value as of that past revision */
  get(key: string, revision?: number): Promise<KeyValue | null>;
  /**
   * the value as of some revision >= notOlderThan, possibly older than the latest (kube's
   * resourceVersion "0"/N for a get): a watch cache answers from memory. Absent: use get.
   */
  getNotOlderThan?(key: string, notOlderThan: number): Promise<KeyValue | null>;
  /** keys with this prefix, in byte order of key */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** compare-and-swap on modRevision; KeyNotFound / Conflict (with current) */
  update(key: string, value: Buffer, expectedModRevision: number): Promise<KeyValue>;
  /** deletes; with expectedModRevision it is a compare-and-delete. Returns the deleted kv with modRevision = deletion revision */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /** events for keys with this prefix with revision > fromRevision; Compacted when fromRevision < compactedRevision */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): StorageWatch;
  /**
   * asks every open watch to report, through onProgress, the revision up to which it has
   * delivered all events (etcd's RequestProgress). Absent when the backend cannot confirm watch
   * progress (etcd older than 3.4.31/3.5.13): a watch cache then serves consistent reads from
   * the backend instead.
   */
  requestProgress?(): void;
  /** drops history at revisions < revision */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
