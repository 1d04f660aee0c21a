// The one concurrency limiter: a Limiter (at most N tasks at once), startLimited (one promise per item, so a later
// stage can wait for item i alone while the others still run) and mapLimit (all results, or the first failure).

/** At most `limit` tasks run at once; the others wait in arrival order. */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`concurrency limit must be at least 1, got ${limit}`);
  }

  /** Run `fn` when a slot is free; the slot is released when its promise settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.queue.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      // hand the slot straight to the next waiter (active stays the same), or free it
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export interface Started<R> {
  results: Promise<R>[];
  /** stop starting queued items (those reject with `reason`) */
  stop(reason: unknown): void;
}

/** Start `fn` on every item, at most `limit` at once; after stop() or a failure, queued items do not start. */
export function startLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Started<R> {
  const limiter = new Limiter(Math.max(1, limit));
  let stopped: { reason: unknown } | undefined;
  const results = items.map((t, i) =>
    limiter.run(async () => {
      if (stopped) throw stopped.reason;
      try {
        return await fn(t, i);
      } catch (e) {
        // stop here, before the freed slot starts the next item (a later .catch would be a tick too late)
        stopped ??= { reason: e };
        throw e;
      }
    }),
  );
  // every result is awaited by someone eventually; this keeps an early rejection from being "unhandled"
  for (const r of results) r.catch(() => undefined);
  return {
    results,
    stop: (reason) => {
      stopped ??= { reason };
    },
  };
}

/** All results, stopping the queue at the first failure; once all settle, rejects with the earliest failure. */
export async function settleAll<R>(s: Started<R>): Promise<R[]> {
  let first: { e: unknown } | undefined;
  for (const r of s.results)
    r.catch((e) => {
      first ??= { e };
      s.stop(e);
    });
  const settled = await Promise.allSettled(s.results);
  if (first) throw first.e;
  return settled.map((x) => (x as PromiseFulfilledResult<R>).value);
}

/**
 * `fn` over `items`, at most `limit` at once, results in item order. The first failure stops queued items from
 * starting; the call rejects with it once the running ones have settled (no work is left behind in the background).
 */
export function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Promise<R[]> {
  return settleAll(startLimited(items, limit, fn));
}
