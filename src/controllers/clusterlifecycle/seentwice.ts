// A rollout begins only from configs that read alike twice in a row: the configs of a
// generation are written one Secret at a time, and a rollout begun between two of those writes
// would be superseded at once. This remembers, per cluster, what the last look saw.

export class SeenTwice {
  private readonly last = new Map<string, { uid: string; seen: string }>();

  /** true when the cluster (the same one: uid) saw exactly this at its previous look */
  sameAsLast(key: string, uid: string, seen: string): boolean {
    const last = this.last.get(key);
    this.last.set(key, { uid, seen });
    return last?.uid === uid && last.seen === seen;
  }

  /** the cluster is gone or going: its memory with it */
  forget(key: string): void {
    this.last.delete(key);
  }

  get size(): number {
    return this.last.size;
  }
}
