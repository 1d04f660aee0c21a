// Pin 200 distinct references across 40 files (Dockerfiles, compose, Kubernetes, Helm values, workflows) on the
// real registry: `trustpin pin DIR` (one process: find, resolve each reference once, rewrite) against a loop of
// `skopeo inspect --format '{{.Digest}}'` over the same 200 references, in the same run. Goal: ≤ 0.1 of skopeo.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedRegistry } from '../test/harness/images.js';
import { makeTempDir, requireBinary } from '../test/harness/processes.js';
import { startRegistry } from '../test/harness/registry.js';
import { CLI, ensureBuilt, exec, row, tagMany, time } from './util.js';

const FILES = 40;
const PER_FILE = 5;
const N = FILES * PER_FILE;
const GOAL = 0.1;

/** File `i` of the set, holding references `refs` (one of five formats in turn). */
function file(i: number, refs: string[]): { path: string; text: string } {
  switch (i % 5) {
    case 0:
      return {
        path: `svc${i}/Dockerfile`,
        text: refs.map((r, k) => `FROM --platform=$BUILDPLATFORM ${r} AS s${k}\nRUN true\n`).join('\n'),
      };
    case 1:
      return {
        path: `svc${i}/compose.yaml`,
        text: `services:\n${refs.map((r, k) => `  s${k}:\n    image: ${r}\n    restart: always\n`).join('')}`,
      };
    case 2:
      return {
        path: `k8s/deploy${i}.yaml`,
        text: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d${i}\nspec:\n  template:\n    spec:\n      containers:\n${refs.map((r, k) => `        - name: c${k}\n          image: "${r}"\n`).join('')}`,
      };
    case 3: {
      const body = refs
        .map((r, k) => {
          const [repo, tag] = [r.slice(0, r.lastIndexOf(':')), r.slice(r.lastIndexOf(':') + 1)];
          const slash = repo.indexOf('/');
          return `c${k}:\n  image:\n    registry: ${repo.slice(0, slash)}\n    repository: ${repo.slice(slash + 1)}\n    tag: "${tag}"\n`;
        })
        .join('');
      return { path: `chart${i}/values.yaml`, text: body };
    }
    default:
      return {
        path: `.github/workflows/ci${i}.yml`,
        text: `on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: ${refs[0]}\n    services:\n${refs
          .slice(1)
          .map((r, k) => `      s${k}:\n        image: ${r}\n`)
          .join('')}    steps:\n      - run: true\n`,
      };
  }
}

export async function main(): Promise<void> {
  await ensureBuilt();
  const skopeo = requireBinary('skopeo', 'skopeo');
  const reg = await startRegistry({ mode: 'plain' });
  try {
    const seeded = await seedRegistry(reg);
    const idx = seeded.demoApp;
    const refs = await tagMany(reg, 'demo/app', idx, 'pin', N);
    const dir = await makeTempDir('tp-bench-pin');
    const written: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const f = file(i, refs.slice(i * PER_FILE, (i + 1) * PER_FILE));
      await mkdir(join(dir, f.path, '..'), { recursive: true });
      await writeFile(join(dir, f.path), f.text);
      written.push(join(dir, f.path));
    }

    const pin = await time(() => exec(process.execPath, [CLI, 'pin', '--json', dir]));
    const report = JSON.parse(pin.value.stdout) as { counts: Record<string, number> };
    if (report.counts.pinned !== N)
      throw new Error(`trustpin pinned ${report.counts.pinned} of ${N}: ${pin.value.stderr}`);
    let found = 0;
    for (const p of written) found += (await readFile(p, 'utf8')).split(idx.digest).length - 1;
    if (found !== N) throw new Error(`the files hold ${found} pins of ${idx.digest}, not ${N}`);
    const check = await time(() => exec(process.execPath, [CLI, 'pin', '--check=stale', dir]));
    // the floor: the same 200 manifest GETs from this process, 8 at a time, no verification, no process start
    const floor = await time(async () => {
      const queue = [...refs];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let r = queue.shift(); r; r = queue.shift()) {
            const tag = r.slice(r.lastIndexOf(':') + 1);
            const res = await fetch(`${reg.url}/v2/demo/app/manifests/${tag}`, {
              headers: { accept: idx.mediaType },
            });
            await res.arrayBuffer();
          }
        }),
      );
    });
    const start = await time(() => exec(process.execPath, [CLI, '--version']));

    const sk = await time(async () => {
      const out: string[] = [];
      for (const r of refs)
        out.push(
          (
            await exec(skopeo, ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${r}`])
          ).stdout.trim(),
        );
      return out;
    });
    if (sk.value.some((d) => d !== idx.digest)) throw new Error('skopeo returned another digest');

    console.log(
      `\nbench pin: ${N} distinct references in ${FILES} files (5 formats) on docker-registry ${reg.host} (plain HTTP, loopback)\n`,
    );
    console.log(row('trustpin pin DIR (find, resolve, rewrite)', pin.ms));
    console.log(row('trustpin pin --check=stale DIR (resolve again)', check.ms));
    console.log(row(`floor: ${N} manifest GETs (fetch, 8 at a time)`, floor.ms));
    console.log(row('floor: node + trustpin --version', start.ms));
    console.log(row(`skopeo inspect --format {{.Digest}} × ${N}`, sk.ms, pin.ms));
    const ratio = pin.ms / sk.ms;
    console.log(
      `\nratio trustpin / skopeo: ${ratio.toFixed(3)} (goal ≤ ${GOAL}: ${ratio <= GOAL ? 'met' : 'NOT met'}); per reference: trustpin ${(pin.ms / N).toFixed(2)} ms, skopeo ${(sk.ms / N).toFixed(1)} ms`,
    );
  } finally {
    await reg.stop();
  }
}
