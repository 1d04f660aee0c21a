// `trustpin diff --semantic` of two 512 MiB images that differ in one file (B is a rebuild: every mtime moved,
// one file changed) against `skopeo copy` + `umoci unpack` of both + `diff -r`, in one run, with this machine's
// gunzip throughput on the same layers as the floor any content diff has to pay.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import { createGunzip, createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { makeTempDir, removeDir, requireBinary, run } from '../test/harness/processes.js';
import { startRegistry } from '../test/harness/registry.js';
import { CLI as BUILT, ensureBuilt, exec, row, time } from './util.js';

const MiB = 1024 * 1024;
/** the CLI measured: dist's, or BENCH_CLI (a bundle of its own, which no concurrent `npm run build` removes mid-run) */
const CLI = process.env.BENCH_CLI ?? BUILT;
/**
 * BENCH_CLI_BEFORE: another bundle (an earlier commit's) timed in turn with CLI on the same images, run for run:
 * on a shared machine, interleaved runs compare two builds under the same load
 */
const BEFORE = process.env.BENCH_CLI_BEFORE;
const LAYERS = 4;
const LAYER_BYTES = 128 * MiB;
/** the one file B changes: layer 2, somewhere in the middle */
const CHANGED = { layer: 2, index: 300 };

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
}

/** Deterministic sizes (mulberry32): mostly small files, some large ones, like a real root file system. */
function* fileSizes(seed: number, total: number): Generator<number> {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  let left = total;
  while (left > 0) {
    const r = rnd();
    const size =
      r < 0.8
        ? 512 + Math.floor(rnd() * 64 * 1024)
        : r < 0.97
          ? 256 * 1024
          : 2 * MiB + Math.floor(rnd() * 6 * MiB);
    const n = Math.min(size, left);
    left -= n;
    yield n;
  }
}

/** Text-like content (base64 of random bytes, ~1.3:1 under gzip); files are slices of it, so A and B agree. */
const content = () => randomBytes(36 * MiB).toString('base64');

/** Stream one layer to blobs/sha256/<digest>: tar → (diff_id hash) → gzip → (digest hash) → file. */
async function writeLayer(
  blobs: string,
  n: number,
  mtime: Date,
  changed: boolean,
  content: Buffer,
): Promise<Desc & { diffId: string }> {
  const p = pack();
  const diff = createHash('sha256');
  const dig = createHash('sha256');
  let size = 0;
  const tmp = join(blobs, `tmp-${n}-${process.pid}`);
  const tap = (h: ReturnType<typeof createHash>, count: boolean) =>
    new Transform({
      transform(c: Buffer, _e, cb) {
        h.update(c);
        if (count) size += c.length;
        cb(null, c);
      },
    });
  const done = pipeline(
    p,
    tap(diff, false),
    createGzip({ level: 1 }),
    tap(dig, true),
    createWriteStream(tmp),
  );
  const entry = (header: Parameters<typeof p.entry>[0], body?: Buffer) =>
    new Promise<void>((res, rej) => {
      const cb = (e?: Error | null) => (e ? rej(e) : res());
      if (body) p.entry(header, body, cb);
      else p.entry(header, cb);
    });
  await entry({ name: `layer${n}/`, type: 'directory', mode: 0o755, mtime });
  let i = 0;
  let off = 0;
  for (const s of fileSizes(n + 1, LAYER_BYTES)) {
    if (i % 100 === 0) await entry({ name: `layer${n}/d${i / 100}/`, type: 'directory', mode: 0o755, mtime });
    let body = Buffer.from(content.subarray(off % (content.length - s), (off % (content.length - s)) + s));
    off += 7919 + s;
    if (changed && n === CHANGED.layer && i === CHANGED.index) {
      body = Buffer.from(body);
      body.write('TAMPERED', 0);
    }
    await entry({ name: `layer${n}/d${Math.floor(i / 100)}/f${i}`, size: s, mode: 0o644, mtime }, body);
    i++;
  }
  p.finalize();
  await done;
  const digest = `sha256:${dig.digest('hex')}`;
  await rename(tmp, join(blobs, digest.slice(7)));
  return {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest,
    size,
    diffId: `sha256:${diff.digest('hex')}`,
  };
}

