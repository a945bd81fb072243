// Talos strategic merge patches: partial config documents merged into the config,
// each matched by apiVersion + kind (+ name), the v1alpha1 document by having neither; a patch
// document that matches none is appended. Inside a document: maps merge key by key, scalars are
// overwritten unless the patch holds the zero value (booleans always overwrite), lists append
// except where rules.ts says otherwise, and `$patch: delete` deletes.
import {
  describeDocument,
  documentIdentity,
  isV1Alpha1Document,
  sameIdentity,
  type ConfigDocument,
} from '../configstream.js';
import { withHeaderFirst } from './keyorder.js';
import { PatchError } from './patcherror.js';
import { fieldRule, sameValue, type Matcher } from './rules.js';

type YamlMap = Map<string, unknown>;

/** outcomes of merging one field besides a new value */
const DELETE = Symbol('delete');
const UNCHANGED = Symbol('unchanged');
/** a new value, or DELETE, or UNCHANGED */
type Outcome = unknown;

const DIRECTIVE = '$patch';

function kindOfValue(v: unknown): string {
  if (v instanceof Map) return 'a mapping';
  if (Array.isArray(v)) return 'a list';
  return v === null ? 'null' : `a ${typeof v}`;
}

/** Go's zero values: what a patch field holds when it says nothing (booleans are never "nothing"). */
function isZeroScalar(v: unknown): boolean {
  return v === null || v === undefined || v === '' || v === 0;
}

/** Merges one patch document into one config document, knowing where it is for rules and errors. */
class DocumentMerger {
  constructor(
    private readonly patchName: string,
    /** undefined for the v1alpha1 document */
    private readonly kind: string | undefined,
    /** how error paths name the document: empty for v1alpha1 */
    private readonly prefix: string,
  ) {}

  fail(at: string, reason: string): never {
    const path = this.prefix !== '' && at !== '' ? `${this.prefix}.${at}` : this.prefix + at;
    throw new PatchError(this.patchName, path, reason);
  }

  /** `$patch` in a patch mapping: only `delete` is known. */
  directive(patch: YamlMap, at: string): 'delete' | undefined {
    if (!patch.has(DIRECTIVE)) return undefined;
    const value = patch.get(DIRECTIVE);
    if (value === 'delete') return 'delete';
    return this.fail(at, `unsupported ${DIRECTIVE} directive ${JSON.stringify(value)}; only "delete" is supported`);
  }

  mergeMap(target: YamlMap | undefined, patch: YamlMap, path: readonly string[], at: string): YamlMap {
    const out = new Map(target ?? []);
    for (const [key, patchValue] of patch) {
      if (key === DIRECTIVE) continue; // handled by whoever holds this mapping
      const fieldAt = at === '' ? key : `${at}.${key}`;
      const result = this.mergeField(out.get(key), patchValue, [...path, key], fieldAt);
      if (result === DELETE) out.delete(key);
      else if (result !== UNCHANGED) out.set(key, result);
    }
    return out;
  }

  private mergeField(targetValue: unknown, patchValue: unknown, path: readonly string[], at: string): Outcome {
    const target = targetValue === null ? undefined : targetValue;
    const rule = fieldRule(this.kind, path);
    if (patchValue instanceof Map) {
      if (this.directive(patchValue as YamlMap, at) === 'delete') return DELETE;
      if (target !== undefined && !(target instanceof Map))
        this.fail(at, `cannot merge a mapping into ${kindOfValue(target)}`);
      if (rule?.type === 'overlay') return this.overlay(target as YamlMap | undefined, patchValue as YamlMap);
      if (rule?.type === 'replace') return patchValue.size === 0 ? UNCHANGED : structuredClone(patchValue);
      return this.mergeMap(target as YamlMap | undefined, patchValue as YamlMap, path, at);
    }
    if (Array.isArray(patchValue)) {
      if (target !== undefined && !Array.isArray(target))
        this.fail(at, `cannot merge a list into ${kindOfValue(target)}`);
      if (patchValue.length === 0) return UNCHANGED;
      if (rule?.type === 'replace') return structuredClone(patchValue);
      return this.mergeList(
        (target as unknown[] | undefined) ?? [],
        patchValue,
        path,
        at,
        rule?.type === 'keyed' ? rule.matches : undefined,
      );
    }
    if (target instanceof Map || Array.isArray(target))
      this.fail(at, `cannot replace ${kindOfValue(target)} with ${kindOfValue(patchValue)}`);
    if (typeof patchValue === 'boolean') return patchValue;
    return isZeroScalar(patchValue) ? UNCHANGED : patchValue;
  }

