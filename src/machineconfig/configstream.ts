// A machine config as a YAML stream of documents, as Talos reads it: the legacy v1alpha1 document
// (no apiVersion/kind) and documents identified by apiVersion + kind (+ name). One place decides
// how such a stream is written, so generated and patched configs look the same.
import { Document, isMap, isScalar, parseAllDocuments, type ToStringOptions } from 'yaml';
import { MAX_YAML_DEPTH, yamlTooDeep } from '../machinery/yamldepth.js';

/** 2-space indentation; never fold long scalars (base64 certificates are one long line). */
export const CONFIG_YAML_OPTIONS: ToStringOptions = { indent: 2, lineWidth: 0, minContentWidth: 0 };

/** A parsed document: mappings are Maps, so keys keep their order even when they look like numbers. */
export type ConfigDocument = Map<string, unknown>;

/** Writes documents separated by `---` lines, the first without a leading marker. */
export function stringifyConfigStream(documents: readonly unknown[]): string {
  return documents.map((d) => new Document(d).toString(CONFIG_YAML_OPTIONS)).join('---\n');
}

/** A stream that is not YAML or holds something other than mappings; `index` counts documents from 0. */
export class ConfigStreamError extends Error {
  override readonly name = 'ConfigStreamError';

  constructor(
    readonly index: number,
    readonly reason: string,
  ) {
    super(`document ${index}: ${reason}`);
  }
}

/**
 * Reads a YAML stream into Map-based documents, skipping empty ones. Errors give positions only:
 * YAML's own messages quote the source line, which may hold a key or a token.
 */
export function parseConfigStream(text: string): ConfigDocument[] {
  const documents: ConfigDocument[] = [];
  // patches come from clients: too deep a document would abort the process in the yaml library
  if (yamlTooDeep(text)) throw new ConfigStreamError(0, `nests deeper than ${MAX_YAML_DEPTH} levels`);
  parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true }).forEach((doc, index) => {
    const error = doc.errors[0];
    if (error) {
      const at = error.linePos?.[0];
      throw new ConfigStreamError(
        index,
        `not valid YAML (${error.code} at line ${at?.line ?? '?'}, column ${at?.col ?? '?'})`,
      );
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    if (!isMap(doc.contents)) throw new ConfigStreamError(index, 'must be a mapping');
    let value: unknown;
    try {
      value = doc.toJS({ mapAsMap: true, maxAliasCount: 100 });
    } catch {
      throw new ConfigStreamError(index, 'uses aliases that are undefined or expand too much');
    }
    documents.push(value as ConfigDocument);
  });
  return documents;
}

export interface DocumentIdentity {
  apiVersion?: string;
  kind?: string;
  name?: string;
}

/** The identity Talos matches documents by; the v1alpha1 document has neither apiVersion nor kind. */
export function documentIdentity(doc: ConfigDocument): DocumentIdentity {
  const text = (key: string) => {
    const v = doc.get(key);
    return typeof v === 'string' ? v : undefined;
  };
  return { apiVersion: text('apiVersion'), kind: text('kind'), name: text('name') };
}

export function isV1Alpha1Document(doc: ConfigDocument): boolean {
  return !doc.has('kind') && !doc.has('apiVersion');
}

export function sameIdentity(a: DocumentIdentity, b: DocumentIdentity): boolean {
  return a.apiVersion === b.apiVersion && a.kind === b.kind && a.name === b.name;
}

/** `v1alpha1`, `HostnameConfig` or `VolumeConfig/EPHEMERAL`: how errors name a document. */
export function describeDocument(doc: ConfigDocument): string {
  if (isV1Alpha1Document(doc)) return 'v1alpha1';
  const { kind, name } = documentIdentity(doc);
  return name === undefined ? (kind ?? '<no kind>') : `${kind ?? '<no kind>'}/${name}`;
}
