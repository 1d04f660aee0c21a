// Platform parsing and selection: containerd's Normalize/Only semantics (with trustpin's documented differences),
// and a choice that depends on what an index holds, never on the order it lists it in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import {
  bestPlatformMatch,
  MAX_VARIANT_LEVEL,
  normalizePlatform,
  type Platform,
  parsePlatform,
  platformMatches,
  requirePlatform,
  samePlatform,
} from '../../../src/manifest/index.js';

/** `os[(version)]/arch[/variant]` → an index entry whose digest is its label, to read results back easily. */
function entry(label: string): { platform: Platform; digest: string } {
  const [osv, architecture, variant] = label.split('/') as [string, string, string | undefined];
  const m = /^([^(]+)(?:\((.*)\))?$/.exec(osv)!;
  return { platform: { os: m[1]!, architecture, variant, 'os.version': m[2] }, digest: label };
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

// [asked, index entries, chosen entry (or null: no match)] — every case is tried in every entry order
const SELECTION: [string, string[], string | null][] = [
  // a missing variant is the base variant, not "any"
  ['linux/amd64', ['linux/amd64/v2'], null],
  ['linux/amd64', ['linux/amd64/v2', 'linux/amd64', 'linux/amd64/v3'], 'linux/amd64'],
  ['linux/amd64', ['linux/amd64/v1'], 'linux/amd64/v1'],
  ['linux/amd64/v1', ['linux/amd64'], 'linux/amd64'],
  // a higher variant runs the lower ones, best first
  ['linux/amd64/v3', ['linux/amd64', 'linux/amd64/v2'], 'linux/amd64/v2'],
  ['linux/amd64/v3', ['linux/amd64'], 'linux/amd64'],
  ['linux/amd64/v3', ['linux/amd64/v4'], null],
  // arm without a variant is v7, as docker pulls it
  ['linux/arm', ['linux/arm/v6', 'linux/arm/v7'], 'linux/arm/v7'],
  ['linux/arm', ['linux/arm/v6', 'linux/arm/v5'], 'linux/arm/v6'],
  ['linux/arm', ['linux/arm'], 'linux/arm'],
  ['linux/arm/v7', ['linux/arm'], 'linux/arm'],
  ['linux/arm/v8', ['linux/arm/v5', 'linux/arm/v7', 'linux/arm/v6'], 'linux/arm/v7'],
  ['linux/arm/v6', ['linux/arm/v7'], null],
  ['linux/armhf', ['linux/arm/v6', 'linux/arm/v7'], 'linux/arm/v7'],
  ['linux/armel', ['linux/arm/v5', 'linux/arm/v7', 'linux/arm/v6'], 'linux/arm/v6'],
  // arm64: no variant, v8 and v8.0 are one platform
  ['linux/arm64', ['linux/arm64/v8', 'linux/amd64'], 'linux/arm64/v8'],
  ['linux/arm64/v8', ['linux/arm64'], 'linux/arm64'],
  ['linux/arm64/v8.0', ['linux/arm64'], 'linux/arm64'],
  ['linux/aarch64', ['linux/arm64', 'linux/amd64'], 'linux/arm64'],
  ['linux/arm64', ['linux/aarch64'], 'linux/aarch64'],
  ['linux/arm64', ['linux/arm64/v8.2'], null],
  ['linux/arm64/v8.2', ['linux/arm64', 'linux/arm64/v8.1', 'linux/arm64/v8.3'], 'linux/arm64/v8.1'],
  ['linux/arm64/v9', ['linux/arm64', 'linux/arm64/v8.5', 'linux/arm64/v8.6'], 'linux/arm64/v8.5'],
  // aliases on either side
  ['linux/x86_64', ['linux/arm64', 'linux/amd64'], 'linux/amd64'],
  ['linux/x86-64', ['linux/amd64'], 'linux/amd64'],
  ['linux/amd64', ['linux/x86_64'], 'linux/x86_64'],
  ['linux/i386', ['linux/386', 'linux/amd64'], 'linux/386'],
  ['macos/arm64', ['darwin/arm64', 'linux/arm64'], 'darwin/arm64'],
  ['LINUX/AMD64', ['linux/amd64'], 'linux/amd64'],
  // trustpin does not cross architectures (containerd's Only does: amd64 → 386, arm64 → arm)
  ['linux/amd64', ['linux/386'], null],
  ['linux/arm64', ['linux/arm/v7', 'linux/arm/v8'], null],
  ['linux/amd64', ['windows/amd64'], null],
  // os.version: an asked one must match (dot-bounded prefix); otherwise the highest wins
  [
    'windows/amd64',
    ['windows(10.0.17763.5458)/amd64', 'windows(10.0.20348.2113)/amd64'],
    'windows(10.0.20348.2113)/amd64',
  ],
  [
    'windows(10.0.17763)/amd64',
    ['windows(10.0.17763.5458)/amd64', 'windows(10.0.20348.2113)/amd64'],
    'windows(10.0.17763.5458)/amd64',
  ],
  ['windows(10.0.1776)/amd64', ['windows(10.0.17763.5458)/amd64'], null],
  [
    'windows(10.0.20348.2113)/amd64',
    ['windows(10.0.20348.2113)/amd64', 'windows(10.0.20348.2227)/amd64'],
    'windows(10.0.20348.2113)/amd64',
  ],
];

test('selection picks the best match by containerd Only order, in every index order', () => {
  for (const [asked, entries, chosen] of SELECTION) {
    for (const order of permutations(entries.map(entry))) {
      const got = bestPlatformMatch(parsePlatform(asked), order)?.digest ?? null;
      assert.equal(got, chosen, `${asked} in [${order.map((e) => e.digest).join(', ')}]`);
    }
  }
});

test('two different manifests for the best platform are ambiguous; the same one twice is not', () => {
  for (const entries of [
    [entry('linux/amd64'), { ...entry('linux/amd64'), digest: 'other' }],
    [entry('linux/arm64'), entry('linux/arm64/v8')],
  ]) {
    assert.throws(
      () =>
        bestPlatformMatch(
          parsePlatform(entries[0]!.platform.os + '/' + entries[0]!.platform.architecture),
          entries,
        ),
      (e: unknown) => isTrustpinError(e, 'PLATFORM_AMBIGUOUS'),
    );
  }
  const same = [entry('linux/amd64'), entry('linux/amd64')];
  assert.equal(bestPlatformMatch(parsePlatform('linux/amd64'), same)?.digest, 'linux/amd64');
  // a worse-ranked duplicate does not make the best one ambiguous
  const lower = [entry('linux/arm/v7'), entry('linux/arm/v6'), { ...entry('linux/arm/v6'), digest: 'x' }];
  assert.equal(bestPlatformMatch(parsePlatform('linux/arm'), lower)?.digest, 'linux/arm/v7');
});

test('parsePlatform normalises aliases and keeps the asked variant', () => {
  const cases: [string, Platform][] = [
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['Linux/AMD64', { os: 'linux', architecture: 'amd64' }],
    ['linux/x86_64', { os: 'linux', architecture: 'amd64' }],
    ['linux/amd64/v1', { os: 'linux', architecture: 'amd64' }],
    ['linux/amd64/v3', { os: 'linux', architecture: 'amd64', variant: 'v3' }],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }],
    ['linux/aarch64', { os: 'linux', architecture: 'arm64' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['linux/arm64/v8.0', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['linux/arm64/8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['linux/arm', { os: 'linux', architecture: 'arm' }],
    ['linux/arm/7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    // as containerd parses it: armhf is arm/v7, and a two-part arm/v7 is shown as linux/arm
    ['linux/armhf', { os: 'linux', architecture: 'arm' }],
    ['linux/armel', { os: 'linux', architecture: 'arm', variant: 'v6' }],
    ['linux/i386', { os: 'linux', architecture: '386' }],
    ['macos/arm64', { os: 'darwin', architecture: 'arm64' }],
    ['windows(10.0.20348)/amd64', { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348' }],
  ];
  for (const [s, want] of cases) assert.deepEqual(parsePlatform(s), want, s);
});

test('parsePlatform rejects malformed specifiers with USAGE', () => {
  for (const s of [
    'linux /arm',
    'linux/&arm',
    'linux/ arm',
    'linux//v7',
    '/amd64',
    'linux/',
    'linux/amd64/',
    'linux',
    '',
    'linux/arm/v7/extra',
    'linux/*',
    'linux/arm64/v8 ',
    'li nux/amd64',
  ]) {
    // a trailing blank on the whole string is trimmed (shell quoting); inside a component it is an error
    if (s === 'linux/arm64/v8 ') {
      assert.deepEqual(parsePlatform(s), { os: 'linux', architecture: 'arm64', variant: 'v8' });
      continue;
    }
    assert.throws(
      () => parsePlatform(s),
      (e: unknown) => isTrustpinError(e, 'USAGE'),
      JSON.stringify(s),
    );
  }
});

test('normalizePlatform is containerd Normalize: canonical arch, base variants dropped, arm defaults to v7', () => {
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' }), {
    os: 'linux',
    architecture: 'arm64',
  });
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm' }), {
    os: 'linux',
    architecture: 'arm',
    variant: 'v7',
  });
  assert.deepEqual(normalizePlatform({ os: 'MacOS', architecture: 'x86_64', variant: 'v1' }), {
    os: 'darwin',
    architecture: 'amd64',
  });
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'aarch64', variant: '9' }), {
    os: 'linux',
    architecture: 'arm64',
    variant: 'v9',
  });
});

