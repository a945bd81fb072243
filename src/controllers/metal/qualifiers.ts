// Which Servers a ServerClass holds, as Sidero decides it: accepted, not cordoned, its label
// selector matches (AND), and its qualifiers match: any one hardware filter (each a partial match:
// unset or zero fields are ignored, lists compared position by position) and any one key=value of
// any labelSelectors map. Pure: the controller feeds it objects.
import type { Server } from '../../api/server.js';
import { SERVER_MACHINE_ANNOTATION } from '../../api/server.js';
import type { ServerClassSpec, ServerClassStatus } from '../../api/serverclass.js';
import { StatusError } from '../../machinery/errors.js';
import {
  labelSelectorFromLabelSelectorObject,
  type LabelSelector,
  type LabelSelectorObject,
} from '../../machinery/labels.js';

/** a filter value that says nothing: Go's zero values, which Sidero's partial match skips */
function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v).every(isZero);
  return false;
}

/** whether every non-zero field of `filter` equals the same field of `actual` */
export function partialMatch(filter: unknown, actual: unknown): boolean {
  if (isZero(filter)) return true;
  if (Array.isArray(filter)) {
    const have = Array.isArray(actual) ? actual : [];
    // a filter naming more entries than the server has cannot match
    if (filter.length > have.length) return false;
    return filter.every((f, i) => partialMatch(f, have[i]));
  }
  if (typeof filter === 'object' && filter !== null) {
    const have = typeof actual === 'object' && actual !== null && !Array.isArray(actual) ? actual : {};
    return Object.entries(filter).every(([k, f]) => partialMatch(f, (have as Record<string, unknown>)[k]));
  }
  return filter === actual;
}

/** OR over the maps and their pairs; no maps: every server */
export function labelSelectorsMatch(
  selectors: readonly Record<string, string>[] | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selectors || selectors.length === 0) return true;
  return selectors.some((m) => Object.entries(m).some(([k, v]) => labels !== undefined && labels[k] === v));
}

export function isAllocated(server: Server): boolean {
  return server.metadata.annotations?.[SERVER_MACHINE_ANNOTATION] !== undefined;
}

/** whether the class's selector and qualifiers take the server (acceptance and cordon aside) */
export function qualifies(spec: ServerClassSpec | undefined, server: Server): boolean {
  if (!selectorOf(spec)?.matches(server.metadata.labels)) return false;
  const q = spec?.qualifiers;
  const hardware = q?.hardware ?? [];
  if (hardware.length > 0 && !hardware.some((h) => partialMatch(h, server.spec?.hardware))) return false;
  return labelSelectorsMatch(q?.labelSelectors, server.metadata.labels);
}

/** the class's label selector; undefined (matching nothing) when it cannot be one, e.g. a bad label key */
function selectorOf(spec: ServerClassSpec | undefined): LabelSelector | undefined {
  try {
    // an absent selector is Sidero's `{}` (the field is always serialized): every server
    return labelSelectorFromLabelSelectorObject((spec?.selector ?? {}) as LabelSelectorObject);
  } catch (e) {
    if (e instanceof StatusError) return undefined;
    throw e;
  }
}

/** a class's members, split by allocation, each list sorted by name */
export function classStatus(
  spec: ServerClassSpec | undefined,
  servers: readonly Server[],
): Required<ServerClassStatus> {
  const members = servers
    .filter((s) => s.spec?.accepted === true && s.spec.cordoned !== true)
    .filter((s) => qualifies(spec, s));
  const names = (list: Server[]) => list.map((s) => s.metadata.name!).sort();
  return {
    // a server on its way out is offered to no one, but stays in use while it is
    serversAvailable: names(members.filter((s) => !isAllocated(s) && !s.metadata.deletionTimestamp)),
    serversInUse: names(members.filter(isAllocated)),
  };
}
