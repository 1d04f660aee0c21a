// Bounded concurrency that hands back one promise per item, so a later stage can wait for item i alone (unpack
// waits for layer i's proof) while the others still run. After a failure, queued items do not start.

export interface Started<R> {
  results: Promise<R>[];
  /** stop starting queued items (those reject with `reason`) */
  stop(reason: unknown): void;
}

export function startLimited<T, R>(
  items: T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Started<R> {
  let active = 0;
  let stopped: { reason: unknown } | undefined;
  const queue: (() => void)[] = [];
  const acquire = (): Promise<void> => {
    if (active < limit) {
      active++;
      return Promise.resolve();
    }
    return new Promise((r) =>
      queue.push(() => {
        active++;
        r();
      }),
    );
  };
  const release = () => {
    active--;
    queue.shift()?.();
  };
  const results = items.map(async (t, i) => {
    await acquire();
    try {
      if (stopped) throw stopped.reason;
      return await fn(t, i);
    } finally {
      release();
    }
  });
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
