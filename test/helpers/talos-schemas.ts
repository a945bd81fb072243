// Upstream Talos's own machine-config JSON schemas (JSON Schema 2020-12, one per Talos minor),
// read from beside the repository: they are test data, never copied in. A document is checked
// against the definition of its own kind (the v1alpha1 document against `v1alpha1.Config`), as
// Talos's schema is meant to be used per document. This is the only file that names the folder.
//
// Where the folder is missing: under CI=true that fails the run (CI always has it); elsewhere the
// checks are skipped with a test whose name says so, and a warning on the console.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { describe, it } from 'vitest';

/** The upstream schema files: `v<minor>.json`, in the folder a sibling of the repository holds. */
export const TALOS_SCHEMA_DIR = join(import.meta.dirname, '../..', '../shared/reference/talos-schemas/');

/** The Talos minors whose schema the folder holds, oldest first. */
export const TALOS_SCHEMA_VERSIONS = ['1.8', '1.9', '1.10', '1.11', '1.12', '1.13', '1.14'] as const;
export type TalosSchemaVersion = (typeof TALOS_SCHEMA_VERSIONS)[number];

/** A JSON Schema node, as far as these tests read one. */
export interface SchemaNode {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  pattern?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  required?: string[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
}

interface SchemaFile {
  $id: string;
  $defs: Record<string, SchemaNode>;
}

/** One version's schema: its definitions by kind, and a validator per kind. */
export class TalosSchema {
  // strict off: the files carry documentation keywords of their own (markdownDescription, ...);
  // formats are annotations in 2020-12, and Talos's own decoder is no stricter about them
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  private readonly validators = new Map<string, ValidateFunction>();
  /** kind -> name of its definition in `$defs`; `v1alpha1` for the legacy document */
  readonly definitionOfKind = new Map<string, string>();

  constructor(
    readonly version: TalosSchemaVersion,
    private readonly file: SchemaFile,
  ) {
    this.ajv.addSchema(file as object);
    for (const [name, def] of Object.entries(file.$defs)) {
      const kinds = def.properties?.kind?.enum;
      for (const kind of kinds ?? []) if (typeof kind === 'string') this.definitionOfKind.set(kind, name);
    }
    this.definitionOfKind.set('v1alpha1', 'v1alpha1.Config');
  }

  /** Every typed document kind of this version (not `v1alpha1`). */
  kinds(): string[] {
    return [...this.definitionOfKind.keys()].filter((k) => k !== 'v1alpha1');
  }

  definition(name: string): SchemaNode {
    const def = this.file.$defs[name];
    if (!def) throw new Error(`Talos ${this.version} schema has no definition ${name}`);
    return def;
  }

  /** Follows a `$ref` into `$defs` (one step); other nodes are returned as they are. */
  resolve(node: SchemaNode): SchemaNode {
    return node.$ref ? this.definition(node.$ref.replace('#/$defs/', '')) : node;
  }

  /**
   * The schema's complaints about one document, `path: message` each; empty when it is valid.
   * The document's kind picks the definition; a kind the version does not define is one complaint.
   */
  documentErrors(document: unknown): string[] {
    const doc = document as Record<string, unknown>;
    const kind = typeof doc?.kind === 'string' ? doc.kind : doc?.version === 'v1alpha1' ? 'v1alpha1' : undefined;
    const name = kind === undefined ? undefined : this.definitionOfKind.get(kind);
    if (kind === undefined || !name)
      return [`(document): kind ${JSON.stringify(kind)} is not a document kind of Talos ${this.version}`];
    let validate = this.validators.get(name);
    if (!validate) {
      validate = this.ajv.getSchema(`${this.file.$id}#/$defs/${name}`);
      if (!validate) throw new Error(`cannot compile ${name} of Talos ${this.version}`);
      this.validators.set(name, validate);
    }
    return validate(setPersistAside(kind, doc)) ? [] : (validate.errors ?? []).map(describeError);
  }
}

/**
 * `talosctl gen config` writes `persist: true` into the v1alpha1 document, and Talos decodes it, but
 * the schema does not list the key: the check sets exactly that key and value aside. Any other
 * `persist` value stays in, so the schema still refuses it.
 */
function setPersistAside(kind: string, doc: Record<string, unknown>): Record<string, unknown> {
  if (kind !== 'v1alpha1' || doc.persist !== true) return doc;
  const { persist: _setAside, ...rest } = doc;
  return rest;
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(document)' : e.instancePath;
  const params = e.params as Record<string, unknown>;
  const extra = params.additionalProperty ?? params.missingProperty ?? params.allowedValues;
  return `${where}: ${e.message ?? e.keyword}${extra === undefined ? '' : ` (${JSON.stringify(extra)})`}`;
}

export type SchemaAvailability = { available: true; schemas: TalosSchema[] } | { available: false; reason: string };

let loaded: SchemaAvailability | undefined;

/** The schemas of every version in TALOS_SCHEMA_VERSIONS, or why they are not there. */
export function talosSchemas(): SchemaAvailability {
  if (loaded) return loaded;
  const missing = TALOS_SCHEMA_VERSIONS.filter((v) => !existsSync(join(TALOS_SCHEMA_DIR, `v${v}.json`)));
  if (missing.length > 0) {
    loaded = {
      available: false,
      reason: `upstream Talos schemas missing in ${TALOS_SCHEMA_DIR} (${missing.map((v) => `v${v}.json`).join(', ')})`,
    };
  } else {
    loaded = {
      available: true,
      schemas: TALOS_SCHEMA_VERSIONS.map(
        (v) => new TalosSchema(v, JSON.parse(readFileSync(join(TALOS_SCHEMA_DIR, `v${v}.json`), 'utf8')) as SchemaFile),
      ),
    };
  }
  return loaded;
}

/**
 * `describe` for checks against the upstream schemas. Without the schema folder it fails the run
 * under CI=true; elsewhere it registers one skipped test whose name says the checks did not run.
 */
export function describeWithTalosSchemas(name: string, body: (schemas: TalosSchema[]) => void): void {
  const found = talosSchemas();
  if (found.available) {
    describe(name, () => body(found.schemas));
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs the upstream Talos schemas (CI always has them)', () => {
        throw new Error(found.reason);
      });
    });
    return;
  }
  console.warn(`${name}: these checks did NOT run: ${found.reason}`);
  describe(name, () => {
    it.skip(`did NOT run: ${found.reason}`, () => undefined);
  });
}
