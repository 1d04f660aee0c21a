// Shared pieces of the fault tests: images pushed to the real registry over its HTTP API, and trustpin run as a
// child process that a test can SIGKILL (at a time, or through crash-hook.mjs just before its Nth write).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { allBlobs, type Blob, type BuiltImage, buildImage } from '../../src/demo/build.js';
import type { RunningRegistry } from '../harness/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOOK = resolve(root, 'test/faults/crash-hook.mjs');

let bundled: Promise<string> | undefined;
/**
 * The CLI of the current source, bundled as `npm run build` bundles dist/trustpin.mjs (once per test process):
 * the kill loops start it dozens of times, and a bundle starts in a fraction of tsx's time.
 */
export function cliBundle(): Promise<string> {
  bundled ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'tp-faults-cli-'));
    process.on('exit', () => rmSync(out, { recursive: true, force: true }));
    await build({
      entryPoints: { trustpin: resolve(root, 'src/cli/main.ts') },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outdir: out,
      outExtension: { '.js': '.mjs' },
      banner: {
        js: "import { createRequire as __trustpinRequire } from 'node:module';\nconst require = __trustpinRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
    return join(out, 'trustpin.mjs');
  })();
  return bundled;
}

/** Deterministic bytes that gzip cannot shrink, so a layer is as big on the wire as on disk. */
export function noise(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** A linux/amd64 image with `layers` layers of about `bytes` each (a few files, a directory, a symlink). */
export function noisyImage(layers: number, bytes: number, seed = 1): Promise<BuiltImage> {
  return buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    layers: Array.from({ length: layers }, (_, i) => [
      { path: `l${i}`, type: 'directory' as const },
      { path: `l${i}/a.bin`, content: noise(bytes >> 1, seed * 100 + i) },
      { path: `l${i}/b.bin`, content: noise(bytes >> 1, seed * 100 + i + 50) },
      { path: `l${i}/link`, type: 'symlink' as const, linkname: 'a.bin' },
    ]),
  });
}

async function ok(r: Response, what: string): Promise<Response> {
  if (!r.ok) throw new Error(`${what}: ${r.status} ${await r.text()}`);
  return r;
}

/** Push blobs (monolithic uploads) and then the manifest under `tag`, as any client would. */
export async function pushImage(
  reg: RunningRegistry,
  repo: string,
  tag: string,
  img: BuiltImage,
): Promise<void> {
  const put = async (b: Blob) => {
    const start = await ok(await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' }), 'upload');
    const loc = new URL(start.headers.get('location') ?? '', reg.url);
    loc.searchParams.set('digest', b.digest);
    await ok(
      await fetch(loc, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(b.bytes),
      }),
      `blob ${b.digest}`,
    );
  };
  for (const b of allBlobs(img).filter((x) => x !== img.manifest)) await put(b);
  await ok(
    await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      headers: { 'content-type': img.manifest.mediaType },
      body: new Uint8Array(img.manifest.bytes),
    }),
    'manifest',
  );
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  /** SIGKILL the child this long after it started */
  killAfterMs?: number;
  /** SIGKILL the child (from inside, crash-hook.ts) just before its Nth write under `crashUnder` */
  crashAt?: number;
  crashUnder?: string;
  /** where crash-hook.ts logs the writes it counted */
  crashLog?: string;
  /** a bound on the whole run: the child is killed and the result says so (code null, signal SIGKILL) */
  timeoutMs?: number;
}

/** Run the trustpin CLI (bundled from the current source) as a child process. */
export async function trustpinChild(args: string[], o: ChildOptions = {}): Promise<ChildResult> {
  const cli = await cliBundle();
  const hook = o.crashUnder !== undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...o.env };
  if (hook) {
    env.TRUSTPIN_TEST_CRASH_UNDER = o.crashUnder;
    env.TRUSTPIN_TEST_CRASH_AT = String(o.crashAt ?? 0);
    if (o.crashLog) env.TRUSTPIN_TEST_CRASH_LOG = o.crashLog;
  }
  const started = Date.now();
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [...(hook ? ['--import', HOOK] : []), cli, ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    const timers = [o.killAfterMs, o.timeoutMs]
      .filter((t): t is number => t !== undefined)
      .map((t) => setTimeout(() => p.kill('SIGKILL'), t));
    p.on('error', rej);
    p.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      res({
        code,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        ms: Date.now() - started,
      });
    });
  });
}

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(join(dir, rel));
  } catch {
    return out;
  }
  for (const e of entries.sort()) {
    const r = rel ? `${rel}/${e}` : e;
    const st = statSync(join(dir, r), { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...listFiles(dir, r));
    else out.push(r);
  }
  return out;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
