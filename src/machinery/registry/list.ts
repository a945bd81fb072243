// list with kube-apiserver's resourceVersion rules, selectors and limit/continue pagination,
// every page read at the snapshot revision of the first one.
import { StorageError, type Storage } from '../../storage/storage.js';
import {
  badRequest,
  expired,
  fieldErr,
  internalErrorWithMessage,
  invalidOptions,
  StatusError,
  timeout,
} from '../errors.js';
import type { KubeObject } from '../kind.js';
import { decodeObject, objectJSONParts } from './codec.js';
import { matches, selectsEverything, type Selection } from './selection.js';
import type { RequestContext } from './context.js';
import { storageCall, type DeleteOptions, type ResourceStore } from './store.js';

export interface ListOptions {
  selection: Selection;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  /**
   * the caller only needs each object's JSON (a plain JSON list response): when the selection
   * takes everything, objects are not decoded and `json` holds them instead of `items`
   */
  jsonOnly?: boolean;
}

export interface ListResult {
  items: KubeObject[];
  /** with jsonOnly and no selectors: each object's JSON, in order (items is then empty) */
  /** the items as served, in byte pieces (serialize once): set when the caller asked for jsonOnly */
  json?: Buffer[][];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

interface ContinueToken {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

/** how long a read waits for a resourceVersion newer than the store before 504 (kube: 3 s) */
const FUTURE_RV_WAIT_MS = 3000;

export function encodeContinue(rv: number, startRelative: string): string {
  const t: ContinueToken = { v: 'meta.k8s.io/v1', rv, start: startRelative };
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    // a safe integer: 1e300 is an integer too, and the store answered it with a 500
    if (t.v !== 'meta.k8s.io/v1' || !Number.isSafeInteger(t.rv) || t.rv <= 0 || typeof t.start !== 'string')
      throw new Error('shape');
    if (t.start.includes('..') || t.start.startsWith('/')) throw new Error('path');
    return t;
  } catch {
    throw badRequest('continue key is not valid: invalid continue token');
  }
}

export function parseResourceVersion(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === '') return undefined;
  if (!/^\d+$/.test(rv)) throw badRequest(`Invalid value: "${rv}": resourceVersion must be a non-negative integer`);
  const n = Number(rv);
  // revisions are JS numbers: past 2^53 two different texts would read as the same revision
  if (!Number.isSafeInteger(n))
    throw badRequest(`Invalid value: "${rv}": resourceVersion must be at most ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

/** validates the option combinations kube-apiserver refuses (e.g. resourceVersionMatch without resourceVersion) */
export function validateListOptions(o: ListOptions, isWatch: boolean): void {
  if (o.resourceVersionMatch !== undefined && o.resourceVersionMatch !== '') {
    if (!['NotOlderThan', 'Exact'].includes(o.resourceVersionMatch)) {
      throw invalidOptions('ListOptions', [
        fieldErr.notSupported('resourceVersionMatch', o.resourceVersionMatch, ['Exact', 'NotOlderThan']),
      ]);
    }
    if (o.resourceVersion === undefined || o.resourceVersion === '') {
      throw invalidOptions('ListOptions', [
        fieldErr.forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden unless resourceVersion is provided',
        ),
      ]);
    }
    if (o.continue) {
      throw invalidOptions('ListOptions', [
        fieldErr.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'),
      ]);
    }
    if (o.resourceVersionMatch === 'Exact' && o.resourceVersion === '0') {
      throw invalidOptions('ListOptions', [
        fieldErr.forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
      ]);
    }
  }
  if (o.continue && o.resourceVersion && o.resourceVersion !== '0' && !isWatch) {
    throw badRequest('specifying resource version is not allowed when using continue');
  }
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 0)) {
    throw badRequest(`invalid limit: ${String(o.limit)}`);
  }
  parseResourceVersion(o.resourceVersion);
}

/** waits (bounded) until the store has reached rv; 504 "Too large resource version" otherwise */
export async function waitForRevision(storage: Storage, rv: number): Promise<number> {
  const deadline = Date.now() + FUTURE_RV_WAIT_MS;
  let current = await storageCall(() => storage.currentRevision());
  while (current < rv) {
    if (Date.now() >= deadline) {
      throw timeout(`Timeout: Too large resource version: ${rv}, current: ${current}`, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
    current = await storageCall(() => storage.currentRevision());
  }
  return current;
}

export async function listObjects(store: ResourceStore, ns: string | undefined, o: ListOptions): Promise<ListResult> {
  validateListOptions(o, false);
  const prefix = store.prefixFor(ns);
  const limit = o.limit && o.limit > 0 ? o.limit : 0;
  let revision: number | undefined; // undefined = read at current
  let startKey: string | undefined;
  // resourceVersion "0" and NotOlderThan accept any state this fresh: a watch cache answers
  let notOlderThan: number | undefined;
  if (o.continue) {
    const t = decodeContinue(o.continue);
    revision = t.rv;
    startKey = prefix + t.start;
  } else {
    const rv = parseResourceVersion(o.resourceVersion);
    const exact =
      o.resourceVersionMatch === 'Exact' || (rv !== undefined && rv > 0 && limit > 0 && !o.resourceVersionMatch);
    if (rv !== undefined && rv > 0) {
      await waitForRevision(store.storage, rv);
      if (exact) revision = rv;
      else notOlderThan = rv;
    } else if (rv === 0) {
      notOlderThan = 0;
    }
  }

  const items: KubeObject[] = [];
  const everything = selectsEverything(o.selection);
  const json: Buffer[][] | undefined = everything && o.jsonOnly ? [] : undefined;
  const count = () => (json ? json.length : items.length);
  let more = false;
  let remaining = 0;
  let lastKey: string | undefined;
  try {
    for (let round = 0; ; round++) {
      const want = limit ? Math.max(limit - count(), everything ? 0 : limit) : 0;
      const page = await storageCall(() =>
        store.storage.list(prefix, { limit: want, startKey, revision, notOlderThan }),
      );
      revision = page.revision;
      notOlderThan = undefined; // later pages read the first page's snapshot
      for (const kv of page.kvs) {
        lastKey = kv.key;
        if (json) {
          json.push(objectJSONParts(kv)); // serialize once: the stored bytes with the resourceVersion
        } else {
          const obj = decodeObject(kv);
          if (matches(store.kind, o.selection, obj)) items.push(obj);
        }
        if (limit && count() >= limit) break;
      }
      // stopped inside the page or the store has more keys after it
      const stoppedEarly =
        lastKey !== undefined && page.kvs.length > 0 && lastKey !== page.kvs[page.kvs.length - 1].key;
      more = stoppedEarly || page.more;
      remaining = stoppedEarly
        ? page.remaining + page.kvs.length - 1 - page.kvs.findIndex((kv) => kv.key === lastKey)
        : page.remaining;
      if (!more || (limit && count() >= limit)) break;
      startKey = lastKey + '\x00';
      if (round > 1_000_000) throw internalErrorWithMessage('list did not terminate');
    }
  } catch (e) {
    if (e instanceof StorageError && e.code === 'Compacted') {
      if (o.continue) {
        const latest = await storageCall(() => store.storage.currentRevision());
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
          encodeContinue(latest, (startKey ?? prefix).slice(prefix.length)),
        );
      }
      throw expired(`too old resource version: ${o.resourceVersion} (${e.revision ?? 0})`);
    }
    throw e;
  }
  const result: ListResult = { items, resourceVersion: String(revision ?? 0), ...(json ? { json } : {}) };
  if (more && lastKey !== undefined) {
    result.continue = encodeContinue(revision!, lastKey.slice(prefix.length) + '\x00');
    if (everything) result.remainingItemCount = remaining;
  }
  return result;
}

/** deletes every selected object like a single delete each; returns them as they were before */
export async function deleteCollection(
  store: ResourceStore,
  ns: string | undefined,
  o: ListOptions,
  deleteOptions: DeleteOptions,
  ctx: RequestContext,
): Promise<ListResult> {
  const selected = await listObjects(store, ns, { ...o, limit: undefined, continue: undefined });
  const items: KubeObject[] = [];
  for (const obj of selected.items) {
    try {
      await store.delete(obj.metadata.namespace, obj.metadata.name!, deleteOptions, ctx);
      items.push(obj);
    } catch (e) {
      // gone in the meantime: someone else deleted it, which is what we wanted
      if (e instanceof StatusError && e.code === 404) continue;
      throw e;
    }
  }
  return { items, resourceVersion: selected.resourceVersion };
}
