// Node labels, annotations and taints in Kubernetes syntax (the kube rules and texts
// come from src/machinery/labels.ts, the same ones our API server applies to objects).
import { validateLabelKey, validateLabelValue } from '../../machinery/labels.js';
import type { RuleContext } from './context.js';
import { joinKey } from './problem.js';
import { mapAt } from './values.js';

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
/** kube-apiserver's limit on the total size of an object's annotations */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function checkKeys(ctx: RuleContext, path: string, entries: [string, unknown][]): void {
  for (const [key] of entries) {
    const problems = validateLabelKey(key);
    if (problems.length > 0) ctx.v1.error(joinKey(path, key), `invalid key: ${problems.join('; ')}`);
  }
}

export function checkNodeMetadata(ctx: RuleContext): void {
  const labels = Object.entries(mapAt(ctx.machine, 'nodeLabels') ?? {});
  checkKeys(ctx, 'machine.nodeLabels', labels);
  for (const [key, value] of labels) {
    const text = scalarText(value) ?? '';
    const problems = validateLabelValue(text);
    if (problems.length > 0) ctx.v1.error(joinKey('machine.nodeLabels', key), `invalid value: ${problems.join('; ')}`);
  }

  const annotations = Object.entries(mapAt(ctx.machine, 'nodeAnnotations') ?? {});
  checkKeys(ctx, 'machine.nodeAnnotations', annotations);
  const size = annotations.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(scalarText(v) ?? ''), 0);
  if (size > MAX_ANNOTATIONS_BYTES)
    ctx.v1.error(
      'machine.nodeAnnotations',
      `annotations total ${size} bytes, more than Kubernetes allows (${MAX_ANNOTATIONS_BYTES})`,
    );

  const taints = Object.entries(mapAt(ctx.machine, 'nodeTaints') ?? {});
  checkKeys(ctx, 'machine.nodeTaints', taints);
  for (const [key, value] of taints) {
    // `value:Effect`, or just `Effect` for a taint without a value
    const text = scalarText(value) ?? '';
    const colon = text.lastIndexOf(':');
    const taintValue = colon >= 0 ? text.slice(0, colon) : '';
    const effect = colon >= 0 ? text.slice(colon + 1) : text;
    const path = joinKey('machine.nodeTaints', key);
    if (!TAINT_EFFECTS.includes(effect))
      ctx.v1.error(path, `taint effect must be one of ${TAINT_EFFECTS.join(', ')} (written value:Effect)`);
    const problems = validateLabelValue(taintValue);
    if (problems.length > 0) ctx.v1.error(path, `invalid taint value: ${problems.join('; ')}`);
  }
}
