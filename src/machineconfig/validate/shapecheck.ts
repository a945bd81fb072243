// The walk that compares a decoded document with its shape (schema.ts) for the target release.
// Talos decodes machine configs strictly, so a key the target does not know, a value of the wrong
// type or outside an enum, and a missing required key are errors at their path; a key or value the
// target's schema dropped but Talos still decodes (for configs written for older releases) is a
// warning.
import { contractAtLeast, formatContract, type TalosContract } from '../contract.js';
import { joinIndex, joinKey, show, type DocumentScope } from './problem.js';
import { NEWEST_KNOWN_SCHEMA, type Field, type Shape, type Since } from './schema.js';
import { isPlainMap } from './values.js';
import type { Plain } from './yamltree.js';

/** Lists of values per extraArgs flag are decoded from this release on. */
const LIST_ARGS_SINCE: Since = [1, 13];

export interface SchemaEnv {
  contract: TalosContract;
  scope: DocumentScope;
  /** inside a deprecated key: its warning covers what it holds */
  insideDeprecated?: boolean;
}

function isScalar(v: Plain): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function release(since: Since): string {
  return formatContract({ major: since[0], minor: since[1] });
}

const knows = (env: SchemaEnv, since: Since): boolean => contractAtLeast(env.contract, since[0], since[1]);

/** A target newer than the newest schema the tables hold: what they do not know may be new there. */
export function beyondKnownSchemas(contract: TalosContract): boolean {
  return contractAtLeast(contract, NEWEST_KNOWN_SCHEMA[0], NEWEST_KNOWN_SCHEMA[1] + 1);
}

/** Reports every key the target does not know and every value that is not what the key takes, under `path`. */
export function checkShape(value: Plain, shape: Shape, path: string, env: SchemaEnv): void {
  // Go leaves a field written as null at its zero value: never a type error
  if (value === null) return;
  switch (shape.type) {
    case 'mapping':
      if (!isPlainMap(value)) env.scope.error(path, 'must be a mapping');
      return;
    case 'string':
      checkString(value, shape, path, env);
      return;
    case 'bool':
      if (typeof value !== 'boolean') env.scope.error(path, 'must be a boolean (true or false)');
      return;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) env.scope.error(path, 'must be an integer');
      else if ((shape.min !== undefined && value < shape.min) || (shape.max !== undefined && value > shape.max))
        env.scope.error(path, `must be between ${shape.min ?? '-∞'} and ${shape.max ?? '∞'}`);
      return;
    case 'intOrString':
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value)))
        env.scope.error(path, 'must be an integer or a string');
      return;
    case 'args':
      checkArgs(value, path, env);
      return;
    case 'list':
      if (!Array.isArray(value)) env.scope.error(path, 'must be a list');
      else if (shape.minItems !== undefined && value.length < shape.minItems)
        env.scope.error(path, `must have at least ${shape.minItems} item${shape.minItems === 1 ? '' : 's'}`);
      else value.forEach((item, i) => checkShape(item, shape.item, joinIndex(path, i), env));
      return;
    case 'map':
      if (!isPlainMap(value)) env.scope.error(path, 'must be a mapping');
      else for (const [k, v] of Object.entries(value)) checkShape(v, shape.value, joinKey(path, k), env);
      return;
    case 'object':
      checkObject(value, shape, path, env);
      return;
  }
}

function checkString(value: Plain, shape: Extract<Shape, { type: 'string' }>, path: string, env: SchemaEnv) {
  const values = shape.values;
  // Go's decoder puts any scalar into a string field
  if (!isScalar(value)) {
    env.scope.error(path, 'must be a string');
    return;
  }
  if (!values) return;
  const text = String(value);
  const match = values.find((v) => v.value === text);
  if (match?.deprecatedAliasOf !== undefined) {
    env.scope.warning(
      path,
      `deprecated value ${show(text)}: not in the schema of Talos ${formatContract(env.contract)}; it is accepted as ${match.deprecatedAliasOf}: write ${show(match.deprecatedAliasOf)}`,
    );
  } else if (match?.since && !knows(env, match.since)) {
    env.scope.error(
      path,
      `${show(text)} needs Talos ${release(match.since)} (target is ${formatContract(env.contract)})`,
    );
  } else if (!match) {
    const allowed = values
      .filter((v) => (!v.since || knows(env, v.since)) && v.deprecatedAliasOf === undefined)
      .map((v) => v.value);
    const advice = shape.otherwise ? `; ${shape.otherwise(text)}` : '';
    env.scope.error(path, `must be one of: ${allowed.join(', ')}${advice}`);
  }
}

