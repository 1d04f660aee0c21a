// `trustpin pull` (and `--unpack`) against `skopeo copy` (and `skopeo copy` + `umoci unpack`) on a generated
// 8 × 64 MiB image in the real registry, in one run; peak RSS (also with a 1 GiB layer); sha256/gunzip limits.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { makeTempDir, removeDir, requireBinary } from '../test/harness/processes.js';
import { startRegistry } from '../test/harness/registry.js';
import { CLI as BUILT, ensureBuilt, exec } from './util.js';

const MiB = 1024 * 1024;
/** the CLI measured: dist's, or BENCH_CLI (a bundle of its own, which no concurrent `npm run build` removes mid-run) */
const CLI = process.env.BENCH_CLI ?? BUILT;
const RUNS = 5;
const LIMITS = fileURLToPath(new URL('./limits.mjs', import.meta.url));

interface LayerSpec {
  randomFiles: number;
  randomSize: number;
  textFiles: number;
  textSize: number;
}

/** 64 MiB per layer: half random (incompressible) in 4 MiB files, half log-like text in 64 KiB files. */
export const SMALL: LayerSpec = { randomFiles: 8, randomSize: 4 * MiB, textFiles: 512, textSize: 64 * 1024 };
/** One 1 GiB layer for the RSS check: 512 MiB random in 16 MiB files, 512 MiB text. */
const BIG: LayerSpec = { randomFiles: 32, randomSize: 16 * MiB, textFiles: 8192, textSize: 64 * 1024 };

function textFile(size: number, seed: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const line = `2026-01-0${(seed % 9) + 1}T12:${String(i % 60).padStart(2, '0')}:00Z INFO req=${((seed * 7919 + i * 104729) >>> 0).toString(16)} path=/api/v1/items/${(i * 31 + seed) % 10007} status=${i % 17 === 0 ? 404 : 200} bytes=${(i * 131) % 65536}\n`;
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

interface BlobOut {
  digest: string;
  size: number;
  diffId?: string;
}

/** Stream one layer: tar → (sha256 = diff_id) → gzip → (sha256 = digest) → blobs/sha256/<hex>. */
async function writeLayer(dir: string, spec: LayerSpec, layer: number, level: number): Promise<BlobOut> {
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let size = 0;
  const tmp = join(dir, `layer-${layer}.tmp`);
  const p = pack();
  const tee = new PassThrough();
  tee.on('data', (c: Buffer) => tarHash.update(c));
  const counting = new PassThrough();
  counting.on('data', (c: Buffer) => {
    gzHash.update(c);
    size += c.length;
  });
  const done = pipeline(p, tee, createGzip({ level }), counting, createWriteStream(tmp));
  const add = (name: string, body?: Buffer, extra: Record<string, unknown> = {}) =>
    new Promise<void>((res, rej) => {
      const h = { name, mode: body ? 0o644 : 0o755, mtime: new Date(1.7e12), ...extra };
      if (body) p.entry({ ...h, size: body.length }, body, (e) => (e ? rej(e) : res()));
      else p.entry({ ...h, type: 'directory' }, (e) => (e ? rej(e) : res()));
    });
  const base = `layer${layer}`;
  await add(`${base}/`);
  await add(`${base}/bin/`);
  for (let i = 0; i < spec.randomFiles; i++)
    await add(`${base}/bin/blob${i}.bin`, randomBytes(spec.randomSize));
  for (let d = 0; d < spec.textFiles / 128; d++) {
    await add(`${base}/log${d}/`);
    for (let i = 0; i < 128; i++)
      await add(`${base}/log${d}/f${i}.log`, textFile(spec.textSize, layer * 100000 + d * 128 + i));
  }
  await add(`${base}/latest`, undefined, { type: 'symlink', linkname: 'log0/f0.log', mode: 0o777 });
  p.finalize();
  await done;
  const digest = `sha256:${gzHash.digest('hex')}`;
  await rename(tmp, join(dir, 'blobs', 'sha256', digest.slice(7)));
  return { digest, size, diffId: `sha256:${tarHash.digest('hex')}` };
}

async function writeJson(dir: string, doc: unknown): Promise<BlobOut & { bytes: Buffer }> {
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length, bytes };
}

