// The one concurrency limiter: never more than N at once, results in order, and after a failure nothing queued
// starts and nothing is left running when the call rejects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Limiter, mapLimit, settleAll, startLimited } from '../../../src/util/index.js';

const tick = (ms = 2) => new Promise((r) => setTimeout(r, ms));

test('Limiter and mapLimit: at most N at once, results in item order', async () => {
  let active = 0;
  let peak = 0;
  const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (x, i) => {
    peak = Math.max(peak, ++active);
    await tick(x);
    active--;
    return x * 10 + i;
  });
  assert.deepEqual(out, [50, 11, 42, 23, 34, 5, 66]);
  assert.equal(peak, 3);

  const l = new Limiter(2);
  active = 0;
  peak = 0;
  await Promise.all(
    Array.from({ length: 9 }, () =>
      l.run(async () => {
        peak = Math.max(peak, ++active);
        await tick();
        active--;
      }),
    ),
  );
  assert.equal(peak, 2);
});

test('mapLimit: the first failure stops the queue, and it rejects only once the running items settled', async () => {
  const started: number[] = [];
  let running = 0;
  await assert.rejects(
    mapLimit([0, 1, 2, 3, 4, 5], 2, async (x) => {
      started.push(x);
      running++;
      await tick(x === 0 ? 1 : 20);
      running--;
      if (x === 0) throw new Error('boom');
      return x;
    }),
    /boom/,
  );
  assert.equal(running, 0, 'nothing is still running in the background');
  assert.deepEqual(started, [0, 1], 'queued items do not start after a failure');
});

test('startLimited: each result is its own promise; settleAll gives them in order', async () => {
  const s = startLimited(['a', 'b', 'c'], 1, async (x) => x.toUpperCase());
  assert.equal(await s.results[2], 'C');
  assert.deepEqual(await settleAll(s), ['A', 'B', 'C']);
});
