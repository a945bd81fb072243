// An informer's in-memory copy of the objects it follows, by key (namespace/name), with indexes a
// controller declares (client-go's Indexer): index name -> function of an object to its values,
// e.g. every object of a namespace, or every Machine of a cluster.
import type { KubeObject } from '../../machinery/kind.js';
import { objectKey } from './listwatch.js';

export type IndexFunc = (obj: KubeObject) => string[];

export class ObjectIndex {
  private readonly objects = new Map<string, KubeObject>();
  /** index name -> value -> keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly indexers: Record<string, IndexFunc> = {}) {
    for (const name of Object.keys(indexers)) this.indices.set(name, new Map());
  }

  get size(): number {
    return this.objects.size;
  }

  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  keys(): string[] {
    return [...this.objects.keys()];
  }

  list(): KubeObject[] {
    return [...this.objects.values()];
  }

  /** the objects whose `index` function gives `value` */
  byIndex(index: string, value: string): KubeObject[] {
    const idx = this.indices.get(index);
    if (!idx) throw new Error(`no index named ${index}`);
    return [...(idx.get(value) ?? [])].map((k) => this.objects.get(k)!);
  }

  /** stores obj; resolves the object it replaced */
  put(obj: KubeObject): KubeObject | undefined {
    const key = objectKey(obj);
    const old = this.objects.get(key);
    if (old) this.unindex(key, old);
    this.objects.set(key, obj);
    for (const [name, fn] of Object.entries(this.indexers)) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        let keys = idx.get(v);
        if (!keys) idx.set(v, (keys = new Set()));
        keys.add(key);
      }
    }
    return old;
  }

  /** removes the object at key; resolves it */
  delete(key: string): KubeObject | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.objects.delete(key);
    return old;
  }

  private unindex(key: string, obj: KubeObject): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const keys = idx.get(v);
        keys?.delete(key);
        if (keys?.size === 0) idx.delete(v);
      }
    }
  }
}
