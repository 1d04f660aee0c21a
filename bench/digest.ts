// Resolve 50 tags on the real registry: `trustpin digest` (one process for all 50, and one process per tag)
// against a loop of `skopeo inspect --format '{{.Digest}}'`, in the same run.
import { seedRegistry } from '../test/harness/images.js';
import { requireBinary } from '../test/harness/processes.js';
import { startRegistry } from '../test/harness/registry.js';
import { CLI, ensureBuilt, exec, row, tagMany, time } from './util.js';

const N = 50;

export async function main(): Promise<void> {
  await ensureBuilt();
  const skopeo = requireBinary('skopeo', 'skopeo');
  const reg = await startRegistry({ mode: 'plain' });
  try {
    const seeded = await seedRegistry(reg);
    const idx = seeded.demoApp;
    const refs = await tagMany(reg, 'demo/app', idx, 'bench', N);
    const want = `${reg.host}/demo/app@${idx.digest}`;

    const one = await time(() => exec(process.execPath, [CLI, 'digest', ...refs]));
    check(one.value.stdout.trim().split('\n'), want, 'trustpin (one process)');
    const loop = await time(async () => {
      const out: string[] = [];
      for (const r of refs) out.push((await exec(process.execPath, [CLI, 'digest', r])).stdout.trim());
      return out;
    });
    check(loop.value, want, 'trustpin (loop)');
    const sk = await time(async () => {
      const out: string[] = [];
      for (const r of refs) {
        out.push(
          (
            await exec(skopeo, ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${r}`])
          ).stdout.trim(),
        );
      }
      return out;
    });
    check(
      sk.value.map((d) => `${reg.host}/demo/app@${d}`),
      want,
      'skopeo',
    );

    console.log(`\nbench digest: resolve ${N} tags on docker-registry ${reg.host} (plain HTTP, loopback)\n`);
    console.log(row(`trustpin digest <${N} refs> (one process)`, one.ms));
    console.log(row(`trustpin digest <ref> × ${N} (one process each)`, loop.ms));
    console.log(row(`skopeo inspect --format {{.Digest}} × ${N}`, sk.ms));
    console.log(`\nratio skopeo loop / trustpin one process: ${(sk.ms / one.ms).toFixed(1)}×`);
    console.log(`ratio skopeo loop / trustpin loop:        ${(sk.ms / loop.ms).toFixed(2)}×`);
    console.log(
      `per tag: trustpin ${(one.ms / N).toFixed(1)} ms (batched), ${(loop.ms / N).toFixed(1)} ms (process each); skopeo ${(sk.ms / N).toFixed(1)} ms`,
    );
  } finally {
    await reg.stop();
  }
}

function check(lines: string[], want: string, who: string): void {
  const bad = lines.filter((l) => l !== want);
  if (lines.length !== N || bad.length)
    throw new Error(`${who} returned unexpected digests: ${bad.slice(0, 3).join(', ')}`);
}
