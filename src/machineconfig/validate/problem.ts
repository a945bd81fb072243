// What the validator reports, and how paths are spelled. One path grammar serves the line table
// built while decoding and the rules that report problems, so a rule's path always finds its line.

export type Severity = 'error' | 'warning';

export interface ConfigProblem {
  /** `machine.install.disk`, `machine.network.interfaces[0].vip.ip`, `documents[2] (HostnameConfig).auto` */
  path: string;
  /** plain words; never contains a key, token or secret value */
  message: string;
  /** 1-based line in the YAML text, when the YAML has one for this path (or its nearest parent) */
  line?: number;
  severity: Severity;
}

// Longer keys are cut so that a garbage key cannot make every message it appears in huge.
const MAX_KEY_IN_PATH = 100;
const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `base.key`, or `base["key.with/dots"]` for keys that are not plain identifiers (label keys, mirror hosts). */
export function joinKey(base: string, key: string): string {
  const shown = key.length > MAX_KEY_IN_PATH ? `${key.slice(0, MAX_KEY_IN_PATH)}…` : key;
  if (PLAIN_KEY.test(shown)) return base === '' ? shown : `${base}.${shown}`;
  return `${base}[${JSON.stringify(shown)}]`;
}

export function joinIndex(base: string, index: number): string {
  return `${base}[${index}]`;
}

/** Joins a dotted relative path (plain keys only) onto a base, e.g. ('machine', 'install.disk'). */
export function joinPath(base: string, relative: string): string {
  if (relative === '') return base;
  if (base === '') return relative;
  return relative.startsWith('[') ? `${base}${relative}` : `${base}.${relative}`;
}

// One path segment: a plain key (with its leading dot), an index, or a quoted key.
const SEGMENT = /\.?[A-Za-z_$][A-Za-z0-9_$-]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\]/;

/** The parents of a path, nearest first: `a.b[0].c` -> `a.b[0]`, `a.b`, `a`. */
export function parentPaths(path: string): string[] {
  const ends: number[] = [];
  const segment = new RegExp(SEGMENT.source, 'y');
  while (segment.lastIndex < path.length) {
    if (!segment.exec(path)) return [];
    ends.push(segment.lastIndex);
  }
  return ends
    .slice(0, -1)
    .reverse()
    .map((end) => path.slice(0, end));
}

/** Where problems about one decoded document go: prefixes its label and looks up the line. */
export class DocumentScope {
  constructor(
    /** '' for the v1alpha1 document, `documents[2] (HostnameConfig)` for the others */
    readonly label: string,
    private readonly lines: ReadonlyMap<string, number>,
    private readonly startLine: number | undefined,
    private readonly sink: ConfigProblem[],
  ) {}

  error(path: string, message: string): void {
    this.report('error', path, message);
  }

  /** A problem whose line is known better than the path's (a duplicate key shares its path with the first one). */
  reportAtLine(severity: Severity, path: string, message: string, line: number | undefined): void {
    this.report(severity, path, message, line);
  }

  warning(path: string, message: string): void {
    this.report('warning', path, message);
  }

  /** The line of `path` in this document, or of its nearest parent that has one. */
  lineOf(path: string): number | undefined {
    for (const candidate of [path, ...parentPaths(path)]) {
      const line = this.lines.get(candidate);
      if (line !== undefined) return line;
    }
    return this.startLine;
  }

  private report(severity: Severity, path: string, message: string, knownLine?: number): void {
    const full = path === '' ? this.label : this.label === '' ? path : joinPath(this.label, path);
    const line = knownLine ?? this.lineOf(path);
    this.sink.push({
      path: full === '' ? '(config)' : full,
      message,
      severity,
      ...(line === undefined ? {} : { line }),
    });
  }
}

const MAX_VALUE_IN_MESSAGE = 100;

/**
 * A value quoted for a message, cut to a readable length so that a garbage value cannot make a
 * message huge. Only for values that are not secret: rules never pass keys, tokens or secrets here.
 */
export function show(value: string): string {
  return JSON.stringify(value.length > MAX_VALUE_IN_MESSAGE ? `${value.slice(0, MAX_VALUE_IN_MESSAGE)}…` : value);
}
