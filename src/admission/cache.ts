// The webhook's verdict cache: a verdict per (policy digest, image reference), kept for `ttlMs` when the reference
// names a digest and `tagTtlMs` when it names only a tag (a tag may move); an LRU bound; one evaluation in flight
// per key, shared by every request that asks for it meanwhile. Only decided verdicts are kept: an `error` outcome
// (a registry down) is asked again next time.
import type { Policy, PolicyVerdict } from '../policy/index.js';
import { parseDockerReference } from '../reference/index.js';
import { Lru } from '../registry/index.js';

/** Verdicts kept by default. */
export const DEFAULT_VERDICT_CACHE_ENTRIES = 10_000;

/** Options of {@link VerdictCache}. */
export interface VerdictCacheOptions {
  /** how long a verdict on `NAME@DIGEST` is reused (default 300 s) */
  ttlMs?: number | undefined;
  /** how long a verdict on a tag is reused (default 30 s) */
  tagTtlMs?: number | undefined;
  maxEntries?: number | undefined;
  now?: (() => number) | undefined;
}

interface Entry {
  verdict: PolicyVerdict;
  until: number;
}

/** Cache hits and misses since the cache was made. */
export interface CacheStats {
  hits: number;
  misses: number;
  shared: number;
  size: number;
}

/** Verdicts by (policy digest, reference): reused until their TTL, shared while in flight, bounded by an LRU. */
export class VerdictCache {
  private readonly done: Lru<string, Entry>;
  private readonly running = new Map<string, Promise<PolicyVerdict>>();
  private readonly ttl: number;
  private readonly tagTtl: number;
  private readonly now: () => number;
  readonly stats: CacheStats = { hits: 0, misses: 0, shared: 0, size: 0 };

  /** `evaluate` judges one reference under one policy (the webhook passes the policy evaluator). */
  constructor(
    private readonly evaluate: (policy: Policy, ref: string) => Promise<PolicyVerdict>,
    o: VerdictCacheOptions = {},
  ) {
    this.done = new Lru(o.maxEntries ?? DEFAULT_VERDICT_CACHE_ENTRIES);
    this.ttl = o.ttlMs ?? 300_000;
    this.tagTtl = o.tagTtlMs ?? 30_000;
    this.now = o.now ?? Date.now;
  }

  /** The verdict on `ref` under `policy`: cached, joined in flight, or evaluated now. */
  judge(policy: Policy, ref: string): Promise<PolicyVerdict> {
    const key = `${policy.digest}\0${ref}`;
    const hit = this.done.get(key);
    if (hit && hit.until > this.now()) {
      this.stats.hits++;
      return Promise.resolve(hit.verdict);
    }
    const inFlight = this.running.get(key);
    if (inFlight) {
      this.stats.shared++;
      return inFlight;
    }
    this.stats.misses++;
    const p = this.evaluate(policy, ref).then(
      (v) => {
        this.running.delete(key);
        if (v.outcome !== 'error') {
          this.done.set(key, { verdict: v, until: this.now() + (byDigest(ref) ? this.ttl : this.tagTtl) });
          this.stats.size = this.done.size;
        }
        return v;
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

function byDigest(ref: string): boolean {
  try {
    return parseDockerReference(ref).digest !== undefined;
  } catch {
    return false;
  }
}
