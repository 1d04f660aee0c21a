// `diff` as a library call: pick the platform on both sides, take the cheapest honest proof of sameness (digest
// › layer blobs › proven diff_ids) and only then flatten and compare file by file; config and history on top.
import { isDeepStrictEqual } from 'node:util';
import { type ImageNode, imageManifest, selectPlatform, walkImage } from '../image/index.js';
import { diffIdOf } from '../layer/index.js';
import {
  formatPlatform,
  type ImageConfig,
  type ImageManifest,
  type Platform,
  platformMatches,
} from '../manifest/index.js';
import { type ConfigDifference, configDifferences } from '../mirror/index.js';
import type { ImageSource } from '../source/index.js';
import { readConfig } from '../source/index.js';
import { mapLimit } from '../util/index.js';
import { type ChangedFile, compareTrees, type DiffMode, type FileDiff, fileDiffEmpty } from './files.js';
import type { DiffFinding } from './findings.js';
import { flattenImage, LayerReader, type LayerReadOptions } from './flatten.js';
import { compareHistory, type HistoryComparison } from './history.js';

/** How sameness of content was established: the cheapest proof that held. */
export type Basis = 'digest' | 'layers' | 'diff_ids' | 'files';

/** One side of a diff: what the reference resolved to. */
export interface SideInfo {
  reference: string;
  /** the top-level digest the reference resolved to (index or manifest) */
  digest: string;
  manifest?: string;
  config?: string;
  platform?: string;
}

/** The result of {@link diffImages}: equal or not, on what basis, and the file, config and history differences. */
export interface ImageDiff {
  /** equal under `mode`: exactly when `differences` is empty */
  equal: boolean;
  /** what makes the images unequal under `mode`, coded (FILES_DIFFER, CONFIG_DIFFERS, HISTORY_DIFFERS, …) */
  differences: DiffFinding[];
  mode: DiffMode;
  basis: Basis;
  summary: string;
  a: SideInfo;
  b: SideInfo;
  files: {
    added: string[];
    removed: string[];
    changed: ChangedFile[];
    counts: { added: number; removed: number; changed: number; compared: number };
    ignored: FileDiff['ignored'];
    layers: string[];
    truncated: boolean;
  };
  /** behaviour, platform and metadata differences of the configs (history has its own section) */
  config: ConfigDifference[];
  history: HistoryComparison;
  /** what the comparison could not take at face value (a chosen platform, a config that lies, …) */
  warnings: DiffFinding[];
  /** layer blobs downloaded and read; zero on every fast path */
  layersRead: number;
}

/** Options of {@link diffImages}: the comparison mode, the platform, and layer read limits. */
export interface DiffOptions extends LayerReadOptions {
  mode?: DiffMode;
  platform?: Platform | undefined;
}

function emptyFiles(compared = 0): ImageDiff['files'] {
  return {
    added: [],
    removed: [],
    changed: [],
    counts: { added: 0, removed: 0, changed: 0, compared },
    ignored: { mtime: 0, layer: 0 },
    layers: [],
    truncated: false,
  };
}

const platformOf = (c: ImageConfig): Platform => ({
  os: c.os ?? 'unknown',
  architecture: c.architecture ?? 'unknown',
  variant: c.variant,
});

/** A single image on one side decides the platform to take from an index on the other side. */
async function pickNodes(
  a: ImageSource,
  b: ImageSource,
  platform: Platform | undefined,
): Promise<{ na: ImageNode; nb: ImageNode; topA: string; topB: string; warnings: DiffFinding[] }> {
  const [A, B] = await Promise.all([walkImage(a, { platform }), walkImage(b, { platform })]);
  const topA = A.root.descriptor.digest;
  const topB = B.root.descriptor.digest;
  const warnings: DiffFinding[] = [];
  let want = platform;
  const kinds = [A.root.manifest.value.kind, B.root.manifest.value.kind];
  if (!want && kinds[0] !== kinds[1] && topA !== topB) {
    const single = kinds[0] === 'image' ? A : B;
    single.root.config = await readConfig(single.source, imageManifest(single.root).config);
    want = platformOf(single.root.config.value);
    warnings.push({
      code: 'PLATFORM_CHOSEN',
      message: `comparing ${formatPlatform(want)}, the platform of the single image ${single.source.name}`,
      platform: formatPlatform(want),
    });
  }
  const na = topA === topB ? A.root : selectPlatform(A, want);
  const nb = topA === topB ? B.root : selectPlatform(B, want);
  return { na, nb, topA, topB, warnings };
}

