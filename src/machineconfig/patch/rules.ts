// How a Talos strategic patch merges each list: lists append by default; a few are
// replaced whole, a few are merged item by item on a key, and `extraArgs` (and the other string
// maps) are overlaid entry by entry. Paths are field names without list indices, relative to the document.

export type Matcher = (target: Map<string, unknown>, patch: Map<string, unknown>) => boolean;

export type FieldRule = { type: 'replace' } | { type: 'keyed'; matches: Matcher } | { type: 'overlay' };

/** deep equality of parsed YAML values (Maps, arrays, scalars); key order does not count */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a instanceof Map && b instanceof Map) {
    return a.size === b.size && [...a].every(([k, v]) => b.has(k) && sameValue(v, b.get(k)));
  }
  return false;
}

const byKey =
  (key: string): Matcher =>
  (target, patch) =>
    patch.has(key) && target.has(key) && sameValue(target.get(key), patch.get(key));

/** network interfaces are the same by `interface` name, or by an equal `deviceSelector` */
const sameInterface: Matcher = (target, patch) =>
  byKey('interface')(target, patch) || byKey('deviceSelector')(target, patch);

const REPLACE: FieldRule = { type: 'replace' };

/** v1alpha1 rules, as Talos merges these fields */
const V1ALPHA1_RULES: Readonly<Record<string, FieldRule>> = {
  'cluster.network.podSubnets': REPLACE,
  'cluster.network.serviceSubnets': REPLACE,
  'cluster.apiServer.auditPolicy': REPLACE,
  'machine.network.interfaces': { type: 'keyed', matches: sameInterface },
  'machine.network.interfaces.vlans': { type: 'keyed', matches: byKey('vlanId') },
  'cluster.apiServer.admissionControl': { type: 'keyed', matches: byKey('name') },
};

/**
 * The same fields where the 1.14 documents carry them (the rules above are Talos's for v1alpha1;
 * keeping the behaviour where the field moved is our choice).
 */
const OVERLAY: FieldRule = { type: 'overlay' };

const DOCUMENT_RULES: Readonly<Record<string, Readonly<Record<string, FieldRule>>>> = {
  KubeNetworkConfig: { podSubnets: REPLACE, serviceSubnets: REPLACE },
  KubeAuditPolicyConfig: { configuration: REPLACE },
  // the string maps of machine.nodeLabels/nodeAnnotations/nodeTaints, sysctls, sysfs and env, where 1.14 keeps them
  KubeNodeConfig: { labels: OVERLAY, annotations: OVERLAY, taints: OVERLAY },
  SysctlConfig: { params: OVERLAY },
  SysfsConfig: { params: OVERLAY },
  EnvironmentConfig: { variables: OVERLAY },
};

/**
 * String maps whose entries a patch sets one by one. Talos does so for `extraArgs`; its other
 * string maps (labels, annotations, taints, sysctls, sysfs, env) are Go maps too, where an entry
 * present in the patch is always set, so `label: ""` must not be dropped as a zero value (our
 * reading: Talos's zero-value rule is stated for scalars, i.e. struct fields).
 */
const OVERLAID_MAPS: ReadonlySet<string> = new Set([
  'extraArgs',
  'nodeLabels',
  'nodeAnnotations',
  'nodeTaints',
  'sysctls',
  'sysfs',
  'env',
]);

/**
 * The rule for the field at `path` in a document of `kind` (undefined: the v1alpha1 document),
 * or undefined for the defaults: maps merge by key, lists append.
 */
export function fieldRule(kind: string | undefined, path: readonly string[]): FieldRule | undefined {
  if (OVERLAID_MAPS.has(path[path.length - 1] ?? '')) return { type: 'overlay' };
  const key = path.join('.');
  return kind === undefined ? V1ALPHA1_RULES[key] : DOCUMENT_RULES[kind]?.[key];
}
