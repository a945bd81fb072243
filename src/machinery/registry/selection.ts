// Which objects a list, watch or deletecollection selects: namespace, labels, fields.
import { fieldLabelNotSupported, parseFieldSelector, type FieldSelector } from '../fields.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import { parseLabelSelector, type LabelSelector } from '../labels.js';

export interface Selection {
  labels: LabelSelector;
  fields: FieldSelector;
}

export function parseSelection(kind: KindDefinition, labelSelector?: string, fieldSelector?: string): Selection {
  const labels = parseLabelSelector(labelSelector ?? '');
  const fields = parseFieldSelector(fieldSelector ?? '');
  const supported = new Set(supportedFieldLabels(kind));
  for (const r of fields.requirements) {
    if (!supported.has(r.field)) throw fieldLabelNotSupported(r.field);
  }
  return { labels, fields };
}

export function supportedFieldLabels(kind: KindDefinition): string[] {
  const base = kind.namespaced ? ['metadata.name', 'metadata.namespace'] : ['metadata.name'];
  return [...base, ...kind.selectableFields];
}

/** the string value of a selectable field, as kube compares them */
export function fieldValue(kind: KindDefinition, obj: KubeObject, field: string): string | undefined {
  if (field === 'metadata.name') return obj.metadata.name;
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  const custom = kind.strategy.fieldValues?.(obj);
  if (custom && field in custom) return custom[field];
  let cur: unknown = obj;
  for (const part of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

export function matches(kind: KindDefinition, sel: Selection, obj: KubeObject): boolean {
  if (!sel.labels.empty && !sel.labels.matches(obj.metadata.labels ?? {})) return false;
  if (!sel.fields.empty && !sel.fields.matches((f) => fieldValue(kind, obj, f))) return false;
  return true;
}

export function selectsEverything(sel: Selection): boolean {
  return sel.labels.empty && sel.fields.empty;
}
