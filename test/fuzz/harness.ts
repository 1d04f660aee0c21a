// The fuzzing harness: a target is a parser of untrusted input, an arbitrary of generated and mutated inputs, and
// an oracle. A TrustpinError is a coded rejection (the parser said no, properly); anything else thrown is a bug.
import fc from 'fast-check';
import { TrustpinError } from '../../src/errors/index.js';

export interface FuzzTarget<T> {
  /** e.g. 'reference', 'tuf-metadata' */
  name: string;
  /** one line: the parser and its oracle */
  description: string;
  /** generated AND mutated inputs */
  arbitrary: fc.Arbitrary<T>;
  /** throws only on a bug: a TrustpinError (other than INTERNAL) is an accepted rejection */
  run(input: T): void | Promise<void>;
  /** for saving reproducers */
  encode(input: T): Buffer;
  decode(b: Buffer): T;
}

/** Identity with a type: `export default defineTarget({...})`. */
export function defineTarget<T>(t: FuzzTarget<T>): FuzzTarget<T> {
  return t;
}

/** An oracle's "this result is wrong" (not a crash, a wrong answer). */
export class OracleFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OracleFailure';
  }
}

type RejectionListener = (code: string) => void;
let listener: RejectionListener | undefined;

/** The runner counts coded rejections by code through this; targets need not care. */
export function onRejection(l: RejectionListener | undefined): void {
  listener = l;
}

/** True for a coded rejection; INTERNAL is trustpin saying "this is a bug in trustpin", so it is not one. */
export function isRejection(e: unknown): e is TrustpinError {
  return e instanceof TrustpinError && e.code !== 'INTERNAL';
}

/** Record a coded rejection that a runner caught itself (a TrustpinError escaping `run`). */
export function recordRejection(e: TrustpinError): void {
  listener?.(e.code);
}

/** Runs fn; a TrustpinError is a coded rejection (returns undefined); any other exception propagates as a bug. */
export async function coded<R>(fn: () => R | Promise<R>): Promise<R | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (!isRejection(e)) throw e;
    listener?.(e.code);
    return undefined;
  }
}

/** The synchronous form of {@link coded}, for oracles that must not yield between steps. */
export function codedSync<R>(fn: () => R): R | undefined {
  try {
    return fn();
  } catch (e) {
    if (!isRejection(e)) throw e;
    listener?.(e.code);
    return undefined;
  }
}

/** Throw an OracleFailure unless `ok`. */
export function check(ok: boolean, message: string | (() => string)): asserts ok {
  if (!ok) throw new OracleFailure(typeof message === 'string' ? message : message());
}

// ---- codecs ----

export const bufferCodec = {
  encode: (b: Buffer): Buffer => Buffer.from(b),
  decode: (b: Buffer): Buffer => Buffer.from(b),
};
export const stringCodec = {
  encode: (s: string): Buffer => Buffer.from(s, 'utf8'),
  decode: (b: Buffer): string => b.toString('utf8'),
};

// ---- byte mutations ----

/** Bytes that often change a parser's path: JSON structure, quotes, escapes, NUL, high bytes, a BOM. */
const INTERESTING = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ',',
  ':',
  '\\',
  '\\u0000',
  '\\ud800',
  'null',
  'true',
  '-0',
  '1e999',
  '9007199254740993',
  '\u0000',
  '\uFEFF',
  '\r\n',
  '/',
  '@',
  '.',
  '..',
  '%',
  '-----BEGIN ',
  '-----END ',
].map((s) => Buffer.from(s, 'utf8'));

type ByteOp =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'token'; at: number; token: number }
  | { op: 'delete'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; length: number; to: number }
  | { op: 'splice'; at: number; other: number; from: number };

const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ op: fc.constant('token' as const), at: fc.nat(), token: fc.nat(INTERESTING.length - 1) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 256 }),
    to: fc.nat(),
  }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), other: fc.nat(), from: fc.nat() }),
);

function applyByteOp(b: Buffer, o: ByteOp, seeds: readonly Buffer[]): Buffer {
  const n = b.length;
  const at = n === 0 ? 0 : o.at % (n + 1);
  switch (o.op) {
    case 'flip': {
      if (n === 0) return b;
      const c = Buffer.from(b);
      c[o.at % n]! ^= 1 << o.bit;
      return c;
    }
    case 'set': {
      if (n === 0) return Buffer.from([o.value]);
      const c = Buffer.from(b);
      c[o.at % n] = o.value;
      return c;
    }
    case 'insert':
      return Buffer.concat([b.subarray(0, at), o.bytes, b.subarray(at)]);
    case 'token':
      return Buffer.concat([b.subarray(0, at), INTERESTING[o.token]!, b.subarray(at)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, at), b.subarray(at + o.length)]);
    case 'truncate':
      return b.subarray(0, at);
    case 'duplicate': {
      const piece = b.subarray(at, at + o.length);
      const to = n === 0 ? 0 : o.to % (n + 1);
      return Buffer.concat([b.subarray(0, to), piece, b.subarray(to)]);
    }
    case 'splice': {
      const other = seeds[o.other % seeds.length]!;
      const from = other.length === 0 ? 0 : o.from % (other.length + 1);
      return Buffer.concat([b.subarray(0, at), other.subarray(from)]);
    }
  }
}

