// An update's object made from the request and the stored version (kube-apiserver's
// BeforeUpdate): server-owned fields carried over, /status limited to status, admission,
// defaulting and validation, generation and managedFields. The write itself is the store's.
import type { KeyValue } from '../../storage/storage.js';
import { fieldErr, invalid } from '../errors.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import { trackManagedFields, type AppliedFields } from './apply.js';
import { cloneObject, decodeObject } from './codec.js';
import type { RequestContext } from './context.js';
import { defaultAndValidate, resourceRef, specOf } from './prepare.js';
import type { AdmissionHooks } from './store.js';

/** `noop`: the result is what is stored already (nothing to write) */
export async function prepareUpdate(
  kind: KindDefinition,
  admission: AdmissionHooks | undefined,
  kv: KeyValue,
  incoming: KubeObject,
  ctx: RequestContext,
  subresource?: 'status',
  applied?: AppliedFields,
): Promise<{ obj: KubeObject; name: string; noop: boolean }> {
  const old = Object.freeze(decodeObject(kv)) as KubeObject;
  const name = old.metadata.name!;
  let obj: KubeObject;
  if (subresource === 'status') {
    // /status writes only status; everything else stays as stored
    obj = cloneObject(old);
    if (incoming.status === undefined) delete obj.status;
    else obj.status = incoming.status;
  } else {
    obj = incoming;
    if (kind.statusSubresource) {
      if (old.status === undefined) delete obj.status;
      else obj.status = cloneObject(old.status);
    }
  }
  const m = obj.metadata;
  if (m.uid && m.uid !== old.metadata.uid) {
    throw invalid(resourceRef(kind), name, [fieldErr.invalid('metadata.uid', m.uid, 'field is immutable')]);
  }
  m.uid = old.metadata.uid;
  m.creationTimestamp = old.metadata.creationTimestamp;
  if (old.metadata.deletionTimestamp) {
    m.deletionTimestamp = old.metadata.deletionTimestamp;
    m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
  } else {
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
  }
  delete m.selfLink;
  if (kind.trackGeneration) m.generation = old.metadata.generation ?? 1;
  else delete m.generation;

  if (subresource !== 'status') kind.strategy.prepareForUpdate?.(obj, old);
  await admission?.mutate?.('UPDATE', obj, old, ctx);
  defaultAndValidate(kind, obj, old);
  await admission?.validate?.('UPDATE', obj, old, ctx);
  if (kind.trackGeneration && specOf(kind, obj) !== specOf(kind, old)) {
    m.generation = (old.metadata.generation ?? 1) + 1;
  }
  m.resourceVersion = old.metadata.resourceVersion;
  trackManagedFields(kind, old, obj, ctx, subresource, applied);
  return { obj, name, noop: JSON.stringify(obj) === JSON.stringify(old) };
}
