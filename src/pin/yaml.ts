// The YAML layer the pin extractors share: parse with positions under hard bounds (nesting depth, linear
// uniqueness check), resolve aliases to their anchor's node without copying, and build sites from scalars.
import {
  type Alias,
  Composer,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Node,
  type Pair,
  Parser,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { TrustpinError } from '../errors/index.js';
import { parseDockerReference } from '../reference/index.js';
import type { ImageSite, NotPinnable, PinFormat, TextRange } from './types.js';

/**
 * Deepest nesting of YAML collections (flow or block) a pin file may have. The parser is stopped as soon as it
 * is exceeded: the composer recurses once per level, and deep inputs (`[[[[…`) would exhaust the stack.
 */
export const MAX_PIN_YAML_DEPTH = 256;

/** Longest chain of `<<` merge keys (a mapping merging one that merges another …) followed when looking up a key. */
export const MAX_PIN_YAML_MERGE_DEPTH = 32;

/** A parsed YAML file: its documents, each with aliases mapped to the node their anchor names. */
export interface YamlFile {
  text: string;
  docs: YamlDoc[];
  lineCounter: LineCounter;
}

/** One document of a {@link YamlFile}. */
export interface YamlDoc {
  doc: Document.Parsed;
  /** every alias of the document → the node of the anchor it names (the latest one before it) */
  anchors: Map<Alias, Node>;
  /** memo of {@link mapGet}: mapping → key → value (null: absent) */
  memo: Map<YAMLMap, Map<string, Node | null>>;
}

function invalid(file: string | undefined, expected: string, found: string, hint: string): TrustpinError {
  return new TrustpinError('PIN_FILE_INVALID', `${file ?? 'the file'} is not a readable ${expected}`, {
    expected,
    found,
    hint,
  });
}

function at(lc: LineCounter, offset: number): string {
  const p = lc.linePos(offset);
  return `line ${p.line} column ${p.col}`;
}

/**
 * Parses every document of `text` with positions. Throws `PIN_FILE_INVALID` for a YAML error (the first one,
 * with its line and column), collections nested deeper than {@link MAX_PIN_YAML_DEPTH}, a duplicate key or an
 * alias naming no anchor. Keys are checked for uniqueness here (a set per mapping) instead of by the composer,
 * whose check is quadratic in the mapping's size.
 */
export function parseYaml(text: string, o: { file?: string | undefined; expected: string }): YamlFile {
  const lineCounter = new LineCounter();
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens = [];
  let offset = 0;
  for (const lexeme of new Lexer().lex(text)) {
    for (const t of parser.next(lexeme)) tokens.push(t);
    // the parser's stack holds the document, then one entry per open collection (and maybe a scalar)
    if (parser.stack.length > MAX_PIN_YAML_DEPTH + 2) {
      throw invalid(
        o.file,
        o.expected,
        `${at(lineCounter, offset)}: collections nested deeper than ${MAX_PIN_YAML_DEPTH}`,
        `no real file nests this deep; at most ${MAX_PIN_YAML_DEPTH} levels are read`,
      );
    }
    offset += lexeme.length;
  }
  for (const t of parser.end()) tokens.push(t);
  const composer = new Composer({ uniqueKeys: false, keepSourceTokens: true });
  const docs: YamlDoc[] = [];
  for (const doc of composer.compose(tokens, false, text.length)) {
    const err = doc.errors[0];
    if (err) {
      throw invalid(
        o.file,
        o.expected,
        `${at(lineCounter, err.pos[0])}: ${err.message}`,
        'fix the YAML syntax there (a YAML linter shows every error)',
      );
    }
    docs.push({ doc, anchors: indexDocument(doc, lineCounter, o), memo: new Map() });
  }
  return { text, docs, lineCounter };
}

function keyId(k: unknown): string | undefined {
  if (!isScalar(k)) return undefined;
  return `${typeof k.value}:${String(k.value)}`;
}

// One pass in document order: anchors are recorded when their node is entered (so `&a [*a]` is a cycle the
// walkers cut), each alias is mapped to the latest anchor of its name, and keys are checked for uniqueness.
function indexDocument(
  doc: Document.Parsed,
  lc: LineCounter,
  o: { file?: string | undefined; expected: string },
): Map<Alias, Node> {
  const current = new Map<string, Node>();
  const out = new Map<Alias, Node>();
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const n = stack.pop();
    if (isAlias(n)) {
      const target = current.get(n.source);
      if (target === undefined) {
        throw invalid(
          o.file,
          o.expected,
          `${at(lc, n.range?.[0] ?? 0)}: alias *${n.source} names no anchor before it`,
          `define &${n.source} before using *${n.source}`,
        );
      }
      out.set(n, target);
      continue;
    }
    if (!isMap(n) && !isSeq(n) && !isScalar(n)) continue;
    if (n.anchor) current.set(n.anchor, n);
    if (isSeq(n)) {
      for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]);
    } else if (isMap(n)) {
      const seen = new Set<string>();
      for (const p of n.items) {
        const id = keyId(p.key);
        if (id === undefined) continue;
        if (seen.has(id)) {
          const k = p.key as Scalar;
          throw invalid(
            o.file,
            o.expected,
            `${at(lc, k.range?.[0] ?? 0)}: Map keys must be unique (${String(k.value)})`,
            'remove or rename the repeated key',
          );
        }
        seen.add(id);
      }
      for (let i = n.items.length - 1; i >= 0; i--) {
        const p = n.items[i]!;
        stack.push(p.value, p.key);
      }
    }
  }
  return out;
}

