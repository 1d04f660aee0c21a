// The one rewriter: replaces ranges of a file's text and nothing else, so comments, quoting, indentation and line
// endings stay byte-identical. Every extractor describes its sites; this turns a site and a digest into an edit.
import { TrustpinError } from '../errors/index.js';
import { parseDockerReference } from '../reference/index.js';
import type { ImageSite } from './types.js';

/** Replace `[start, end)` of the text by `text`. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/**
 * The reference text with `digest` as its pin: an old `@…` digest is replaced, a reference without a tag gets the
 * `:latest` it was resolved as (so the file says which tag the digest came from, and `--update` can refresh it).
 * A templated reference (`alpine:${V}`) keeps its template and only gains the digest.
 */
export function pinnedText(current: string, digest: string): string {
  const at = current.lastIndexOf('@');
  const base = at > 0 && !current.slice(at).includes('$') ? current.slice(0, at) : current;
  if (base.includes('$')) return `${base}@${digest}`;
  let tagged = base;
  try {
    if (parseDockerReference(base).tag === undefined) tagged = `${base}:latest`;
  } catch {
    // the extractor already checked the reference; keep the text as written
  }
  return `${tagged}@${digest}`;
}

/** The edit that writes `digest` at `site` in `fileText` (the file the site was extracted from). */
export function siteEdit(site: ImageSite, fileText: string, digest: string): TextEdit {
  const e = site.edit;
  if (!e)
    throw new TrustpinError('INTERNAL', `${site.where} at line ${site.line} cannot be pinned`, {
      found: site.notPinnable?.message ?? 'no edit',
    });
  if (e.kind === 'insert-digest') return { start: e.at, end: e.at, text: `${e.prefix}${digest}${e.suffix}` };
  const { start, end } = e.range;
  if (e.kind === 'digest') return { start, end, text: digest };
  return { start, end, text: pinnedText(fileText.slice(start, end), digest) };
}

/**
 * `text` with every edit applied. Identical edits (two sites written through one ARG default or one YAML anchor)
 * count once; edits that overlap otherwise are a defect of an extractor and throw.
 * @throws TrustpinError INTERNAL on overlapping, different edits or a range outside the text
 */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  const kept: TextEdit[] = [];
  for (const e of sorted) {
    if (e.start < 0 || e.end < e.start || e.end > text.length)
      throw new TrustpinError('INTERNAL', `edit [${e.start}, ${e.end}) is outside the file (${text.length})`);
    const last = kept[kept.length - 1];
    if (last && last.start === e.start && last.end === e.end && last.text === e.text) continue;
    if (last && (e.start < last.end || (e.start === last.start && e.start === e.end)))
      throw new TrustpinError(
        'INTERNAL',
        `edits [${last.start}, ${last.end}) and [${e.start}, ${e.end}) overlap`,
        {
          found: `${JSON.stringify(last.text)} and ${JSON.stringify(e.text)}`,
        },
      );
    kept.push(e);
  }
  let out = '';
  let at = 0;
  for (const e of kept) {
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}
