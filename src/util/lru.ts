// A Map with a maximum entry count that forgets the least recently used entry: a client held for days by a
// long-running process must not grow one entry per host or token scope it ever met.

export class Lru<K, V> {
  private readonly map = new Map<K, V>();

  /** `onEvict` runs for an entry pushed out by the bound (not for delete()). */
  constructor(
    readonly max: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!(max >= 1)) throw new RangeError(`Lru bound must be at least 1, got ${max}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    // a Map iterates in insertion order: re-inserting moves the key to the young end
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** The value, without touching its recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): this {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) {
      const [oldKey, oldValue] = this.map.entries().next().value as [K, V];
      this.map.delete(oldKey);
      this.onEvict?.(oldKey, oldValue);
    }
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  clear(): void {
    this.map.clear();
  }
}