/** The node itself, or for an alias the node its anchor names (never a copy). */
export function resolve(d: YamlDoc, n: unknown): Node | undefined {
  if (n === null || n === undefined) return undefined;
  if (isAlias(n)) return d.anchors.get(n);
  return n as Node;
}

/** A key as text: a scalar key's value (plain numbers and booleans as written) or undefined. */
export function keyText(k: unknown): string | undefined {
  if (!isScalar(k)) return undefined;
  if (typeof k.value === 'string') return k.value;
  return k.source ?? String(k.value);
}

function isMergeKey(p: Pair): boolean {
  return isScalar(p.key) && p.key.type === 'PLAIN' && p.key.value === '<<';
}

function mergeSources(d: YamlDoc, m: YAMLMap): YAMLMap[] {
  const out: YAMLMap[] = [];
  for (const p of m.items) {
    if (!isMergeKey(p)) continue;
    const v = resolve(d, p.value);
    if (isMap(v)) out.push(v);
    else if (isSeq(v)) {
      for (const it of v.items) {
        const s = resolve(d, it);
        if (isMap(s)) out.push(s);
      }
    }
  }
  return out;
}

/** The mapping's own pair for `key` (merge keys not followed). */
export function ownPair(m: YAMLMap, key: string): Pair | undefined {
  for (const p of m.items) if (!isMergeKey(p) && keyText(p.key) === key) return p as Pair;
  return undefined;
}

/** True when the mapping has a `<<` merge key. */
export function hasMerge(m: YAMLMap): boolean {
  return m.items.some((p) => isMergeKey(p as Pair));
}

/**
 * The value of `key` in mapping `m` (aliases resolved), honouring `<<` merge keys: an own key wins, then the
 * merged mappings in order. Memoised per mapping and key, so merges shared by many mappings cost once.
 */
export function mapGet(d: YamlDoc, m: YAMLMap, key: string): Node | undefined {
  return lookup(d, m, key, 0, new Set()) ?? undefined;
}

function lookup(d: YamlDoc, m: YAMLMap, key: string, depth: number, busy: Set<YAMLMap>): Node | null {
  let byKey = d.memo.get(m);
  const hit = byKey?.get(key);
  if (hit !== undefined) return hit;
  if (busy.has(m)) return null; // a merge cycle: nothing more to find on this path
  if (depth > MAX_PIN_YAML_MERGE_DEPTH) {
    throw new TrustpinError(
      'PIN_FILE_INVALID',
      `merge keys (<<) chained deeper than ${MAX_PIN_YAML_MERGE_DEPTH}`,
      {
        expected: `at most ${MAX_PIN_YAML_MERGE_DEPTH} mappings merged into one another`,
        found: 'a longer chain of << merge keys',
        hint: 'flatten the merged mappings',
      },
    );
  }
  busy.add(m);
  let found: Node | null = null;
  const own = ownPair(m, key);
  if (own) found = resolve(d, own.value) ?? null;
  else {
    for (const s of mergeSources(d, m)) {
      found = lookup(d, s, key, depth + 1, busy);
      if (found !== null) break;
    }
  }
  busy.delete(m);
  if (!byKey) {
    byKey = new Map();
    d.memo.set(m, byKey);
  }
  byKey.set(key, found);
  return found;
}

