// A kind as a CustomResourceDefinition (apiextensions.k8s.io/v1), for clusters that hold our kinds
// as CRDs instead of through this server (with the webhooks for what a CRD cannot express). Built
// from the same definition the server serves: schema, names, columns, selectable fields.
import { fullObjectSchema } from './schema.js';
import type { JSONSchema, KindDefinition } from './kind.js';

/** what a CRD's structural schema may not carry: our own x- extensions besides kubernetes' */
function crdSchema(node: JSONSchema): JSONSchema {
  const out: JSONSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-') && !k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties' && v && typeof v === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(v as Record<string, JSONSchema>).map(([p, s]) => [p, crdSchema(s)]),
      );
    } else if ((k === 'items' || k === 'additionalProperties') && v && typeof v === 'object') {
      (out as Record<string, unknown>)[k] = crdSchema(v as JSONSchema);
    } else {
      (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

export function customResourceDefinition(kind: KindDefinition): Record<string, unknown> {
  const schema = crdSchema(fullObjectSchema(kind));
  // a CRD's metadata is ObjectMeta, validated by the API server itself: only `type: object`
  schema.properties!.metadata = { type: 'object' };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.plural}.${kind.group}` },
    spec: {
      group: kind.group,
      names: {
        kind: kind.kind,
        listKind: kind.listKind,
        plural: kind.plural,
        singular: kind.singular,
        ...(kind.shortNames.length ? { shortNames: kind.shortNames } : {}),
        ...(kind.categories.length ? { categories: kind.categories } : {}),
      },
      scope: kind.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: kind.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { ...schema, description: kind.description } },
          ...(kind.statusSubresource ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: kind.columns.map((c) => ({
            name: c.name,
            type: c.type,
            jsonPath: c.jsonPath,
            description: c.description,
            ...(c.priority ? { priority: c.priority } : {}),
          })),
          ...(kind.selectableFields.length
            ? { selectableFields: kind.selectableFields.map((f) => ({ jsonPath: `.${f}` })) }
            : {}),
        },
      ],
    },
  };
}