/** Apply byte mutations (as `mutatedBytes` draws them) to one input. */
export function mutateBytes(b: Buffer, ops: readonly ByteOp[], seeds: readonly Buffer[] = [b]): Buffer {
  let out = b;
  for (const o of ops) out = applyByteOp(out, o, seeds);
  return out;
}

/** 1–`maxOps` byte mutations (flips, sets, inserts of bytes or tokens, deletes, truncation, duplication, splices). */
export function byteMutations(maxOps = 6): fc.Arbitrary<ByteOp[]> {
  return fc.array(byteOp, { minLength: 1, maxLength: maxOps });
}

/**
 * Inputs built from valid seeds: the seed itself, the seed mutated at the byte level, and (less often) random
 * bytes. Shrinking removes mutations and moves them towards the start, so a reproducer is a seed plus few edits.
 */
export function mutatedBytes(
  seeds: readonly Buffer[],
  o: { maxOps?: number; random?: boolean } = {},
): fc.Arbitrary<Buffer> {
  if (seeds.length === 0) throw new Error('mutatedBytes needs at least one seed');
  const mutated = fc
    .tuple(fc.nat(seeds.length - 1), byteMutations(o.maxOps))
    .map(([i, ops]) => mutateBytes(seeds[i]!, ops, seeds));
  const arbs: fc.MaybeWeightedArbitrary<Buffer>[] = [
    { arbitrary: fc.constantFrom(...seeds), weight: 1 },
    { arbitrary: mutated, weight: 12 },
  ];
  if (o.random !== false)
    arbs.push({ arbitrary: fc.uint8Array({ maxLength: 512 }).map((u) => Buffer.from(u)), weight: 1 });
  return fc.oneof(...arbs);
}

/** `mutatedBytes` over strings (UTF-8), for parsers of text such as references. */
export function mutatedStrings(seeds: readonly string[], o: { maxOps?: number } = {}): fc.Arbitrary<string> {
  return mutatedBytes(
    seeds.map((s) => Buffer.from(s, 'utf8')),
    { ...o, random: false },
  ).map((b) => b.toString('utf8'));
}

// ---- JSON mutations ----

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** Values that break assumptions about a member's type. */
const hostileValue: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    1e308,
    -0,
    2 ** 53,
    '',
    'x',
    '__proto__',
    'sha256:' + 'a'.repeat(64),
    [],
    {},
    [null],
    { '': null },
    { __proto__: null } as unknown as JsonValue,
  ),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>,
);

type JsonOp =
  | { op: 'replace'; at: number; value: JsonValue }
  | { op: 'delete'; at: number }
  | { op: 'wrap'; at: number; asArray: boolean }
  | { op: 'addKey'; at: number; key: string; value: JsonValue }
  | { op: 'repeat'; at: number; times: number }
  | { op: 'graft'; at: number; from: number }
  | { op: 'grow'; at: number; size: number };

