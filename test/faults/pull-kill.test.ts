// Faults that lose nothing, pull: `trustpin pull` into an OCI layout, with and without --unpack, from the real
// registry, SIGKILLed just before each of its file-system writes in turn (deterministic, test/faults/crash-hook.mjs).
// After every kill: every file under blobs/sha256 hashes to its name, index.json (if any) only names content that
// is complete down to the last layer, and a rerun of the same command completes with the same layout and rootfs.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BuiltImage } from '../../src/demo/build.js';
import { type RunningRegistry, startRegistry } from '../harness/index.js';
import { type ChildOptions, listFiles, noisyImage, pushImage, sha256File, trustpinChild } from './fixture.js';

let reg: RunningRegistry;
let work: string;
let img: BuiltImage;
let ref: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tp-faults-pull-'));
  reg = await startRegistry({ mode: 'plain' });
  // two layers of noise: downloaded side by side, renamed, proven, unpacked in order
  img = await noisyImage(2, 256 * 1024, 7);
  await pushImage(reg, 'faults/pull', '1.0', img);
  ref = `${reg.host}/faults/pull:1.0`;
});
after(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const pullArgs = (layout: string, rootfs?: string) => [
  'pull',
  ref,
  '--dest',
  `oci:${layout}:1.0`,
  ...(rootfs ? ['--unpack', rootfs] : []),
];
const pullChild = (dir: string, unpack: boolean, o: ChildOptions = {}) =>
  trustpinChild(pullArgs(join(dir, 'layout'), unpack ? join(dir, 'rootfs') : undefined), {
    timeoutMs: 30_000,
    ...o,
    env: { TRUSTPIN_HOME: join(dir, 'home') },
  });

/** Problems of a layout after a kill: blobs that do not hash to their names, tags on incomplete content. */
function layoutProblems(layout: string): string[] {
  const problems: string[] = [];
  const blobs = join(layout, 'blobs', 'sha256');
  const good = new Set<string>();
  for (const f of listFiles(blobs)) {
    if (!/^[0-9a-f]{64}$/.test(f)) problems.push(`blobs/sha256/${f} is not named by a digest`);
    else if (sha256File(join(blobs, f)) !== f) problems.push(`blobs/sha256/${f} does not hash to its name`);
    else good.add(`sha256:${f}`);
  }
  const index = join(layout, 'index.json');
  if (!existsSync(index)) return problems;
  let entries: { digest: string; annotations?: Record<string, string> }[];
  try {
    entries = JSON.parse(readFileSync(index, 'utf8')).manifests;
  } catch (e) {
    return [...problems, `index.json does not parse: ${(e as Error).message}`];
  }
  // every tagged manifest, its config and every layer are complete
  const walk = (digest: string, at: string, manifest: boolean): void => {
    if (!good.has(digest)) {
      problems.push(`${at} names ${digest}, which is not complete in the layout`);
      return;
    }
    if (!manifest) return;
    const m = JSON.parse(readFileSync(join(blobs, digest.slice(7)), 'utf8'));
    for (const d of m.manifests ?? []) walk(d.digest, `${at} → ${d.digest.slice(7, 19)}`, true);
    if (m.config) walk(m.config.digest, `${at} → config`, false);
    for (const l of m.layers ?? []) walk(l.digest, `${at} → layer ${l.digest.slice(7, 19)}`, false);
  };
  for (const e of entries)
    walk(e.digest, `index.json entry ${e.annotations?.['org.opencontainers.image.ref.name']}`, true);
  return problems;
}

/** The rootfs as a comparable list: path, type, size, hash or link target. */
function tree(dir: string): string[] {
  return listFiles(dir).map((f) => {
    const p = join(dir, f);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return `${f} -> ${readlinkSync(p)}`;
    return `${f} ${st.size} ${sha256File(p).slice(0, 16)}`;
  });
}

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) await fn(x);
    }),
  );
}

/**
 * Kill points: every call that creates, renames or removes a name, or writes a file in place (as in the trust
 * store test); not writes inside temp files, a second mkdir of a directory, the unlink inside an rm, or the lock
 * file's own steps (test/faults/trust-store-kill.test.ts kills withLock at each of them). With --unpack, only
 * from the unpack on: the download before it is the same code as without, and is killed there.
 */
