// A tiny DER writer: just the ASN.1 types an X.509 certificate needs. It lets trustpin/testing make
// certificates with node:crypto alone, so the shipped test kit has no ASN.1 dependency.

/** DER bytes of one ASN.1 value. */
export type Der = Buffer;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A tag-length-value triple. */
export function tlv(tag: number, content: Buffer): Der {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

export const sequence = (...items: Der[]): Der => tlv(0x30, Buffer.concat(items));
export const set = (...items: Der[]): Der => tlv(0x31, Buffer.concat(items));
export const octetString = (b: Buffer): Der => tlv(0x04, b);
export const utf8String = (s: string): Der => tlv(0x0c, Buffer.from(s, 'utf8'));
export const boolean = (b: boolean): Der => tlv(0x01, Buffer.from([b ? 0xff : 0x00]));
/** `[n] EXPLICIT` */
export const explicit = (n: number, inner: Der): Der => tlv(0xa0 | n, inner);
/** `[n] IMPLICIT` of a primitive type */
export const implicit = (n: number, content: Buffer): Der => tlv(0x80 | n, content);

/** A non-negative INTEGER from big-endian magnitude bytes (a 0x00 is prepended when the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Der {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(0x02, (m[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

export const smallInteger = (n: number): Der => unsignedInteger(Buffer.from([n]));

export function oid(dotted: string): Der {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      chunk.unshift((v & 0x7f) | (chunk.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A BIT STRING holding whole bytes (signatures, keys). */
export const bitStringBytes = (b: Buffer): Der => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));

/** A BIT STRING of named bits: bit i of `flags` is ASN.1 bit i; DER drops trailing zero bits. */
export function namedBits(flags: number): Der {
  let n = 0;
  while (flags >= 1 << n) n++;
  const bytes = Buffer.alloc(Math.ceil(n / 8));
  for (let i = 0; i < n; i++) if (flags & (1 << i)) bytes[i >> 3]! |= 0x80 >> (i & 7);
  return tlv(0x03, Buffer.concat([Buffer.from([bytes.length * 8 - n]), bytes]));
}

/** RFC 5280: UTCTime through 2049, GeneralizedTime from 2050; always UTC with seconds. */
export function time(ms: number): Der {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = new Date(ms).getUTCFullYear();
  return year < 2050 && year >= 1950
    ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii'))
    : tlv(0x18, Buffer.from(digits, 'ascii'));
}
