// The generic store: one instance per kind, every kind served the same way (kube-apiserver's
// genericregistry.Store). Kind-specific behaviour comes only from the KindDefinition.
import { randomUUID } from 'node:crypto';
import { MAX_VALUE_BYTES, StorageError, type KeyValue, type Storage } from '../../storage/storage.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  fieldErr,
  internalError,
  invalid,
  invalidOptions,
  MODIFIED_CONFLICT,
  notFound,
  serviceUnavailable,
  StatusError,
  tooLarge,
} from '../errors.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import { nameFromGenerateName } from '../metavalidation.js';
import { DEFAULT_MAX_JSON_DEPTH, nestsDeeperThan } from '../json.js';
import { applyJsonPatch, applyMergePatch } from '../patch.js';
import { fieldManagerFor } from '../managedfields/fieldmanager.js';
import { decodeApplyConfig, trackManagedFields, writeInfo, type AppliedFields } from './apply.js';
import { cloneObject, decodeObject, encodeObject, listPrefix, objectKey, resourceKeyPrefix } from './codec.js';
import type { RequestContext } from './context.js';
import { prepareUpdate } from './update.js';
import { decodeBody, defaultAndValidate, resourceRef, specOf, type DecodedBody } from './prepare.js';

export type PatchType = 'json' | 'merge';

export interface DeleteOptions {
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  orphanDependents?: boolean;
}

/** Admission: mutate and validate see the object about to be stored; committed sees it stored. */
export interface AdmissionHooks {
  mutate?(op: 'CREATE' | 'UPDATE', obj: KubeObject, old: KubeObject | undefined, ctx: RequestContext): Promise<void>;
  validate?(
    op: 'CREATE' | 'UPDATE' | 'DELETE',
    obj: KubeObject,
    old: KubeObject | undefined,
    ctx: RequestContext,
  ): Promise<void>;
  /**
   * after the write, never on a dry run: side effects that must not exist without the object
   * (Secrets it owns) happen here; a failure is the hook's to report (as a warning), the write stands
   */
  committed?(op: 'CREATE' | 'UPDATE', obj: KubeObject, ctx: RequestContext): Promise<void>;
}

export interface StoreOptions {
  /** key root, '/registry' by default */
  root?: string;
  /** throws NotFound / Forbidden(NamespaceTerminating) when objects cannot be created in ns */
  checkNamespace?(ns: string): Promise<void>;
  admission?: AdmissionHooks;
}

const GENERATE_NAME_ATTEMPTS = 8;
// kube-apiserver's GuaranteedUpdate retries an unconditional write on every conflict; each retry here
// waits for the winning write to become durable, so a generous bound never spins.
const PATCH_CONFLICT_RETRIES = 100;

export class ResourceStore {
  readonly prefix: string;

  constructor(
    readonly kind: KindDefinition,
    readonly storage: Storage,
    readonly options: StoreOptions = {},
  ) {
    this.prefix = resourceKeyPrefix(options.root ?? '/registry', kind);
  }

  get ref() {
    return resourceRef(this.kind);
  }

  key(ns: string | undefined, name: string): string {
    return objectKey(this.prefix, this.kind.namespaced ? ns : undefined, name);
  }

  prefixFor(ns: string | undefined): string {
    return listPrefix(this.prefix, this.kind.namespaced ? ns : undefined);
  }

  // ---- reads -------------------------------------------------------------------------------

  async getKV(ns: string | undefined, name: string, revision?: number): Promise<KeyValue> {
    const kv = await storageCall(() => this.storage.get(this.key(ns, name), revision));
    if (!kv) throw notFound(this.ref, name);
    return kv;
  }

  async get(ns: string | undefined, name: string): Promise<KubeObject> {
    return decodeObject(await this.getKV(ns, name));
  }

  /** a get that may be served from the watch cache: any version at least as new as `notOlderThan` */
  async getNotOlderThan(ns: string | undefined, name: string, notOlderThan: number): Promise<KubeObject> {
    const storage = this.storage;
    const kv = await storageCall(() =>
      storage.getNotOlderThan
        ? storage.getNotOlderThan(this.key(ns, name), notOlderThan)
        : storage.get(this.key(ns, name)),
    );
    if (!kv) throw notFound(this.ref, name);
    return decodeObject(kv);
  }