function killPoints(ops: string[], unpack: boolean): number[] {
  const made = new Set<string>();
  let removing = '';
  const from = unpack ? ops.findIndex((l) => / \S*\/unpack-[0-9a-f]+\.json$| \S*\/rootfs$/.test(l)) - 1 : 0;
  return ops
    .filter((l, i) => {
      const [, call = '', path = ''] = l.split(' ');
      const inner = call.startsWith('cb.') && path === removing;
      removing = call === 'p.rm' ? path : '';
      if (i < from || inner || /\/\.lock(-\d+-[0-9a-f]+)?$/.test(path)) return false;
      if (call.startsWith('fh.') && /\/blobs\/\.tmp\/|\.tmp$/.test(path)) return false;
      if (!call.endsWith('mkdir')) return true;
      return !made.has(path) && Boolean(made.add(path));
    })
    .map((l) => Number(l.split(' ')[0]));
}

/** xorshift32: the random kill times are reproducible from the seed printed with a failure. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

for (const unpack of [false, true]) {
  test(`pull${unpack ? ' --unpack' : ''} SIGKILLed before any of its writes: no partial blob, no tag on incomplete content, a rerun completes`, async () => {
    const clean = join(work, `clean-${unpack}`);
    const log = join(work, `writes-${unpack}.log`);
    const full = await pullChild(clean, unpack, { crashUnder: clean, crashLog: log });
    assert.equal(full.code, 0, full.stderr);
    const wantTree = unpack ? tree(join(clean, 'rootfs')) : [];
    const wantIndex = readFileSync(join(clean, 'layout', 'index.json'), 'utf8');
    const ops = readFileSync(log, 'utf8').trim().split('\n');
    const points = killPoints(ops, unpack);
    assert.ok(points.length >= 10, `only ${ops.length} writes counted`);

    const failures: string[] = [];
    // the regular files of an unpack are written by a worker thread, which crash-hook.mjs does not see: kill
    // those runs at random times between the first write and the end of a clean run as well
    const seed = Number(process.env.TRUSTPIN_FAULT_SEED ?? Date.now() % 1e6);
    const rnd = random(seed);
    const timed = unpack ? Array.from({ length: 6 }, () => Math.round(150 + rnd() * full.ms)) : [];
    const kills = [...points.map((n) => ({ n })), ...timed.map((ms) => ({ ms }))];
    await pool(kills, 3, async (k) => {
      const dir = join(work, `${unpack}-${'n' in k ? k.n : `t${k.ms}`}`);
      const what =
        'n' in k
          ? `killed before write ${k.n} (${ops[k.n - 1]?.replace(clean, '~')})`
          : `killed after ${k.ms} ms (seed ${seed})`;
      try {
        const r = await pullChild(
          dir,
          unpack,
          'n' in k ? { crashUnder: dir, crashAt: k.n } : { killAfterMs: k.ms },
        );
        if ('n' in k) assert.equal(r.signal, 'SIGKILL', `the run was not killed: ${r.stderr}`);
        const killed = layoutProblems(join(dir, 'layout'));
        assert.deepEqual(killed, [], `after the kill: ${killed.join('; ')}`);
        const killedTree = unpack ? tree(join(dir, 'rootfs')) : [];
        const again = await pullChild(dir, unpack);
        if (again.code !== 0 && /not empty/.test(again.stderr)) {
          // killed after its last step (the unpack marker removed): the rootfs is complete and a second unpack
          // into it is refused, as it is after any finished pull
          assert.deepEqual(killedTree, wantTree, `the rerun refused an incomplete rootfs: ${again.stderr}`);
          assert.equal(readFileSync(join(dir, 'layout', 'index.json'), 'utf8'), wantIndex);
          return;
        }
        assert.equal(again.code, 0, `the rerun failed: ${again.stderr}`);
        const rerun = layoutProblems(join(dir, 'layout'));
        assert.deepEqual(rerun, [], `after the rerun: ${rerun.join('; ')}`);
        assert.equal(readFileSync(join(dir, 'layout', 'index.json'), 'utf8'), wantIndex);
        if (unpack) assert.deepEqual(tree(join(dir, 'rootfs')), wantTree, 'the rerun unpacked another tree');
        const left = listFiles(join(dir, 'layout')).filter(
          (f) => !f.startsWith('blobs/sha256/') && f !== 'index.json' && f !== 'oci-layout',
        );
        assert.deepEqual(left, [], `temp files left after the rerun: ${left.join(', ')}`);
      } catch (e) {
        failures.push(`${what}: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
    assert.deepEqual(failures, []);
    console.log(
      `${points.length} kill points, ${timed.length} timed kills (seed ${seed}); a clean run took ${full.ms} ms`,
    );
  });
}
