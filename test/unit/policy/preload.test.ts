// preloadVerifiers loads the signature systems a policy requires, and only those: observed from a child process
// through a module-load hook (the ESM cache cannot be listed in-process).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The src/trust/* faces loaded by preloadVerifiers for a policy whose one rule requires `kinds`. */
function loadedFaces(kinds: string[]): string[] {
  const script = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on('message', (u) => seen.push(u));
port1.unref();
register('data:text/javascript,' + encodeURIComponent('let p; export function initialize(d) { p = d.port; } export async function load(u, c, next) { p.postMessage(u); return next(u, c); }'), { data: { port: port2 }, transferList: [port2] });
const { preloadVerifiers } = await import(${JSON.stringify(join(root, 'src/policy/index.ts'))});
const before = seen.length;
const require = ${JSON.stringify(kinds)}.map((kind) => ({ kind, of: [] }));
await preloadVerifiers({ rules: [{ require: [{ kind: 'anyOf', of: require }] }] });
await new Promise((r) => setTimeout(r, 50));
const faces = seen.slice(before).map((u) => /src\\/trust\\/(cosign|notation)\\/index\\.ts$/.exec(u)?.[1]).filter(Boolean);
console.log(JSON.stringify([...new Set(faces)].sort()));
`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as string[];
}

test('preloadVerifiers loads the libraries of the systems a policy requires (nested too), and no others', () => {
  assert.deepEqual(loadedFaces(['cosign']), ['cosign']);
  assert.deepEqual(loadedFaces(['notation', 'digestPinned']), ['notation']);
  assert.deepEqual(loadedFaces(['dct', 'digestPinned']), []);
});