  /**
   * The object as the watch cache holds it, as a first guess for a write (kube's GuaranteedUpdate
   * starts from the cached object too): the write compares on this version's mod revision, so a
   * stale guess only costs a conflict and a fresh read, never a lost update. null when there is
   * no cache or it does not hold the key.
   */
  private async suggestedKV(ns: string | undefined, name: string): Promise<KeyValue | null> {
    const storage = this.storage;
    if (!storage.getNotOlderThan) return null;
    return storageCall(() => storage.getNotOlderThan!(this.key(ns, name), 0));
  }

  // ---- create ------------------------------------------------------------------------------

  /** `applied`: the managedFields of a server-side apply that creates the object */
  async create(
    ns: string | undefined,
    body: DecodedBody,
    ctx: RequestContext,
    applied?: AppliedFields,
  ): Promise<KubeObject> {
    const obj = decodeBody(this.kind, body, ctx);
    const meta = obj.metadata;
    if (this.kind.namespaced) {
      if (meta.namespace && ns && meta.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = ns ?? meta.namespace;
    } else {
      delete meta.namespace;
    }
    if (meta.resourceVersion) {
      throw invalid(this.ref, meta.name ?? '', [
        fieldErr.invalid('metadata.resourceVersion', meta.resourceVersion, 'must be empty on create'),
      ]);
    }
    this.resetServerFields(obj);
    const generated = !meta.name && !!meta.generateName;
    if (generated) meta.name = nameFromGenerateName(meta.generateName!);
    this.kind.strategy.prepareForCreate?.(obj);
    await this.options.admission?.mutate?.('CREATE', obj, undefined, ctx);
    defaultAndValidate(this.kind, obj);
    await this.options.admission?.validate?.('CREATE', obj, undefined, ctx);
    trackManagedFields(this.kind, undefined, obj, ctx, undefined, applied);
    if (this.kind.namespaced && this.options.checkNamespace) await this.options.checkNamespace(meta.namespace!);

    if (ctx.dryRun) {
      const existing = await storageCall(() => this.storage.get(this.key(meta.namespace, meta.name!)));
      if (existing && !generated) throw alreadyExists(this.ref, meta.name!);
      return obj;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const kv = await storageCall(() =>
          this.storage.create(this.key(meta.namespace, meta.name!), encodeObject(obj)),
        );
        const created = decodeObject(kv);
        await this.options.admission?.committed?.('CREATE', created, ctx);
        return created;
      } catch (e) {
        if (e instanceof StorageError && e.code === 'KeyExists') {
          if (generated && attempt < GENERATE_NAME_ATTEMPTS) {
            meta.name = nameFromGenerateName(meta.generateName!);
            continue;
          }
          throw alreadyExists(this.ref, meta.name!);
        }
        throw e;
      }
    }
  }

  private resetServerFields(obj: KubeObject): void {
    const m = obj.metadata;
    m.uid = randomUUID();
    m.creationTimestamp = nowRFC3339();
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.selfLink;
    delete m.resourceVersion;
    if (this.kind.trackGeneration) m.generation = 1;
    else delete m.generation;
    if (this.kind.statusSubresource) delete obj.status;
  }

  // ---- update / patch ----------------------------------------------------------------------

  /** PUT of the whole object (or of its status when subresource is 'status') */
  async update(
    ns: string | undefined,
    name: string,
    body: DecodedBody,
    ctx: RequestContext,
    subresource?: 'status',
  ): Promise<KubeObject> {
    const incoming = decodeBody(this.kind, body, ctx);
    this.checkIdentity(incoming, ns, name);
    const rv = incoming.metadata.resourceVersion;
    if (!rv) {
      throw invalid(this.ref, name, [
        fieldErr.invalid('metadata.resourceVersion', '', 'must be specified for an update'),
      ]);
    }
    const cached = await this.suggestedKV(ns, name);
    if (cached && String(cached.modRevision) === rv) {
      const written = await this.writeUpdate(cached, cloneObject(incoming), ctx, subresource, undefined, true);
      if (written) return written;
    }
    const kv = await this.getKV(ns, name);
    if (String(kv.modRevision) !== rv) throw conflict(this.ref, name, MODIFIED_CONFLICT);
    return (await this.writeUpdate(kv, incoming, ctx, subresource))!;
  }

