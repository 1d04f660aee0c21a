// Nesting depth of manifest and config JSON, bounded before anything walks it: JSON.parse itself copes with any
// depth, but every recursive step after it (schema checks, deep comparison, JSON output) would overflow the stack.
import { TrustpinError } from '../errors/index.js';

/**
 * Deepest nesting of arrays and objects accepted in a manifest, an index or an image config (default 100).
 * Real documents nest about 5 deep (index → manifests → descriptor → platform → os.features). Deeper is
 * MANIFEST_INVALID.
 */
export const MAX_JSON_DEPTH = 100;

/** The nesting depth of JSON text (strings skipped), counted without recursion; stops past `max`. */
export function jsonDepth(bytes: Uint8Array, max = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Throw MANIFEST_INVALID when `bytes` nest deeper than {@link MAX_JSON_DEPTH}. */
export function requireJsonDepth(bytes: Uint8Array, what: string): void {
  if (jsonDepth(bytes, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH) return;
  throw new TrustpinError('MANIFEST_INVALID', `${what} nests deeper than ${MAX_JSON_DEPTH} levels`, {
    expected: `at most ${MAX_JSON_DEPTH} levels of arrays and objects`,
    found: `more than ${MAX_JSON_DEPTH}`,
    hint: 'no real manifest or image config nests this deep; this one was built to exhaust the stack',
  });
}

/**
 * Whether JSON text has a number literal that may read as -0 or ±Infinity: one with a minus sign, an exponent
 * or a run of more than 308 digits (strings skipped). Real configs have none, so the walk below is skipped.
 */
function mayHoldOddNumbers(bytes: Uint8Array): boolean {
  let inString = false;
  let digits = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > 308) return true;
      continue;
    }
    // outside strings a minus sign only starts a number; an e after a digit is an exponent (true/false have theirs after a letter)
    if (c === 0x2d || ((c === 0x65 || c === 0x45) && digits > 0)) return true;
    if (c === 0x22) inString = true;
    digits = 0;
  }
  return false;
}

/**
 * Make `value`, parsed from `bytes`, a value JSON can carry back (in place, without recursion). JSON.parse reads a
 * negative zero (`-0`, `-0.0`, `-1e-400`) as -0, which JSON.stringify prints as 0 but `Object.is` and
 * `isDeepStrictEqual` tell from 0: it becomes 0, the same number to every other consumer (Go's `==` and
 * `reflect.DeepEqual` too). A number beyond the double range (`1e400`) reads as ±Infinity, which prints as null and
 * equals every other such number: MANIFEST_INVALID, as it is to Go's encoding/json wherever Go decodes it.
 */
export function requireJsonNumbers(bytes: Uint8Array, value: unknown, what: string): void {
  if (!mayHoldOddNumbers(bytes)) return;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    const o = node as Record<string, unknown>;
    for (const k of Array.isArray(o) ? o.keys() : Object.keys(o)) {
      const v = o[k];
      if (typeof v === 'object') {
        if (v !== null) stack.push(v);
      } else if (typeof v === 'number') {
        if (v === 0) o[k] = 0;
        else if (!Number.isFinite(v)) throw numberOutOfRange(value, what);
      }
    }
  }
}

/** Where the first non-finite number is (failure path only, so the walk above keeps no paths). */
function numberOutOfRange(value: unknown, what: string): TrustpinError {
  const stack: [unknown, string][] = [[value, '']];
  let where = '(root)';
  let found = String(value);
  search: while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    for (const [k, v] of Object.entries(node)) {
      const p = path ? `${path}.${k}` : k;
      if (typeof v === 'number' && !Number.isFinite(v)) {
        where = p;
        found = String(v);
        break search;
      }
      stack.push([v, p]);
    }
  }
  return new TrustpinError(
    'MANIFEST_INVALID',
    `${what} holds a number beyond the range of a double at ${where}`,
    {
      expected: 'numbers a double can hold (magnitude at most about 1.8e308)',
      found: `a number that reads as ${found} at ${where}`,
      hint: 'no image builder writes such a number; it could not be compared or printed back, so the document is refused',
    },
  );
}
