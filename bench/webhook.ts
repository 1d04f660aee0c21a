// The admission webhook under load: 2 replicas of `trustpin serve webhook` (the built CLI), 20 cosign-signed images
// on the real registry, 200 clients — paced (≈200 reviews/s, jittered, as API servers send them) and flat out.
// No anchor webhook (Kyverno, policy-controller, Connaisseur) runs on this machine: it needs a cluster. The
// reference point is what they report per verification (≈2 s per cosign verify, connaisseur#1526) against our cold
// figure, and the goal from issue 16: warm p99 ≤ 20 ms, cold within the 10 s deadline.
import { percentile, runWebhookLoad } from '../test/harness/webhook-load.js';
import { CLI, ensureBuilt } from './util.js';

export async function main(): Promise<void> {
  await ensureBuilt();
  process.env.TRUSTPIN_CLI = CLI;
  console.log(
    '\nbench webhook: 2 replicas, 20 signed images, 200 clients, real docker-registry (loopback)\n',
  );
  for (const [label, pauseMs, seconds] of [
    ['paced (≈200 reviews/s)', 1000, 20],
    ['flat out', 0, 10],
  ] as const) {
    const r = await runWebhookLoad({ images: 20, replicas: 2, clients: 200, seconds, pauseMs });
    const hit = r.cacheHits / Math.max(1, r.cacheHits + r.cacheMisses);
    console.log(
      `${label.padEnd(24)} ${String(r.requests).padStart(6)} reviews in ${seconds} s = ${(r.requests / seconds).toFixed(0).padStart(5)}/s; errors ${r.errors}; ` +
        `cold p50 ${percentile(r.cold, 50).toFixed(0)} p99 ${percentile(r.cold, 99).toFixed(0)} ms; ` +
        `warm p50 ${percentile(r.warm, 50).toFixed(1)} p90 ${percentile(r.warm, 90).toFixed(1)} p99 ${percentile(r.warm, 99).toFixed(1)} ms; ` +
        `cache hit rate ${(hit * 100).toFixed(1)}%; RSS ${r.rssMiB.map((x) => x.toFixed(0)).join('/')} MiB`,
    );
  }
  console.log('\ngoal: warm p99 ≤ 20 ms (paced), cold p99 < 9 s (the 10 s deadline less 10%)');
}