  async patch(
    ns: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    ctx: RequestContext,
    subresource?: 'status',
  ): Promise<KubeObject> {
    for (let attempt = 1; ; attempt++) {
      // the first attempt starts from the cached object; a stale one is found out and read again
      const cached = attempt === 1 ? await this.suggestedKV(ns, name) : null;
      const suggested = cached !== null;
      const kv = cached ?? (await this.getKV(ns, name));
      const current = decodeObject(kv);
      let patchedRV: string | undefined;
      let incoming: KubeObject;
      try {
        const patched = type === 'json' ? applyJsonPatch(current, patch) : applyMergePatch(current, patch);
        this.checkNesting(patched, name);
        patchedRV = (patched as KubeObject | null)?.metadata?.resourceVersion;
        const pinned = patchedRV !== undefined && patchedRV !== '' && patchedRV !== current.metadata.resourceVersion;
        if (pinned) throw conflict(this.ref, name, MODIFIED_CONFLICT);
        incoming = decodeBody(this.kind, { value: patched, duplicates: [] }, ctx);
        this.checkIdentity(incoming, ns, name);
      } catch (e) {
        // refused against the cached copy (a JSON patch test, a pinned resourceVersion): decide
        // again on the stored version
        if (suggested) continue;
        throw e;
      }
      incoming.metadata.resourceVersion = current.metadata.resourceVersion;
      try {
        // with a cached copy, undefined: it was stale or refused; anything thrown came after the write
        const written = await this.writeUpdate(kv, incoming, ctx, subresource, undefined, suggested);
        if (written) return written;
      } catch (e) {
        // A concurrent writer moved the object between our read and our CAS: redo the patch on
        // the new version, as kube-apiserver does for patches that do not pin a resourceVersion.
        const raced = e instanceof StatusError && e.reason === 'Conflict' && e.message.endsWith(MODIFIED_CONFLICT);
        if (raced && attempt < PATCH_CONFLICT_RETRIES && patchedRV === current.metadata.resourceVersion) continue;
        throw e;
      }
    }
  }

  /** server-side apply (application/apply-patch+yaml); creates the object when it does not exist */
  async apply(
    ns: string | undefined,
    name: string,
    body: DecodedBody,
    ctx: RequestContext,
    force: boolean,
    subresource?: 'status',
  ): Promise<{ object: KubeObject; created: boolean }> {
    const config = decodeApplyConfig(this.kind, body, ctx);
    const pinnedRV = config.metadata.resourceVersion;
    for (let attempt = 1; ; attempt++) {
      // the first attempt starts from the cached object (when it holds one); absent there, or
      // stale, the store is read
      const cached = attempt === 1 ? await this.suggestedKV(ns, name) : null;
      const suggested = cached !== null;
      const kv = cached ?? (await storageCall(() => this.storage.get(this.key(ns, name))));
      if (!kv && subresource) throw notFound(this.ref, name);
      const live = kv ? decodeObject(kv) : undefined;
      let result: ReturnType<ReturnType<typeof fieldManagerFor>['apply']>;
      try {
        result = fieldManagerFor(this.kind).apply(live, config, { ...writeInfo(ctx, subresource), force });
        this.checkIdentity(result.object, ns, name);
        if (live && pinnedRV && pinnedRV !== live.metadata.resourceVersion)
          throw conflict(this.ref, name, MODIFIED_CONFLICT);
      } catch (e) {
        // refused against the cached copy (a field manager conflict, a pinned resourceVersion):
        // decide again on the stored version
        if (suggested) continue;
        throw e;
      }
      const object = result.object;
      const applied = { entries: result.managedFields };
      try {
        if (!kv || !live)
          return { object: await this.create(ns, { value: object, duplicates: [] }, ctx, applied), created: true };
        object.metadata.resourceVersion = live.metadata.resourceVersion;
        // with a cached copy, undefined: it was stale or refused; anything thrown came after the write
        const written = await this.writeUpdate(kv, object, ctx, subresource, applied, suggested);
        if (written) return { object: written, created: false };
      } catch (e) {
        // created or changed by someone else since our read: apply again to what is there now
        const raced =
          e instanceof StatusError &&
          (e.reason === 'AlreadyExists' || (e.reason === 'Conflict' && e.message.endsWith(MODIFIED_CONFLICT)));
        if (raced && !pinnedRV && attempt < PATCH_CONFLICT_RETRIES) continue;
        throw e;
      }
    }
  }

