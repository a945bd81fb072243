// Fixtures for the machine config generator and patch tests. Golden files: a fixed secrets bundle, fixed inputs, and the
// committed YAML each contract must produce. Tests compare and never write, unless run with
// UPDATE_GOLDEN=1, which rewrites the golden files (and creates the bundle if it is missing):
//   UPDATE_GOLDEN=1 npx vitest run test/unit/machineconfig/generate
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generateSecretsBundle, type SecretsBundle } from '../../../../src/machineconfig/bundle.js';
import type { ConfigInputs } from '../../../../src/machineconfig/generate/inputs.js';
import { applyPatches, type Patch } from '../../../../src/machineconfig/patch/apply.js';
import { PatchError } from '../../../../src/machineconfig/patch/patcherror.js';
import { parseSecretsYaml, secretsToYaml } from '../../../../src/machineconfig/secretsyaml.js';
import { NOW } from '../helpers.js';

export const FIXTURES_DIR = fileURLToPath(new URL('../../../fixtures/machineconfig/', import.meta.url));
export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

const BUNDLE_FILE = join(FIXTURES_DIR, 'secrets.yaml');

/** The fixture bundle (generated once for contract 1.13, whose formats every golden contract accepts). */
export async function fixtureBundle(): Promise<SecretsBundle> {
  if (!existsSync(BUNDLE_FILE)) {
    if (!UPDATE_GOLDEN)
      throw new Error(`${BUNDLE_FILE} is missing; run the tests once with UPDATE_GOLDEN=1 to create it`);
    mkdirSync(FIXTURES_DIR, { recursive: true });
    writeFileSync(
      BUNDLE_FILE,
      secretsToYaml(await generateSecretsBundle({ contract: { major: 1, minor: 13 }, now: NOW })),
    );
  }
  const parsed = parseSecretsYaml(readFileSync(BUNDLE_FILE, 'utf8'));
  if (!parsed.ok) throw parsed.error;
  return parsed.bundle;
}

/** The inputs every golden file is generated from, apart from the target version. */
export const GOLDEN_INPUTS: ConfigInputs = { clusterName: 'golden', endpoint: 'https://10.5.0.2:6443' };

/** Compares `actual` with the golden file `name` (rewrites it instead under UPDATE_GOLDEN=1). */
export function expectGolden(name: string, actual: string): void {
  const file = join(FIXTURES_DIR, name);
  if (UPDATE_GOLDEN) {
    mkdirSync(FIXTURES_DIR, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) throw new Error(`golden file ${file} is missing; run with UPDATE_GOLDEN=1 to create it`);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

/** test data read from YAML: `any` keeps the assertions short */
export type Plain = Record<string, any>;

/** every document of a YAML stream as plain values */
export function yamlDocuments(yaml: string): Plain[] {
  return parseAllDocuments(yaml).map((d) => d.toJS() as Plain);
}

/** the PatchError applyPatches throws; fails the test when it throws nothing or something else */
export function patchError(yaml: string, patches: Patch[]): PatchError {
  try {
    applyPatches(yaml, patches);
  } catch (e) {
    if (e instanceof PatchError) return e;
    throw e;
  }
  throw new Error('expected the patches to be refused');
}
