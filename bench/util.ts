// Shared bits for benchmarks: timing, running commands, the built CLI.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage } from '../src/demo/build.js';
import { pushArtifacts } from '../test/harness/push.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = resolve(ROOT, 'dist/trustpin.mjs');

/** Build the CLI, unless BENCH_NO_BUILD=1 (several benches at once must not rebuild dist under each other). */
export async function ensureBuilt(): Promise<void> {
  if (process.env.BENCH_NO_BUILD !== '1') await exec('npm', ['run', 'build'], { cwd: ROOT });
  if (!existsSync(CLI)) throw new Error(`build did not produce ${CLI}`);
}

export function exec(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

export async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

export function row(label: string, ms: number, base?: number, extra = ''): string {
  const ratio = base ? `  ×${(ms / base).toFixed(2)} of trustpin` : '';
  return `${label.padEnd(48)} ${ms.toFixed(0).padStart(7)} ms${ratio}${extra ? `  ${extra}` : ''}`;
}

/** PUT `manifest` under `n` tags `PREFIX-0…` of `repo` on a plain-HTTP registry; the references, in order. */
export async function tagMany(
  reg: { url: string; host: string },
  repo: string,
  manifest: { bytes: Buffer; mediaType: string },
  prefix: string,
  n: number,
): Promise<string[]> {
  const refs: string[] = [];
  for (let i = 0; i < n; i++) {
    const tag = `${prefix}-${i}`;
    const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      headers: { 'content-type': manifest.mediaType },
      body: new Uint8Array(manifest.bytes),
    });
    if (res.status !== 201) throw new Error(`PUT ${repo}:${tag}: ${res.status}`);
    refs.push(`${reg.host}/${repo}:${tag}`);
  }
  return refs;
}

/** One small image (one layer naming `seed`) pushed to `repository:tag` on a plain-HTTP registry; its manifest. */
export async function pushImage(host: string, repository: string, tag: string, seed: string) {
  const img = await buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [[{ path: `app/${seed}.txt`, content: `image ${seed}\n` }]],
  });
  await pushArtifacts(host, repository, {
    blobs: [img.config.bytes, ...img.layers.map((l) => l.bytes)],
    manifests: [{ bytes: img.manifest.bytes, mediaType: img.manifest.mediaType, tag }],
  });
  return img.manifest;
}
