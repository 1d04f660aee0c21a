// The Dockerfile (Containerfile) extractor: the images a build pulls (FROM, COPY --from, RUN --mount from=, the
// `# syntax` frontend), where they are written, lexed the way BuildKit's parser reads the file and its global ARGs.
import { TrustpinError } from '../errors/index.js';
import { parseDockerReference } from '../reference/index.js';
import type { ExtractOptions, ImageSite, NotPinnable, TextRange } from './types.js';

// BuildKit sets these for every build; their values depend on the platform built, which pin cannot know
const BUILTIN_ARGS = new Set([
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
]);
const HEREDOC_INSTRUCTIONS = new Set(['run', 'copy', 'add']);
const MAX_NESTING = 32;
const UNQUOTE = 'write the reference unquoted to pin it';
const ARG_HINT = (name: string) => `pass --build-arg ${name}=VALUE or give the ARG a default`;

/** unicode.IsSpace, as BuildKit trims lines */
function isSpace(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** `[\t\v\f\r ]`, what BuildKit splits instruction words on */
function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}

function isNameChar(ch: string, first: boolean): boolean {
  const c = ch.charCodeAt(0);
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) return true;
  if (c >= 48 && c <= 57) return !first;
  return c > 127 && /\p{L}/u.test(ch);
}

// ---- physical and logical lines ----

interface PhysLine {
  start: number;
  /** end of the content, without `\r\n` */
  end: number;
  no: number;
}

/** The physical lines of the text, one at a time; the line returned is the cursor itself (read it before next()). */
class Lines implements PhysLine {
  private pos: number;
  start = 0;
  end = 0;
  no = 0;
  constructor(
    private readonly text: string,
    start: number,
  ) {
    this.pos = start;
  }

  next(): PhysLine | undefined {
    const t = this.text;
    if (this.pos >= t.length) return undefined;
    const nl = t.indexOf('\n', this.pos);
    let end = nl < 0 ? t.length : nl;
    if (end > this.pos && t.charCodeAt(end - 1) === 13) end--;
    this.start = this.pos;
    this.end = end;
    this.no++;
    this.pos = nl < 0 ? t.length : nl + 1;
    return this;
  }
}

/** A piece of a logical line: `len` characters at `file` in the text, at `log` in the logical line. */
interface Segment {
  log: number;
  file: number;
  len: number;
  line: number;
  lineStart: number;
}

/** An instruction with its line continuations joined, and where each of its characters is in the file. */
class Logical {
  constructor(
    readonly text: string,
    private readonly segs: Segment[],
  ) {}

  private seg(i: number): Segment {
    let lo = 0;
    let hi = this.segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segs[mid]!.log <= i) lo = mid;
      else hi = mid - 1;
    }
    // the last segment holding i (empty segments share their log with the next one)
    return this.segs[lo]!;
  }

  file(i: number): number {
    const s = this.seg(i);
    return s.file + (i - s.log);
  }

  /** 1-based line and UTF-16 column of logical index i */
  position(i: number): { line: number; column: number } {
    const s = this.seg(i);
    return { line: s.line, column: s.file + (i - s.log) - s.lineStart + 1 };
  }

  /** true when [a, b) is one run of the file's text (not cut by a line continuation) */
  contiguous(a: number, b: number): boolean {
    if (b <= a) return true;
    const s = this.seg(a);
    return b <= s.log + s.len;
  }
}

function trimContinuation(text: string, s: number, e: number, esc: string): [number, boolean] {
  let i = e;
  while (i > s && (text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 9)) i--;
  if (i > s && text[i - 1] === esc) return [i - 1, true];
  return [e, false];
}

