// Work started before its result is wanted (a signature search beside the image fetch, a prefetched document):
// its failure must not surface as an unhandled rejection while the caller is still awaiting something else.

/**
 * `p`, marked as handled: a rejection is still seen by whoever awaits the returned promise, but a promise nobody
 * awaits (the step before it failed) does not crash the process.
 */
export function settleLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
