// Generators for the layer targets: raw tar archives with hostile headers (any bytes in a number field, bad
// base-256 markers, unknown type flags, long names through GNU and PAX records, bodies that disagree with the
// size) written by hand with a valid checksum, and layer stacks of small names that collide on purpose.
import fc from 'fast-check';
import type { RawEntry } from '../../attacks/layers.js';

/** A number field as written: octal text, base-256 with a marker, or any bytes at all. */
export type NumField =
  | { k: 'oct'; v: number }
  | { k: 'b256'; marker: number; v: number }
  | { k: 'raw'; bytes: number[] };

export interface RawHeader {
  name: string;
  mode: NumField;
  uid: NumField;
  gid: NumField;
  size: NumField;
  mtime: NumField;
  /** the type flag byte */
  type: string;
  linkname: string;
  /** 'ustar' (POSIX), 'gnu' or 'v7' (no magic) */
  magic: 'ustar' | 'gnu' | 'v7';
  prefix: string;
  devmajor: NumField;
  devminor: NumField;
  body: number[];
  /** a wrong header checksum */
  badSum: boolean;
}

export interface RawTar {
  headers: RawHeader[];
  /** end-of-archive blocks written (0, 1 or 2) */
  end: number;
  /** cut the archive at this many bytes from the end */
  cut: number;
}

function writeNum(b: Buffer, off: number, len: number, f: NumField): void {
  if (f.k === 'oct') {
    const s = Math.max(0, Math.floor(f.v)).toString(8);
    b.write(`${s.slice(-(len - 1)).padStart(len - 1, '0')}\0`, off, len, 'latin1');
  } else if (f.k === 'b256') {
    b[off] = f.marker;
    let v = Math.floor(Math.abs(f.v));
    for (let i = off + len - 1; i > off; i--) {
      b[i] = v % 256;
      v = Math.floor(v / 256);
    }
  } else Buffer.from(f.bytes.slice(0, len)).copy(b, off);
}

export function header(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  writeNum(b, 100, 8, h.mode);
  writeNum(b, 108, 8, h.uid);
  writeNum(b, 116, 8, h.gid);
  writeNum(b, 124, 12, h.size);
  writeNum(b, 136, 12, h.mtime);
  b.write(h.type.slice(0, 1) || '0', 156, 1, 'latin1');
  b.write(h.linkname, 157, 100, 'utf8');
  if (h.magic === 'ustar') b.write('ustar\x0000', 257, 8, 'latin1');
  if (h.magic === 'gnu') b.write('ustar  \0', 257, 8, 'latin1');
  writeNum(b, 329, 8, h.devmajor);
  writeNum(b, 337, 8, h.devminor);
  if (h.magic === 'ustar') b.write(h.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  if (h.badSum) sum += 1;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

export function rawTar(t: RawTar): Buffer {
  const parts: Buffer[] = [];
  for (const h of t.headers) {
    parts.push(header(h));
    const body = Buffer.from(h.body);
    parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  for (let i = 0; i < t.end; i++) parts.push(Buffer.alloc(512));
  const all = Buffer.concat(parts);
  return all.subarray(0, Math.max(0, all.length - t.cut));
}

/** A PAX record with a correct length prefix (or, with `off`, a wrong one). */
export function paxRecord(key: string, value: string, off = 0): string {
  const rest = ` ${key}=${value}\n`;
  let n = Buffer.byteLength(rest) + 1;
  while (String(n).length + Buffer.byteLength(rest) !== n) n++;
  return `${n + off}${rest}`;
}

const NAME_PARTS = ['a', 'b', 'dir', '.', '..', '', '.wh.a', '.wh..wh..opq', 'x'.repeat(120), '/', 'é', '\0'];
const name = fc.array(fc.constantFrom(...NAME_PARTS), { maxLength: 5 }).map((a) => a.join('/'));

const numField: fc.Arbitrary<NumField> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('oct' as const), v: fc.nat(0o777777) }), weight: 30 },
  {
    arbitrary: fc.record({
      k: fc.constant('oct' as const),
      v: fc.constantFrom(0, 1, 511, 512, 513, 0o77777777777, 2 ** 33),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('b256' as const),
      marker: fc.constantFrom(0x80, 0xff, 0x81, 0xc0),
      v: fc.oneof(fc.nat(4096), fc.constantFrom(2 ** 53, 2 ** 64, 2 ** 80)),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('raw' as const),
      bytes: fc.array(fc.constantFrom(0x20, 0x00, 0x30, 0x37, 0x38, 0x2d, 0x7a, 0x80, 0xff), {
        maxLength: 12,
      }),
    }),
    weight: 2,
  },
);

