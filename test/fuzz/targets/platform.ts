// Platform specifiers (`os[(version)]/arch[/variant]`) and index entry matching. Oracle: a parsed platform
// matches itself, normalising is idempotent, and the plain `os/arch/variant` form parses back to the same
// platform; choosing among mutated entries is a match or a coded error.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import {
  bestPlatformMatch,
  formatPlatform,
  normalizePlatform,
  type Platform,
  parsePlatform,
  platformMatches,
  samePlatform,
} from '../../../src/manifest/index.js';
import { check, codedSync, defineTarget, mutatedStrings, stringCodec } from '../harness.js';

const SEEDS = [
  'linux/amd64',
  'linux/amd64/v3',
  'linux/arm64/v8',
  'linux/arm/v7',
  'linux/arm',
  'darwin/aarch64',
  'windows(10.0.20348)/amd64',
  'windows(10.0.17763+win32k+x%2By)/amd64',
  'linux/x86_64',
  'linux/arm64/v9.2',
  'macos/armhf',
  'linux/386',
  'linux/*',
];
const part = fc.constantFrom(
  'linux',
  'windows',
  'amd64',
  'arm64',
  'arm',
  'v8',
  'v7',
  'v9.3',
  'v1',
  '',
  '(',
  ')',
  '+',
  '%',
  '.',
);
const generated = fc.array(fc.oneof(part, fc.constant('/')), { maxLength: 8 }).map((a) => a.join(''));

const plain = (p: Platform) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;

export default defineTarget<string>({
  name: 'platform',
  description:
    'parsePlatform and platform matching; oracle: a platform matches itself, normalise is idempotent, os/arch/variant round-trips',
  arbitrary: fc.oneof({ arbitrary: mutatedStrings(SEEDS), weight: 3 }, { arbitrary: generated, weight: 1 }),
  run(s) {
    const p = codedSync(() => parsePlatform(s));
    if (!p) return;
    formatPlatform(p);
    const n = normalizePlatform(p);
    check(
      isDeepStrictEqual(normalizePlatform(n), n),
      () => `normalising ${JSON.stringify(s)} is not idempotent`,
    );
    check(platformMatches(p, p), () => `${JSON.stringify(s)} does not match itself`);
    check(samePlatform(p, n), () => `${JSON.stringify(s)} is not the same platform as its normal form`);
    if (!p['os.version'] && !p['os.features']) {
      const back = codedSync(() => parsePlatform(plain(p)));
      check(
        back !== undefined && samePlatform(back, p),
        () => `${plain(p)} (from ${JSON.stringify(s)}) parses to another platform`,
      );
    }
    const entries = [p, n, { ...p, variant: undefined }, { ...p, 'os.version': '10.0.1' }].map(
      (platform, i) => ({
        platform,
        digest: `d${i % 2}`,
      }),
    );
    codedSync(() => bestPlatformMatch(p, entries));
  },
  ...stringCodec,
});
