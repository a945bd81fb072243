// Results: one row per figure, printed as a table (server, raw etcd, ratio, target) and kept in
// the JSON report with the details each measure recorded.

export interface Target {
  /** as the issue states it */
  text: string;
  pass: boolean;
  /** how far from the target, when missed */
  miss?: string;
}

export interface Row {
  /** stable id, e.g. "create.opsPerSec" */
  id: string;
  label: string;
  unit: 'ops/s' | 'ms' | 'B' | 'MiB';
  server: number;
  /** the raw etcd figure this is compared with, if any */
  etcd?: number;
  /** what the raw etcd side did, e.g. "put" */
  etcdOp?: string;
  target?: Target;
}

export interface MeasureResult {
  name: string;
  rows: Row[];
  /** everything measured, for the JSON report */
  details: Record<string, unknown>;
}

export function ratio(row: Row): number | undefined {
  return row.etcd === undefined || row.etcd === 0 ? undefined : row.server / row.etcd;
}

function fmt(v: number | undefined, unit: Row['unit']): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (unit === 'ops/s') return `${Math.round(v)} ops/s`;
  if (unit === 'B') return `${Math.round(v)} B`;
  if (unit === 'MiB') return `${Math.round(v)} MiB`;
  return v >= 100 ? `${v.toFixed(0)} ms` : v >= 10 ? `${v.toFixed(1)} ms` : `${v.toFixed(2)} ms`;
}

/** a Markdown table (it reads as well in a terminal as in docs/benchmarks.md) */
export function formatTable(rows: Row[]): string {
  const head = ['measure', 'server', 'raw etcd', 'server / etcd', 'target'];
  const body = rows.map((r) => {
    const q = ratio(r);
    const target = r.target ? `${r.target.text}: ${r.target.pass ? 'met' : `MISSED${r.target.miss ? ` (${r.target.miss})` : ''}`}` : '';
    return [r.label, fmt(r.server, r.unit), r.etcd === undefined ? '-' : `${fmt(r.etcd, r.unit)} (${r.etcdOp ?? ''})`, q === undefined ? '-' : `${q.toFixed(2)}x`, target];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  const line = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export function atLeast(value: number, min: number, text: string): Target {
  return value >= min ? { text, pass: true } : { text, pass: false, miss: `needs ${(min / value).toFixed(2)}x more` };
}

export function below(value: number, max: number, text: string): Target {
  return value < max ? { text, pass: true } : { text, pass: false, miss: `${(value / max).toFixed(2)}x over` };
}