test('platformMatches: an image config platform against a request', () => {
  // assert.equal, not assert.ok: a failing ok() makes node re-read the transpiled source line, which can hang
  const cases: [string, Platform | undefined, boolean][] = [
    ['linux/arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' }, true],
    ['linux/arm', { os: 'linux', architecture: 'arm', variant: 'v6' }, true],
    ['linux/amd64', { os: 'linux', architecture: 'amd64', variant: 'v2' }, false],
    ['linux/amd64', undefined, false],
    ['linux/amd64', { os: '', architecture: '' }, false],
  ];
  for (const [want, have, ok] of cases) assert.equal(platformMatches(parsePlatform(want), have), ok, want);
});

test('requirePlatform: a single image of another platform is PLATFORM_NOT_FOUND, asked vs found', () => {
  requirePlatform(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' }, 'img');
  assert.throws(
    () => requirePlatform(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'amd64' }, 'img'),
    (e: unknown) =>
      isTrustpinError(e, 'PLATFORM_NOT_FOUND') && e.expected === 'linux/arm64' && e.found === 'linux/amd64',
  );
  assert.throws(
    () => requirePlatform(parsePlatform('linux/arm64'), undefined, 'img'),
    (e: unknown) => isTrustpinError(e, 'PLATFORM_NOT_FOUND') && e.found === 'unknown',
  );
});

