// COSI resources as `talosctl get` shows them: what State.Get and State.List return, turned into
// plain values. Only the YAML form of the spec is read (Talos fills it for every resource); a node
// is not trusted to send sane YAML, so its depth is bounded before the yaml library recurses on it.
import { parse } from 'yaml';
import { MAX_YAML_DEPTH, yamlTooDeep } from '../machinery/yamldepth.js';
import { invalidResponse, type CallContext } from './errors.js';
import type { Resource__Output } from './gen/cosi/resource/Resource.js';

export interface TalosResourceMetadata {
  namespace: string;
  type: string;
  id: string;
  /** the resource's version counter, as the node reports it */
  version: string;
  /** `running`, or `tearingDown` while it is being destroyed */
  phase: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface TalosResource {
  metadata: TalosResourceMetadata;
  /** the spec's YAML, parsed; null for an empty spec */
  spec: unknown;
}

/** The resource a Get or List message carries; InvalidResponse when it has none or its YAML is broken. */
export function resourceFrom(message: Resource__Output | null, ctx: CallContext): TalosResource {
  const md = message?.metadata;
  if (!message || !md) throw invalidResponse(ctx, 'a resource without metadata');
  const text = message.spec?.yamlSpec ?? '';
  if (yamlTooDeep(text))
    throw invalidResponse(ctx, `the spec of ${md.type} ${md.id} nests deeper than ${MAX_YAML_DEPTH} levels`);
  let spec: unknown;
  try {
    spec = text.trim() === '' ? null : (parse(text) as unknown);
  } catch (e) {
    throw invalidResponse(
      ctx,
      `the spec of ${md.type} ${md.id} is not YAML: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return {
    metadata: {
      namespace: md.namespace,
      type: md.type,
      id: md.id,
      version: md.version,
      phase: md.phase,
      labels: { ...md.labels },
      annotations: { ...md.annotations },
    },
    spec,
  };
}
