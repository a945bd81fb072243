// Cluster API style conditions: one per type, lastTransitionTime moves only when status does.
import type { Condition as KindCondition } from '../api/schema.js';

export type ConditionStatus = KindCondition['status'];
export type Severity = 'Error' | 'Warning' | 'Info';

/** the kinds' Condition, with the severities the controllers write */
export type Condition = Omit<KindCondition, 'severity'> & { severity?: Severity };

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  /** for a False status (CAPI leaves severity empty when True) */
  severity?: Severity;
}

export function rfc3339(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** the conditions with `u` set; `changed` when its status moved (the moment for an event) */
export function setCondition(
  conditions: readonly Condition[],
  u: ConditionUpdate,
  now = rfc3339(),
): { conditions: Condition[]; changed: boolean; previous?: Condition } {
  const previous = conditions.find((c) => c.type === u.type);
  const changed = previous?.status !== u.status;
  const next: Condition = {
    type: u.type,
    status: u.status,
    ...(u.status !== 'True' && u.severity ? { severity: u.severity } : {}),
    lastTransitionTime: changed || !previous ? now : previous.lastTransitionTime,
    reason: u.reason,
    // the schema wants a non-empty message when there is one
    ...(u.message ? { message: u.message.slice(0, 10_240) } : {}),
  };
  const rest = conditions.filter((c) => c.type !== u.type);
  return { conditions: [...rest, next].sort((a, b) => a.type.localeCompare(b.type)), changed, previous };
}

export function conditionOf(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** whether `manager` owns status.<field> of obj (its managedFields), e.g. who has the say on the phase now */
export function ownsStatusField(
  obj: { metadata: { managedFields?: { manager?: string; fieldsV1?: unknown }[] } },
  manager: string,
  field: string,
): boolean {
  return (obj.metadata.managedFields ?? []).some((f) => {
    const status = (f.fieldsV1 as Record<string, Record<string, unknown> | undefined> | undefined)?.['f:status'];
    return f.manager === manager && status !== undefined && `f:${field}` in status;
  });
}
