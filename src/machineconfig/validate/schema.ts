// Strict key checking per contract version (Talos decodes strictly, so a key the
// target does not know is an error). The key tree itself is data, in schema-v1alpha1.ts; this file
// holds the shape vocabulary and the walk that compares a decoded document with it.
import { contractAtLeast, formatContract, type TalosContract } from '../contract.js';
import { joinIndex, joinKey, show, type DocumentScope } from './problem.js';
import { isPlainMap } from './values.js';
import type { Plain } from './yamltree.js';

/** [major, minor] of the first Talos release that decodes a key. */
export type Since = readonly [number, number];

export type Shape =
  | { type: 'any' }
  | { type: 'string' }
  | { type: 'bool' }
  | { type: 'int' }
  /** kubelet/apiserver/... `extraArgs`: flag -> string; from 1.13 also flag -> list of strings */
  | { type: 'args' }
  | { type: 'list'; item: Shape }
  /** free keys (labels, sysctls, mirrors), one shape for every value */
  | { type: 'map'; value: Shape }
  /**
   * Known keys. `open` objects are sections modelled only in part: the keys listed
   * are type- and version-checked, any other key is accepted rather than guessed at.
   */
  | { type: 'object'; keys: Readonly<Record<string, Field>>; open: boolean };

export interface Field {
  shape: Shape;
  since?: Since;
}

type FieldOrShape = Field | Shape;

function toField(f: FieldOrShape): Field {
  return 'shape' in f ? f : { shape: f };
}

function fields(keys: Record<string, FieldOrShape>): Record<string, Field> {
  return Object.fromEntries(Object.entries(keys).map(([k, f]) => [k, toField(f)]));
}

/** accepted as is: a nested value whose content is not modelled */
export const any: Shape = { type: 'any' };
export const str: Shape = { type: 'string' };
export const bool: Shape = { type: 'bool' };
export const int: Shape = { type: 'int' };
export const args: Shape = { type: 'args' };
export const list = (item: Shape): Shape => ({ type: 'list', item });
export const map = (value: Shape): Shape => ({ type: 'map', value });
/** a section whose every key is listed: anything else is unknown */
export const obj = (keys: Record<string, FieldOrShape>): Shape => ({ type: 'object', keys: fields(keys), open: false });
/** a section modelled only in part: listed keys are checked, others accepted */
export const openObj = (keys: Record<string, FieldOrShape>): Shape => ({
  type: 'object',
  keys: fields(keys),
  open: true,
});
export const since = (major: number, minor: number, shape: Shape): Field => ({ shape, since: [major, minor] });

const LIST_ARGS_SINCE: Since = [1, 13];

export interface SchemaEnv {
  contract: TalosContract;
  scope: DocumentScope;
}

function isScalar(v: Plain): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function describe(since: Since): string {
  return formatContract({ major: since[0], minor: since[1] });
}

/** Reports every key the target does not know and every value of the wrong type under `path`. */
export function checkShape(value: Plain, shape: Shape, path: string, env: SchemaEnv): void {
  // Go leaves a field written as null at its zero value: never a type error
  if (value === null) return;
  switch (shape.type) {
    case 'any':
      return;
    case 'string':
      // Go's decoder puts any scalar into a string field
      if (!isScalar(value)) env.scope.error(path, 'must be a string');
      return;
    case 'bool':
      if (typeof value !== 'boolean') env.scope.error(path, 'must be a boolean (true or false)');
      return;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) env.scope.error(path, 'must be an integer');
      return;
    case 'args':
      checkArgs(value, path, env);
      return;
    case 'list':
      if (!Array.isArray(value)) env.scope.error(path, 'must be a list');
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
      if (!shape.open)
        env.scope.error(
          keyPath,
          `unknown key ${show(key)}: Talos ${target} does not know it (machine configs are decoded strictly)`,
        );
      continue;
    }
    if (field.since && !contractAtLeast(env.contract, field.since[0], field.since[1])) {
      env.scope.error(
        keyPath,
        `unknown key ${show(key)} for Talos ${target}: it was added in Talos ${describe(field.since)}`,
      );
      continue;
    }
    checkShape(v, field.shape, keyPath, env);
  }
}

function checkArgs(value: Plain, path: string, env: SchemaEnv): void {
  if (!isPlainMap(value)) {
    env.scope.error(path, 'must be a mapping of flag names to values');
    return;
  }
  const listsAllowed = contractAtLeast(env.contract, LIST_ARGS_SINCE[0], LIST_ARGS_SINCE[1]);
  for (const [flag, v] of Object.entries(value)) {
    const flagPath = joinKey(path, flag);
    if (v === null || isScalar(v)) continue;
    if (Array.isArray(v)) {
      if (!listsAllowed) {
        env.scope.error(
          flagPath,
          `a list of values per flag needs Talos ${describe(LIST_ARGS_SINCE)}+ (target is ${formatContract(env.contract)}): use one string`,
        );
      } else if (!v.every(isScalar)) env.scope.error(flagPath, 'must be a string or a list of strings');
      continue;
    }
    env.scope.error(flagPath, listsAllowed ? 'must be a string or a list of strings' : 'must be a string');
  }
}