const PAX_KEYS = ['path', 'linkpath', 'size', 'mtime', 'uid', 'SCHILY.xattr.user.x', 'comment', ''];
const paxBody = fc
  .array(
    fc.record({
      key: fc.constantFrom(...PAX_KEYS),
      value: fc.oneof(name, fc.constantFrom('-1', '1e3', '99999999999999999999', 'NaN', '12', '0')),
      off: fc.constantFrom(0, 0, 0, 1, -1, 1000),
    }),
    { maxLength: 4 },
  )
  .map((rs) => [...Buffer.from(rs.map((r) => paxRecord(r.key, r.value, r.off)).join(''))]);

const rawHeader: fc.Arbitrary<RawHeader> = fc
  .record({
    name,
    mode: numField,
    uid: numField,
    gid: numField,
    size: numField,
    mtime: numField,
    type: fc.constantFrom('0', '0', '0', '5', '2', '1', '3', '4', '6', '7', 'x', 'g', 'L', 'K', 'Z', '\0'),
    linkname: name,
    magic: fc.constantFrom('ustar' as const, 'ustar' as const, 'gnu' as const, 'gnu' as const, 'v7' as const),
    prefix: fc.oneof(fc.constant(''), name),
    devmajor: numField,
    devminor: numField,
    body: fc.oneof(fc.array(fc.nat(255), { maxLength: 600 }), paxBody),
    badSum: fc.oneof(
      { arbitrary: fc.constant(false), weight: 40 },
      { arbitrary: fc.constant(true), weight: 1 },
    ),
    /** make the declared size the body's length (most headers), so that parsing gets past the first entry */
    fit: fc.oneof({ arbitrary: fc.constant(true), weight: 12 }, { arbitrary: fc.constant(false), weight: 1 }),
  })
  .map(({ fit, ...h }) => (fit ? { ...h, size: { k: 'oct' as const, v: h.body.length } } : h));

export const rawTars: fc.Arbitrary<RawTar> = fc.record({
  headers: fc.array(rawHeader, { minLength: 1, maxLength: 6 }),
  end: fc.constantFrom(2, 2, 1, 0),
  cut: fc.constantFrom(0, 0, 0, 1, 100, 512, 1000),
});

// ---- layer stacks: a few names that meet each other (whiteouts, opaque markers, symlinks over directories) ----

/** replaced at run time by the absolute path of the sentinel directory next to the unpack root */
export const SENTINEL = '@SENTINEL@';

const COMPONENTS = ['a', 'b', 'c', 'A', '.wh.a', '.wh.b', '.wh.c', '.wh..wh..opq', '.'];
/** `..` is rare in names (most names with it climb out and are refused at once), common in link targets */
const component = (dots: number) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...COMPONENTS), weight: 60 },
    { arbitrary: fc.constant('..'), weight: dots },
  );
const pathOf = (dots: number) =>
  fc
    .tuple(
      fc.constantFrom('', '', '', '/', './'),
      fc.array(component(dots), { minLength: 1, maxLength: 4 }),
      fc.constantFrom('', '', '/'),
    )
    .map(([pre, cs, post]) => pre + cs.join('/') + post);
const layerPath = pathOf(1);
const targetPath = pathOf(6);
const linkTarget = fc.oneof(
  targetPath,
  fc.constantFrom('..', '/', '../..', '../../../..', SENTINEL, `${SENTINEL}/x`, '../sentinel', '.'),
  fc.tuple(fc.constantFrom('../', '../../', '/', '/../'), targetPath).map(([a, b]) => a + b),
);

const layerEntry: fc.Arbitrary<RawEntry> = fc.oneof(
  {
    arbitrary: fc.record({
      name: layerPath,
      body: fc.constantFrom('1', '22', 'x'),
      mode: fc.constantFrom(0o644, 0o4755, 0o000),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      name: layerPath,
      type: fc.constant('directory' as const),
      mode: fc.constantFrom(0o755, 0o700, 0o000),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ name: layerPath, type: fc.constant('symlink' as const), linkname: linkTarget }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ name: layerPath, type: fc.constant('link' as const), linkname: layerPath }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      name: layerPath,
      type: fc.constantFrom('character-device' as const, 'block-device' as const),
      devmajor: fc.constantFrom(1, 8),
      devminor: fc.constantFrom(3, 0),
    }),
    weight: 1,
  },
);