/** A key added after the target: the target's strict decoder refuses it. */
function tooNew(field: Field, env: SchemaEnv): boolean {
  return field.since !== undefined && !knows(env, field.since);
}

/**
 * A key the target's schema dropped: Talos keeps decoding it (a config written for an older
 * release loads after an upgrade), so it is a warning, and its value is still checked.
 */
function deprecated(field: Field, env: SchemaEnv): boolean {
  return field.until !== undefined && knows(env, [field.until[0], field.until[1] + 1]);
}

function deprecationMessage(key: string, field: Field, env: SchemaEnv): string {
  const target = formatContract(env.contract);
  const last = release(field.until ?? NEWEST_KNOWN_SCHEMA);
  const instead = field.replacedBy ? `: configure it with ${field.replacedBy}` : '';
  return `deprecated key ${show(key)}: not in the schema of Talos ${target} (last in ${last}); Talos still decodes it for configs written for older releases${instead}`;
}

function checkObject(value: Plain, shape: Extract<Shape, { type: 'object' }>, path: string, env: SchemaEnv): void {
  if (!isPlainMap(value)) {
    env.scope.error(path, 'must be a mapping');
    return;
  }
  const target = formatContract(env.contract);
  for (const [key, v] of Object.entries(value)) {
    const keyPath = joinKey(path, key);
    const field = Object.prototype.hasOwnProperty.call(shape.keys, key) ? shape.keys[key] : undefined;
    if (!field) {
      if (beyondKnownSchemas(env.contract)) {
        env.scope.warning(
          keyPath,
          `unknown key ${show(key)}: not in the schema of Talos ${release(NEWEST_KNOWN_SCHEMA)}, the newest this validator knows; Talos ${target} rejects it unless it added the key`,
        );
      } else {
        env.scope.error(
          keyPath,
          `unknown key ${show(key)}: Talos ${target} does not know it (machine configs are decoded strictly)`,
        );
      }
      continue;
    }
    if (tooNew(field, env)) {
      const added = release(field.since ?? NEWEST_KNOWN_SCHEMA);
      env.scope.error(keyPath, `unknown key ${show(key)} for Talos ${target}: it was added in Talos ${added}`);
      continue;
    }
    if (!deprecated(field, env)) checkShape(v, field.shape, keyPath, env);
    else {
      if (!env.insideDeprecated) env.scope.warning(keyPath, deprecationMessage(key, field, env));
      checkShape(v, field.shape, keyPath, { ...env, insideDeprecated: true });
    }
  }
  for (const key of shape.required) {
    const field = shape.keys[key];
    if (value[key] === undefined && field && !tooNew(field, env) && !deprecated(field, env))
      env.scope.error(joinKey(path, key), `required: Talos ${target} needs this key here`);
  }
}

function checkArgs(value: Plain, path: string, env: SchemaEnv): void {
  if (!isPlainMap(value)) {
    env.scope.error(path, 'must be a mapping of flag names to values');
    return;
  }
  const listsAllowed = knows(env, LIST_ARGS_SINCE);
  for (const [flag, v] of Object.entries(value)) {
    const flagPath = joinKey(path, flag);
    if (v === null || isScalar(v)) continue;
    if (Array.isArray(v)) {
      if (!listsAllowed) {
        env.scope.error(
          flagPath,
          `a list of values per flag needs Talos ${release(LIST_ARGS_SINCE)}+ (target is ${formatContract(env.contract)}): use one string`,
        );
      } else if (!v.every(isScalar)) env.scope.error(flagPath, 'must be a string or a list of strings');
      continue;
    }
    env.scope.error(flagPath, listsAllowed ? 'must be a string or a list of strings' : 'must be a string');
  }
}