  /** extraArgs and other string maps: each entry in the patch replaces the entry's value (for a flag, a string or from 1.13 a list). */
  private overlay(target: YamlMap | undefined, patch: YamlMap): YamlMap {
    const out = new Map(target ?? []);
    for (const [flag, value] of patch) {
      if (flag !== DIRECTIVE && value !== null) out.set(flag, structuredClone(value));
    }
    return out;
  }

  private mergeList(
    target: readonly unknown[],
    patch: readonly unknown[],
    path: readonly string[],
    at: string,
    matches: Matcher | undefined,
  ): unknown[] {
    const out = [...target];
    patch.forEach((item, i) => {
      const itemAt = `${at}[${i}]`;
      if (item instanceof Map && this.directive(item as YamlMap, itemAt) === 'delete') {
        this.deleteItems(out, item as YamlMap, itemAt);
        return;
      }
      if (matches && item instanceof Map) {
        const j = out.findIndex((t) => t instanceof Map && matches(t as YamlMap, item as YamlMap));
        if (j >= 0) {
          out[j] = this.mergeMap(out[j] as YamlMap, item as YamlMap, path, itemAt);
          return;
        }
      }
      // a new item goes through the same merge, so its zero values and directives mean the same
      out.push(item instanceof Map ? this.mergeMap(undefined, item as YamlMap, path, itemAt) : structuredClone(item));
    });
    return out;
  }

  /** `{key: value, $patch: delete}` in a list: removes every item whose fields equal the other keys. */
  private deleteItems(items: unknown[], item: YamlMap, at: string): void {
    const selector = [...item].filter(([k]) => k !== DIRECTIVE);
    if (selector.length === 0)
      this.fail(at, `${DIRECTIVE}: delete in a list item needs another key naming the item to delete`);
    for (let j = items.length - 1; j >= 0; j--) {
      const t = items[j];
      if (t instanceof Map && selector.every(([k, v]) => t.has(k) && sameValue(t.get(k), v))) items.splice(j, 1);
    }
  }
}

function documentPrefix(doc: ConfigDocument): string {
  if (isV1Alpha1Document(doc)) return '';
  const { kind, name } = documentIdentity(doc);
  return name === undefined ? String(kind) : `${String(kind)}[name=${name}]`;
}

/**
 * Applies the documents of one strategic patch, in order, to the config's documents; returns
 * new documents (the input is not changed). A new v1alpha1 document goes first, others last.
 */
export function applyStrategicPatch(
  config: readonly ConfigDocument[],
  patchDocuments: readonly ConfigDocument[],
  patchName: string,
): ConfigDocument[] {
  const docs = [...config];
  patchDocuments.forEach((patchDoc, i) => {
    const legacy = isV1Alpha1Document(patchDoc);
    const identity = documentIdentity(patchDoc);
    if (!legacy && (identity.apiVersion === undefined || identity.kind === undefined)) {
      throw new PatchError(
        patchName,
        `documents[${i}]`,
        `a ${describeDocument(patchDoc)} document needs both apiVersion and kind as strings`,
      );
    }
    const index = docs.findIndex((d) =>
      legacy ? isV1Alpha1Document(d) : !isV1Alpha1Document(d) && sameIdentity(documentIdentity(d), identity),
    );
    const merger = new DocumentMerger(patchName, legacy ? undefined : identity.kind, documentPrefix(patchDoc));
    if (merger.directive(patchDoc, '') === 'delete') {
      // deleting a document the config does not have leaves it as it is, like deleting an absent key
      if (index >= 0) docs.splice(index, 1);
      return;
    }
    const merged = merger.mergeMap(index >= 0 ? docs[index] : undefined, patchDoc, [], '');
    if (index >= 0) docs[index] = merged;
    else if (legacy) docs.unshift(merged);
    else docs.push(withHeaderFirst(merged));
  });
  return docs;
}