  /**
   * A patch result may nest no deeper than a body may: one too deep for the server to accept back
   * as a PUT would also overflow the stack of every recursive step after this one.
   */
  private checkNesting(patched: unknown, name: string): void {
    if (patched === null || typeof patched !== 'object' || !nestsDeeperThan(patched, DEFAULT_MAX_JSON_DEPTH)) return;
    const field =
      Object.keys(patched).find((k) =>
        nestsDeeperThan((patched as Record<string, unknown>)[k], DEFAULT_MAX_JSON_DEPTH - 1),
      ) ?? '';
    throw invalid(this.ref, name, [
      {
        type: 'FieldValueInvalid',
        field,
        message: `${field}: Invalid value: the patched object nests deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`,
      },
    ]);
  }

  private checkIdentity(obj: KubeObject, ns: string | undefined, name: string): void {
    const m = obj.metadata;
    if (m.name !== name) {
      throw badRequest(`the name of the object (${m.name ?? ''}) does not match the name on the URL (${name})`);
    }
    if (this.kind.namespaced) {
      if (m.namespace && m.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      m.namespace = ns;
    } else {
      delete m.namespace;
    }
  }

  /**
   * The update path shared by PUT and PATCH: carry server fields over, validate, CAS-write.
   * `suggested`: kv came from the watch cache and may be stale. A write then proves it current
   * (the CAS compares on its mod revision), but a no-op or a dry run writes nothing and so proves
   * nothing: the store is asked whether kv is still its version, and undefined tells the caller
   * it was not (read the store and try again).
   */
  private async writeUpdate(
    kv: KeyValue,
    incoming: KubeObject,
    ctx: RequestContext,
    subresource?: 'status',
    applied?: AppliedFields,
    suggested = false,
  ): Promise<KubeObject | undefined> {
    let prepared: { obj: KubeObject; name: string; noop: boolean };
    try {
      prepared = await prepareUpdate(this.kind, this.options.admission, kv, incoming, ctx, subresource, applied);
    } catch (e) {
      // refused against a cached copy that may be stale (kube's GuaranteedUpdate does the same):
      // decide again on the stored version
      if (suggested) return undefined;
      throw e;
    }
    const { obj, name, noop } = prepared;
    // no-op: no write, RV unchanged
    if (noop || ctx.dryRun) return suggested && !(await this.isStored(kv)) ? undefined : obj;
    const finalized = !!obj.metadata.deletionTimestamp && !this.hasFinalizers(obj);
    if (finalized) {
      // the last finalizer went away: this write deletes the object
      let deleted: KeyValue;
      try {
        deleted = await this.casDelete(kv, name);
      } catch (e) {
        if (suggested) return undefined;
        throw e;
      }
      return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(deleted.modRevision) } };
    }
    let updated: KubeObject;
    try {
      updated = decodeObject(await storageCall(() => this.storage.update(kv.key, encodeObject(obj), kv.modRevision)));
    } catch (e) {
      if (suggested) return undefined;
      throw this.mapWriteError(e, name);
    }
    // written: from here on an error is the caller's, never a reason to write again
    await this.options.admission?.committed?.('UPDATE', updated, ctx);
    return updated;
  }

  /** whether kv is still the stored version of its key */
  private async isStored(kv: KeyValue): Promise<boolean> {
    const now = await storageCall(() => this.storage.get(kv.key));
    return now?.modRevision === kv.modRevision;
  }

  private hasFinalizers(obj: KubeObject): boolean {
    return (obj.metadata.finalizers?.length ?? 0) > 0 || !!this.kind.strategy.pendingFinalization?.(obj);
  }

  private mapWriteError(e: unknown, name: string): unknown {
    if (e instanceof StorageError) {
      if (e.code === 'Conflict') return conflict(this.ref, name, MODIFIED_CONFLICT);
      if (e.code === 'KeyNotFound') return notFound(this.ref, name);
    }
    return e;
  }

  private async casDelete(kv: KeyValue, name: string): Promise<KeyValue> {
    try {
      return await storageCall(() => this.storage.delete(kv.key, kv.modRevision));
    } catch (e) {
      throw this.mapWriteError(e, name);
    }
  }

  // ---- delete ------------------------------------------------------------------------------

  /** returns the object and whether it is gone (true) or only marked terminating (false) */
  async delete(
    ns: string | undefined,
    name: string,
    opts: DeleteOptions,
    ctx: RequestContext,
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    validateDeleteOptions(opts);
    for (let attempt = 1; ; attempt++) {
      const kv = await this.getKV(ns, name);
      const current = decodeObject(kv);
      const pre = opts.preconditions ?? {};
      if (pre.uid && pre.uid !== current.metadata.uid) {
        throw conflict(
          this.ref,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
        );
      }
      if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw conflict(
          this.ref,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
        );
      }
      await this.options.admission?.validate?.('DELETE', current, current, ctx);
      const obj = cloneObject(current);
      applyPropagationFinalizers(obj, opts);
      try {
        if (this.hasFinalizers(obj)) {
          if (!obj.metadata.deletionTimestamp) {
            obj.metadata.deletionTimestamp = nowRFC3339();
            obj.metadata.deletionGracePeriodSeconds = 0;
            if (this.kind.trackGeneration) obj.metadata.generation = (obj.metadata.generation ?? 1) + 1;
            this.kind.strategy.prepareForDeletion?.(obj);
          }
          if (JSON.stringify(obj) === JSON.stringify(current) || ctx.dryRun) return { object: obj, deleted: false };
          const updated = await storageCall(() => this.storage.update(kv.key, encodeObject(obj), kv.modRevision));
          return { object: decodeObject(updated), deleted: false };
        }
        if (ctx.dryRun) return { object: current, deleted: true };
        const deleted = await storageCall(() => this.storage.delete(kv.key, kv.modRevision));
        return {
          object: { ...current, metadata: { ...current.metadata, resourceVersion: String(deleted.modRevision) } },
          deleted: true,
        };
      } catch (e) {
        if (e instanceof StorageError && e.code === 'Conflict' && attempt < PATCH_CONFLICT_RETRIES) continue;
        if (e instanceof StorageError && e.code === 'KeyNotFound') throw notFound(this.ref, name);
        throw this.mapWriteError(e, name);
      }
    }
  }
}

