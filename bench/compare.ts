// `trustpin compare` of the signed index and its v2s2 mirror against the manual walk with
// `skopeo inspect --raw` (index, then each child, on both sides), in one run: wall time and HTTP requests, both
// counted from the real registry's access log.
import { readFileSync } from 'node:fs';
import { seedRegistry } from '../test/harness/images.js';
import { requireBinary } from '../test/harness/processes.js';
import { startRegistry } from '../test/harness/registry.js';
import { CLI, ensureBuilt, exec, row, time } from './util.js';

const RUNS = 5;

function countRequests(log: string): number {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => /"(GET|HEAD) \/v2\//.test(l)).length;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

export async function main(): Promise<void> {
  await ensureBuilt();
  const skopeo = requireBinary('skopeo', 'skopeo');
  const reg = await startRegistry({ mode: 'plain' });
  try {
    const images = await seedRegistry(reg);
    const log = reg.process.logFile;
    const a = images.demoApp.ref;
    const b = images.mirrorApp.ref;

    const tpTimes: number[] = [];
    let tpReqs = 0;
    for (let i = 0; i < RUNS; i++) {
      const before = countRequests(log);
      const t = await time(() => exec(process.execPath, [CLI, 'compare', a, b]));
      if (t.value.code !== 0) throw new Error(`trustpin compare failed: ${t.value.stderr}`);
      tpTimes.push(t.ms);
      tpReqs = countRequests(log) - before;
    }

    // The manual walk a user does today: raw index on both sides, then every child manifest, then compare the
    // config digests by eye (here: by jq-free JSON parsing in this script).
    const manual = async () => {
      const raw = async (ref: string) =>
        (await exec(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout;
      const configs: Record<string, string[]> = {};
      for (const ref of [a, b]) {
        const idx = JSON.parse(await raw(ref)) as { manifests: { digest: string }[] };
        const repo = ref.slice(0, ref.lastIndexOf(':'));
        configs[ref] = [];
        for (const m of idx.manifests) {
          const child = JSON.parse(await raw(`${repo}@${m.digest}`)) as { config: { digest: string } };
          configs[ref].push(child.config.digest);
        }
      }
      return configs[a]!.join() === configs[b]!.join();
    };
    const skTimes: number[] = [];
    let skReqs = 0;
    for (let i = 0; i < RUNS; i++) {
      const before = countRequests(log);
      const t = await time(manual);
      if (!t.value) throw new Error('manual walk found different configs');
      skTimes.push(t.ms);
      skReqs = countRequests(log) - before;
    }
    const tp = median(tpTimes);
    const sk = median(skTimes);
    console.log(
      `\nbench compare: ${a} vs ${b} (OCI index vs skopeo --format v2s2 copy, 2 platforms); median of ${RUNS}\n`,
    );
    console.log(
      row('trustpin compare (one command, verifies every byte)', tp, undefined, `${tpReqs} HTTP requests`),
    );
    console.log(row('skopeo inspect --raw × 6 (manual walk)', sk, undefined, `${skReqs} HTTP requests`));
    console.log(
      `\nratio manual walk / trustpin: ${(sk / tp).toFixed(2)}× time, ${(skReqs / tpReqs).toFixed(2)}× requests`,
    );
    console.log(
      'trustpin also fetched and verified both configs per platform (the manual walk reads no config).',
    );
  } finally {
    await reg.stop();
  }
}
