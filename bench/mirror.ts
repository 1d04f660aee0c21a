// A pull of an 8 × 4 MiB (random, incompressible) cosign-signed image by real containerd 1.6 (`ctr images pull`)
// through `trustpin serve mirror` (the built CLI, the mirror as the only host) against the same pull straight from
// the real docker-registry, in one run: cold (the policy decision, cosign verification, every blob hashed), warm
// (the verdict cache warm, containerd refetching everything) and warm with `--cache DIR`. Goal: ≤ 1.3× direct.
import { createCipheriv } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage } from '../src/testing/index.js';
import { mirrorHostsDir, startContainerd } from '../test/harness/containerd.js';
import { cosignKey, pushKeyedSignature } from '../test/harness/cosign.js';
import { freePort } from '../test/harness/ports.js';
import {
  type ManagedProcess,
  makeTempDir,
  removeDir,
  requireBinary,
  startProcess,
} from '../test/harness/processes.js';
import { pushArtifacts } from '../test/harness/push.js';
import { startRegistry } from '../test/harness/registry.js';
import { CLI, ensureBuilt, exec, row, time } from './util.js';

const MiB = 1024 * 1024;
const LAYERS = 8;
/** MiB per layer; BENCH_LAYER_MIB overrides (ctr's progress display ticks every 100 ms: its times are quantized) */
const LAYER_SIZE = Number(process.env.BENCH_LAYER_MIB ?? 4) * MiB;
/** runs of each variant (median reported); BENCH_RUNS overrides */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const GOAL = 1.3;
const ORIGIN = 'origin.test';
const REPO = 'bench/mirror';

type Mode = 'pull' | 'fetch';

/** `n` bytes of seeded, incompressible data (AES-256-CTR keystream of a fixed key). */
function seeded(n: number, seed: number): Buffer {
  const key = Buffer.alloc(32, seed);
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function binary(name: string): string | undefined {
  try {
    return requireBinary(name, 'containerd');
  } catch {
    return undefined;
  }
}

interface LogLine {
  method: string;
  path: string;
  ms: number;
  decision?: string;
}

/** The mirror's JSON request lines from the `skip`th on. */
async function mirrorLines(file: string, skip: number): Promise<LogLine[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.method !== '-')
    .slice(skip);
}

/** Per-request times of one pull: the manifest requests, then the blobs' median and max. */
function summary(lines: LogLine[]): string {
  const blobs = lines.filter((l) => l.path.includes('/blobs/')).map((l) => l.ms);
  const manifests = lines
    .filter((l) => l.path.includes('/manifests/'))
    .map((l) => `${l.method} manifest ${l.ms}`);
  return `${manifests.join(', ')}, ${blobs.length} blobs median ${median(blobs)} max ${Math.max(...blobs)}`;
}

/** Mirror's resident set, from /proc. */
async function rssMiB(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export async function main(): Promise<void> {
  const containerd = binary('containerd');
  const ctr = binary('ctr');
  if (!containerd || !ctr) {
    console.log('bench mirror: skipped, containerd not installed (apt-get install -y containerd)');
    return;
  }
  if (process.getuid?.() !== 0) {
    console.log('bench mirror: skipped, containerd needs root');
    return;
  }
  await ensureBuilt();
  const dir = await makeTempDir('bench-mirror');
  const reg = await startRegistry({ mode: 'plain' });
  const procs: ManagedProcess[] = [];
  try {
    // ---- the image: 8 layers of 4 MiB random data, signed for the origin's name ----
    const image = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      layers: Array.from({ length: LAYERS }, (_, i) => [
        { path: `layer${i}/`, type: 'directory' as const },
        { path: `layer${i}/data.bin`, content: seeded(LAYER_SIZE, i + 1) },
      ]),
    });
    await pushArtifacts(reg.host, REPO, {
      blobs: [image.config.bytes, ...image.layers.map((l) => l.bytes)],
      manifests: [{ bytes: image.manifest.bytes, mediaType: image.manifest.mediaType, tag: '1.0' }],
    });
    const total = image.layers.reduce((n, l) => n + l.size, 0) + image.config.size;
    const key = cosignKey('p256');
    await writeFile(join(dir, 'cosign.pub'), key.pem);
    await pushKeyedSignature(reg.host, REPO, image.manifest.digest, `${ORIGIN}/${REPO}`, key);
    // a small second image, signed too: pulled first through a fresh mirror to warm the process (JIT, upstream
    // connections) without warming the big image's verdict
    const small = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [0, 1].map((i) => [{ path: `w${i}.bin`, content: seeded(MiB, 100 + i) }]),
    });
    await pushArtifacts(reg.host, REPO, {
      blobs: [small.config.bytes, ...small.layers.map((l) => l.bytes)],
      manifests: [{ bytes: small.manifest.bytes, mediaType: small.manifest.mediaType, tag: 'warmup' }],
    });
    await pushKeyedSignature(reg.host, REPO, small.manifest.digest, `${ORIGIN}/${REPO}`, key);
    const policy = join(dir, 'policy.yaml');
    await writeFile(
      policy,
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny, digest: resolve }
trustRoots:
  team-key: { publicKey: ${JSON.stringify(join(dir, 'cosign.pub'))} }
