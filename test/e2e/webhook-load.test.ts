// Load on the admission webhook (loopback, bounded): 2 replicas of the real `trustpin serve webhook`, 200 concurrent
// clients sending AdmissionReviews for 20 distinct cosign-signed images on the real registry for 30 s — no errors,
// every image allowed, warm answers from the cache (p99 ≤ 250 ms while other tests share the cores; the bench
// measures the 20 ms goal alone), cold within the API server's 10 s deadline, memory bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentile, runWebhookLoad } from '../harness/webhook-load.js';

test('200 concurrent clients, 20 images, 2 replicas, 30 s: 0 errors, warm answers from the cache, cold within the deadline', {
  timeout: 240_000,
}, async () => {
  const r = await runWebhookLoad({ images: 20, replicas: 2, clients: 200, seconds: 30, pauseMs: 1000 });
  const line = `${r.requests} requests (${(r.requests / r.seconds).toFixed(0)}/s), cold p99 ${percentile(r.cold, 99).toFixed(0)} ms (${r.cold.length}), warm p50 ${percentile(r.warm, 50).toFixed(1)} ms p99 ${percentile(r.warm, 99).toFixed(1)} ms (${r.warm.length}), RSS ${r.rssMiB.map((x) => x.toFixed(0)).join('/')} MiB, cache hits ${r.cacheHits} misses ${r.cacheMisses}`;
  console.log(`# webhook load: ${line}`);
  assert.equal(r.errors, 0, r.errorSamples.join('\n'));
  assert.equal(r.denied, 0);
  assert.ok(r.requests >= 3000, line);
  // the 20 ms goal is measured alone by `npm run bench -- webhook` (≈5 ms); here other test files share the 2 cores,
  // so the bound only catches a webhook that stopped answering warm requests from memory (a cold one takes ≥ 400 ms)
  assert.ok(percentile(r.warm, 99) <= 250, line);
  assert.ok(percentile(r.cold, 99) < 9000, line);
  // one evaluation per image per replica: every other answer came from the cache (or joined one in flight)
  assert.ok(r.cacheMisses <= 2 * 20, line);
  for (const m of r.rssMiB) assert.ok(m > 0 && m < 256, line);
});