/** Claimed diff_ids are config text: prove them from the blobs before calling two layer lists the same. */
async function proveDiffIds(
  a: ImageSource,
  b: ImageSource,
  ma: ImageManifest,
  mb: ImageManifest,
  claimed: string[],
  opts: DiffOptions,
): Promise<{ proven: boolean; read: number }> {
  let read = 0;
  const pairs = ma.layers.map((la, i) => ({ la, lb: mb.layers[i]!, claim: claimed[i]! }));
  // every read runs to its end (and removes its temp file) before an error is passed on
  const results = await mapLimit(pairs, opts.concurrency ?? 3, async ({ la, lb, claim }) => {
    // a blob both sides share is proven once
    const blobs = la.digest === lb.digest ? [[a, la] as const] : [[a, la] as const, [b, lb] as const];
    try {
      for (const [src, d] of blobs) {
        read++;
        if ((await diffIdOf(src, d, opts.limits)).diffId !== claim) return false;
      }
      return true;
    } catch (e) {
      return { error: e };
    }
  });
  const failed = results.find((r) => typeof r === 'object');
  if (failed) throw failed.error;
  return { proven: results.every((r) => r === true), read };
}

function contentSummary(basis: Basis, f: ImageDiff['files'], layers: number, mode: DiffMode): string {
  if (basis === 'layers') return `same content: the same ${layers} layer blobs, by digest (no layer read)`;
  if (basis === 'diff_ids')
    return `same content: every layer decompresses to the same diff_id, proven from the blobs (no tar parsed)`;
  const { added, removed, changed, compared } = f.counts;
  if (added + removed + changed === 0 && f.layers.length === 0) {
    const ign: string[] = [];
    if (f.ignored.mtime) ign.push(`${f.ignored.mtime} differ only in mtime`);
    if (f.ignored.layer) ign.push(`${f.ignored.layer} were written by another layer`);
    return `same content: ${compared} paths compared${ign.length ? ` (ignored in ${mode} mode: ${ign.join(', ')})` : ''}`;
  }
  const layerNote = f.layers.length ? `; layers differ (${f.layers.length})` : '';
  return `${added} added, ${removed} removed, ${changed} changed${layerNote}`;
}

/** Compare two images by content (digests, then layers, diff_ids, then files), reading layers only when cheaper proofs fail. */
export async function diffImages(a: ImageSource, b: ImageSource, opts: DiffOptions = {}): Promise<ImageDiff> {
  const mode = opts.mode ?? 'strict';
  const { na, nb, topA, topB, warnings } = await pickNodes(a, b, opts.platform);
  const sideA: SideInfo = { reference: a.name, digest: topA, manifest: na.descriptor.digest };
  const sideB: SideInfo = { reference: b.name, digest: topB, manifest: nb.descriptor.digest };
  const byDigest = topA === topB || na.descriptor.digest === nb.descriptor.digest;
  if (byDigest) {
    const what = topA === topB ? 'the same top-level digest' : 'the same image manifest';
    return {
      equal: true,
      differences: [],
      mode,
      basis: 'digest',
      summary: `identical by digest: ${what} (${topA === topB ? topA : na.descriptor.digest}); no layer read`,
      a: sideA,
      b: sideB,
      files: emptyFiles(),
      config: [],
      history: {
        ...compareHistory({}, {}, false),
        finding: { code: 'HISTORY_NOT_READ', message: 'the same bytes on both sides; history not read' },
      },
      warnings,
      layersRead: 0,
    };
  }
  const ma = imageManifest(na);
  const mb = imageManifest(nb);
  const [ca, cb] = await Promise.all([
    na.config ?? readConfig(a, ma.config),
    nb.config ?? readConfig(b, mb.config),
  ]);
  Object.assign(sideA, { config: ca.digest, platform: formatPlatform(platformOf(ca.value)) });
  Object.assign(sideB, { config: cb.digest, platform: formatPlatform(platformOf(cb.value)) });
  for (const [src, c, info, side] of [
    [a, ca, sideA, 'A'],
    [b, cb, sideB, 'B'],
  ] as const) {
    if (opts.platform && !platformMatches(opts.platform, platformOf(c.value)))
      warnings.push({
        code: 'PLATFORM_MISMATCH',
        message: `${src.name} is ${info.platform}, not the requested ${formatPlatform(opts.platform)}`,
        side,
        platform: info.platform,
      });
  }

  let basis: Basis = 'files';
  let files = emptyFiles();
  let layersRead = 0;
  const contentWarnings: DiffFinding[] = [];
  let diffIdsHold = true;
  const blobsA = ma.layers.map((l) => l.digest);
  const blobsB = mb.layers.map((l) => l.digest);
  if (isDeepStrictEqual(blobsA, blobsB)) basis = 'layers';
  else if (ma.layers.length === mb.layers.length && isDeepStrictEqual(ca.value.diffIds, cb.value.diffIds)) {
    const p = await proveDiffIds(a, b, ma, mb, ca.value.diffIds, opts);
    layersRead += p.read;
    // a failed proof falls through to the file comparison, which reports every lying layer itself
    if (p.proven) basis = 'diff_ids';
  }
  if (basis === 'files') {
    const reader = new LayerReader(opts);
    // both images' layers asked for in turn (A0, B0, A1, …): the two streams run side by side from the start,
    // not B's after all of A's; flattenImage finds them in the reader's cache and sees any failure itself
    for (let i = 0; i < Math.max(ma.layers.length, mb.layers.length); i++)
      for (const [src, m] of [
        [a, ma],
        [b, mb],
      ] as const) {
        const d = m.layers[i];
        if (d) reader.layer(src, d).catch(() => undefined);
      }
    const both = Promise.all([flattenImage(a, ma, ca.value, reader), flattenImage(b, mb, cb.value, reader)]);
    const [fa, fb] = await both.catch(async (e) => {
      await reader.settle();
      throw e;
    });
    layersRead += reader.read.length;
    contentWarnings.push(
      ...fa.warnings.map((w) => ({ ...w, side: 'A' as const })),
      ...fb.warnings.map((w) => ({ ...w, side: 'B' as const })),
    );
    diffIdsHold = fa.diffIdsHold && fb.diffIdsHold;
    const d = compareTrees(fa, fb, mode);
    const compared = new Set([...fa.tree.nodes.keys(), ...fb.tree.nodes.keys()]).size;
    files = {
      ...d,
      counts: { added: d.added.length, removed: d.removed.length, changed: d.changed.length, compared },
      truncated: false,
    };
  }
  const contentDiffers = basis === 'files' && !fileDiffEmpty(files);
  const history = compareHistory(ca.value, cb.value, contentDiffers, sideA.platform === sideB.platform);
  const config = configDifferences(ca.value, cb.value).filter(
    (d) => d.field !== 'diff_ids' && d.field !== 'history',
  );
  const behaviour = config.filter((d) => d.class === 'behaviour' || d.class === 'platform');
  const differences = differencesOf(mode, files, contentDiffers, diffIdsHold ? [] : contentWarnings, config, {
    history,
    same: isDeepStrictEqual(ca.value.history ?? [], cb.value.history ?? []),
  });
  const equal = differences.length === 0;
  const parts = [contentSummary(basis, files, blobsA.length, mode)];
  // semantic mode lists created/author too, but only what changes behaviour counts as a difference
  const counted = mode === 'semantic' ? behaviour : config;
  if (counted.length) parts.push(`${counted.length} config difference${counted.length === 1 ? '' : 's'}`);
  if (!history.equal) parts.push('history differs');
  else if (history.forged) parts.push('HISTORY EQUAL, CONTENT DIFFERS');
  return {
    equal,
    differences,
    mode,
    basis,
    summary: parts.join('; '),
    a: sideA,
    b: sideB,
    files,
    config,
    history,
    warnings: [...warnings, ...contentWarnings],
    layersRead,
  };
}

