// The DCT trust store keeps one repository's data apart from every other's — also when one name extends another —
// and reads stores written per server by earlier versions.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TrustStore } from '../../../src/trust/index.js';

const files = (tag: string) =>
  new Map([
    ['root.json', Buffer.from(`root ${tag}`)],
    ['targets/releases.json', Buffer.from(`releases ${tag}`)],
  ]);

test('nested repository names never share or remove each other’s files', async () => {
  const store = new TrustStore(await mkdtemp(join(tmpdir(), 'tp-store-')));
  await store.save('ghcr.io/org/app', files('app'));
  await store.save('ghcr.io/org/app/targets', files('nested'));
  assert.deepEqual([...store.load('ghcr.io/org/app').keys()].sort(), ['root.json', 'targets/releases.json']);
  assert.equal(store.load('ghcr.io/org/app').get('root.json')?.toString(), 'root app');
  await store.setPin('ghcr.io/org/app/targets', ['ab'.repeat(32)]);
  assert.equal(await store.forget('ghcr.io/org/app'), true);
  assert.equal(store.load('ghcr.io/org/app').size, 0);
  assert.equal(store.load('ghcr.io/org/app/targets').get('root.json')?.toString(), 'root nested');
  assert.deepEqual(store.pin('ghcr.io/org/app/targets')?.rootKeyIds, ['ab'.repeat(32)]);
  assert.equal(store.pin('ghcr.io/org/app'), undefined);
});

test('a save drops documents the new trust data no longer has; names outside the store are refused', async () => {
  const store = new TrustStore(await mkdtemp(join(tmpdir(), 'tp-store-')));
  await store.save('docker.io/a/b', files('one'));
  await store.save('docker.io/a/b', new Map([['root.json', Buffer.from('root two')]]));
  assert.deepEqual([...store.load('docker.io/a/b').keys()], ['root.json']);
  assert.throws(
    () => store.dir('docker.io/../../etc'),
    (e: { code?: string }) => e.code === 'USAGE',
  );
});

test('a store written per server by an earlier version is read when exactly one server has the repository', async () => {
  const home = await mkdtemp(join(tmpdir(), 'tp-store-'));
  const legacy = join(home, 'trust', 'notary.docker.io', 'docker.io', 'library', 'alpine');
  await mkdir(legacy, { recursive: true });
  await writeFile(join(legacy, 'root.json'), 'legacy root');
  const store = new TrustStore(home);
  assert.equal(store.load('docker.io/library/alpine').get('root.json')?.toString(), 'legacy root');
  await mkdir(join(home, 'trust', 'other:4443', 'docker.io', 'library', 'alpine'), { recursive: true });
  await writeFile(join(home, 'trust', 'other:4443', 'docker.io', 'library', 'alpine', 'root.json'), 'other');
  assert.equal(store.load('docker.io/library/alpine').size, 0, 'two servers: ambiguous, not guessed');
  await store.forget('docker.io/library/alpine');
  assert.ok(!existsSync(legacy));
});