/** An OCI layout with one image of `n` layers, written without holding a layer in memory. */
export async function generate(dir: string, spec: LayerSpec, n: number, level: number): Promise<BlobOut[]> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  // two at a time: gzip runs on the thread pool, so the two cores both compress
  const layers: BlobOut[] = [];
  for (let i = 0; i < n; i += 2)
    layers.push(
      ...(await Promise.all([i, i + 1].filter((j) => j < n).map((j) => writeLayer(dir, spec, j, level)))),
    );
  const config = await writeJson(dir, {
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  });
  const mt = 'application/vnd.oci.image.layer.v1.tar+gzip';
  const manifest = await writeJson(dir, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: config.digest,
      size: config.size,
    },
    layers: layers.map((l) => ({ mediaType: mt, digest: l.digest, size: l.size })),
  });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifest.digest,
          size: manifest.size,
          annotations: { 'org.opencontainers.image.ref.name': 'bench' },
        },
      ],
    }),
  );
  return layers;
}

/** Wall time, CPU time (user + system, all threads) and peak RSS of a command, from GNU time; stdout too. */
async function measure(
  cmd: string,
  args: string[],
  tmp: string,
): Promise<{ ms: number; cpuMs: number; rssMiB: number; stdout: string }> {
  const out = join(tmp, 'time.txt');
  // every tool starts from the same state: earlier runs' deletes and dirty pages flushed (not timed)
  await exec('sync', []);
  const t = performance.now();
  const r = await exec('/usr/bin/time', ['-f', '%U %S %M', '-o', out, cmd, ...args]);
  const ms = performance.now() - t;
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  const [user, sys, kib] = (await readFile(out, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number);
  return { ms, cpuMs: (user! + sys!) * 1000, rssMiB: kib! / 1024, stdout: r.stdout };
}

interface Phases {
  plan: number;
  download: number;
  prove: number;
  total: number;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** One figure from bench/limits.mjs, in a fresh process: the median of `runs`. */
async function limit(
  mode: string,
  args: string[],
  runs = 3,
): Promise<{ ms: number; mbps: number; bytes: number }> {
  const out: { ms: number; bytes: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await exec(process.execPath, [LIMITS, mode, ...args]);
    if (r.code !== 0) throw new Error(`limits ${mode} failed: ${r.stderr}`);
    out.push(JSON.parse(r.stdout));
  }
  const m = out.sort((a, b) => a.ms - b.ms)[Math.floor(out.length / 2)]!;
  return { ...m, mbps: m.bytes / 1e6 / (m.ms / 1000) };
}

/**
 * This machine's limits on the same blobs, each in a fresh process: one core's sha256, gunzip and gunzip+sha256
 * rates, and the floors of a pull's two phases — the download (parallel GETs from the same registry, sha256 on
 * arrival, nothing written) and the proofs (gunzip + sha256 on as many streams as there are cores).
 */
async function limits(dir: string, host: string, repo: string, layers: BlobOut[]) {
  const files = layers.map((l) => join(dir, 'blobs', 'sha256', l.digest.slice(7)));
  return {
    sha: await limit('sha', files),
    gunzip: await limit('gunzip', files),
    both: await limit('both', files),
    direct: await limit('direct', files),
    prove: await limit('prove', [String(availableParallelism()), ...files]),
    download: await limit(
      'download',
      layers.map((l) => `http://${host}/v2/${repo}/blobs/${l.digest}`),
    ),
  };
}

/** Push a generated layout's `bench` image to the registry, digests unchanged. */
async function push(skopeo: string, layout: string, ref: string): Promise<void> {
  const r = await exec(skopeo, [
    'copy',
    '--quiet',
    '--preserve-digests',
    '--dest-tls-verify=false',
    `oci:${layout}:bench`,
    `docker://${ref}`,
  ]);
  if (r.code !== 0) throw new Error(`skopeo copy to ${ref} failed: ${r.stderr}`);
}

export async function main(): Promise<void> {
  await ensureBuilt();
  const skopeo = requireBinary('skopeo', 'skopeo');
  const umoci = requireBinary('umoci', 'umoci');
  const reg = await startRegistry({ mode: 'plain' });
  const tmp = await makeTempDir('bench-pull');
  try {
    const src = join(tmp, 'src');
    let t = performance.now();
    const layers = await generate(src, SMALL, 8, 6);
    const compressed = layers.reduce((a, l) => a + l.size, 0);
    console.log(
      `generated 8 layers × 64 MiB (${(compressed / MiB).toFixed(0)} MiB gzip) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const ref = `${reg.host}/bench/pull:1`;
    t = performance.now();
    await push(skopeo, src, ref);
    console.log(`pushed to ${ref} in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);

    const tp = {
      pull: [] as number[],
      unpack: [] as number[],
      rss: [] as number[],
      phases: [] as Phases[],
      cpu: [] as number[],
    };
    const sk = { copy: [] as number[], unpack: [] as number[], cpu: [] as number[], umoci: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      const d = join(tmp, `run${i}`);
      const r1 = await measure(
        process.execPath,
        [CLI, '--json', 'pull', ref, '--dest', `oci:${d}/tp:1`],
        tmp,
      );
      tp.phases.push(JSON.parse(r1.stdout).seconds);
      const s1 = await measure(
        skopeo,
        ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${d}/sk:1`],
        tmp,
      );
      const r2 = await measure(
        process.execPath,
        [CLI, '--quiet', 'pull', ref, '--dest', `oci:${d}/tpu:1`, '--unpack', `${d}/tpu-rootfs`],
        tmp,
      );
      const s2a = await measure(
        skopeo,
        ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${d}/sku:1`],
        tmp,
      );
      const s2b = await measure(umoci, ['unpack', '--image', `${d}/sku:1`, `${d}/sku-bundle`], tmp);
      tp.pull.push(r1.ms);
      tp.unpack.push(r2.ms);
      tp.rss.push(r1.rssMiB, r2.rssMiB);
      tp.cpu.push(r1.cpuMs);
      sk.copy.push(s1.ms);
      sk.cpu.push(s1.cpuMs);
      sk.unpack.push(s2a.ms + s2b.ms);
      sk.umoci.push(s2b.ms);
      await rm(d, { recursive: true, force: true });
    }
    const lim = await limits(src, reg.host, 'bench/pull', layers);
    // the proofs' floor: the faster of the stream API on every core and the allocation-free engine split evenly
    const cores = availableParallelism();
    const floor = { download: lim.download.ms, prove: Math.min(lim.prove.ms, lim.direct.ms / cores) };
    const startup: number[] = [];
    for (let i = 0; i < RUNS; i++)
      startup.push((await measure(process.execPath, [CLI, '--version'], tmp)).ms);
    const uncompressed = lim.gunzip.bytes;

    t = performance.now();
    const big = join(tmp, 'big');
    const bigLayers = await generate(big, BIG, 1, 1);
    const bigRef = `${reg.host}/bench/pull-big:1`;
    await push(skopeo, big, bigRef);
    const bigRun = await measure(
      process.execPath,
      [CLI, '--quiet', 'pull', bigRef, '--dest', `oci:${tmp}/bigdst:1`, '--unpack', `${tmp}/bigroot`],
      tmp,
    );
    const bigSize = (await stat(join(big, 'blobs', 'sha256', bigLayers[0]!.digest.slice(7)))).size;
    console.log(
      `(1 GiB layer generated and pushed in ${((performance.now() - t) / 1000 - bigRun.ms / 1000).toFixed(1)} s)\n`,
    );

    const row = (label: string, ms: number, extra = '') =>
      console.log(`${label.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(7)} s${extra ? `  ${extra}` : ''}`);
    const mb = (b: number, ms: number) => `${(b / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
    const [p1, c1, p2, c2] = [median(tp.pull), median(sk.copy), median(tp.unpack), median(sk.unpack)];
    console.log(
      `bench pull: ${ref}, 8 layers, ${(compressed / MiB).toFixed(0)} MiB gzip → ${(uncompressed / MiB).toFixed(0)} MiB tar; median of ${RUNS}\n`,
    );
    row(
      'trustpin pull (verify + diff_ids)',
      p1,
      `${mb(compressed, p1)} compressed, ${mb(uncompressed, p1)} uncompressed`,
    );
    row('skopeo copy docker:// → oci:', c1, mb(compressed, c1));
    row('trustpin pull --unpack', p2);
    row('skopeo copy + umoci unpack', c2);
    const verdict = (x: number, goal: number) =>
      `${x.toFixed(2)} (goal ≤ ${goal.toFixed(1)}: ${x <= goal ? 'met' : 'not met'})`;
    console.log(
      `\nratio trustpin/skopeo: pull ${verdict(p1 / c1, 1.0)}, pull --unpack / (skopeo copy + umoci unpack) ${verdict(p2 / c2, 0.4)}`,
    );
    console.log(
      `CPU time (user + system, every thread), median: trustpin pull ${(median(tp.cpu) / 1000).toFixed(2)} s, skopeo copy ${(median(sk.cpu) / 1000).toFixed(2)} s (on a busy machine the wall-clock ratio follows this one)`,
    );
    const bigOk = bigRun.rssMiB <= 200 ? 'met' : 'not met';
    console.log(
      `peak RSS trustpin: ${bigRun.rssMiB.toFixed(0)} MiB pulling+unpacking one 1 GiB layer (${(bigSize / MiB).toFixed(0)} MiB gzip) in ${(bigRun.ms / 1000).toFixed(1)} s (goal ≤ 200 MiB: ${bigOk}); ${Math.max(...tp.rss).toFixed(0)} MiB at most on the 64 MiB layers`,
    );
    const ph = tp.phases.sort((a, b) => a.total - b.total)[Math.floor(tp.phases.length / 2)]!;
    console.log(
      `\ntrustpin pull, phases of the median run: start-up ${(median(startup) / 1000).toFixed(2)} s (node + bundle, --version), plan ${ph.plan} s, download ${ph.download} s (${mb(compressed, ph.download * 1000)}), diff_id proofs ${ph.prove} s (${mb(uncompressed, ph.prove * 1000)} of tar, first start to last end); the two overlap: a layer is proven while later blobs download`,
    );
    console.log(
      `this machine, one core, same bytes in memory (fresh process): sha256 ${lim.sha.mbps.toFixed(0)} MB/s; gunzip ${lim.gunzip.mbps.toFixed(0)} MB/s of tar; gunzip+sha256 ${lim.both.mbps.toFixed(0)} MB/s of tar (stream API), ${lim.direct.mbps.toFixed(0)} MB/s (zlib handle, reused buffers: trustpin's proof worker)`,
    );
    console.log(
      `  download: ${((compressed / 1e6 / ph.download / lim.sha.mbps) * 100).toFixed(0)}% of one core's sha256 rate; proofs: ${((uncompressed / 1e6 / ph.prove / lim.direct.mbps) * 100).toFixed(0)}% of one core's allocation-free gunzip+sha256 rate (${cores} cores)`,
    );
    const su = median(startup) / 1000;
    const overlapped = su + Math.max(floor.download, floor.prove) / 1000;
    const serial = su + (floor.download + floor.prove) / 1000;
    console.log(
      `\nfloors here (${cores} cores), same blobs, fresh processes: start-up ${su.toFixed(2)} s; a bare Node download (parallel GETs, sha256, nothing written) ${(floor.download / 1000).toFixed(2)} s; gunzip+sha256 of every layer from memory on ${cores} cores ${(floor.prove / 1000).toFixed(2)} s`,
    );
    console.log(
      `  pull: with every proof overlapping the downloads, no pull takes less than start-up + the longer floor = ${overlapped.toFixed(2)} s = ${((overlapped * 1000) / c1).toFixed(2)}× skopeo's time (goal ≤ 1.0×); proving only after the last download, start-up + both = ${serial.toFixed(2)} s = ${((serial * 1000) / c1).toFixed(2)}×; trustpin pull took ${(p1 / 1000).toFixed(2)} s = ${(p1 / 1000 / overlapped).toFixed(2)}× the overlapped floor`,
    );
    console.log(
      `  pull --unpack: goal ≤ 0.4 × ${(c2 / 1000).toFixed(2)} s = ${((0.4 * c2) / 1000).toFixed(2)} s (skopeo copy ${(c1 / 1000).toFixed(2)} s + umoci unpack ${(median(sk.umoci) / 1000).toFixed(2)} s); trustpin's floor is its own pull's, ${(p1 / 1000).toFixed(2)} s, plus writing the files`,
    );
  } finally {
    await reg.stop();
    await removeDir(tmp);
  }
}
