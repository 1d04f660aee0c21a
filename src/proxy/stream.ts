// A verified body passed on to a client one chunk behind: the last chunk leaves only once the whole body hashed
// to its digest, so a client of a lying origin never receives a complete body — the response is cut instead.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { PendingBlob } from './cache.js';

/** How a pumped body ended. */
export type PumpResult =
  | { ok: true; bytes: number }
  /** `started`: headers and some bytes were sent (the response was destroyed); else nothing was sent */
  | { ok: false; started: boolean; error: unknown };

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Send `body` (a stream that errors on a digest or size mismatch) to `res`, holding back one chunk; `start` writes
 * the headers before the first byte. With `sink`, every chunk also goes to a pending cache file, committed only when
 * the body verified. On failure after the first byte the response is destroyed (the client sees a broken body).
 */
export async function pumpVerified(
  body: Readable,
  res: ServerResponse,
  start: () => void,
  sink?: PendingBlob,
): Promise<PumpResult> {
  let held: Buffer | undefined;
  let started = false;
  let bytes = 0;
  const send = async (c: Buffer) => {
    if (!started) {
      start();
      started = true;
    }
    bytes += c.length;
    if (!res.write(c)) await drained(res);
  };
  try {
    for await (const chunk of body) {
      const c = chunk as Buffer;
      sink?.write(c);
      if (held) await send(held);
      if (res.destroyed) throw new Error('the client went away');
      held = c;
    }
  } catch (error) {
    body.destroy();
    await sink?.abort();
    if (started) res.destroy();
    return { ok: false, started, error };
  }
  // committed before the last bytes go out, so a client that has read the whole body finds the blob cached
  if (sink) await sink.commit();
  if (held) await send(held);
  if (!started) start();
  res.end();
  return { ok: true, bytes };
}
