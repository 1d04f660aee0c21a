// Parses `WWW-Authenticate` values into scheme + params the way distribution's parseAuthHeader does,
// extended to split several challenges folded into one value (fetch joins repeated headers with ", ").

export interface Challenge {
  /** auth-scheme, lower-cased: `bearer`, `basic` */
  scheme: string;
  /** auth-params with lower-cased keys; values unquoted and unescaped */
  params: Record<string, string>;
}

// RFC 2616 token characters: any CHAR except CTLs and separators (same table as distribution).
const SEPARATORS = ' \t"(),/:;<=>?@[]\\{}';

function isTokenChar(c: number): boolean {
  return c > 31 && c < 127 && !SEPARATORS.includes(String.fromCharCode(c));
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

function readToken(s: string, i: number): [string, number] {
  let j = i;
  while (j < s.length && isTokenChar(s.charCodeAt(j))) j++;
  return [s.slice(i, j), j];
}

/** Reads a token or a quoted-string at `i`; undefined when neither is well formed. */
function readValue(s: string, i: number): [string, number] | undefined {
  if (s[i] !== '"') {
    const [tok, j] = readToken(s, i);
    return tok === '' ? undefined : [tok, j];
  }
  let out = '';
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (c === '"') return [out, j + 1];
    if (c === '\\') {
      j++;
      if (j >= s.length) return undefined;
      out += s[j];
    } else {
      out += c;
    }
  }
  return undefined; // unterminated quote: distribution drops the value too
}

/** Skips to the next comma that is not inside a quoted-string, so one bad param does not poison the rest. */
function skipElement(s: string, i: number): number {
  let quoted = false;
  for (let j = i; j < s.length; j++) {
    const c = s[j];
    if (quoted) {
      if (c === '\\') j++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      return j;
    }
  }
  return s.length;
}

function parseValue(header: string, out: Challenge[]): void {
  let current: Challenge | undefined;
  // A token not followed by `=` starts a new challenge only at the start of a list element; right after a
  // scheme it would be a token68 credential blob, which registries never send and we ignore.
  let atElementStart = true;
  let i = 0;
  while (i < header.length) {
    i = skipSpace(header, i);
    if (i >= header.length) break;
    if (header[i] === ',') {
      atElementStart = true;
      i++;
      continue;
    }
    const [tok, afterTok] = readToken(header, i);
    if (tok === '') {
      i = skipElement(header, i);
      continue;
    }
    const k = skipSpace(header, afterTok);
    if (header[k] === '=' && current !== undefined) {
      const value = readValue(header, skipSpace(header, k + 1));
      if (value === undefined) {
        i = skipElement(header, k + 1);
      } else {
        current.params[tok.toLowerCase()] = value[0];
        i = skipSpace(header, value[1]);
        // Anything but a comma after a value is garbage up to the next element (distribution stops here).
        if (i < header.length && header[i] !== ',') i = skipElement(header, i);
      }
      atElementStart = false;
      continue;
    }
    if (!atElementStart) {
      i = skipElement(header, afterTok);
      continue;
    }
    current = { scheme: tok.toLowerCase(), params: {} };
    out.push(current);
    atElementStart = false;
    i = afterTok;
  }
}

/**
 * Parses one or more `WWW-Authenticate` header values. Each value may hold several challenges
 * (`Bearer realm="x",service="y", Basic realm="z"`); malformed params are skipped, not fatal.
 */
export function parseChallenges(values: string | string[] | undefined): Challenge[] {
  if (values === undefined) return [];
  const out: Challenge[] = [];
  for (const v of Array.isArray(values) ? values : [values]) parseValue(v, out);
  return out;
}
