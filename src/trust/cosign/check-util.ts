// Small shared pieces of the cosign checks: coded failures, bounded strict JSON, strict base64. Everything here
// works on untrusted bytes and fails only with a TrustpinError carrying a verification code.
import { type ErrorCode, TrustpinError } from '../../errors/index.js';
import { type Json, parseStrictJson } from '../dct/canonical.js';

export type { Json };

/** A coded failure with what was expected, found, and what to do. */
export function fail(
  code: ErrorCode,
  message: string,
  details: { expected?: string; found?: string; hint?: string; cause?: unknown } = {},
): TrustpinError {
  return new TrustpinError(code, message, details);
}

/** Any parsed JSON value as text for a message (parsed objects have no prototype: String() would throw). */
export function text(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? 'undefined';
  } catch {
    return typeof v;
  }
}

/** Shorten a value for a message (untrusted strings can be long or multi-line). */
export function shown(s: string, max = 120): string {
  const one = JSON.stringify(s);
  return one.length > max ? `${one.slice(0, max)}…" (${s.length} chars)` : one;
}

/**
 * Parse JSON strictly (UTF-8, no duplicate keys, safe integers, depth ≤ 64) after a size check; any failure is
 * `code` naming `what`.
 */
export function parseJsonBounded(bytes: Uint8Array, max: number, what: string, code: ErrorCode): Json {
  if (bytes.length > max)
    throw fail('SIZE_EXCEEDED', `${what} is ${bytes.length} bytes, more than the ${max} accepted`, {
      expected: `at most ${max} bytes`,
      found: `${bytes.length} bytes`,
      hint: 'no real signature document is this large; this one was built to exhaust memory',
    });
  try {
    return parseStrictJson(bytes);
  } catch (e) {
    const why = e instanceof TrustpinError ? e.message.replace(/^.*?: /, '') : String(e);
    throw fail(code, `${what} is not valid JSON: ${why}`, {
      expected: 'one JSON document (UTF-8, no duplicate keys, nesting ≤ 64)',
      found: why,
      hint: 'the signature material is malformed or hostile; nothing from it was used',
    });
  }
}

/** A plain JSON object (not an array or null), else undefined. */
export function asObject(v: unknown): Record<string, Json> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, Json>) : undefined;
}

/**
 * Standard base64 with padding, checked in one pass: a regular expression with a repeated group,
 * `(?:[A-Za-z0-9+/]{4})*`, overflows V8's stack on a few megabytes (found by the cosign-intoto fuzz target).
 */
function isPaddedBase64(t: string): boolean {
  if (t.length % 4 !== 0) return false;
  const pad = t.endsWith('==') ? 2 : t.endsWith('=') ? 1 : 0;
  for (let i = 0; i < t.length - pad; i++) {
    const c = t.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    if (!ok) return false;
  }
  return true;
}
const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Decode base64 strictly (standard alphabet with padding, or URL-safe without; line breaks tolerated as
 * cosign's own encoder wraps at 76); anything else is `code` naming `what`.
 */
export function decodeBase64(s: string, what: string, code: ErrorCode): Buffer {
  const t = s.replace(/[\r\n]/g, '');
  if (isPaddedBase64(t)) return Buffer.from(t, 'base64');
  if (B64URL.test(t) && t.length % 4 !== 1) return Buffer.from(t, 'base64url');
  throw fail(code, `${what} is not base64`, {
    expected: 'base64 (RFC 4648)',
    found: shown(s, 60),
    hint: 'the signature material is malformed; re-sign the image',
  });
}