function skipSpace(text: string, s: number, e: number): number {
  let i = s;
  while (i < e && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The next instruction, skipping comment and empty lines; comment and blank lines inside continuations are dropped. */
function readLogical(lines: Lines, text: string, esc: string): Logical | undefined {
  for (;;) {
    const l = lines.next();
    if (!l) return undefined;
    const s = skipSpace(text, l.start, l.end);
    if (s < l.end && text[s] === '#') continue;
    let [e, more] = trimContinuation(text, s, l.end, esc);
    if (!more && e === s) continue;
    const segs: Segment[] = [{ log: 0, file: s, len: e - s, line: l.no, lineStart: l.start }];
    const parts = [text.slice(s, e)];
    let log = e - s;
    while (more) {
      const c = lines.next();
      if (!c) break;
      const cs = skipSpace(text, c.start, c.end);
      if (cs === c.end || text[cs] === '#') continue;
      [e, more] = trimContinuation(text, c.start, c.end, esc);
      segs.push({ log, file: c.start, len: e - c.start, line: c.no, lineStart: c.start });
      parts.push(text.slice(c.start, e));
      log += e - c.start;
    }
    return new Logical(parts.length === 1 ? parts[0]! : parts.join(''), segs);
  }
}

// ---- parser directives ----

interface Directive {
  name: string;
  value: string;
  start: number;
  line: number;
  lineStart: number;
}

/** `# name=value` lines at the top, as BuildKit's DirectiveParser: the block ends at the first other line. */
function readDirectives(text: string, from: number, firstLine: number): Directive[] {
  const lines = new Lines(text, from);
  const out: Directive[] = [];
  const seen = new Set<string>();
  const re = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
  for (let l = lines.next(); l; l = lines.next()) {
    const s = skipSpace(text, l.start, l.end);
    // one line at a time, and a directive line is short: this regex never runs over the whole file
    if (l.end - s > 4096) break;
    const m = re.exec(text.slice(s, l.end));
    if (!m) break;
    const name = m[1]!.toLowerCase();
    if ((name !== 'syntax' && name !== 'escape' && name !== 'check') || seen.has(name)) break;
    seen.add(name);
    const value = m[2]!;
    let start = s + m[0].indexOf('=') + 1;
    while (' \t\n\f\r'.includes(text[start]!)) start++;
    out.push({ name, value, start, line: l.no + firstLine - 1, lineStart: l.start });
  }
  return out;
}

// ---- words and flags ----

interface Word {
  start: number;
  end: number;
}

/** BuildKit's extractBuilderFlags: leading `--name=value` words, quotes removed. */
interface Flag {
  name: string;
  value: string;
  /** the logical index of each character of value; null when value is written as is, from `start` */
  map: number[] | null;
  start: number;
}

/** where character k of a flag's value is in the logical line */
function rawAt(f: Flag, k: number): number {
  return f.map ? f.map[k]! : f.start + k;
}

function scanFlags(L: string, from: number): { flags: Flag[]; rest: number } {
  const flags: Flag[] = [];
  let i = from;
  for (;;) {
    while (i < L.length && isSpace(L.charCodeAt(i))) i++;
    if (i + 1 >= L.length || L[i] !== '-' || L[i + 1] !== '-') return { flags, rest: i };
    // most flags have no quote or backslash: take them as written
    const ws = i;
    let we = i;
    while (we < L.length && !isSpace(L.charCodeAt(we)) && !'"\'\\'.includes(L[we]!)) we++;
    if (we === L.length || isSpace(L.charCodeAt(we))) {
      i = we;
      if (we - ws === 2) return { flags, rest: i };
      const eq = L.indexOf('=', ws);
      flags.push(
        eq < 0 || eq >= we
          ? { name: L.slice(ws + 2, we), value: '', map: null, start: we }
          : { name: L.slice(ws + 2, eq), value: L.slice(eq + 1, we), map: null, start: eq + 1 },
      );
      continue;
    }
    let word = '';
    const map: number[] = [];
    let quote = '';
    let blankOK = false;
    for (; i < L.length; i++) {
      let ch = L[i]!;
      if (quote === '' && isSpace(ch.charCodeAt(0))) break;
      if (quote !== '' && ch === quote) {
        quote = '';
        continue;
      }
      if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
        blankOK = true;
        continue;
      }
      if (ch === '\\') {
        if (i + 1 === L.length) continue;
        ch = L[++i]!;
      }
      word += ch;
      map.push(i);
    }
    if (word === '--') return { flags, rest: i };
    if (!blankOK && word.length === 0) continue;
    const eq = word.indexOf('=');
    flags.push(
      eq < 0
        ? { name: word.slice(2), value: '', map: null, start: i }
        : { name: word.slice(2, eq), value: word.slice(eq + 1), map: map.slice(eq + 1), start: 0 },
    );
  }
}

/** Words split on `[\t\v\f\r ]`, as FROM's arguments are. */
function blankWords(L: string, from: number): Word[] {
  const out: Word[] = [];
  let i = from;
  while (i < L.length) {
    while (i < L.length && isBlank(L.charCodeAt(i))) i++;
    const s = i;
    while (i < L.length && !isBlank(L.charCodeAt(i))) i++;
    if (i > s) out.push({ start: s, end: i });
  }
  // a trailing unicode space is trimmed by BuildKit before splitting
  const last = out[out.length - 1];
  if (last) {
    let e = last.end;
    while (e > last.start && isSpace(L.charCodeAt(e - 1))) e--;
    if (e === last.start) out.pop();
    else last.end = e;
  }
  return out;
}

/** Shell-like words (BuildKit's parseWords for ARG, ProcessWords for heredocs): quotes and escapes kept. */
function shellWords(L: string, from: number, esc: string): Word[] {
  const out: Word[] = [];
  let i = from;
  while (i < L.length) {
    while (i < L.length && isSpace(L.charCodeAt(i))) i++;
    if (i >= L.length) break;
    const s = i;
    let quote = '';
    for (; i < L.length; i++) {
      const ch = L[i]!;
      if (quote === '') {
        if (isSpace(ch.charCodeAt(0))) break;
        if (ch === '"' || ch === "'") quote = ch;
        else if (ch === esc) i++;
      } else if (ch === quote) quote = '';
      else if (ch === esc && quote !== "'") i++;
    }
    if (i > L.length) i = L.length;
    out.push({ start: s, end: i });
  }
  return out;
}

// ---- variable expansion (BuildKit's shell lexer, for the forms a reference can use) ----

type Var = { kind: 'set'; value: string } | { kind: 'unset' | 'unknown'; why: string; hint?: string };

class Unpinnable {
  constructor(readonly np: NotPinnable) {}
}

function unresolved(name: string, v: { why: string; hint?: string }): Unpinnable {
  return new Unpinnable({
    code: 'ARG_UNRESOLVED',
    message: `$${name} has no value pin can know: ${v.why}`,
    hint: v.hint ?? ARG_HINT(name),
  });
}

function templated(message: string, hint?: string): Unpinnable {
  return new Unpinnable({ code: 'TEMPLATED', message, hint });
}

/** Expand `$V`, `${V}`, `${V:-w}`, `${V-w}` and quotes; other forms are templates pin does not evaluate. */
function expand(word: string, esc: string, lookup: (name: string) => Var): string {
  if (!/[$"']/.test(word) && !word.includes(esc)) return word;
  return new Expander(word, esc, lookup).process('', true, 0);
}

// a class rather than closures: one expansion per reference, and no function objects made per call
class Expander {
  private i = 0;
  private readonly n: number;

  constructor(
    private readonly word: string,
    private readonly esc: string,
    private readonly lookup: (name: string) => Var,
  ) {
    this.n = word.length;
  }

  /** a variable's value; when `need` is false (an alternative not taken) it is not looked up */
  private get(name: string, need: boolean): string {
    if (!need) return '';
    const v = this.lookup(name);
    if (v.kind !== 'set') throw unresolved(name, v);
    return v.value;
  }

  private readName(): string {
    const { word, n } = this;
    const s = this.i;
    if (this.i < n && isDigit(word.charCodeAt(this.i))) {
      while (this.i < n && isDigit(word.charCodeAt(this.i))) this.i++;
      return word.slice(s, this.i);
    }
    while (this.i < n && isNameChar(word[this.i]!, this.i === s)) this.i++;
    return word.slice(s, this.i);
  }

  private dollar(need: boolean, depth: number): string {
    const { word, n } = this;
    this.i++;
    if (this.i >= n || word[this.i] !== '{') {
      const name = this.readName();
      return name === '' ? '$' : this.get(name, need);
    }
    this.i++;
    const name = this.readName();
    if (name === '' || this.i >= n) throw templated(`bad substitution in ${JSON.stringify(word)}`);
    if (word[this.i] === '}') {
      this.i++;
      return this.get(name, need);
    }
    let op = word[this.i++]!;
    if (op === ':' && this.i < n) op += word[this.i++];
    if (op !== ':-' && op !== '-') {
      if (need) throw templated(`\${${name}${op}…} is a template pin does not evaluate`);
      this.process('}', false, depth + 1);
      return '';
    }
    const v: Var = need ? this.lookup(name) : { kind: 'set', value: 'x' };
    if (v.kind === 'unknown') throw unresolved(name, v);
    const value = v.kind === 'set' ? v.value : undefined;
    const useWord = value === undefined || (op === ':-' && value === '');
    const alt = this.process('}', need && useWord, depth + 1);
    return value === undefined || useWord ? alt : value;
  }

  process(stop: string, need: boolean, depth: number): string {
    if (depth > MAX_NESTING) throw templated('variables nested too deeply');
    const { word, n, esc } = this;
    let out = '';
    while (this.i < n) {
      const ch = word[this.i]!;
      if (stop !== '' && ch === stop) {
        this.i++;
        return out;
      }
      if (ch === "'") {
        const e = word.indexOf("'", this.i + 1);
        if (e < 0) throw templated('unmatched single quote');
        out += word.slice(this.i + 1, e);
        this.i = e + 1;
      } else if (ch === '"') {
        this.i++;
        for (;;) {
          if (this.i >= n) throw templated('unmatched double quote');
          const c = word[this.i]!;
          if (c === '"') break;
          const next = word[this.i + 1];
          if (c === '$') out += this.dollar(need, depth);
          else if (c === esc && (next === '"' || next === '$' || next === esc)) {
            out += next;
            this.i += 2;
          } else {
            out += c;
            this.i++;
          }
        }
        this.i++;
      } else if (ch === '$') out += this.dollar(need, depth);
      else if (ch === esc) {
        if (this.i + 1 < n) out += word[this.i + 1];
        this.i += 2;
      } else {
        out += ch;
        this.i++;
      }
    }
    if (stop !== '') throw templated(`missing '${stop}' in ${JSON.stringify(word)}`);
    return out;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The name of the one variable the word is (`$V`, `${V}`), or undefined. */
function singleVar(word: string): string | undefined {
  const braced = word.startsWith('${') && word.endsWith('}');
  const name = braced ? word.slice(2, -1) : word.startsWith('$') ? word.slice(1) : '';
  if (name === '' || /[0-9]/.test(name[0]!)) return undefined;
  for (const ch of name) if (!isNameChar(ch, false)) return undefined;
  return name;
}

// ---- the extractor ----

interface GlobalArg {
  v: Var | { kind: 'declared' };
  fromBuildArg: boolean;
  /** the default's text in the file, when it is the value exactly (no quotes inside, no variables) */
  range?: TextRange | undefined;
}

interface Resolved {
  site: ImageSite;
  /** the reference once expanded (also when it is not a valid reference: it may name a stage) */
  value?: string | undefined;
  viaArg?: string | undefined;
  onLine?: ImageSite | undefined;
}

interface Pending {
  site: ImageSite;
  /** pinned in this global ARG's default, unless the ARG is also used in a larger template */
  viaArg?: string | undefined;
  /** the site pinned where it is written instead */
  onLine?: ImageSite | undefined;
  /** a COPY --from or mount source that is a stage when a stage of that (lowercased) name exists */
  stage?: string | undefined;
}

class Extractor {
  readonly sites: Pending[] = [];
  private readonly globals = new Map<string, GlobalArg>();
  private readonly stageArgs = new Set<string>();
  private readonly earlierStages = new Set<string>();
  private readonly allStages = new Set<string>();
  private seenFrom = false;

  constructor(
    private readonly esc: string,
    private readonly buildArgs: Readonly<Record<string, string>>,
  ) {}

  private buildArg(name: string): string | undefined {
    return Object.hasOwn(this.buildArgs, name) ? this.buildArgs[name] : undefined;
  }

  /** the global ARGs the current expansion read */
  private readonly used: string[] = [];
  /** global ARGs used in a larger template (`alpine:${V}`, another ARG's default): not pinned in their default */
  private readonly partial = new Set<string>();

  private expand(word: string): string {
    this.used.length = 0;
    return expand(word, this.esc, this.lookup);
  }

  private lookup = (name: string): Var => {
    this.used.push(name);
    const g = this.globals.get(name);
    if (g && g.v.kind !== 'declared') return g.v;
    if (BUILTIN_ARGS.has(name))
      return { kind: 'unknown', why: `${name} is set by the builder for the platform built` };
    if (g) return { kind: 'unset', why: `ARG ${name} has no default and no --build-arg ${name} was given` };
    if (this.stageArgs.has(name))
      return {
        kind: 'unset',
        why: `ARG ${name} is declared in a stage, and FROM sees only ARGs before the first FROM`,
        hint: `declare ARG ${name}=VALUE before the first FROM`,
      };
    return { kind: 'unset', why: `no ARG ${name} is declared before the first FROM` };
  };

  instruction(L: Logical): void {
    const t = L.text;
    let i = skipSpace(t, 0, t.length);
    const ks = i;
    while (i < t.length && !isBlank(t.charCodeAt(i))) i++;
    const kw = t.slice(ks, i).toLowerCase();
    const { flags, rest } = scanFlags(t, i);
    if (kw === 'arg') this.arg(L, rest);
    else if (kw === 'from') this.from(L, flags, rest);
    else if (kw === 'copy') this.copyFrom(L, flags);
    else if (kw === 'run') for (const f of flags) if (f.name === 'mount') this.mount(L, f);
  }

  private arg(L: Logical, from: number): void {
    for (const w of shellWords(L.text, from, this.esc)) {
      const word = L.text.slice(w.start, w.end);
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      if (this.seenFrom) {
        this.stageArgs.add(name);
        continue;
      }
      const given = this.buildArg(name);
      if (given !== undefined)
        this.globals.set(name, { v: { kind: 'set', value: given }, fromBuildArg: true });
      else if (eq >= 0) this.globals.set(name, this.argDefault(L, w.start + eq + 1, w.end));
      else if (!this.globals.has(name))
        this.globals.set(name, { v: { kind: 'declared' }, fromBuildArg: false });
    }
  }

  private argDefault(L: Logical, a: number, b: number): GlobalArg {
    const raw = L.text.slice(a, b);
    let v: Var;
    try {
      v = { kind: 'set', value: this.expand(raw) };
    } catch (e) {
      if (!(e instanceof Unpinnable)) throw e;
      v = { kind: 'unknown', why: `its default ${JSON.stringify(raw)}: ${e.np.message}` };
    }
    for (const u of this.used) this.partial.add(u);
    const inner = unquoted(raw);
    let range: TextRange | undefined;
    if (v.kind === 'set' && inner.text === v.value && plain(inner.text, this.esc, true)) {
      const s = a + inner.offset;
      const e = s + inner.text.length;
      if (L.contiguous(s, e) && e > s) range = { start: L.file(s), end: L.file(e - 1) + 1 };
    }
    return { v, fromBuildArg: false, range };
  }

  private from(L: Logical, flags: Flag[], rest: number): void {
    this.seenFrom = true;
    const t = L.text;
    const words = blankWords(t, rest);
    const as = words[1] && t.slice(words[1].start, words[1].end).toLowerCase() === 'as';
    // anything else is an error to BuildKit ("FROM requires either one or three arguments")
    if (words.length !== 1 && !(words.length === 3 && as)) return;
    const image = words[0]!;
    const nameWord = words[2];
    const stage = nameWord ? t.slice(nameWord.start, nameWord.end) : undefined;
    const r = this.site(stage ? `FROM (stage ${stage})` : 'FROM', L, image.start, image.end, true);
    const platform = flags.find((f) => f.name === 'platform');
    if (platform) {
      r.site.platform = platform.value;
      if (r.onLine) r.onLine.platform = platform.value;
    }
    const v = r.value;
    if (v === undefined || (v !== 'scratch' && !this.earlierStages.has(v.toLowerCase()))) this.sites.push(r);
    if (stage) {
      this.earlierStages.add(stage.toLowerCase());
      this.allStages.add(stage.toLowerCase());
    }
  }

  private copyFrom(L: Logical, flags: Flag[]): void {
    const f = flags.find((x) => x.name === 'from');
    if (!f || f.value === '' || /^[+-]?[0-9]+$/.test(f.value) || f.value === 'scratch') return;
    const a = rawAt(f, 0);
    const b = rawAt(f, f.value.length - 1) + 1;
    if (f.value.includes('$')) {
      const pos = L.position(a);
      const np = templated(
        `COPY --from=${f.value}: BuildKit does not expand variables in --from`,
        'define a stage with FROM using a global ARG, and COPY --from that stage',
      ).np;
      this.sites.push({
        site: {
          format: 'dockerfile',
          where: 'COPY --from',
          ...pos,
          text: L.text.slice(a, b),
          notPinnable: np,
        },
      });
      return;
    }
    const { site } = this.flagSite('COPY --from', L, f, 0, f.value.length, false);
    this.sites.push({ site, stage: f.value.toLowerCase() });
  }

  private mount(L: Logical, f: Flag): void {
    let type = 'bind';
    let from: { s: number; e: number } | undefined;
    let at = 0;
    for (const field of f.value.split(',')) {
      const eq = field.indexOf('=');
      const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
      if (key === 'type' && eq >= 0) type = field.slice(eq + 1).toLowerCase();
      if (key === 'from' && eq >= 0) from = { s: at + eq + 1, e: at + field.length };
      at += field.length + 1;
    }
    if (!from || from.e === from.s || type === 'tmpfs') return;
    const r = this.flagSite('RUN --mount from', L, f, from.s, from.e, true);
    if (r.value === 'scratch') return;
    this.sites.push({ ...r, stage: r.value?.toLowerCase() });
  }

  private flagSite(where: string, L: Logical, f: Flag, s: number, e: number, vars: boolean): Resolved {
    const value = f.value;
    const a = rawAt(f, s);
    const b = rawAt(f, e - 1) + 1;
    // the value as written is the flag's characters only when no quote or escape was removed inside it
    if (b - a !== e - s) {
      const np = templated(
        `${JSON.stringify(value.slice(s, e))} is written with quotes or escapes inside it`,
        UNQUOTE,
      ).np;
      return {
        site: { format: 'dockerfile', where, ...L.position(a), text: L.text.slice(a, b), notPinnable: np },
      };
    }
    return this.site(where, L, a, b, vars);
  }

  /** The site for the reference written at [a0, b0) of the logical line, and its value once expanded. */
  private site(where: string, L: Logical, a0: number, b0: number, vars: boolean): Resolved {
    this.used.length = 0;
    const written = unquoted(L.text.slice(a0, b0));
    const a = a0 + written.offset;
    const b = a + written.text.length;
    const text = written.text;
    const at: At = { where, ...L.position(a), text };
    let value: string;
    try {
      value = vars ? this.expand(L.text.slice(a0, b0)) : text;
    } catch (e) {
      if (!(e instanceof Unpinnable)) throw e;
      for (const u of this.used) this.partial.add(u);
      return { site: unpinnable(at, e.np) };
    }
    const invalid = checkReference(value);
    if (invalid) return { site: unpinnable(at, invalid), value };
    const one = vars ? singleVar(text) : undefined;
    if (one === undefined) for (const u of this.used) this.partial.add(u);
    const here = this.lineEdit(L, text, a, b);
    const onLine = { site: 'code' in here ? unpinnable(at, here) : pinnable(at, value, here), value };
    const g = one === undefined ? undefined : this.globals.get(one);
    if (one === undefined || !g?.range || g.fromBuildArg) return onLine;
    return { site: pinnable(at, value, g.range), value, viaArg: one, onLine: onLine.site };
  }

  /** the range of the reference where it is written, or why it cannot be rewritten there */
  private lineEdit(L: Logical, text: string, a: number, b: number): TextRange | NotPinnable {
    if (!plain(text, this.esc, false))
      return templated(`${JSON.stringify(text)} is written with quotes or escapes inside it`, UNQUOTE).np;
    if (!L.contiguous(a, b))
      return templated(
        'the reference is split across lines by a line continuation',
        'write it on one line to pin it',
      ).np;
    return { start: L.file(a), end: L.file(b - 1) + 1 };
  }

  finish(): ImageSite[] {
    return this.sites
      .filter((p) => p.stage === undefined || !this.allStages.has(p.stage))
      .map((p) => (p.viaArg !== undefined && this.partial.has(p.viaArg) && p.onLine ? p.onLine : p.site));
  }
}

/**
 * Why BuildKit would not take `ref` as an image reference, or undefined. Stricter than parseDockerReference, which
 * trims spaces and drops a `docker://` prefix: the reference is written back with a digest, so it must be exact.
 */
function checkReference(ref: string): NotPinnable | undefined {
  const why = (message: string): NotPinnable => ({
    code: 'REFERENCE_INVALID',
    message: `invalid reference ${JSON.stringify(ref)}: ${message}`,
    hint: 'write NAME[:TAG][@DIGEST], e.g. alpine:3.20',
  });
  if (ref.trim() !== ref) return why('it begins or ends with a space character');
  if (ref.startsWith('docker://')) return why('a Dockerfile names an image without a transport prefix');
  try {
    parseDockerReference(ref);
  } catch (e) {
    if (!(e instanceof TrustpinError)) throw e;
    return { code: 'REFERENCE_INVALID', message: e.message, hint: e.hint };
  }
  return undefined;
}

/** where a site is and what is written there */
interface At {
  where: string;
  line: number;
  column: number;
  text: string;
}

function unpinnable(at: At, np: NotPinnable): ImageSite {
  return {
    format: 'dockerfile',
    where: at.where,
    line: at.line,
    column: at.column,
    text: at.text,
    notPinnable: np,
  };
}

function pinnable(at: At, ref: string, range: TextRange): ImageSite {
  const { where, line, column, text } = at;
  return { format: 'dockerfile', where, line, column, text, ref, edit: { kind: 'reference', range } };
}

/** the text inside one pair of enclosing quotes, or the text */
function unquoted(raw: string): { text: string; offset: number } {
  const q = raw[0];
  if (
    raw.length >= 2 &&
    (q === '"' || q === "'") &&
    raw[raw.length - 1] === q &&
    !raw.slice(1, -1).includes(q)
  )
    return { text: raw.slice(1, -1), offset: 1 };
  return { text: raw, offset: 0 };
}

/** no quote or escape character (and, for a literal, no variable): the text is the value as the builder reads it */
function plain(s: string, esc: string, literal: boolean): boolean {
  return !/["']/.test(s) && !s.includes(esc) && !(literal && s.includes('$'));
}

/** The heredoc names a RUN, COPY or ADD line opens (`<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<'EOF'`), in order. */
function heredocs(L: Logical): { name: string; chomp: boolean }[] {
  const t = L.text;
  if (!t.includes('<<')) return [];
  let i = skipSpace(t, 0, t.length);
  let ks = i;
  while (i < t.length && !isBlank(t.charCodeAt(i))) i++;
  let kw = t.slice(ks, i).toLowerCase();
  if (kw === 'onbuild') {
    i = skipSpace(t, i, t.length);
    ks = i;
    while (i < t.length && !isBlank(t.charCodeAt(i))) i++;
    kw = t.slice(ks, i).toLowerCase();
  }
  if (!HEREDOC_INSTRUCTIONS.has(kw)) return [];
  const args = t.slice(scanFlags(t, i).rest).trim();
  if (args.startsWith('[') && isJsonStrings(args)) return [];
  const out: { name: string; chomp: boolean }[] = [];
  for (const w of shellWords(t, 0, '\\')) {
    const word = t.slice(w.start, w.end);
    let j = 0;
    while (j < word.length && word.charCodeAt(j) >= 48 && word.charCodeAt(j) <= 57) j++;
    if (!word.startsWith('<<', j)) continue;
    j += 2;
    const chomp = word[j] === '-';
    if (chomp) j++;
    const rest = word.slice(j);
    if (rest === '' || rest.includes('<')) continue;
    const name = unquoteHeredoc(rest);
    if (name !== '') out.push({ name, chomp });
  }
  return out;
}

function isJsonStrings(s: string): boolean {
  try {
    const v: unknown = JSON.parse(s);
    return Array.isArray(v) && v.every((x) => typeof x === 'string');
  } catch {
    return false;
  }
}

function unquoteHeredoc(s: string): string {
  let out = '';
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote !== '' && ch === quote) quote = '';
    else if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === '\\' && quote !== "'" && i + 1 < s.length) out += s[++i];
    else out += ch;
  }
  return out;
}

function skipHeredocs(lines: Lines, text: string, docs: { name: string; chomp: boolean }[]): void {
  for (const d of docs) {
    for (let l = lines.next(); l; l = lines.next()) {
      let s = l.start;
      if (d.chomp) while (s < l.end && text.charCodeAt(s) === 9) s++;
      if (l.end - s === d.name.length && text.startsWith(d.name, s)) break;
    }
  }
}

/**
 * The image references a Dockerfile or Containerfile builds from: `FROM` (not stage names or `scratch`),
 * `COPY --from`, `RUN --mount=…,from=` and the `# syntax` directive, each with its exact place in `text` (the decoded
 * file; a BOM and CRLF line endings are fine). Global ARGs (before the first FROM) are expanded with `o.buildArgs`
 * over their defaults; a reference that is exactly one ARG with a default is pinned in that ARG's default.
 * A reference pin cannot resolve or rewrite is a site with `notPinnable` saying why. Never throws on any text.
 */
export function extractDockerfile(text: string, o: ExtractOptions = {}): ImageSite[] {
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const directives = readDirectives(text, bom, 1);
  const escDir = directives.find((d) => d.name === 'escape');
  const esc = escDir?.value === '`' ? '`' : '\\';
  // BuildKit finds `# syntax` after a shebang line too (the escape directive it does not)
  let syntaxDirs = directives;
  if (text.startsWith('#!', bom)) {
    const nl = text.indexOf('\n', bom);
    syntaxDirs = nl < 0 ? [] : readDirectives(text, nl + 1, 2);
  }
  const ex = new Extractor(esc, o.buildArgs ?? {});
  const syntax = syntaxDirs.find((d) => d.name === 'syntax');
  const out: ImageSite[] = [];
  if (syntax) out.push(syntaxSite(syntax));
  const lines = new Lines(text, bom);
  for (let L = readLogical(lines, text, esc); L; L = readLogical(lines, text, esc)) {
    ex.instruction(L);
    const docs = heredocs(L);
    if (docs.length > 0) skipHeredocs(lines, text, docs);
  }
  return [...out, ...ex.finish()];
}

function syntaxSite(d: Directive): ImageSite {
  const sp = d.value.indexOf(' ');
  const ref = sp < 0 ? d.value : d.value.slice(0, sp);
  const range = { start: d.start, end: d.start + ref.length };
  const base: ImageSite = {
    format: 'dockerfile',
    where: '# syntax',
    line: d.line,
    column: d.start - d.lineStart + 1,
    text: ref,
  };
  const invalid = checkReference(ref);
  return invalid ? { ...base, notPinnable: invalid } : { ...base, ref, edit: { kind: 'reference', range } };
}
