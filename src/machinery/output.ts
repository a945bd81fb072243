// What a read answers with, chosen by Accept: the object itself, a Table (kubectl get), or
// PartialObjectMetadata (metadata informers, the garbage collector).
import { badRequest, notAcceptable } from './errors.js';
import { groupVersion, type KindDefinition, type KubeObject } from './kind.js';
import { parseMediaTypes } from './negotiate.js';
import { buildTableColumnDefinitions, columnCell } from './table.js';

export type OutputFormat =
  | { as: 'object'; yaml: boolean }
  | { as: 'Table' }
  | { as: 'PartialObjectMetadata' }
  | { as: 'PartialObjectMetadataList' };

export type ReadShape = 'object' | 'list' | 'watch';

/** first alternative in Accept we can serve for this read; protobuf and CBOR are skipped */
export function negotiateOutput(accept: string | undefined, shape: ReadShape): OutputFormat {
  if (!accept || accept.trim() === '') return { as: 'object', yaml: false };
  for (const mt of parseMediaTypes(accept)) {
    if (mt.q === 0) continue;
    const full = `${mt.type}/${mt.subtype}`;
    const as = mt.params.as;
    if (full === 'application/json' && as) {
      const metaGroup = mt.params.g === 'meta.k8s.io' && (mt.params.v === 'v1' || mt.params.v === 'v1beta1');
      if (!metaGroup) continue;
      if (as === 'Table') return { as: 'Table' };
      if (as === 'PartialObjectMetadata' && shape !== 'list') return { as: 'PartialObjectMetadata' };
      if (as === 'PartialObjectMetadataList' && shape === 'list') return { as: 'PartialObjectMetadataList' };
      continue;
    }
    if (full === 'application/json' || full === '*/*' || full === 'application/*') return { as: 'object', yaml: false };
    if (full === 'application/yaml' && shape !== 'watch') return { as: 'object', yaml: true };
  }
  throw notAcceptable(
    `only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io`,
  );
}

/**
 * The `kubernetes.io/initial-events-list-blueprint` of a watch-list stream (kube-apiserver 1.32 and
 * 1.33 put it on the bookmark that ends the initial events): an empty list of what the stream's
 * events hold, encoded as the stream is and then base64. client-go's watch-list decodes it with the
 * stream's decoder into the list it assembles, so its kind tells what the list is. PartialObjectMetadata
 * streams get a PartialObjectMetadataList (as kube); object and Table streams the resource's own list.
 * Every stream this server sends is JSON (protobuf is never negotiated), so the encoding is JSON,
 * written as Go's encoder writes it (typed field order, a trailing newline).
 */
export function initialEventsListBlueprint(
  kind: Pick<KindDefinition, 'group' | 'version' | 'listKind'>,
  out: OutputFormat,
): string {
  const partial = out.as === 'PartialObjectMetadata' || out.as === 'PartialObjectMetadataList';
  const list = partial
    ? { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: {}, items: [] }
    : { kind: kind.listKind, apiVersion: groupVersion(kind), metadata: {}, items: [] };
  return Buffer.from(`${JSON.stringify(list)}\n`).toString('base64');
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function parseIncludeObject(v: string | null): IncludeObject {
  if (v === null || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(`invalid includeObject "${v}": must be one of None, Metadata, Object`);
}

export function partialObjectMetadata(obj: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function partialObjectMetadataList(
  items: KubeObject[],
  listMeta: Record<string, unknown>,
): Record<string, unknown> {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    items: items.map(partialObjectMetadata),
  };
}

export interface TableOptions {
  includeObject: IncludeObject;
  /** column definitions are sent once per watch: later watch events omit them */
  withColumns: boolean;
  now?: number;
}

export function toTable(
  kind: KindDefinition,
  items: KubeObject[],
  listMeta: Record<string, unknown>,
  o: TableOptions,
): Record<string, unknown> {
  const now = o.now ?? Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: o.withColumns ? buildTableColumnDefinitions(kind.columns) : null,
    rows: items.map((obj) => {
      const row: Record<string, unknown> = {
        cells: [obj.metadata.name, ...kind.columns.map((c) => columnCell(c, obj, now))],
      };
      if (o.includeObject === 'Metadata') row.object = partialObjectMetadata(obj);
      else if (o.includeObject === 'Object') row.object = obj;
      return row;
    }),
  };
}