const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
    weight: 5,
  },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }), weight: 3 },
  {
    arbitrary: fc.record({ op: fc.constant('wrap' as const), at: fc.nat(), asArray: fc.boolean() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('addKey' as const),
      at: fc.nat(),
      key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', ''), fc.string({ maxLength: 8 })),
      value: hostileValue,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('repeat' as const),
      at: fc.nat(),
      times: fc.integer({ min: 2, max: 50 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant('graft' as const), at: fc.nat(), from: fc.nat() }), weight: 2 },
  // size probes: thousands of members or items, for work that grows faster than the input
  {
    arbitrary: fc.record({
      op: fc.constant('grow' as const),
      at: fc.nat(),
      size: fc.constantFrom(10, 100, 1000, 5000, 20_000),
    }),
    weight: 1,
  },
);

/** The most text one size probe adds (4 MB). */
const GROW_BYTES = 4_000_000;

type Path = (string | number)[];

function paths(v: JsonValue): Path[] {
  const out: Path[] = [];
  const stack: [JsonValue, Path][] = [[v, []]];
  while (stack.length > 0 && out.length < 5000) {
    const [x, p] = stack.pop()!;
    out.push(p);
    if (Array.isArray(x)) for (const [i, c] of x.entries()) stack.push([c, [...p, i]]);
    else if (x && typeof x === 'object') for (const k of Object.keys(x)) stack.push([x[k]!, [...p, k]]);
  }
  return out;
}

function getAt(v: JsonValue, p: Path): JsonValue {
  let x = v;
  for (const k of p) x = (x as Record<string | number, JsonValue>)[k]!;
  return x;
}

function setAt(root: JsonValue, p: Path, value: JsonValue | undefined): JsonValue {
  if (p.length === 0) return value === undefined ? null : value;
  const parent = getAt(root, p.slice(0, -1)) as Record<string | number, JsonValue> | JsonValue[];
  const k = p[p.length - 1]!;
  if (Array.isArray(parent)) {
    if (value === undefined) parent.splice(k as number, 1);
    else parent[k as number] = value;
  } else if (value === undefined) delete parent[k];
  else Object.defineProperty(parent, k, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

const clone = (v: JsonValue): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;

function applyJsonOp(root: JsonValue, o: JsonOp): JsonValue {
  const all = paths(root);
  const p = all[o.at % all.length]!;
  const here = getAt(root, p);
  switch (o.op) {
    case 'replace':
      return setAt(root, p, clone(o.value));
    case 'delete':
      return p.length === 0 ? root : setAt(root, p, undefined);
    case 'wrap':
      return setAt(root, p, o.asArray ? [here] : { x: here });
    case 'addKey':
      if (here && typeof here === 'object' && !Array.isArray(here)) {
        Object.defineProperty(here, o.key, {
          value: clone(o.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else if (Array.isArray(here)) here.push(clone(o.value));
      return root;
    case 'repeat':
      if (Array.isArray(here) && here.length > 0) {
        const items = here.slice();
        for (let i = 1; i < o.times; i++) here.push(...items.map(clone));
      }
      return root;
    case 'grow': {
      // at most GROW_BYTES of new text: growing a list of large items must not exhaust the generator's heap
      const count = (v: JsonValue) =>
        Math.min(o.size, Math.floor(GROW_BYTES / (JSON.stringify(v).length + 1)));
      if (Array.isArray(here)) {
        const item = here[0] ?? 0;
        const n = count(item);
        for (let i = here.length; i < n; i++) here.push(typeof item === 'object' ? clone(item) : item);
      } else if (here && typeof here === 'object') {
        const first = Object.keys(here)[0];
        const value = first === undefined ? 0 : here[first]!;
        const n = count(value);
        for (let i = 0; i < n; i++)
          here[`${first ?? 'k'}${i}`] = typeof value === 'object' ? clone(value) : value;
      }
      return root;
    }
    case 'graft': {
      const from = all[o.from % all.length]!;
      return setAt(root, p, clone(getAt(root, from)));
    }
  }
}

/** 1–`maxOps` structural JSON mutations, to apply with {@link mutateJson}. */
export function jsonMutations(maxOps = 4): fc.Arbitrary<JsonOp[]> {
  return fc.array(jsonOp, { minLength: 1, maxLength: maxOps });
}

/** Apply JSON mutations to a copy of `seed`. */
export function mutateJson(seed: JsonValue, ops: readonly JsonOp[]): JsonValue {
  let v = clone(seed);
  for (const o of ops) v = applyJsonOp(v, o);
  return v;
}

/**
 * Inputs built from valid JSON seeds: structural mutations (type swaps, deleted and added members, `__proto__`
 * keys, repeated array items, grafted subtrees), serialised, then sometimes mutated at the byte level as well
 * (duplicate keys, broken escapes, truncation). `serialize` chooses the text form (default `JSON.stringify`).
 */
export function mutatedJson(
  seeds: readonly JsonValue[],
  o: { serialize?: (v: JsonValue) => Buffer; maxOps?: number } = {},
): fc.Arbitrary<Buffer> {
  if (seeds.length === 0) throw new Error('mutatedJson needs at least one seed');
  const ser = o.serialize ?? ((v: JsonValue) => Buffer.from(JSON.stringify(v), 'utf8'));
  const texts = seeds.map(ser);
  const structural = fc
    .tuple(fc.nat(seeds.length - 1), jsonMutations(o.maxOps))
    .map(([i, ops]) => ser(mutateJson(seeds[i]!, ops)));
  const both = fc.tuple(structural, byteMutations(3)).map(([b, ops]) => mutateBytes(b, ops, texts));
  return fc.oneof(
    { arbitrary: fc.constantFrom(...texts), weight: 1 },
    { arbitrary: structural, weight: 8 },
    { arbitrary: both, weight: 3 },
    { arbitrary: mutatedBytes(texts, { random: false }), weight: 3 },
  );
}

/** `depth` nested arrays (or objects) around `inner`, as text: the stack-overflow probe. */
export function deeplyNested(depth: number, inner = '1', kind: 'array' | 'object' = 'array'): string {
  return kind === 'array'
    ? '['.repeat(depth) + inner + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}
