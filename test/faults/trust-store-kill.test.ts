// Faults that lose nothing, trust store: a `trustpin verify --dct` that updates the store (a root rotation, a new
// targets key and a new delegation: every document changes and one is added) is SIGKILLed just before each of its
// file-system writes in turn (deterministic: test/faults/crash-hook.ts counts the writes). After every kill the
// store holds exactly the old trusted state or exactly the new one — never a mix — and it verifies offline; a rerun
// online completes and leaves the new state.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RegistryClient } from '../../src/registry/index.js';
import { DctPublisher, startTestNotary, type TestNotary } from '../../src/testing/index.js';
import { loadTrust, TrustStore } from '../../src/trust/index.js';
import { type RunningRegistry, startRegistry } from '../harness/index.js';
import { type ChildOptions, listFiles, noisyImage, pushImage, trustpinChild } from './fixture.js';

let reg: RunningRegistry;
let notary: TestNotary;
let work: string;
let ref: string;
let gun: string;
let pub: DctPublisher;
let caFile: string;
let target: { digest: string; length: number };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tp-faults-trust-'));
  [reg, notary] = await Promise.all([startRegistry({ mode: 'plain' }), startTestNotary()]);
  const img = await noisyImage(1, 1024);
  await pushImage(reg, 'faults/app', '1.0', img);
  gun = `${reg.host}/faults/app`;
  ref = `${gun}:1.0`;
  target = { digest: img.manifest.digest.slice('sha256:'.length), length: img.manifest.size };
  pub = new DctPublisher(gun).sign('1.0', img.manifest.digest, img.manifest.size);
  notary.serve(pub);
  caFile = join(work, 'notary-ca.pem');
  writeFileSync(caFile, notary.ca);
});
after(async () => {
  await Promise.allSettled([reg?.stop(), notary?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const verify = (home: string, o: ChildOptions = {}) =>
  trustpinChild(['verify', '--dct', '--trust-server', notary.url, '--trust-ca', caFile, ref], {
    timeoutMs: 20_000,
    ...o,
    env: { TRUSTPIN_HOME: home },
  });
const state = (home: string) => new TrustStore(home).load(gun);
const same = (a: Map<string, Buffer>, b: Map<string, Buffer>) =>
  a.size === b.size && [...a].every(([k, v]) => b.get(k)?.equals(v));

/** The library's own trust loading, in this process: offline (the store alone), or online (a rerun). */
async function load(home: string, offline: boolean) {
  const client = new RegistryClient({
    attempts: 1,
    timeoutMs: 5000,
    extraCa: { [notary.host]: [Buffer.from(notary.ca)] },
  });
  try {
    return await loadTrust(gun, reg.host, {
      client,
      store: new TrustStore(home),
      trustServer: notary.url,
      offline,
      now: Date.now(),
    });
  } finally {
    await client.close();
  }
}

/** Run `fn` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) await fn(x);
    }),
  );
}

test('a trust store update SIGKILLed before any of its writes leaves the old or the new state, never a mix', async () => {
  const homeA = join(work, 'home-a');
  const first = await verify(homeA);
  assert.equal(first.code, 0, first.stderr);
  const oldState = state(homeA);
  assert.ok(oldState.has('root.json') && oldState.has('timestamp.json'), [...oldState.keys()].join());

  // the publisher moves on: a new root (signed by the old key too), a new targets key, a new delegation
  pub.publisher.rotateRoot();
  pub.publisher.rotateKey('targets');
  pub.publisher.addDelegation('targets/releases');
  pub.publisher.addTarget('targets/releases', '1.0', target);
  pub.changed();

  // one uninterrupted update, counting its writes
  const homeFull = join(work, 'home-full');
  cpSync(homeA, homeFull, { recursive: true });
  const log = join(work, 'writes.log');
  const full = await verify(homeFull, { crashUnder: homeFull, crashLog: log });
  assert.equal(full.code, 0, full.stderr);
  const newState = state(homeFull);
  assert.ok(!same(oldState, newState), 'the update changed the store');
  assert.ok(newState.has('targets/releases.json'));
  const ops = readFileSync(log, 'utf8').trim().split('\n');
  // Kill before every call that creates, renames or removes a name, or writes a file in place (a lock file); a
  // kill before a write or an fsync inside a temp file only changes what that unnamed file holds (no power is
  // lost here), which the kill before its rename already covers, and a second mkdir of a directory changes nothing.
  const made = new Set<string>();
  const points = ops
    .filter((l) => {
      const [, call, path = ''] = l.split(' ');
      if (call?.startsWith('fh.') && path.endsWith('.tmp')) return false;
      if (!call?.endsWith('mkdir')) return true;
      return !made.has(path) && Boolean(made.add(path));
    })
    .map((l) => Number(l.split(' ')[0]));
  assert.ok(points.length >= 5, `only ${ops.length} writes counted`);

  const seen = { old: 0, new: 0 };
  const failures: string[] = [];
  await pool(points, 3, async (n) => {
    const home = join(work, `home-${n}`);
    cpSync(homeA, home, { recursive: true });
    const what = `killed before write ${n} (${ops[n - 1]?.replace(home, '~')})`;
    try {
      const r = await verify(home, { crashUnder: home, crashAt: n });
      assert.equal(r.signal, 'SIGKILL', `the run was not killed: ${r.stderr}`);
      const now = state(home);
      const isOld = same(now, oldState);
      assert.ok(isOld || same(now, newState), `the store holds a mix: ${[...now.keys()].join(', ')}`);
      seen[isOld ? 'old' : 'new']++;
      // what is left verifies on its own (offline), and a rerun online completes with the new state
      const offline = await load(home, true);
      assert.equal(offline.repo.root.signed.version, isOld ? 1 : 2);
      await load(home, false);
      assert.ok(same(state(home), newState), 'the rerun did not leave the new state');
      // and nothing but the store's own files is left behind
      const stray = listFiles(home).filter((f) => /\.tmp$/.test(f));
      assert.deepEqual(stray, [], 'temp files left after the rerun');
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
  assert.deepEqual(failures, []);
  assert.ok(seen.old > 0 && seen.new > 0, `both outcomes seen: ${JSON.stringify(seen)}`);
});

test('a store in the flat layout of earlier versions is read, and the next update moves it into a generation', async () => {
  const store = new TrustStore(join(work, 'home-flat'));
  const dir = store.dir(gun);
  mkdirSync(join(dir, 'targets'), { recursive: true });
  writeFileSync(join(dir, 'root.json'), 'root v1');
  writeFileSync(join(dir, 'targets', 'releases.json'), 'releases v1');
  writeFileSync(join(dir, '.0123abcd.tmp'), 'a temp file of a killed writer of an earlier version');
  await store.setPin(gun, ['abc']);
  assert.deepEqual([...store.load(gun).keys()].sort(), ['root.json', 'targets/releases.json']);
  const next = new Map([
    ['root.json', Buffer.from('root v2')],
    ['timestamp.json', Buffer.from('timestamp v2')],
  ]);
  await store.withLock(gun, () => store.save(gun, next));
  assert.ok(same(store.load(gun), next));
  const files = listFiles(dir).map((f) => f.replace(/^metadata-[0-9a-z]+-[0-9a-f]+\//, 'GEN/'));
  assert.deepEqual(files.sort(), ['GEN/root.json', 'GEN/timestamp.json', 'current', 'pin.json']);
  assert.deepEqual(store.pin(gun)?.rootKeyIds, ['abc'], 'the pin is kept');
});

test('an empty lock file, as an earlier version killed while locking left it, does not block the store', async () => {
  const store = new TrustStore(join(work, 'home-empty-lock'));
  const dir = store.dir(gun);
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '.lock');
  writeFileSync(lock, '');
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  const started = Date.now();
  await store.setPin(gun, ['abc']);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  assert.deepEqual(store.pin(gun)?.rootKeyIds, ['abc']);
});
