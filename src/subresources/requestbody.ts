// The body of a POST to a request subresource (an UpgradeRequest): one object of one apiVersion
// and kind, decoded strictly (a one-shot request must not drop a misspelt field silently),
// defaulted and validated by its schema, then by the kind's own rules.
import { badRequest, invalid, type FieldError } from '../machinery/errors.js';
import type { KubeObject } from '../machinery/kind.js';
import type { SubresourceCall } from '../machinery/registry/subresource.js';
import type { KindSchema } from '../machinery/schema.js';

export interface RequestBodyType<S> {
  apiVersion: string;
  kind: string;
  /** with kind, names the request in the Status of an invalid one */
  group: string;
  schema: KindSchema;
  check: (spec: S) => FieldError[];
}

export function decodeRequestSpec<S>(call: SubresourceCall, t: RequestBodyType<S>): S {
  const body = call.body?.value as KubeObject | undefined;
  const name = call.parent.metadata.name!;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw badRequest(`the request body must be an ${t.kind} object`);
  if (body.apiVersion !== t.apiVersion || body.kind !== t.kind) {
    throw badRequest(
      `expected apiVersion "${t.apiVersion}" and kind "${t.kind}", got apiVersion ${JSON.stringify(body.apiVersion)} kind ${JSON.stringify(body.kind)}`,
    );
  }
  const unknown = t.schema.prune(body).filter((p) => !p.startsWith('metadata.'));
  if (unknown.length > 0)
    throw badRequest(`strict decoding error: ${unknown.map((p) => `unknown field "${p}"`).join(', ')}`);
  t.schema.applyDefaults(body);
  const errors = t.schema.validate(body);
  if (errors.length === 0) errors.push(...t.check(body.spec as S));
  if (errors.length > 0) throw invalid({ group: t.group, kind: t.kind }, name, errors);
  return body.spec as S;
}
