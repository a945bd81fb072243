// Pieces of meta.k8s.io/v1 Table responses: column definitions and cells computed from printer
// columns the way apiextensions-apiserver's table convertor does, with kube's age rendering.
import { compileJsonPath } from './jsonpath.js';
import type { ColumnType, KubeObject, PrinterColumn } from './kind.js';

export interface TableColumnDefinition {
  name: string;
  type: ColumnType;
  format: string;
  description: string;
  priority: number;
}

/** ObjectMeta.name's description, which kube uses for the Name column. */
export const NAME_COLUMN_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration: the AGE text kubectl shows. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  const years = Math.trunc(hours / 24 / 365);
  if (hours < 24 * 365 * 8) {
    const d = Math.trunc(hours / 24) % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch for Go's time.Parse(time.RFC3339, s); undefined if Go would fail. */
function parseRfc3339(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const daysInMonth = [
    31,
    year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28,
    31,
    30,
    31,
    30,
    31,
    31,
    30,
    31,
    30,
    31,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth[month - 1] || hour > 23 || minute > 59 || second > 59)
    return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC, which maps years 0-99 to 19xx
  d.setUTCHours(hour, minute, second, m[7] ? Math.trunc(Number(`0${m[7]}`) * 1000) : 0);
  let t = d.getTime();
  if (m[8] !== 'Z') {
    const offH = Number(m[10]);
    const offM = Number(m[11]);
    if (offH > 23 || offM > 59) return undefined;
    t -= (m[9] === '-' ? -1 : 1) * (offH * 60 + offM) * 60_000;
  }
  return t;
}

const ZERO_TIME = parseRfc3339('0001-01-01T00:00:00Z')!;

/** A date cell: kube shows `<unknown>` for the zero time and `<invalid>` for text it cannot parse. */
function ageCell(text: string, now: number): string {
  if (text === '' || text === 'null') return '<unknown>';
  const t = parseRfc3339(text);
  if (t === undefined) return '<invalid>';
  if (t === ZERO_TIME) return '<unknown>';
  return humanDuration(now - t);
}

/** Go's json.Marshal: map keys sorted, <, > and & escaped. */
function goJson(v: unknown): string {
  const sortKeys = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sortKeys);
    if (typeof x === 'object' && x !== null) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort()) {
        Object.defineProperty(out, k, {
          value: sortKeys((x as Record<string, unknown>)[k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return x;
  };
  return JSON.stringify(sortKeys(v)).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** One value as jsonpath's PrintResults writes it: strings raw, objects and arrays as JSON. */
function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) return goJson(v);
  return String(v);
}

const compiled = new Map<string, (obj: unknown) => unknown[]>();

function evaluator(jsonPath: string): (obj: unknown) => unknown[] {
  let f = compiled.get(jsonPath);
  if (!f) {
    f = compileJsonPath(jsonPath);
    compiled.set(jsonPath, f);
  }
  return f;
}

/**
 * The cell for one printer column: null when the path matches nothing (or only null); the value
 * itself when there is exactly one of the column's type (date columns as an age relative to
 * `now`, integer columns truncated); otherwise the text of all values joined by a space.
 */
export function columnCell(col: PrinterColumn, obj: unknown, now: number): unknown {
  if (col.value) return col.value(obj as KubeObject) ?? null;
  const values = evaluator(col.jsonPath)(obj);
  if (values.length === 0) return null;
  if (values.length === 1) {
    const v = values[0];
    if (v === null || v === undefined) return null;
    switch (col.type) {
      case 'string':
        if (typeof v === 'string') return v;
        break;
      case 'integer':
        if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
        break;
      case 'number':
        if (typeof v === 'number') return v;
        break;
      case 'boolean':
        if (typeof v === 'boolean') return v;
        break;
      case 'date':
        if (typeof v === 'string') return ageCell(v, now);
        break;
    }
  }
  return values.map(textOf).join(' ');
}

/** Table.columnDefinitions for a kind: kube's Name column first, then the kind's columns. */
export function buildTableColumnDefinitions(cols: PrinterColumn[]): TableColumnDefinition[] {
  return [
    { name: 'Name', type: 'string', format: 'name', description: NAME_COLUMN_DESCRIPTION, priority: 0 },
    ...cols.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description,
      priority: c.priority,
    })),
  ];
}
