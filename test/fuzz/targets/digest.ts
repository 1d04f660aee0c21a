// Digests: strict `algorithm:hex` parsing. Oracle: an accepted digest is exactly its algorithm and hex re-joined,
// isDigest agrees with parseDigest, and a digest computed here always parses.
import fc from 'fast-check';
import {
  algorithmOf,
  digestOf,
  explainMismatch,
  hexOf,
  isDigest,
  parseDigest,
} from '../../../src/digest/index.js';
import { check, codedSync, defineTarget, mutatedStrings, stringCodec } from '../harness.js';

const SEEDS = [
  digestOf(Buffer.from('a')),
  digestOf(Buffer.from('a'), 'sha512'),
  `sha256:${'A'.repeat(64)}`,
  `sha384:${'a'.repeat(96)}`,
  `sha256+b64u:${'a'.repeat(43)}`,
  'multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8',
  'sha256:',
  ':abc',
];
const chars = fc.constantFrom(...'sha256512:+._-=aAfF09gz'.split(''), 'sha256:', 'a'.repeat(32));
const generated = fc.array(chars, { maxLength: 16 }).map((a) => a.join(''));

export default defineTarget<string>({
  name: 'digest',
  description:
    'parseDigest; oracle: accepted = algorithm:hex re-joined, isDigest agrees, explainMismatch total',
  arbitrary: fc.oneof({ arbitrary: mutatedStrings(SEEDS), weight: 3 }, { arbitrary: generated, weight: 1 }),
  run(s) {
    const d = codedSync(() => parseDigest(s));
    check(
      isDigest(s) === (d !== undefined),
      () => `isDigest(${JSON.stringify(s)}) disagrees with parseDigest`,
    );
    if (d === undefined) return;
    check(
      `${algorithmOf(d)}:${hexOf(d)}` === s,
      () => `${JSON.stringify(s)} does not split into algorithm and hex`,
    );
    const bytes = Buffer.from(s);
    const own = digestOf(bytes, algorithmOf(d));
    check(parseDigest(own) === own, 'a computed digest does not parse');
    explainMismatch(bytes, d);
  },
  ...stringCodec,
});