test('samePlatform: one platform in two spellings, not a compatible lower variant', () => {
  const cases: [string, Platform, boolean][] = [
    ['linux/arm64/v8', { os: 'linux', architecture: 'aarch64' }, true],
    ['linux/arm', { os: 'linux', architecture: 'arm', variant: 'v7' }, true],
    ['linux/arm', { os: 'linux', architecture: 'arm', variant: 'v6' }, false],
    ['linux/amd64/v1', { os: 'linux', architecture: 'x86_64' }, true],
    ['linux/amd64/v3', { os: 'linux', architecture: 'amd64', variant: 'v2' }, false],
  ];
  for (const [a, b, same] of cases) assert.equal(samePlatform(parsePlatform(a), b), same, a);
});

test('a variant level above MAX_VARIANT_LEVEL is USAGE, and as an object matches only itself, without enumerating lower levels', () => {
  for (const s of ['linux/amd64/v999999999', 'linux/arm/v17', `linux/amd64/v${MAX_VARIANT_LEVEL + 1}`]) {
    assert.throws(
      () => parsePlatform(s),
      (e: unknown) => isTrustpinError(e, 'USAGE'),
      s,
    );
  }
  assert.equal(parsePlatform(`linux/amd64/v${MAX_VARIANT_LEVEL}`).variant, `v${MAX_VARIANT_LEVEL}`);
  const want = { os: 'linux', architecture: 'amd64', variant: 'v999999999' };
  const started = performance.now();
  assert.equal(platformMatches(want, { os: 'linux', architecture: 'amd64', variant: 'v2' }), false);
  assert.equal(platformMatches(want, want), true);
  assert.ok(performance.now() - started < 1000);
});