rules:
  - name: signed-bench
    scope: "${ORIGIN}/${REPO}"
    require:
      - cosign: { trustRoot: team-key, tlog: optional }
`,
    );

    // ---- containerd: its own root, state and socket, no CRI ----
    const { sock, daemon } = await startContainerd(containerd, join(dir, 'containerd'));
    procs.push(daemon);

    const ctrRun = async (args: string[]): Promise<string> => {
      const r = await exec(ctr, ['--address', sock, ...args]);
      if (r.code !== 0) throw new Error(`ctr ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      return r.stdout;
    };
    /** Remove the image and make sure no content or snapshot is left, so the next pull fetches everything. */
    const clean = async (ref: string): Promise<void> => {
      if ((await ctrRun(['images', 'ls', '-q'])).split('\n').includes(ref))
        await ctrRun(['images', 'rm', '--sync', ref]);
      let left = (await ctrRun(['content', 'ls', '-q'])).split('\n').filter(Boolean);
      if (left.length > 0) await ctrRun(['content', 'rm', ...left]);
      left = (await ctrRun(['content', 'ls', '-q'])).split('\n').filter(Boolean);
      if (left.length > 0) throw new Error(`content left in containerd: ${left.join(', ')}`);
      const snaps = (await ctrRun(['snapshots', 'ls'])).split('\n').slice(1).filter(Boolean);
      if (snaps.length > 0) throw new Error(`snapshots left in containerd: ${snaps.join('; ')}`);
    };
    /**
     * One timed transfer from an empty containerd: `pull` is `ctr images pull` (fetch + unpack into overlayfs),
     * `fetch` is `ctr content fetch` (the transfer alone, no unpack). Cleans up after itself.
     */
    const pull = async (ref: string, mode: Mode, hosts?: string, layers = image.layers): Promise<number> => {
      await exec('sync', []);
      const args = [
        ...(mode === 'pull' ? ['images', 'pull'] : ['content', 'fetch']),
        '--plain-http',
        '--platform',
        'linux/amd64',
      ];
      if (hosts) args.push('--hosts-dir', hosts);
      const { ms } = await time(() => ctrRun([...args, ref]));
      const got = await ctrRun(['content', 'ls', '-q']);
      for (const l of layers)
        if (!got.includes(l.digest)) throw new Error(`${mode} of ${ref} did not store ${l.digest}`);
      await clean(ref);
      return ms;
    };

    /** Start a mirror (fresh process: its verdict cache empty); `cache` for --cache DIR. */
    const startMirror = async (name: string, cache?: string) => {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      const args = [CLI, 'serve', 'mirror', '--policy', policy, '--listen', host];
      args.push('--upstream', `${ORIGIN}=${reg.url}`);
      if (cache) args.push('--cache', cache);
      const m = startProcess({
        name,
        command: process.execPath,
        args,
        env: { ...process.env, TRUSTPIN_HOME: join(dir, `home-${name}`) },
        logFile: join(dir, `${name}.log`),
      });
      procs.push(m);
      for (let i = 0; ; i++) {
        const ok = await fetch(`http://${host}/v2/`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) break;
        if (i > 300 || m.exitStatus()) throw new Error(`${name} did not start:\n${m.logTail()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const hosts = await mirrorHostsDir(join(dir, `hosts-${name}`), ORIGIN, host);
      return { m, hosts };
    };

    const directRef = `${reg.host}/${REPO}:1.0`;
    const mirrorRef = `${ORIGIN}/${REPO}:1.0`;
    const fmt = (xs: number[]) => `[${xs.map((x) => x.toFixed(0)).join(', ')}]`;
    console.log(
      `${LAYERS} × ${LAYER_SIZE / MiB} MiB random layers (${(total / MiB).toFixed(1)} MiB), median of ${RUNS}:`,
    );
    let worst = 0;
    for (const mode of ['pull', 'fetch'] as const) {
      const t = {
        direct: [] as number[],
        cold: [] as number[],
        warm: [] as number[],
        warmProc: [] as number[],
      };
      const c = { cold: [] as number[], warm: [] as number[] };
      const decision: number[] = [];
      let trace = '';
      let rss = Number.NaN;
      let rssCache = Number.NaN;
      // one untimed transfer so the registry's storage and containerd are warmed up alike for everyone
      await pull(directRef, mode);
      for (let r = 0; r < RUNS; r++) {
        t.direct.push(await pull(directRef, mode));
        {
          const { m, hosts } = await startMirror(`${mode}-mirror-${r}`);
          t.cold.push(await pull(mirrorRef, mode, hosts));
          // the cold pull's tag resolution: where the policy decision and cosign verification happen
          const cold = await mirrorLines(m.logFile, 0);
          const tag = cold.find((l) => l.path.includes('/manifests/1.0'));
          if (tag?.decision !== 'pass')
            throw new Error(`the mirror did not pass the image: ${JSON.stringify(tag)}`);
          decision.push(tag.ms);
          t.warm.push(await pull(mirrorRef, mode, hosts));
          if (r === 0)
            trace = `cold ${summary(cold)}; warm ${summary(await mirrorLines(m.logFile, cold.length))}`;
          rss = await rssMiB(m.pid);
          await m.stop();
        }
        {
          const { m, hosts } = await startMirror(`${mode}-mirror-warmed-${r}`);
          await pull(`${ORIGIN}/${REPO}:warmup`, mode, hosts, small.layers);
          t.warmProc.push(await pull(mirrorRef, mode, hosts));
          await m.stop();
        }
        {
          const { m, hosts } = await startMirror(
            `${mode}-mirror-cache-${r}`,
            join(dir, `cache-${mode}-${r}`),
          );
          c.cold.push(await pull(mirrorRef, mode, hosts));
          c.warm.push(await pull(mirrorRef, mode, hosts));
          rssCache = await rssMiB(m.pid);
          await m.stop();
        }
      }
      const d = median(t.direct);
      const line = (label: string, xs: number[]) =>
        console.log(`${row(label, median(xs))}  ×${(median(xs) / d).toFixed(2)} of direct  runs ${fmt(xs)}`);
      console.log(
        mode === 'pull' ? 'ctr images pull (fetch + unpack):' : 'ctr content fetch (transfer only):',
      );
      console.log(`${row('  direct from the registry', d)}  runs ${fmt(t.direct)}`);
      line('  via mirror, cold (decision + cosign + hashing)', t.cold);
      line('  via mirror, warm verdict cache', t.warm);
      line('  via mirror, cold verdict, process warmed up', t.warmProc);
      line('  via mirror --cache, cold (filling the cache)', c.cold);
      line('  via mirror --cache, warm (served from DIR)', c.warm);
      console.log(
        `  cold tag resolution in the mirror (decision): median ${median(decision)} ms ${fmt(decision)}`,
      );
      console.log(`  mirror requests (cold, run 1, ms): ${trace}`);
      console.log(
        `  mirror RSS at the end: ${rss.toFixed(0)} MiB (no cache), ${rssCache.toFixed(0)} MiB (--cache)`,
      );
      if (mode === 'pull') worst = Math.max(...[t.cold, t.warm, c.warm].map((xs) => median(xs) / d));
    }
    console.log(
      `goal: ≤ ${GOAL}× the direct ctr images pull, verifying everything: ${worst <= GOAL ? 'met' : 'NOT met'} (worst ×${worst.toFixed(2)})`,
    );
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await reg.stop();
    await removeDir(dir);
  }
}
