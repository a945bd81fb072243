// The fleet tree as text: one table, clusters with their Machines and nodes as a tree, then what
// is outside every cluster; READY coloured (green Ready, red not, yellow progressing) when asked.
// Pure: the caller decides about colour (a TTY, --no-color, NO_COLOR) and the width.
import type { Fleet, FleetRow, RowState } from './fleet.js';

export interface RenderOptions {
  color: boolean;
  /** a NAMESPACE column (--all-namespaces) */
  namespaces: boolean;
  /** cut every line to this many characters (a terminal's width) */
  width?: number;
}

const COLORS: Record<RowState, string | undefined> = {
  ok: '\x1b[32m',
  bad: '\x1b[31m',
  progressing: '\x1b[33m',
  unknown: undefined,
};
const RESET = '\x1b[0m';

interface Line {
  cells: string[];
  state: RowState;
}

const HEADER = ['NAME', 'READY', 'HEALTH', 'TALOS', 'KUBERNETES', 'UPGRADE', 'LAST EVENT'];
const READY_COLUMN = 1;

/** the rows of `row` and its children, depth first, with tree prefixes on the names */
function flatten(row: FleetRow, lead: string, branch: string, namespaces: boolean, out: Line[]): void {
  const cells = [
    `${lead}${branch}${row.label}`,
    row.ready,
    row.health,
    row.talos,
    row.kubernetes,
    row.upgrade,
    row.lastEvent,
  ];
  out.push({ cells: namespaces ? [row.namespace ?? '', ...cells] : cells, state: row.state });
  const childLead = lead + (branch === '├─ ' ? '│  ' : branch === '└─ ' ? '   ' : '');
  row.children.forEach((c, i) => flatten(c, childLead, i === row.children.length - 1 ? '└─ ' : '├─ ', namespaces, out));
}

export function renderFleet(fleet: Fleet, o: RenderOptions): string {
  const header: Line = { cells: o.namespaces ? ['NAMESPACE', ...HEADER] : HEADER, state: 'unknown' };
  const sections: Line[][] = [fleet.clusters, fleet.standalone]
    .filter((rows) => rows.length > 0)
    .map((rows) => {
      const lines: Line[] = [];
      for (const r of rows) flatten(r, '', '', o.namespaces, lines);
      return lines;
    });
  if (sections.length === 0) return 'No KubernetesClusters, Machines, AdoptedServers or Servers found.\n';
  const all = [header, ...sections.flat()];
  const widths = header.cells.map((_, i) => Math.max(...all.map((l) => l.cells[i]!.length)));
  const readyAt = o.namespaces ? READY_COLUMN + 1 : READY_COLUMN;
  const text = (l: Line) => {
    let line = '';
    let color: { from: number; to: number } | undefined;
    l.cells.forEach((c, i) => {
      if (i === readyAt) color = { from: line.length, to: line.length + c.length };
      line += i === l.cells.length - 1 ? c : c.padEnd(widths[i]! + 2);
    });
    line = line.trimEnd();
    if (o.width !== undefined && line.length > o.width) line = `${line.slice(0, Math.max(0, o.width - 1))}…`;
    const code = COLORS[l.state];
    if (!o.color || !code || !color || color.from >= line.length) return line;
    const to = Math.min(color.to, line.length);
    return `${line.slice(0, color.from)}${code}${line.slice(color.from, to)}${RESET}${line.slice(to)}`;
  };
  // a blank line between the clusters and what is outside them
  return `${text(header)}\n${sections.map((s) => s.map(text).join('\n')).join('\n\n')}\n`;
}
