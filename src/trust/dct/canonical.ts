// Canonical JSON exactly as docker/go's MarshalCanonical (what Notary signs): no whitespace, object keys in
// bytewise UTF-8 order, only `\` and `"` escaped, integers only. Plus a strict parser for signed documents.
import { TrustpinError } from '../../errors/index.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function bad(why: string): TrustpinError {
  return new TrustpinError('TUF_METADATA_INVALID', `trust metadata is not valid JSON for signing: ${why}`, {
    hint: 'the server sent malformed or hostile metadata; nothing from it was used',
  });
}

/**
 * Bytewise UTF-8 order of two well-formed strings, compared as UTF-16 without allocating: UTF-8 orders by code
 * point, and UTF-16 differs from that only where a surrogate (a code point above U+FFFF) meets U+E000–U+FFFF.
 * Lone surrogates are made U+FFFD first ({@link wellFormed}), as UTF-8 encoding does.
 */
function cmpUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) return unitRank(x) - unitRank(y);
    return x - y;
  }
  return a.length - b.length;
}

/** Lone surrogates as U+FFFD, which is what encoding them as UTF-8 gives (String#toWellFormed, Node ≥ 20). */
function wellFormed(s: string): string {
  if (!/[\ud800-\udfff]/.test(s)) return s;
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Surrogates after U+E000–U+FFFF, as their code points are. */
const unitRank = (u: number) => (u <= 0xdfff ? u + 0x2000 : u - 0x800);

function encodeString(s: string, out: string[]): void {
  out.push(
    '"',
    s.replace(/[\\"]/g, (c) => `\\${c}`),
    '"',
  );
}

function encode(v: Json, out: string[]): void {
  if (v === null) out.push('null');
  else if (v === true) out.push('true');
  else if (v === false) out.push('false');
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw bad(`number ${v} is not a safe integer`);
    out.push(String(v));
  } else if (typeof v === 'string') encodeString(v, out);
  else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i) out.push(',');
      encode(x, out);
    });
    out.push(']');
  } else {
    out.push('{');
    // compared without converting to UTF-8 per comparison: that made a 100,000-key object (an unsigned root.json
    // under its 1 MiB cap) take a second or more to canonicalise, before any signature was checked
    Object.keys(v)
      .map((k): [string, string] => [wellFormed(k), k])
      .sort((a, b) => cmpUtf8(a[0], b[0]))
      .forEach(([, k], i) => {
        if (i) out.push(',');
        encodeString(k, out);
        out.push(':');
        encode(v[k] as Json, out);
      });
    out.push('}');
  }
}

export function canonicalJson(v: Json): Buffer {
  const out: string[] = [];
  encode(v, out);
  return Buffer.from(out.join(''), 'utf8');
}

/**
 * Parse JSON strictly: fatal UTF-8 decoding, no duplicate object keys, no numbers outside the safe integer
 * range (Go and JSON.parse would silently disagree with each other on all three).
 */
export function parseStrictJson(bytes: Uint8Array): Json {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bad('invalid UTF-8');
  }
  // TextDecoder drops a leading byte-order mark silently; Go's encoding/json (and so notary) rejects it
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) throw bad('a leading byte-order mark');
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (depth: number): Json => {
    if (depth > 64) throw bad('nesting deeper than 64');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      // null prototype: a member named __proto__ or constructor is data, never the object's prototype
      const obj: { [k: string]: Json } = Object.create(null);
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw bad(`expected a key at offset ${i}`);
        const k = str();
        if (seen.has(k)) throw bad(`duplicate key ${JSON.stringify(k)}`);
        seen.add(k);
        ws();
        if (text[i++] !== ':') throw bad(`expected ':' at offset ${i - 1}`);
        obj[k] = value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] === '}') return obj;
        throw bad(`expected ',' or '}' at offset ${i - 1}`);
      }
    }
    if (c === '[') {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] === ']') return arr;
        throw bad(`expected ',' or ']' at offset ${i - 1}`);
      }
    }
    if (c === '"') return str();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) throw bad(`unexpected character at offset ${i}`);
    i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    const n = Number(m[0]);
    if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n)))
      throw bad(`number ${m[0]} out of range`);
    return n;
  };
  const str = (): string => {
    const start = i;
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) throw bad('unterminated string');
      if (c === '\\') i += 2;
      else if (c === '"') break;
      else i++;
    }
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      throw bad(`invalid string at offset ${start}`);
    }
  };
  const v = value(0);
  ws();
  if (i !== text.length) throw bad(`trailing data at offset ${i}`);
  return v;
}