async function writeJsonBlob(blobs: string, doc: unknown, mediaType: string): Promise<Desc> {
  const bytes = Buffer.from(JSON.stringify(doc));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobs, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/** Both images into one OCI layout, tags `a` and `b`; returns the layer blob paths for the gunzip floor. */
export async function generate(dir: string): Promise<string[]> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const pool = Buffer.from(content());
  const manifests: (Desc & { annotations: Record<string, string> })[] = [];
  const layerFiles: string[] = [];
  for (const [tag, when] of [
    ['a', new Date('2024-01-01T00:00:00Z')],
    ['b', new Date('2024-06-01T12:00:00Z')],
  ] as const) {
    const layers = [];
    for (let n = 0; n < LAYERS; n++) layers.push(await writeLayer(blobs, n, when, tag === 'b', pool));
    layerFiles.push(...layers.map((l) => join(blobs, l.digest.slice(7))));
    const config = await writeJsonBlob(
      blobs,
      {
        created: when.toISOString(),
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['/bin/true'] },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
        history: layers.map((_, i) => ({ created: when.toISOString(), created_by: `COPY layer${i} /` })),
      },
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = await writeJsonBlob(
      blobs,
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
      },
      'application/vnd.oci.image.manifest.v1+json',
    );
    manifests.push({ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } });
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  return layerFiles;
}

/**
 * gunzip every layer with node:zlib into a byte counter, `parallel` streams at once. `tuned` reads 1 MiB and
 * inflates into 1 MiB chunks (as trustpin does): node's defaults (64 KiB reads, 16 KiB chunks) cost a thread-pool round trip per
 * 16 KiB and are much slower here, so the tuned figure is this machine's real decompression limit. `hashed` adds
 * the SHA-256 work no verifying diff can skip: the blob's digest over the compressed bytes, and over the
 * decompressed ones the diff_id and the file bodies (about the same bytes again), on the thread that reads them.
 */
