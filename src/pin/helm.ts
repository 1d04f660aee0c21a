// Helm values files: image mappings by the Bitnami/Helm convention (`repository` with optional `registry`,
// `tag`, `digest`), pinned by writing the `digest` field, and `image: NAME:TAG` strings.
import { isMap, isScalar, isSeq, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import type { ExtractOptions, ImageSite, SiteEdit } from './types.js';
import {
  checkReference,
  hasMerge,
  keyText,
  mapGet,
  nonNullScalar,
  ownPair,
  parseYaml,
  position,
  referenceSite,
  resolve,
  SiteCollector,
  scalarText,
  templating,
  type YamlDoc,
  type YamlFile,
} from './yaml.js';

const FIELDS = ['registry', 'repository', 'tag', 'digest'] as const;
type Field = (typeof FIELDS)[number];

/**
 * The image references of a Helm values file, from every mapping (at any depth; each node once, aliases
 * followed to their anchor):
 * - a mapping with a string `repository` (and optionally `registry`, `tag`, `digest`): `ref` is
 *   `registry/repository:tag@digest` without the absent or empty parts; line and column are the repository's;
 *   the edit writes the `digest` value, or inserts a `digest:` field (a line after `tag`, else `repository`, at
 *   that key's indentation and with the line's line ending; in a flow mapping `, digest: ` after the last value).
 *   A `repository` holding a URL (`://`) is not an image and is skipped;
 * - a key `image` whose value is a string: a reference edit of that string.
 * `where` is the path of the mapping (or of the `image` key) and ` (values)`: `image (values)`.
 */
export function extractHelmValues(text: string, o?: ExtractOptions): ImageSite[] {
  const f = parseYaml(text, { file: o?.file, expected: 'Helm values file (YAML)' });
  const out = new SiteCollector();
  for (const d of f.docs) {
    const seen = new Set<Node>();
    const work: [Node | undefined, string][] = [[resolve(d, d.doc.contents), '']];
    while (work.length > 0) {
      const [n, path] = work.pop()!;
      if (!n || seen.has(n)) continue;
      seen.add(n);
      if (isSeq(n)) {
        for (let i = n.items.length - 1; i >= 0; i--) work.push([resolve(d, n.items[i]), `${path}[${i}]`]);
        continue;
      }
      if (!isMap(n)) continue;
      imageMapping(f, d, n, path, out);
      const next: [Node | undefined, string][] = [];
      for (const p of n.items) {
        const k = keyText(p.key) ?? '?';
        const sub = path === '' ? k : `${path}.${k}`;
        const v = resolve(d, p.value);
        if (k === 'image' && isScalar(v)) {
          const s = nonNullScalar(v);
          if (s && (typeof s.value === 'string' || s.type !== 'PLAIN'))
            out.add(referenceSite(f, s, 'helm', `${sub} (values)`), s);
        }
        next.push([v, sub]);
      }
      for (let i = next.length - 1; i >= 0; i--) work.push(next[i]!);
    }
  }
  return out.sites();
}

function imageMapping(f: YamlFile, d: YamlDoc, m: YAMLMap, path: string, out: SiteCollector): void {
  const repoPair = ownPair(m, 'repository');
  const repo = repoPair && resolve(d, repoPair.value);
  if (!isScalar(repo) || typeof repo.value !== 'string' || repo.value === '' || repo.value.includes('://'))
    return;
  const fields = new Map<Field, Scalar>();
  let nonString: Field | undefined;
  let merged: Field | undefined;
  for (const k of FIELDS) {
    const p = ownPair(m, k);
    const v = p ? resolve(d, p.value) : undefined;
    if (!p && hasMerge(m) && mapGet(d, m, k) !== undefined) merged ??= k;
    if (v === undefined) continue;
    if (!isScalar(v)) nonString ??= k;
    else fields.set(k, v);
  }
  const where = `${path === '' ? '(top level)' : path} (values)`;
  const repoText = scalarText(f.text, repo);
  const site: ImageSite = { format: 'helm', where, ...position(f, repoText.range.start), text: '' };
  const parts = new Map<Field, string>();
  let inexact: Field | undefined;
  for (const [k, s] of fields) {
    const st = scalarText(f.text, s);
    if (!st.exact) inexact ??= k;
    if (!st.isNull && st.text !== '') parts.set(k, st.text);
  }
  const joined =
    (parts.has('registry') ? `${parts.get('registry')}/` : '') +
    (parts.get('repository') ?? '') +
    (parts.has('tag') ? `:${parts.get('tag')}` : '') +
    (parts.has('digest') ? `@${parts.get('digest')}` : '');
  site.text = joined;
  out.add(site, repo);
  const tpl = templating(joined, 'helm');
  if (tpl) {
    site.notPinnable = {
      code: 'TEMPLATED',
      message: `the image is built from ${tpl}: ${joined}`,
      hint: 'pin the value the template expression renders, or write the fields literally',
    };
  } else if (inexact || nonString) {
    site.notPinnable = {
      code: 'TEMPLATED',
      message: `the ${inexact ?? nonString} field is not a value written as is (escapes, folding, a block scalar or a collection)`,
      hint: 'write the image fields as plain or simply quoted scalars',
    };
  } else if (merged) {
    site.notPinnable = {
      code: 'TEMPLATED',
      message: `the ${merged} field comes from a << merge key; pin cannot tell where to write the digest`,
      hint: 'write the image fields in one mapping',
    };
  }
  if (site.notPinnable) return;
  const bad = checkReference(joined);
  if (bad) {
    site.notPinnable = bad;
    return;
  }
  const edit = digestEdit(f, m);
  if (!edit) {
    site.notPinnable = {
      code: 'TEMPLATED',
      message: 'the mapping is written so that pin cannot add a digest field to it safely',
      hint: 'add `digest: ""` to the mapping, then pin again',
    };
    return;
  }
  site.ref = joined;
  site.edit = edit;
}

function lineEndAfter(text: string, from: number): number {
  let i = from;
  while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
  return i;
}

function eolAt(text: string, i: number): string {
  if (text[i] === '\r') return text[i + 1] === '\n' ? '\r\n' : '\r';
  if (text[i] === '\n') return '\n';
  const first = text.indexOf('\n');
  return first > 0 && text[first - 1] === '\r' ? '\r\n' : '\n';
}

function digestEdit(f: YamlFile, m: YAMLMap): SiteEdit | undefined {
  const text = f.text;
  const dp = ownPair(m, 'digest');
  if (dp) return existingDigest(text, m, dp);
  if (m.flow) {
    const last = m.items[m.items.length - 1] as Pair<Node | null, Node | null> | undefined;
    const end = (last?.value ?? last?.key)?.range?.[1];
    return end === undefined
      ? undefined
      : { kind: 'insert-digest', at: end, prefix: ', digest: ', suffix: '' };
  }
  const anchor = ownPair(m, 'tag') ?? ownPair(m, 'repository');
  const key = anchor?.key as Node | undefined;
  const value = anchor?.value as Node | undefined;
  if (!key?.range || !value?.range) return undefined;
  const end = lineEndAfter(text, value.range[1]);
  // only a comment may follow the value on its line
  if (!/^[ \t]*(#.*)?$/.test(text.slice(value.range[1], end))) return undefined;
  // the block mapping's indentation (its keys' column), from the parser: a key may follow `- ` or carry a tag
  const token = m.srcToken;
  if (token?.type !== 'block-map') return undefined;
  const indent = ' '.repeat(token.indent);
  return { kind: 'insert-digest', at: end, prefix: `${eolAt(text, end)}${indent}digest: `, suffix: '' };
}

function existingDigest(text: string, m: YAMLMap, p: Pair): SiteEdit | undefined {
  const v = p.value as Node | null;
  if (v === null) {
    // `{…, digest}` in a flow mapping: no value at all
    const end = (p.key as Node).range?.[1];
    return m.flow && end !== undefined
      ? { kind: 'insert-digest', at: end, prefix: ': ', suffix: '' }
      : undefined;
  }
  if (!isScalar(v)) return undefined;
  const st = scalarText(text, v);
  if (!st.exact) return undefined;
  if (st.isNull && st.range.start === st.range.end) {
    // `digest:` with nothing after it: the value goes where the empty scalar is, spaced from `:` and from a comment
    const at = st.range.start;
    const prefix = /[ \t]/.test(text[at - 1] ?? '') ? '' : ' ';
    return { kind: 'insert-digest', at, prefix, suffix: text[at] === '#' ? ' ' : '' };
  }
  return { kind: 'digest', range: st.range };
}
