// The bounded fuzz run for CI: every target, a fixed seed and a fixed time each (FUZZ_SECONDS, default 2 s).
// A failure prints the minimised input; rerun it with `npm run fuzz -- TARGET --replay FILE`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzTarget, summary } from './engine.js';
import { targets } from './targets/index.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 2);

for (const t of targets) {
  test(`fuzz ${t.name}: ${t.description}`, async () => {
    const s = await fuzzTarget(t, { seed: SEED, seconds: SECONDS, stopOnBug: true });
    console.log(summary(s));
    const b = s.bugs[0];
    assert.ok(s.runs > 0, `${t.name} ran no input`);
    if (b) {
      assert.fail(
        `${t.name}: ${b.kind} (seed ${b.seed}, ${b.shrinks} shrinks)\ninput (base64): ${b.input.toString('base64')}\n` +
          `input (text): ${JSON.stringify(b.input.toString('utf8').slice(0, 2000))}\n${b.message}`,
      );
    }
  });
}
