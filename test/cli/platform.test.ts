// --platform through the CLI: a single image of another platform is refused by digest, inspect and pull (its config
// says what it is), and an index entry is chosen by the best match, not by where the index lists it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BuiltImage, buildImage, buildIndex } from '../../src/demo/build.js';
import { type DemoSet, demoImages } from '../../src/demo/images.js';
import { MemoryRegistry } from '../../src/demo/registry-server.js';
import { trustpin } from './run.js';

let reg: MemoryRegistry;
let host: string;
let set: DemoSet;
let arm: Record<'v5' | 'v6' | 'v7', BuiltImage>;
let amdV2: BuiltImage;

const img = (architecture: string, variant?: string) =>
  buildImage({
    platform: { os: 'linux', architecture, variant },
    layers: [[{ path: 'arch', content: `${architecture}/${variant ?? ''}\n` }]],
  });

before(async () => {
  set = await demoImages();
  arm = { v5: await img('arm', 'v5'), v6: await img('arm', 'v6'), v7: await img('arm', 'v7') };
  amdV2 = await img('amd64', 'v2');
  reg = new MemoryRegistry();
  host = await reg.listen();
  // demo/liar is a single linux/amd64 image (no index)
  reg.push('demo/liar', set.liar, '1.0');
  reg.push('demo/arm', buildIndex([arm.v6, arm.v7, arm.v5]), 'v6-first');
  reg.push('demo/arm', buildIndex([arm.v7, arm.v5, arm.v6]), 'v7-first');
  reg.push('demo/amd', buildIndex([amdV2]), 'v2-only');
  // index entries that say linux/arm64 over configs that say aarch64 (the same platform) and amd64 (another one)
  const arm64 = { os: 'linux', architecture: 'arm64' };
  reg.push('demo/alias', buildIndex([{ ...(await img('aarch64')), platform: arm64 }]), '1');
  reg.push('demo/mislabeled', buildIndex([{ ...set.liar, platform: arm64 }]), '1');
});
after(() => reg.close());

const dest = () => `oci:${mkdtempSync(join(tmpdir(), 'tp-platform-'))}`;

const commands: [string, (ref: string, platform: string) => string[]][] = [
  ['digest', (ref, p) => ['--json', 'digest', '--platform', p, ref]],
  ['inspect', (ref, p) => ['--json', 'inspect', '--platform', p, ref]],
  ['pull', (ref, p) => ['--json', 'pull', '--platform', p, ref, '--dest', dest()]],
];

for (const [name, args] of commands) {
  test(`${name} --platform linux/arm64 on a single amd64 image: exit 2, PLATFORM_NOT_FOUND`, async () => {
    const r = await trustpin(args(`${host}/demo/liar:1.0`, 'linux/arm64'));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.ok, false);
    assert.equal(j.error.code, 'PLATFORM_NOT_FOUND');
    assert.equal(j.error.expected, 'linux/arm64');
    assert.equal(j.error.found, 'linux/amd64');
  });

  test(`${name} --platform linux/amd64 on an index of only linux/amd64/v2: PLATFORM_NOT_FOUND`, async () => {
    const r = await trustpin(args(`${host}/demo/amd:v2-only`, 'linux/amd64'));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'PLATFORM_NOT_FOUND');
  });
}

test('a single image of the asked platform is still accepted (the check reads the config, nothing else changes)', async () => {
  const r = await trustpin(['--json', 'digest', '--platform', 'linux/x86_64', `${host}/demo/liar:1.0`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).digest, set.liar.manifest.digest);
  const p = await trustpin([
    '--json',
    'pull',
    '--platform',
    'linux/amd64',
    `${host}/demo/liar:1.0`,
    '--dest',
    dest(),
  ]);
  assert.equal(p.code, 0, p.stdout + p.stderr);
});

test('--platform linux/arm picks arm/v7 whatever the index order; linux/arm/v6 picks v6', async () => {
  for (const tag of ['v6-first', 'v7-first']) {
    const r = await trustpin(['--json', 'digest', '--platform', 'linux/arm', `${host}/demo/arm:${tag}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).digest, arm.v7.manifest.digest, tag);
    const v6 = await trustpin(['--json', 'digest', '--platform', 'linux/arm/v6', `${host}/demo/arm:${tag}`]);
    assert.equal(JSON.parse(v6.stdout).digest, arm.v6.manifest.digest, tag);
  }
});

test('inspect warns when an index entry and its config name different platforms, not different spellings', async () => {
  const warnings = async (ref: string) => {
    const r = await trustpin(['--json', 'inspect', ref]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).manifests[0].warnings ?? [];
  };
  assert.deepEqual(await warnings(`${host}/demo/alias:1`), []);
  assert.equal((await warnings(`${host}/demo/mislabeled:1`)).length, 1);
});
