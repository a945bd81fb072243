// One YAML document of a GitOps repository, judged as the server would judge it: an object of our
// kinds gets every problem the server would refuse it for (unknown fields, metadata, schema, the
// kind's rules, the validating admission), each field once; anything else is told apart and left
// for the tool that owns it (a Deployment, a Kustomization, a CRD, a Helm values file).
import { allKinds, kubernetesClusterKind } from '../api/index.js';
import { clusterProblems } from '../admission/machineconfig.js';
import type { FieldError } from '../machinery/errors.js';
import { groupVersion, type KindDefinition, type KubeObject } from '../machinery/kind.js';
import { validateObjectMeta } from '../machinery/metavalidation.js';
import { kindSchema } from '../machinery/registry/prepare.js';
import { pruneObjectMeta } from '../machinery/schema.js';

/** the API groups this tool checks every object of */
export const OUR_GROUPS: readonly string[] = [...new Set(allKinds.map((k) => k.group))];

export interface ObjectProblem {
  /** the field path as the API prints it; undefined for the object as a whole */
  field?: string;
  /** what is wrong, without the field path in front */
  message: string;
}

export type Verdict =
  /** apiVersion and kind of ours: checked */
  | { what: 'ours'; kind: string; name: string; problems: ObjectProblem[] }
  /** a Kubernetes object of some other API group: not ours to judge */
  | { what: 'other'; apiVersion: string; kind: string; name: string }
  /** no apiVersion and kind (a Helm values file, a kustomization.yaml written without them) */
  | { what: 'not-an-object' };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

/**
 * a field error's message without its leading `field: `, and without the regex kube's name rules
 * append (`..., regex used for validation is '[a-z0-9]([-a-z0-9]*...'`): the words before it say it
 */
function reason(e: FieldError): string {
  const message = e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;
  return message.replace(/,? regex used for validation is '[^']*'/g, '');
}

/** what the document is, and for ours, everything wrong with it */
export async function judgeDocument(value: unknown): Promise<Verdict> {
  if (!isRecord(value) || typeof value.apiVersion !== 'string' || typeof value.kind !== 'string' || !value.kind)
    return { what: 'not-an-object' };
  const meta = isRecord(value.metadata) ? value.metadata : {};
  const name =
    typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName : '';
  const group = groupOf(value.apiVersion);
  if (!OUR_GROUPS.includes(group)) return { what: 'other', apiVersion: value.apiVersion, kind: value.kind, name };
  const kind = allKinds.find((k) => groupVersion(k) === value.apiVersion && k.kind === value.kind);
  if (!kind) {
    const served = allKinds.filter((k) => k.group === group).map((k) => `${groupVersion(k)} ${k.kind}`);
    return {
      what: 'ours',
      kind: value.kind,
      name,
      problems: [
        { message: `${value.apiVersion} ${value.kind} is not a kind of this server (it serves ${served.join(', ')})` },
      ],
    };
  }
  return { what: 'ours', kind: kind.kind, name, problems: await objectProblems(kind, value) };
}

/** the same field, or one inside the other (`spec.a` and `spec.a[0].b`) */
function overlaps(a: string, b: string): boolean {
  const inside = (x: string, y: string) => x.startsWith(`${y}.`) || x.startsWith(`${y}[`);
  return a === b || inside(a, b) || inside(b, a);
}

/**
 * In the server's order, without stopping at the first step that finds something: an unknown
 * field does not hide a bad value beside it. A later step's complaint about a field an earlier
 * step already named, or about a field inside or around it, is left out: a bad endpoint is said
 * once, not by the schema and again by the rule, and a bad taint effect is not said again as a
 * taint the generator cannot write.
 */
async function objectProblems(kind: KindDefinition, obj: Record<string, unknown>): Promise<ObjectProblem[]> {
  if (obj.metadata !== undefined && obj.metadata !== null && !isRecord(obj.metadata))
    return [{ field: 'metadata', message: 'must be an object' }];
  const meta = (obj.metadata ??= {}) as Record<string, unknown>;
  // kubectl fills in the namespace from the context when a manifest has none
  if (kind.namespaced && !meta.namespace) meta.namespace = 'default';
  const schema = kindSchema(kind);
  const unknown = [...pruneObjectMeta(meta), ...schema.prune(obj)];
  const problems: ObjectProblem[] = unknown.map((field) => ({ field, message: 'unknown field' }));
  const named = [...unknown];
  const add = (errors: FieldError[]) => {
    const fresh = errors.filter((e) => !named.some((f) => overlaps(f, e.field)));
    for (const e of fresh) problems.push({ field: e.field, message: reason(e) });
    named.push(...fresh.map((e) => e.field));
  };
  schema.applyDefaults(obj);
  const object = obj as KubeObject;
  add([...validateObjectMeta(meta, { namespaced: kind.namespaced }), ...schema.validate(obj)]);
  // the kind's rules and the admission assume the schema's shape: on an object the schema refused
  // they may throw, and what they would have said is said by the schema already. On a sound
  // object a throw is a bug and is not hidden.
  const sound = problems.length === 0;
  const guarded = async (f: () => FieldError[] | Promise<FieldError[]>): Promise<FieldError[]> => {
    try {
      return await f();
    } catch (e) {
      if (sound) throw e;
      return [];
    }
  };
  add(await guarded(() => kind.strategy.validate?.(object) ?? []));
  if (kind === kubernetesClusterKind) add(await guarded(() => clusterProblems(object)));
  return problems;
}
