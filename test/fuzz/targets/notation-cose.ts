// Notation COSE_Sign1 envelopes through openEnvelope: the test signer's envelopes and notation-go's cose*.sig when
// ../shared/vectors is present, mutated as raw bytes, as re-encoded CBOR structures (values of the message, its
// unprotected header and its chain replaced, deleted, added, retyped), and with mutated protected headers re-signed
// by a key of ours. Oracle: as notation-jws — a TrustpinError or an envelope; accepted and not signed by our
// resigner ⇒ a seed's payload, signature and leaf; signed by the resigner ⇒ the NSPEC header rules hold.
import { decode, Tag } from 'cbor2';
import fc from 'fast-check';
import { openEnvelope } from '../../../src/trust/notation/envelope.js';
import { notationSignBytes } from '../../harness/notation.js';
import { bufferCodec, byteMutations, check, codedSync, defineTarget, mutateBytes } from '../harness.js';
import {
  checkOpened,
  coseSeeds,
  decodeCbor,
  editHeader,
  type HeaderView,
  headerEdit,
  NOTATION_COSE_MEDIA_TYPE,
  resigner,
  sometimes,
} from './notation-seeds.js';

const texts = coseSeeds.map((s) => s.bytes);
const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length);
/** CBOR head of major type `major` with argument `n` (the shortest form). */
function head(major: number, n: number | bigint): Buffer {
  const m = major << 5;
  const v = BigInt(n);
  if (v < 24n) return Buffer.from([m | Number(v)]);
  if (v < 0x100n) return Buffer.from([m | 24, Number(v)]);
  if (v < 0x10000n) return Buffer.from([m | 25, Number(v) >> 8, Number(v) & 0xff]);
  if (v < 0x100000000n) {
    const b = Buffer.alloc(5);
    b[0] = m | 26;
    b.writeUInt32BE(Number(v), 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = m | 27;
  b.writeBigUInt64BE(v, 1);
  return b;
}

/**
 * A small CBOR encoder for what the mutators build (cbor2's encoder costs milliseconds per envelope, which would
 * make generation the bottleneck): definite lengths, maps in insertion order, floats as float64; a value nested
 * deeper than 64 (a mutation grafted it into itself) is cut off as `undefined`.
 */
function enc(v: unknown, out: Buffer[] = []): Buffer {
  let depth = 0;
  const put = (x: unknown): void => {
    // a mutation may graft a value into itself: the cycle is cut at depth 64
    if (++depth > 64) x = undefined;
    putValue(x);
    depth--;
  };
  const putValue = (x: unknown): void => {
    if (typeof x === 'number') {
      if (Number.isSafeInteger(x)) out.push(x >= 0 ? head(0, x) : head(1, -1 - x));
      else {
        const b = Buffer.alloc(9);
        b[0] = 0xfb;
        b.writeDoubleBE(x, 1);
        out.push(b);
      }
    } else if (typeof x === 'bigint') {
      if (x >= 0n && x < 2n ** 64n) out.push(head(0, x));
      else if (x < 0n && x >= -(2n ** 64n)) out.push(head(1, -1n - x));
      else put(new Tag(x < 0n ? 3 : 2, new Uint8Array(0)));
    } else if (typeof x === 'string') {
      const b = Buffer.from(x, 'utf8');
      out.push(head(3, b.length), b);
    } else if (x instanceof Uint8Array) out.push(head(2, x.length), Buffer.from(x));
    else if (Array.isArray(x)) {
      out.push(head(4, x.length));
      for (const i of x) put(i);
    } else if (x instanceof Map) {
      out.push(head(5, x.size));
      for (const [k, i] of x) {
        put(k);
        put(i);
      }
    } else if (x instanceof Tag) {
      out.push(head(6, x.tag as number | bigint));
      put(x.contents);
    } else if (x instanceof Date) {
      out.push(head(6, 1));
      put(Number.isNaN(x.getTime()) ? 0 : Math.floor(x.getTime() / 1000));
    } else if (x === null) out.push(Buffer.from([0xf6]));
    else if (x === true) out.push(Buffer.from([0xf5]));
    else if (x === false) out.push(Buffer.from([0xf4]));
    else out.push(Buffer.from([0xf7]));
  };
  put(v);
  return Buffer.concat(out);
}

// ---- CBOR structure mutations ----

const NAMES = [
  1,
  2,
  3,
  4,
  33,
  -1,
  0,
  'io.cncf.notary.signingScheme',
  'io.cncf.notary.signingTime',
  'io.cncf.notary.authenticSigningTime',
  'io.cncf.notary.expiry',
  'io.cncf.notary.verificationPlugin',
  'io.cncf.notary.timestampSignature',
  'io.cncf.notary.signingAgent',
  'crit',
  '',
];
/** Values that break a COSE reader's assumptions: wrong types, odd times and algorithms, a certificate, tags. */
function hostile(i: number, bytes: Uint8Array): unknown {
  const cert = coseSeeds[0]?.leaf ?? Buffer.alloc(1);
  const vs: unknown[] = [
    0,
    -7,
    -37,
    -35,
    -257,
    2 ** 40,
    -(2 ** 63),
    18446744073709551615n,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    'notary.x509',
    'notary.x509.signingAuthority',
    'application/vnd.cncf.notary.payload.v1+json',
    bytes,
    new Uint8Array(0),
    u8(cert),
    [u8(cert)],
    [],
    [''],
    [1, 2],
    ['io.cncf.notary.signingScheme', 'io.cncf.notary.signingScheme'],
    new Map(),
    new Map<unknown, unknown>([[1, -7]]),
    null,
    undefined,
    true,
    new Tag(1, 0),
    new Tag(1, 1e12),
    new Tag(1, -1),
    new Tag(1, 1.5),
    new Tag(1, 'x'),
    new Tag(0, '2026-02-31T00:00:00Z'),
    new Tag(18, []),
    new Tag(1, new Tag(1, 5)),
  ];
  return vs[i % vs.length];
}

type Slot = { get(): unknown; set(v: unknown): void; del(): void };

/** Every place in a decoded CBOR value a mutation can touch (the root excluded). */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || out.length > 500) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        out.push({ get: () => v[i], set: (x) => (v[i] = x), del: () => v.splice(i, 1) });
        walk(v[i], depth + 1);
      }
    } else if (v instanceof Map) {
      for (const k of [...v.keys()]) {
        out.push({ get: () => v.get(k), set: (x) => v.set(k, x), del: () => v.delete(k) });
        walk(v.get(k), depth + 1);
      }
    } else if (v instanceof Tag) {
      out.push({ get: () => v.contents, set: (x) => (v.contents = x), del: () => (v.contents = undefined) });
      walk(v.contents, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

type CborOp = { op: number; at: number; value: number; key: number; bytes: Uint8Array };
const cborOp: fc.Arbitrary<CborOp> = fc.record({
  op: fc.nat(5),
  at: fc.nat(),
  value: fc.nat(),
  key: fc.nat(),
  bytes: fc.uint8Array({ maxLength: 16 }),
});

function mutateCbor(root: unknown, ops: readonly CborOp[]): unknown {
  for (const o of ops) {
    const all = slots(root);
    if (all.length === 0) return root;
    const s = all[o.at % all.length]!;
    const here = s.get();
    switch (o.op) {
      case 0:
        s.set(hostile(o.value, o.bytes));
        break;
      case 1:
        s.del();
        break;
      case 2:
        if (here instanceof Map) here.set(NAMES[o.key % NAMES.length], hostile(o.value, o.bytes));
        else if (Array.isArray(here)) here.push(hostile(o.value, o.bytes));
        else s.set([here]);
        break;
      case 3:
        // a byte string's content mutated (a certificate, the token, the signature, the payload)
        if (here instanceof Uint8Array)
          s.set(u8(mutateBytes(Buffer.from(here), [{ op: 'flip', at: o.value, bit: o.key % 8 }])));
        else s.set(new Tag(o.key % 64, here));
        break;
      case 4:
        // a copy of the value at another place of the message (a copy: a shared value grafted again and again
        // would make the message a DAG whose encoding doubles with every graft)
        s.set(decodeCbor(enc(all[o.value % all.length]!.get())));
        break;
      default:
        // a byte string holding CBOR (the protected header) decoded, mutated inside and encoded again
        if (here instanceof Uint8Array) {
          const inner = decodeCbor(here);
          if (inner !== undefined) s.set(u8(enc(mutateCbor(inner, [{ ...o, op: o.value % 3 }]))));
        }
    }
  }
  return root;
}

const structural = fc
  .tuple(fc.nat(texts.length - 1), fc.array(cborOp, { minLength: 1, maxLength: 4 }))
  .map(([i, ops]) => {
    const v = decodeCbor(texts[i]!);
    return v === undefined ? texts[i]! : enc(mutateCbor(v, ops));
  });

/** Sig_structure as RFC 9052 §4.4 writes it (definite lengths, empty external_aad). */
const toBeSigned = (p: Uint8Array, payload: Uint8Array) => enc(['Signature1', p, new Uint8Array(0), payload]);

/** A seed's protected header mutated as CBOR, then signed by the resigner (whose chain replaces x5chain). */
const resigned = fc
  .record({
    seed: fc.nat(texts.length - 1),
    edits: fc.array(headerEdit, { maxLength: 3 }),
    ops: sometimes(fc.array(cborOp, { minLength: 1, maxLength: 3 }), 1),
    byteOps: sometimes(byteMutations(2), 6),
  })
  .map(({ seed, edits, ops, byteOps }) => {
    const t = decodeCbor(texts[seed]!);
    if (!(t instanceof Tag) || !Array.isArray(t.contents) || t.contents.length !== 4) return texts[seed]!;
    const [p, u, payload] = t.contents as [unknown, unknown, unknown];
    let ph = p instanceof Uint8Array ? decodeCbor(p) : undefined;
    if (ph instanceof Map) {
      ph.set(1, -7);
      ph.delete(33);
    } else ph = new Map<unknown, unknown>([[1, -7]]);
    const m = ph as Map<unknown, unknown>;
    editHeader(
      { get: (n) => m.get(n), set: (n, v) => m.set(n, v), delete: (n) => m.delete(n) },
      { get: () => m.get(2), set: (v) => m.set(2, v) },
      edits,
      // a COSE time is a tag 1 epoch; now and then the RFC 3339 string itself (which COSE does not allow)
      (t, i) => (i % 4 === 0 ? t : new Date(t)),
    );
    if (ops) ph = mutateCbor(ph, ops);
    let pb = enc(ph);
    if (byteOps) pb = mutateBytes(pb, byteOps);
    const body = payload instanceof Uint8Array ? payload : new Uint8Array(0);
    const sig = notationSignBytes(resigner.leaf.key, 'sha256', toBeSigned(u8(pb), body));
    const unprot = u instanceof Map ? u : new Map();
    unprot.set(
      33,
      resigner.chain.map((c) => u8(c)),
    );
    return enc(new Tag(18, [u8(pb), unprot, body, u8(sig)]));
  });

function headerOf(b: Buffer): HeaderView | undefined {
  let t: unknown;
  try {
    t = decode(b, { preferMap: true, rejectDuplicateKeys: true });
  } catch {
    return undefined;
  }
  const p = t instanceof Tag && Array.isArray(t.contents) ? t.contents[0] : undefined;
  const ph = p instanceof Uint8Array ? decodeCbor(p) : undefined;
  if (!(ph instanceof Map)) return undefined;
  return { crit: ph.get(2), cty: ph.get(3), get: (n) => ph.get(n), has: (n) => ph.has(n) };
}

export default defineTarget<Buffer>({
  name: 'notation-cose',
  description:
    'openEnvelope (COSE); oracle: coded rejections only, accepted ⇒ a seed’s payload, signature and leaf, or (re-signed) the NSPEC header rules',
  arbitrary: fc.oneof(
    { arbitrary: fc.constantFrom(...texts), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.nat(texts.length - 1), byteMutations())
        .map(([i, o]) => mutateBytes(texts[i]!, o, texts)),
      weight: 5,
    },
    { arbitrary: structural, weight: 5 },
    { arbitrary: resigned, weight: 4 },
  ),
  run(b) {
    const e = codedSync(() => openEnvelope(b, NOTATION_COSE_MEDIA_TYPE));
    if (e === undefined) return;
    checkOpened(e, coseSeeds, () => headerOf(b), check);
    // a COSE time is an epoch, tag 1 (cbor2 decodes it to a Date); notation-core-go `parseTime` reads the
    // scheme's time and the expiry, and refuses any other type ("invalid timeValue type")
    const h = e.chain[0]!.equals(resigner.leaf.der) ? headerOf(b) : undefined;
    const timeName =
      e.signingScheme === 'notary.x509'
        ? 'io.cncf.notary.signingTime'
        : 'io.cncf.notary.authenticSigningTime';
    for (const n of [timeName, 'io.cncf.notary.expiry'])
      if (h?.has(n))
        check(
          h.get(n) instanceof Date,
          () => `accepted the COSE ${n} ${JSON.stringify(String(h.get(n)))}, not a tag 1 epoch time`,
        );
  },
  ...bufferCodec,
});
