// The webhook's verdict cache: a verdict per (policy, image reference), kept for `ttlMs` when the reference
// names a digest and `tagTtlMs` when it names only a tag (a tag may move); an LRU bound; one evaluation in flight
// per key, shared by every request that asks for it meanwhile. Only decided verdicts are kept: an `error` outcome
// (a registry down) is asked again next time.
import type { Policy, PolicyVerdict } from '../policy/index.js';
import { parseDockerReference } from '../reference/index.js';
import { Memo, type MemoStats } from '../util/index.js';

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

/** Cache hits and misses since the cache was made. */
export type CacheStats = MemoStats;

/** Verdicts by (policy digest, reference): reused until their TTL, shared while in flight, bounded by an LRU. */
export class VerdictCache {
  private readonly memo: Memo<PolicyVerdict>;
  private readonly ttl: number;
  private readonly tagTtl: number;

  /** `evaluate` judges one reference under one policy (the webhook passes the policy evaluator). */
  constructor(
    private readonly evaluate: (policy: Policy, ref: string) => Promise<PolicyVerdict>,
    o: VerdictCacheOptions = {},
  ) {
    this.memo = new Memo(o.maxEntries ?? DEFAULT_VERDICT_CACHE_ENTRIES, o.now);
    this.ttl = o.ttlMs ?? 300_000;
    this.tagTtl = o.tagTtlMs ?? 30_000;
  }

  get stats(): CacheStats {
    return this.memo.stats;
  }

  /**
   * The verdict on `ref` under `policy`: cached, joined in flight, or evaluated now. Keyed on the policy object as
   * well as its digest: the digest covers the policy file's bytes, not the key, CA and trusted-root files it names,
   * so a reload after those changed (a ConfigMap updated as a whole) has the same digest and other trust roots.
   */
  judge(policy: Policy, ref: string): Promise<PolicyVerdict> {
    return this.memo.get(
      `${policyId(policy)}\0${policy.digest}\0${ref}`,
      () => this.evaluate(policy, ref),
      (v) => (v.outcome === 'error' ? undefined : byDigest(ref) ? this.ttl : this.tagTtl),
    );
  }
}

/** A number per policy object (a reloaded policy is a new object, with a new number). */
const ids = new WeakMap<Policy, number>();
let nextId = 0;
function policyId(policy: Policy): number {
  let id = ids.get(policy);
  if (id === undefined) {
    id = nextId++;
    ids.set(policy, id);
  }
  return id;
}

function byDigest(ref: string): boolean {
  try {
    return parseDockerReference(ref).digest !== undefined;
  } catch {
    return false;
  }
}
