// One answer per key, computed once: kept for as long as the caller says the answer may be reused (or not at all),
// and shared meanwhile by every caller that asks for it while it is being computed. An LRU bounds what is kept.
// The webhook's verdict cache and the mirror's decisions are this, with their own keys and lifetimes.
import { Lru } from './lru.js';

/** Hits (a kept answer), misses (computed), shared (joined one being computed), and answers kept now. */
export interface MemoStats {
  hits: number;
  misses: number;
  shared: number;
  size: number;
}

/** Answers by key: kept for the time each answer allows, computed at most once at a time per key. */
export class Memo<V> {
  private readonly kept: Lru<string, { value: V; until: number }>;
  private readonly running = new Map<string, Promise<V>>();
  readonly stats: MemoStats = { hits: 0, misses: 0, shared: 0, size: 0 };

  constructor(
    max: number,
    private readonly now: () => number = Date.now,
  ) {
    this.kept = new Lru(max);
  }

  /**
   * The answer for `key`: kept, joined while being computed, or computed now by `compute`. `keepFor` says how
   * long (ms) an answer may be reused; `undefined` keeps it not at all (it is computed again next time). A
   * computation that rejects is not kept either.
   */
  get(key: string, compute: () => Promise<V>, keepFor: (value: V) => number | undefined): Promise<V> {
    const hit = this.kept.get(key);
    if (hit && hit.until > this.now()) {
      this.stats.hits++;
      return Promise.resolve(hit.value);
    }
    const running = this.running.get(key);
    if (running) {
      this.stats.shared++;
      return running;
    }
    this.stats.misses++;
    const p = compute().then(
      (value) => {
        this.running.delete(key);
        const ms = keepFor(value);
        if (ms !== undefined) {
          this.kept.set(key, { value, until: this.now() + ms });
          this.stats.size = this.kept.size;
        }
        return value;
      },
      (e: unknown) => {
        this.running.delete(key);
        throw e;
      },
    );
    this.running.set(key, p);
    return p;
  }
}