export const layerStacks: fc.Arbitrary<RawEntry[][]> = fc.array(fc.array(layerEntry, { maxLength: 8 }), {
  minLength: 1,
  maxLength: 3,
});

/** Layer stacks as JSON (bodies are strings), for saved reproducers. */
export const stackCodec = {
  encode: (s: RawEntry[][]): Buffer => Buffer.from(JSON.stringify(s)),
  decode: (b: Buffer): RawEntry[][] => JSON.parse(b.toString('utf8')) as RawEntry[][],
};

/** With `SENTINEL` replaced by `abs` in every name and link target. */
export function withSentinel(s: RawEntry[][], abs: string): RawEntry[][] {
  const r = (x: string | undefined) => x?.split(SENTINEL).join(abs);
  return s.map((l) =>
    l.map((e) => ({
      ...e,
      name: r(e.name)!,
      ...(e.linkname !== undefined ? { linkname: r(e.linkname) } : {}),
    })),
  );
}

// ---- valid seeds, for byte mutation ----

const oct = (v: number): NumField => ({ k: 'oct', v });
export function validHeader(h: Partial<RawHeader> & { name: string }): RawHeader {
  const body = h.body ?? [];
  return {
    mode: oct(0o644),
    uid: oct(0),
    gid: oct(0),
    size: oct(body.length),
    mtime: oct(1_700_000_000),
    type: '0',
    linkname: '',
    magic: 'ustar',
    prefix: '',
    devmajor: oct(0),
    devminor: oct(0),
    badSum: false,
    ...h,
    body,
  };
}
const bytes = (s: string) => [...Buffer.from(s)];
const pax = (records: [string, string][]) => bytes(records.map(([k, v]) => paxRecord(k, v)).join(''));

export const SEED_TARS: Buffer[] = [
  rawTar({
    headers: [
      validHeader({ name: 'etc/', type: '5', mode: oct(0o755) }),
      validHeader({ name: 'etc/hosts', body: bytes('127.0.0.1 localhost\n') }),
      validHeader({ name: 'bin/sh', type: '2', linkname: '/bin/busybox' }),
      validHeader({ name: 'bin/ash', type: '1', linkname: 'bin/sh' }),
    ],
    end: 2,
    cut: 0,
  }),
  rawTar({
    headers: [
      validHeader({
        name: 'PaxHeader',
        type: 'x',
        body: pax([
          ['path', `long/${'n'.repeat(200)}`],
          ['size', '3'],
        ]),
      }),
      validHeader({ name: 'short', body: bytes('abc') }),
      validHeader({
        name: '././@LongLink',
        type: 'L',
        magic: 'gnu',
        body: bytes(`gnu/${'g'.repeat(150)}\0`),
      }),
      validHeader({ name: 'gnu/short', magic: 'gnu', body: bytes('g') }),
      validHeader({ name: 'var/.wh.old' }),
      validHeader({ name: 'opt/.wh..wh..opq' }),
    ],
    end: 2,
    cut: 0,
  }),
  rawTar({
    headers: [
      validHeader({ name: 'dev/null', type: '3', mode: oct(0o666), devmajor: oct(1), devminor: oct(3) }),
      validHeader({ name: 'fifo', type: '6' }),
      validHeader({ name: 'big', size: { k: 'b256', marker: 0x80, v: 5 }, body: bytes('12345') }),
    ],
    end: 2,
    cut: 0,
  }),
];

/** Recompute the checksum of every block that carries a ustar magic, so byte mutations reach past it. */
export function fixSums(tar: Buffer): Buffer {
  const b = Buffer.from(tar);
  for (let at = 0; at + 512 <= b.length; at += 512) {
    if (b.toString('latin1', at + 257, at + 262) !== 'ustar') continue;
    b.fill(0x20, at + 148, at + 156);
    let sum = 0;
    for (let i = at; i < at + 512; i++) sum += b[i]!;
    b.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 8, 'latin1');
  }
  return b;
}
