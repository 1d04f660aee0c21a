// The strict JSON parser for signed TUF documents and docker/go canonical JSON. Oracle: the strict parser never
// accepts what JSON.parse rejects and agrees with it on the value; the canonical form is a fixed point
// (canonical(parse(canonical(v))) = canonical(v)) and parses whenever its strings hold no control characters.
import fc from 'fast-check';
import { canonicalJson, type Json, parseStrictJson } from '../../../src/trust/dct/canonical.js';
import {
  check,
  codedSync,
  deeplyNested,
  defineTarget,
  type JsonValue,
  mutatedBytes,
  mutatedJson,
} from '../harness.js';

const SEEDS: JsonValue[] = [
  {
    signed: {
      _type: 'Targets',
      delegations: { keys: {}, roles: [] },
      expires: '2030-01-01T00:00:00Z',
      targets: { '1.0': { hashes: { sha256: 'q83vEjRWeJA=' }, length: 12 } },
      version: 3,
    },
    signatures: [{ keyid: 'ab'.repeat(32), method: 'ecdsa', sig: 'c2ln' }],
  },
  { a: [1, -2, 0, true, false, null, 'é', '\\"', '\u2028', '😀'], '': {}, __proto__x: 'y' },
  [[], {}, '', 9007199254740991, -9007199254740991],
];
const TEXTS = [
  '{"a":1,"a":2}',
  '{"a":9007199254740993}',
  '\uFEFF{}',
  '{"__proto__":{"x":1},"constructor":1}',
  '{"a":1.5e3, "b" : -0, "c":[ ]}\n',
  '"\\ud800\\udc00\\ud800"',
  deeplyNested(64),
  deeplyNested(65),
  deeplyNested(100_000),
].map((s) => Buffer.from(s));

const MAX_UNSIGNED = 1024 * 1024;

/** Structural equality of a strict-parser value with a JSON.parse value (own enumerable keys only). */
function sameValue(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (x === null || typeof x !== 'object' || y === null || typeof y !== 'object') {
      if (!Object.is(x, y) && !(x === 0 && y === 0)) return false;
      continue;
    }
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    const kx = Object.keys(x);
    const ky = Object.keys(y);
    if (kx.length !== ky.length) return false;
    for (const k of kx) {
      if (!Object.hasOwn(y, k)) return false;
      stack.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]]);
    }
  }
  return true;
}

function hasControlOrSurrogate(v: Json): boolean {
  const stack: Json[] = [v];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (typeof x === 'string') {
      if (/[\u0000-\u001f]|[\ud800-\udfff]/.test(x)) return true;
    } else if (Array.isArray(x)) stack.push(...x);
    else if (x && typeof x === 'object') for (const k of Object.keys(x)) stack.push(k, x[k]!);
  }
  return false;
}

export default defineTarget<Buffer>({
  name: 'canonical-json',
  description:
    'parseStrictJson and canonicalJson; oracle: never accepts what JSON.parse rejects, same value, canonical form is a fixed point',
  arbitrary: fc.oneof(
    { arbitrary: mutatedJson(SEEDS), weight: 6 },
    { arbitrary: mutatedBytes(TEXTS), weight: 3 },
    { arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))), weight: 1 },
  ),
  run(bytes) {
    // unsigned documents (root, timestamp) are capped at 1 MiB before this parser sees them; the parser is linear
    // (about 0.1 µs a byte), so bigger inputs only measure the machine
    if (bytes.length > MAX_UNSIGNED) return;
    const v = codedSync(() => parseStrictJson(bytes));
    if (v === undefined) return;
    let reference: unknown;
    try {
      reference = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      check(false, `the strict parser accepted what JSON.parse rejects (${(e as Error).message})`);
    }
    check(sameValue(v, reference), 'the strict parser and JSON.parse read different values');
    const c1 = codedSync(() => canonicalJson(v));
    if (c1 === undefined) return;
    const back = codedSync(() => parseStrictJson(c1));
    if (back === undefined) {
      check(
        hasControlOrSurrogate(v),
        () => `the canonical form does not parse: ${c1.toString().slice(0, 200)}`,
      );
      return;
    }
    const c2 = canonicalJson(back);
    check(c1.equals(c2), () => `canonical form is not a fixed point: ${c1.toString().slice(0, 200)}`);
  },
  encode: (b) => Buffer.from(b),
  decode: (b) => Buffer.from(b),
});
