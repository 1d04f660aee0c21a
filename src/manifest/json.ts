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
