// The vocabulary the field tables (schema-v1alpha1*.ts, documents-*.ts) are written in: what a
// value may be, and from which Talos release to which a key is known. The tables hold the facts of
// Talos's machine-config schemas of 1.8 to 1.14 (field names, types, enums, required fields, the
// release that added or dropped a key); shapecheck.ts compares a decoded document with them.

/** [major, minor] of a Talos release. */
export type Since = readonly [number, number];

/** The newest Talos release whose schema the tables hold; a newer target is judged by it, leniently. */
export const NEWEST_KNOWN_SCHEMA: Since = [1, 14];

/** An allowed string value, optionally only from a release on. */
export interface EnumValue {
  value: string;
  since?: Since;
  /** a value the schema does not list but Talos still takes as this one (a warning) */
  deprecatedAliasOf?: string;
}

export type Shape =
  /** a mapping whose content is another program's configuration (kubelet config, audit policy, ...) */
  | { type: 'mapping' }
  /** `otherwise`: advice after the allowed values when the value is none of them */
  | { type: 'string'; values?: readonly EnumValue[]; otherwise?: (value: string) => string }
  | { type: 'bool' }
  | { type: 'int'; min?: number; max?: number }
  | { type: 'intOrString' }
  /** component `extraArgs`: flag -> string; from 1.13 also flag -> list of strings */
  | { type: 'args' }
  | { type: 'list'; item: Shape; minItems?: number }
  /** free keys (labels, sysctls, mirrors), one shape for every value */
  | { type: 'map'; value: Shape }
  /** known keys only: anything else is unknown to Talos, which decodes machine configs strictly */
  | { type: 'object'; keys: Readonly<Record<string, Field>>; required: readonly string[] };

export interface Field {
  shape: Shape;
  /** the first release that knows the key (absent: every release in the tables) */
  since?: Since;
  /** the last release that knows the key (absent: still known in the newest) */
  until?: Since;
  /** what configures the setting after `until`, for the message, e.g. "a KubeletConfig document" */
  replacedBy?: string;
}

type FieldOrShape = Field | Shape;

function toField(f: FieldOrShape): Field {
  return 'shape' in f ? f : { shape: f };
}

export const mapping: Shape = { type: 'mapping' };
export const str: Shape = { type: 'string' };
export const bool: Shape = { type: 'bool' };
export const int: Shape = { type: 'int' };
export const intOrStr: Shape = { type: 'intOrString' };
export const args: Shape = { type: 'args' };
export const intRange = (min: number, max: number): Shape => ({ type: 'int', min, max });
export const list = (item: Shape): Shape => ({ type: 'list', item });
export const listMin = (minItems: number, item: Shape): Shape => ({ type: 'list', item, minItems });
export const map = (value: Shape): Shape => ({ type: 'map', value });

/** `oneOf`'s shape with advice for a value outside it (what to do instead) */
export const withAdvice = (shape: Shape, otherwise: (value: string) => string): Shape =>
  shape.type === 'string' ? { ...shape, otherwise } : shape;

/** One of these strings (an enum value may carry the release that added it, see valueSince). */
export const oneOf = (...values: (string | EnumValue)[]): Shape => ({
  type: 'string',
  values: values.map((v) => (typeof v === 'string' ? { value: v } : v)),
});
export const valueSince = (major: number, minor: number, value: string): EnumValue => ({
  value,
  since: [major, minor],
});
export const deprecatedAlias = (value: string, aliasOf: string): EnumValue => ({ value, deprecatedAliasOf: aliasOf });

/** A section whose every key is listed; `required` keys must be present. */
export const obj = (keys: Record<string, FieldOrShape>, required: readonly string[] = []): Shape => ({
  type: 'object',
  keys: Object.fromEntries(Object.entries(keys).map(([k, f]) => [k, toField(f)])),
  required,
});

/** A key known from Talos major.minor on. */
export const since = (major: number, minor: number, f: FieldOrShape): Field => ({
  ...toField(f),
  since: [major, minor],
});

/** A key known up to Talos major.minor, and what configures the setting after that, if anything. */
export const until = (major: number, minor: number, f: FieldOrShape, replacedBy?: string): Field => ({
  ...toField(f),
  until: [major, minor],
  ...(replacedBy === undefined ? {} : { replacedBy }),
});