/** The mapping `m`'s value for `key` when it is a mapping (aliases and merges followed). */
export function mapGetMap(d: YamlDoc, m: YAMLMap, key: string): YAMLMap | undefined {
  const v = mapGet(d, m, key);
  return isMap(v) ? v : undefined;
}

/**
 * The entries of a mapping with `<<` merges applied (own keys first, then merged keys not already present),
 * values resolved. Each merged mapping is read once per call, so the cost is linear in what it reaches.
 */
export function mapEntries(d: YamlDoc, m: YAMLMap): [string, Node | undefined][] {
  const out: [string, Node | undefined][] = [];
  const seen = new Set<string>();
  const visited = new Set<YAMLMap>();
  const visit = (x: YAMLMap, depth: number): void => {
    if (visited.has(x) || depth > MAX_PIN_YAML_MERGE_DEPTH) return;
    visited.add(x);
    for (const p of x.items) {
      if (isMergeKey(p as Pair)) continue;
      const k = keyText(p.key);
      if (k === undefined || seen.has(k)) continue;
      seen.add(k);
      out.push([k, resolve(d, p.value)]);
    }
    for (const s of mergeSources(d, x)) visit(s, depth + 1);
  };
  visit(m, 0);
  return out;
}

/** The items of a sequence, aliases resolved. */
export function seqItems(d: YamlDoc, s: YAMLSeq): (Node | undefined)[] {
  return s.items.map((it) => resolve(d, it));
}

/** What a scalar looks like in the text. */
export interface ScalarText {
  /** the text as written (inside quotes); a block scalar's value */
  text: string;
  /** the range of `text` (inside quotes) */
  range: TextRange;
  /** true when the written text is the value itself (no escapes, no line folding, not a block scalar) */
  exact: boolean;
  /** the YAML value is null (`~`, `null` or nothing) */
  isNull: boolean;
}

/** The written text of a scalar node, and whether rewriting that text rewrites the value. */
export function scalarText(text: string, s: Scalar): ScalarText {
  const [start, end] = s.range ?? [0, 0];
  const isNull = s.value === null;
  switch (s.type) {
    case 'QUOTE_DOUBLE':
    case 'QUOTE_SINGLE': {
      const inner = text.slice(start + 1, end - 1);
      return { text: inner, range: { start: start + 1, end: end - 1 }, exact: inner === s.value, isNull };
    }
    case 'BLOCK_FOLDED':
    case 'BLOCK_LITERAL':
      return { text: String(s.value).trim(), range: { start, end }, exact: false, isNull };
    default: {
      const raw = text.slice(start, end);
      return { text: raw, range: { start, end }, exact: !/[\r\n]/.test(raw), isNull };
    }
  }
}

/** Why a written reference is templated, or undefined: `{{ }}` templating, `${…}` (or any `$` for Compose). */
export function templating(text: string, format: PinFormat): string | undefined {
  if (text.includes('{{') || text.includes('}}')) return 'a template expression ({{ … }})';
  if (format === 'compose' ? text.includes('$') : text.includes('${')) return 'a variable ($…)';
  return undefined;
}

/** 1-based line and column of an offset. */
export function position(f: YamlFile, offset: number): { line: number; column: number } {
  const p = f.lineCounter.linePos(offset);
  return { line: p.line, column: p.col };
}

/** Whether `ref` is a reference `pin` can resolve; the reason when not. */
export function checkReference(ref: string): NotPinnable | undefined {
  // parseDockerReference trims; a reference written with spaces or control characters around it is not one
  if (/[\s\p{Cc}\p{Cf}]/u.test(ref)) {
    return {
      code: 'REFERENCE_INVALID',
      message: `${JSON.stringify(ref)} contains white space or control characters`,
      hint: 'write the reference alone, without spaces',
    };
  }
  try {
    parseDockerReference(ref);
    return undefined;
  } catch (e) {
    if (e instanceof TrustpinError) return { code: 'REFERENCE_INVALID', message: e.message, hint: e.hint };
    throw e;
  }
}