async function gunzipAll(files: string[], parallel: number, tuned: boolean, hashed = false): Promise<number> {
  let bytes = 0;
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const blob = createHash('sha256');
      const diffId = createHash('sha256');
      const bodies = createHash('sha256');
      await pipeline(
        createReadStream(f, tuned ? { highWaterMark: MiB } : {}),
        new Transform({
          transform(c: Buffer, _e, cb) {
            if (hashed) blob.update(c);
            cb(null, c);
          },
        }),
        createGunzip(tuned ? { chunkSize: MiB } : {}),
        new Writable({
          write(c: Buffer, _e, cb) {
            bytes += c.length;
            if (hashed) {
              diffId.update(c);
              bodies.update(c);
            }
            cb();
          },
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return bytes;
}

/**
 * The floor of a verifying diff laid out as trustpin's is: one thread per stream, each blob's SHA-256 first (read
 * from its file: nothing is inflated before the digest is proven), then the inflate with the diff_id and the file
 * bodies' SHA-256 over every decompressed byte. No download, no tar parse.
 */
const PROVEN_FLOOR = `const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync, createReadStream } = require('node:fs');
const { createGunzip } = require('node:zlib');
const MiB = 1 << 20;
(async () => {
  let bytes = 0;
  const buf = Buffer.allocUnsafe(MiB);
  for (const f of workerData) {
    const fd = openSync(f, 'r');
    const blob = createHash('sha256');
    for (let pos = 0, n; (n = readSync(fd, buf, 0, MiB, pos)) > 0; pos += n) blob.update(buf.subarray(0, n));
    closeSync(fd);
    blob.digest();
    const diffId = createHash('sha256');
    const bodies = createHash('sha256');
    await new Promise((res, rej) => {
      const g = createGunzip({ chunkSize: MiB });
      createReadStream(f, { highWaterMark: MiB }).pipe(g);
      g.on('data', (c) => { bytes += c.length; diffId.update(c); bodies.update(c); });
      g.once('end', res);
      g.once('error', rej);
    });
  }
  parentPort.postMessage(bytes);
})();`;

async function provenFloor(files: string[], streams: number): Promise<number> {
  const shares = Array.from({ length: streams }, (_, i) => files.filter((_, k) => k % streams === i));
  const counts = await Promise.all(
    shares.map(
      (share) =>
        new Promise<number>((res, rej) => {
          const w = new Worker(PROVEN_FLOOR, { eval: true, workerData: share });
          w.once('message', (n: number) => {
            res(n);
            void w.terminate();
          });
          w.once('error', rej);
        }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Report the process's CPU time (every thread: parser threads, the thread pool) on stderr as it exits. */
const CPU_PROBE = `data:text/javascript,process.on('exit',()=>{const u=process.resourceUsage();process.stderr.write('\\ncpu-ms '+Math.round((u.userCPUTime+u.systemCPUTime)/1000)+'\\n')})`;

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface TrustpinJson {
  files: { changed: { path: string }[]; counts: { compared: number } };
  layersRead: number;
}

/** One goal line: the measured ratio beside the bound it must not pass. */
const goal = (label: string, ratio: number, max: number) =>
  `  ${label.padEnd(46)} ${ratio.toFixed(2).padStart(6)}   goal ≤ ${max.toFixed(2)}   ${ratio <= max ? 'met' : 'NOT MET'}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** skopeo copy both images to an OCI layout, umoci unpack both, diff -r the root file systems. */
async function baselineRun(
  base: string,
  host: string,
  skopeo: string,
  umoci: string,
  tmp: string,
): Promise<{ total: number; steps: [string, number][]; lines: number }> {
  const steps: [string, number][] = [];
  const step = async (label: string, cmd: string, args: string[], ok = [0]) => {
    const t = await time(() => exec(cmd, args, { env: { TMPDIR: tmp } }));
    if (!ok.includes(t.value.code)) throw new Error(`${label}: exit ${t.value.code}: ${t.value.stderr}`);
    steps.push([label, t.ms]);
    return t.value;
  };
  for (const tag of ['a', 'b'])
    await step(`skopeo copy ${tag}`, skopeo, [
      'copy',
      '--insecure-policy',
      '--src-tls-verify=false',
      `docker://${host}/bench/app:${tag}`,
      `oci:${join(base, 'oci')}:${tag}`,
    ]);
  for (const tag of ['a', 'b'])
    await step(`umoci unpack ${tag}`, umoci, [
      'unpack',
      ...(process.getuid?.() === 0 ? [] : ['--rootless']),
      '--image',
      `${join(base, 'oci')}:${tag}`,
      join(base, tag),
    ]);
  const d = await step(
    'diff -r',
    'diff',
    ['-r', '-q', join(base, 'a', 'rootfs'), join(base, 'b', 'rootfs')],
    [1],
  );
  return { total: steps.reduce((s, [, ms]) => s + ms, 0), steps, lines: d.stdout.trim().split('\n').length };
}

export async function main(): Promise<void> {
  await ensureBuilt();
  const skopeo = requireBinary('skopeo', 'skopeo');
  const umoci = requireBinary('umoci', 'umoci');
  const work = await makeTempDir('bench-diff');
  const reg = await startRegistry({ mode: 'plain' });
  try {
    const src = join(work, 'src');
    const gen = await time(() => generate(src));
    const layerFiles = gen.value;
    let compressed = 0;
    for (const f of layerFiles) compressed += (await stat(f)).size;
    const push = (tag: string) =>
      run(
        skopeo,
        [
          'copy',
          '--insecure-policy',
          '--preserve-digests',
          '--dest-tls-verify=false',
          `oci:${src}:${tag}`,
          `docker://${reg.host}/bench/app:${tag}`,
        ],
        { timeoutMs: 600_000 },
      );
    await Promise.all([push('a'), push('b')]);
    const A = `${reg.host}/bench/app:a`;
    const B = `${reg.host}/bench/app:b`;

    const tpRuns: number[] = [];
    const tpCpu: number[] = [];
    const beforeRuns: number[] = [];
    const beforeCpu: number[] = [];
    let j: TrustpinJson | undefined;
    const diffRun = (cli: string) =>
      time(() =>
        exec(process.execPath, ['--import', CPU_PROBE, cli, '--json', 'diff', '--semantic', A, B], {
          env: { TMPDIR: work },
        }),
      );
    for (let r = 0; r < RUNS; r++) {
      if (BEFORE) {
        const t = await diffRun(BEFORE);
        if (t.value.code !== 1)
          throw new Error(`BENCH_CLI_BEFORE diff: exit ${t.value.code}: ${t.value.stderr}`);
        beforeRuns.push(t.ms);
        beforeCpu.push(Number(/cpu-ms (\d+)/.exec(t.value.stderr)?.[1] ?? Number.NaN));
      }
      const t = await diffRun(CLI);
      if (t.value.code !== 1)
        throw new Error(`trustpin diff: expected exit 1, got ${t.value.code}: ${t.value.stderr}`);
      // exit 1 is also what node gives an uncaught error (or a dist/ rebuilt by another session mid-run): say so
      try {
        j = JSON.parse(t.value.stdout) as TrustpinJson;
      } catch {
        throw new Error(`trustpin diff: exit 1 without a JSON verdict: ${t.value.stderr.slice(0, 2000)}`);
      }
      tpRuns.push(t.ms);
      tpCpu.push(Number(/cpu-ms (\d+)/.exec(t.value.stderr)?.[1] ?? Number.NaN));
    }
    const tp = { ms: median(tpRuns) };
    const found = j!.files.changed.map((c) => c.path).join(', ');

    // the baseline a user runs today, step by step, one after the other
    const base = join(work, 'baseline');
    const baseRuns: { total: number; steps: [string, number][]; lines: number }[] = [];
    for (let r = 0; r < RUNS; r++) {
      await rm(base, { recursive: true, force: true });
      await mkdir(base);
      baseRuns.push(await baselineRun(base, reg.host, skopeo, umoci, work));
    }
    const b = baseRuns.sort((x, y) => x.total - y.total)[Math.floor(RUNS / 2)]!;
    const baseline = b.total;
    const steps = b.steps;

    const cores = availableParallelism();
    // the bound is two gunzip streams (both images at once), whatever the core count
    const streams = 2;
    const floors = {
      plain: [] as number[],
      one: [] as number[],
      all: [] as number[],
      hashed: [] as number[],
      proven: [] as number[],
    };
    let raw = 0;
    for (let r = 0; r < RUNS; r++) {
      const one = await time(() => gunzipAll(layerFiles, 1, true));
      raw = one.value;
      floors.one.push(one.ms);
      floors.all.push((await time(() => gunzipAll(layerFiles, streams, true))).ms);
      floors.plain.push((await time(() => gunzipAll(layerFiles, 1, false))).ms);
      floors.hashed.push((await time(() => gunzipAll(layerFiles, streams, true, true))).ms);
      floors.proven.push((await time(() => provenFloor(layerFiles, streams))).ms);
    }
    const plain = median(floors.plain);
    const g1 = { ms: median(floors.one) };
    const gN = { ms: median(floors.all) };
    const gH = { ms: median(floors.hashed) };
    const gP = { ms: median(floors.proven) };
    const mbps = (bytes: number, ms: number) => `${((bytes / MiB / ms) * 1000).toFixed(0)} MiB/s`;

    console.log(
      `\nbench diff (median of ${RUNS}): two images of ${LAYERS} × ${LAYER_BYTES / MiB} MiB (uncompressed ${(raw / MiB).toFixed(0)} MiB in all, ${(compressed / MiB).toFixed(0)} MiB gzip), one file changed, every mtime moved`,
    );
    console.log(
      `generated and written as an OCI layout in ${(gen.ms / 1000).toFixed(1)} s; ${cores} cores\n`,
    );
    console.log(
      row(
        'trustpin diff --semantic (registry → verdict)',
        tp.ms,
        undefined,
        `found: ${found}; ${j!.files.counts.compared} paths; ${j!.layersRead} layers read`,
      ),
    );
    console.log(
      row(
        'skopeo copy ×2 + umoci unpack ×2 + diff -r',
        baseline,
        tp.ms,
        `found: ${b.lines} line(s) of diff -r -q`,
      ),
    );
    for (const [label, ms] of steps) console.log(row(`  ${label}`, ms));
    console.log(
      `trustpin runs: ${tpRuns.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s wall; ` +
        `${tpCpu.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s CPU (all threads)`,
    );
    if (BEFORE)
      console.log(
        `BENCH_CLI_BEFORE (${BEFORE}), interleaved: median ${(median(beforeRuns) / 1000).toFixed(2)} s; runs ` +
          `${beforeRuns.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s wall; ` +
          `${beforeCpu.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s CPU`,
      );
    console.log('');
    console.log(
      row(
        'gunzip, node:zlib defaults, 1 stream',
        plain,
        tp.ms,
        `${mbps(raw, plain)} (what an untuned Node reader gets)`,
      ),
    );
    console.log(row('gunzip floor, node:zlib tuned, 1 stream', g1.ms, tp.ms, mbps(raw, g1.ms)));
    console.log(row(`gunzip floor, node:zlib tuned, ${streams} streams`, gN.ms, tp.ms, mbps(raw, gN.ms)));
    console.log(
      row(
        `  + the SHA-256 a verifying diff must do, ${streams} streams`,
        gH.ms,
        tp.ms,
        `${mbps(raw, gH.ms)} (blob digest, diff_id, file bodies; no download, no parse)`,
      ),
    );
    console.log(
      row(
        `  + the same, blob proven first, one thread per stream`,
        gP.ms,
        tp.ms,
        `${mbps(raw, gP.ms)} (trustpin's layout: digest pass, then inflate + diff_id + bodies)`,
      ),
    );
    console.log(
      `\ntrustpin: ${mbps(raw, tp.ms)} of decompressed tar end to end (download, verify, gunzip, parse, hash); ` +
        `${(tp.ms / gN.ms).toFixed(2)}× the ${streams}-stream floor, ${(tp.ms / plain).toFixed(2)}× one default gunzip stream; ` +
        `${(baseline / tp.ms).toFixed(2)}× faster than the baseline`,
    );
    console.log('\ngoals (issue 17):');
    console.log(goal('trustpin / (skopeo ×2 + umoci ×2 + diff -r)', tp.ms / baseline, 0.3));
    console.log(goal(`trustpin / ${streams}-stream gunzip bound`, tp.ms / gN.ms, 1.2));
    console.log(
      `  (beside it, no goal: trustpin / gunzip + required hashing ${(tp.ms / gH.ms).toFixed(2)}; ` +
        `the bound + required hashing / the bound ${(gH.ms / gN.ms).toFixed(2)}, ` +
        `proven first on threads ${(gP.ms / gN.ms).toFixed(2)}; trustpin / that floor ${(tp.ms / gP.ms).toFixed(2)})`,
    );
    const leftovers = (await readdir(work)).filter((f) => f.startsWith('trustpin-'));
    if (leftovers.length) console.log(`WARNING: trustpin left temp files: ${leftovers.join(', ')}`);
  } finally {
    await reg.stop();
    await rm(join(work, 'baseline'), { recursive: true, force: true });
    await removeDir(work);
  }
}
