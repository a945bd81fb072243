// The set of served kinds and their stores, looked up by group/version/resource.
import type { Storage } from '../../storage/storage.js';
import { groupVersion, type KindDefinition } from '../kind.js';
import { ResourceStore, type StoreOptions } from './store.js';

export interface GroupVersionKinds {
  group: string;
  version: string;
  kinds: KindDefinition[];
}

export class APIRegistry {
  private readonly byPath = new Map<string, ResourceStore>();
  readonly stores: ResourceStore[] = [];

  constructor(kinds: KindDefinition[], storage: Storage, options: StoreOptions = {}) {
    for (const kind of kinds) {
      const store = new ResourceStore(kind, storage, options);
      this.stores.push(store);
      this.byPath.set(`${groupVersion(kind)}/${kind.plural}`, store);
    }
  }

  store(group: string, version: string, resource: string): ResourceStore | undefined {
    return this.byPath.get(`${group ? `${group}/` : ''}${version}/${resource}`);
  }

  /** the store serving this kind (one of the definitions the registry was made with) */
  storeOf(kind: Pick<KindDefinition, 'group' | 'version' | 'plural'>): ResourceStore | undefined {
    return this.store(kind.group, kind.version, kind.plural);
  }

  storeForKind(group: string, kind: string): ResourceStore | undefined {
    return this.stores.find((s) => s.kind.group === group && s.kind.kind === kind);
  }

  /** group-versions in a stable order: core first, then by group name */
  groupVersions(): GroupVersionKinds[] {
    const out = new Map<string, GroupVersionKinds>();
    for (const s of this.stores) {
      const key = groupVersion(s.kind);
      let gv = out.get(key);
      if (!gv) {
        gv = { group: s.kind.group, version: s.kind.version, kinds: [] };
        out.set(key, gv);
      }
      gv.kinds.push(s.kind);
    }
    return [...out.values()].sort((a, b) =>
      a.group === b.group ? a.version.localeCompare(b.version) : a.group.localeCompare(b.group),
    );
  }
}