const HINTS: Record<PinFormat, string> = {
  compose:
    'pin the value the variable takes where it is set (.env, the environment), or write the reference literally',
  kubernetes: 'pin the reference in the template source the manifest is rendered from',
  helm: 'pin the value the template expression renders, or write the reference literally',
  workflow: 'pin the reference where the expression gets it (matrix, env, inputs), or write it literally',
  dockerfile: 'pin the value where it is set',
};

/**
 * A site for a scalar holding a whole reference: a `reference` edit of its text, or `notPinnable` when the
 * text is templated, not written as is (escapes, folding, block scalar) or not a reference. `prefix` (e.g.
 * `docker://`) is kept in `text` and left out of `ref` and of the edited range.
 */
export function referenceSite(
  f: YamlFile,
  s: Scalar,
  format: PinFormat,
  where: string,
  prefix = '',
): ImageSite {
  const st = scalarText(f.text, s);
  const site: ImageSite = { format, where, ...position(f, st.range.start), text: st.text };
  const tpl = templating(st.text, format);
  if (tpl) {
    site.notPinnable = {
      code: 'TEMPLATED',
      message: `the reference is built from ${tpl}: ${st.text}`,
      hint: HINTS[format],
    };
    return site;
  }
  if (!st.exact) {
    site.notPinnable = {
      code: 'TEMPLATED',
      message:
        'the reference is not written as is (escapes, line folding or a block scalar); pin cannot rewrite it',
      hint: 'write the reference as a plain or simply quoted scalar on one line',
    };
    return site;
  }
  const ref = st.text.slice(prefix.length);
  const bad = checkReference(ref);
  if (bad) {
    site.notPinnable = bad;
    return site;
  }
  site.ref = ref;
  site.edit = { kind: 'reference', range: { start: st.range.start + prefix.length, end: st.range.end } };
  return site;
}

/**
 * Collects sites, one per place in the text: an image under an anchor reached from several places is one site
 * (pinning writes the anchor once) whose `where` names the place used first in the file and lists the others.
 */
export class SiteCollector {
  private readonly byKey = new Map<
    string,
    { site: ImageSite; uses: { where: string; at: number }[]; wheres: Set<string> }
  >();

  /** Adds `site` for scalar `node`, used at offset `usedAt` (the service, container, … that reaches it). */
  add(site: ImageSite, node: Node, usedAt: Node | undefined = node): void {
    const key = `${node.range?.[0] ?? -1}:${node.range?.[1] ?? -1}`;
    const use = { where: site.where, at: usedAt?.range?.[0] ?? 0 };
    const prev = this.byKey.get(key);
    if (prev) {
      if (!prev.wheres.has(use.where)) {
        prev.wheres.add(use.where);
        prev.uses.push(use);
      }
      return;
    }
    this.byKey.set(key, { site, uses: [use], wheres: new Set([use.where]) });
  }

  sites(): ImageSite[] {
    const out: ImageSite[] = [];
    for (const { site, uses } of this.byKey.values()) {
      if (uses.length === 1) {
        out.push(site);
        continue;
      }
      const [first, ...rest] = [...uses].sort((a, b) => a.at - b.at);
      const named = rest.slice(0, ALSO_NAMED).map((u) => u.where);
      if (rest.length > ALSO_NAMED) named.push(`${rest.length - ALSO_NAMED} more`);
      out.push({ ...site, where: `${first!.where} (also ${named.join(', ')})` });
    }
    return out.sort((a, b) => a.line - b.line || a.column - b.column);
  }
}

/** How many other uses of a shared image its `where` names. */
const ALSO_NAMED = 5;

/** The document's root node when it is a mapping. */
export function rootMap(d: YamlDoc): YAMLMap | undefined {
  const r = resolve(d, d.doc.contents);
  return isMap(r) ? r : undefined;
}

/** `n` when it is a non-null scalar, else undefined. */
export function nonNullScalar(n: Node | undefined): Scalar | undefined {
  return isScalar(n) && n.value !== null && n.value !== '' ? n : undefined;
}
