// The 409 an apply gets when it would change fields other managers own (kube-apiserver's
// NewConflictError): one cause per field, managers described as structured-merge-diff prints them.
import { conflictWithMessage, type StatusError } from '../errors.js';
import { formatPath, type FieldSet } from './fieldset.js';
import type { Manager } from './managers.js';

export interface ManagerConflict {
  id: string;
  manager: Manager;
  fields: FieldSet;
}

/** `"name"` for appliers, `"name" using G/V` for updaters, `with subresource "status"` when through one */
export function describeManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

export function conflictError(conflicts: ManagerConflict[]): StatusError {
  const sorted = [...conflicts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows = sorted.flatMap((c) =>
    c.fields.paths().map((p) => ({ who: describeManager(c.manager), path: formatPath(p) })),
  );
  let message: string;
  if (rows.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${rows[0]!.who}: ${rows[0]!.path}`;
  } else {
    const lines: string[] = [];
    for (const c of sorted) {
      lines.push(`conflicts with ${describeManager(c.manager)}:`);
      for (const p of c.fields.paths()) lines.push(`- ${formatPath(p)}`);
    }
    message = `Apply failed with ${rows.length} conflicts: ${lines.join('\n')}`;
  }
  return conflictWithMessage(message, {
    causes: rows.map((r) => ({ reason: 'FieldManagerConflict', message: `conflict with ${r.who}`, field: r.path })),
  });
}
