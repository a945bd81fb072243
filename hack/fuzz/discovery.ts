// What the server serves, read from its discovery documents (/api/v1 and every group-version under
// /apis), so every resource and subresource it announces is fuzzed, including ones added later.

export interface ServedResource {
  group: string;
  version: string;
  /** plural name */
  resource: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  /** subresource name -> verbs */
  subresources: Map<string, string[]>;
}

/** group/resource, the key the fuzzer files requests and events under */
export const resourceKey = (r: { group: string; resource: string }): string => `${r.group}/${r.resource}`;

export function basePath(r: ServedResource): string {
  return r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
}

interface APIResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

type GetJSON = (path: string) => Promise<unknown>;

export async function discoverResources(get: GetJSON): Promise<ServedResource[]> {
  const lists: { group: string; version: string; resources: APIResource[] }[] = [];
  const core = (await get('/api/v1')) as { resources: APIResource[] };
  lists.push({ group: '', version: 'v1', resources: core.resources });
  const groups = (await get('/apis')) as { groups: { name: string; preferredVersion: { version: string } }[] };
  for (const g of groups.groups) {
    const doc = (await get(`/apis/${g.name}/${g.preferredVersion.version}`)) as { resources: APIResource[] };
    lists.push({ group: g.name, version: g.preferredVersion.version, resources: doc.resources });
  }
  const out: ServedResource[] = [];
  for (const l of lists) {
    for (const r of l.resources.filter((x) => !x.name.includes('/'))) {
      const subresources = new Map<string, string[]>();
      for (const s of l.resources.filter((x) => x.name.startsWith(`${r.name}/`)))
        subresources.set(s.name.slice(r.name.length + 1), s.verbs);
      out.push({
        group: l.group,
        version: l.version,
        resource: r.name,
        kind: r.kind,
        namespaced: r.namespaced,
        verbs: r.verbs,
        subresources,
      });
    }
  }
  return out;
}