function validateDeleteOptions(opts: DeleteOptions): void {
  const policies = ['Orphan', 'Background', 'Foreground'];
  if (opts.propagationPolicy !== undefined && !policies.includes(opts.propagationPolicy)) {
    throw invalidOptions('DeleteOptions', [
      fieldErr.notSupported('propagationPolicy', opts.propagationPolicy, policies),
    ]);
  }
  if (opts.propagationPolicy !== undefined && opts.orphanDependents !== undefined) {
    throw invalidOptions('DeleteOptions', [
      fieldErr.invalid(
        'propagationPolicy',
        opts.propagationPolicy,
        'orphanDependents and deletionPropagation cannot be both set',
      ),
    ]);
  }
}

/** the garbage collector's finalizers follow the propagation policy, as kube-apiserver sets them */
function applyPropagationFinalizers(obj: KubeObject, opts: DeleteOptions): void {
  if (opts.propagationPolicy === undefined && opts.orphanDependents === undefined) return;
  if (obj.metadata.deletionTimestamp) return; // only the first delete decides
  const fin = new Set(obj.metadata.finalizers ?? []);
  const orphan = opts.propagationPolicy === 'Orphan' || opts.orphanDependents === true;
  fin.delete('orphan');
  fin.delete('foregroundDeletion');
  if (orphan) fin.add('orphan');
  else if (opts.propagationPolicy === 'Foreground') fin.add('foregroundDeletion');
  const list = [...fin];
  if (list.length > 0) obj.metadata.finalizers = list;
  else delete obj.metadata.finalizers;
}

export function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** storage failures that are not the client's fault become 5xx Status errors */
export async function storageCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StorageError) {
      // etcd refuses requests over 1.5 MiB; kube-apiserver answers 413 for them, and so do we
      if (e.code === 'TooLarge')
        throw tooLarge(`the object is too large to store: the limit is ${MAX_VALUE_BYTES} bytes`);
      if (e.code === 'Unavailable') throw serviceUnavailable(`storage is unavailable: ${e.message}`);
      if (e.code === 'Internal') throw internalError(e.message);
    }
    throw e;
  }
}