/**
 * What makes two images unequal under `mode`: other files, a config that lies about its diff_ids, config fields
 * (semantic mode: only how the container runs), and in strict mode created, author and the history itself.
 */
function differencesOf(
  mode: DiffMode,
  files: ImageDiff['files'],
  contentDiffers: boolean,
  warnings: DiffFinding[],
  config: ConfigDifference[],
  h: { history: HistoryComparison; same: boolean },
): DiffFinding[] {
  const out: DiffFinding[] = [];
  const { added, removed, changed } = files.counts;
  if (contentDiffers && added + removed + changed > 0)
    out.push({
      code: 'FILES_DIFFER',
      message: `${added} added, ${removed} removed, ${changed} changed`,
      detail: { added, removed, changed },
    });
  if (contentDiffers && files.layers.length > 0)
    out.push({
      code: 'LAYERS_DIFFER',
      message: `layers differ: ${files.layers.join('; ')}`,
      detail: { layers: files.layers },
    });
  out.push(...warnings.filter((w) => w.code === 'DIFF_ID_MISMATCH' || w.code === 'DIFF_ID_COUNT_MISMATCH'));
  const runs = config.filter((d) => d.class === 'behaviour' || d.class === 'platform').map((d) => d.field);
  if (runs.length)
    out.push({
      code: 'CONFIG_DIFFERS',
      message: `config differs: ${runs.join(', ')}`,
      detail: { fields: runs },
    });
  if (mode === 'semantic') return out;
  for (const [field, code] of [
    ['created', 'CREATED_DIFFERS'],
    ['author', 'AUTHOR_DIFFERS'],
  ] as const) {
    const d = config.find((c) => c.field === field);
    if (d)
      out.push({
        code,
        message: `${field}: ${JSON.stringify(d.a)} → ${JSON.stringify(d.b)}`,
        detail: { a: d.a, b: d.b },
      });
  }
  if (!h.same)
    out.push({
      code: 'HISTORY_DIFFERS',
      message: h.history.equal ? 'history differs in its timestamps only' : 'history differs',
    });
  return out;
}

/** Cap the listed paths (counts stay whole) so a huge diff stays readable and bounded. */
export function limitEntries(d: ImageDiff, max: number): ImageDiff {
  const f = d.files;
  const truncated = f.added.length > max || f.removed.length > max || f.changed.length > max;
  if (!truncated) return d;
  return {
    ...d,
    files: {
      ...f,
      added: f.added.slice(0, max),
      removed: f.removed.slice(0, max),
      changed: f.changed.slice(0, max),
      truncated: true,
    },
  };
}
