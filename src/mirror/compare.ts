// The equivalence ladder over two images from any transports: per platform, the highest level that matches —
// index › manifest › config (the image ID, which commits to every layer's diff_id) › diff_ids (--deep) › none —
// and why the lower levels differ. No blob moves unless --deep.
import { isDeepStrictEqual } from 'node:util';
import type { Digest } from '../digest/index.js';
import { shortType } from '../image/inspect.js';
import { type ImageNode, type ImageTree, mapLimit, walkImage } from '../image/walk.js';
import { diffIdOf } from '../layer/diff-id.js';
import {
  classifyEntry,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type Platform,
  platformMatches,
} from '../manifest/index.js';
import type { ImageSource } from '../source/types.js';
import { configDifferences } from './config-diff.js';

/** How two images are the same: same index › manifest › config › diff_ids, or none. */
export type Level = 'index' | 'manifest' | 'config' | 'diff_ids' | 'none';
/** The levels from strongest to weakest. */
export const LEVELS: Level[] = ['index', 'manifest', 'config', 'diff_ids', 'none'];

/** One side of a platform comparison: digests and media type. */
export interface Side {
  manifest: string;
  config?: string;
  mediaType: string;
  layers: string[];
}

/** The comparison of one platform. */
export interface PlatformResult {
  platform: string;
  level: Level;
  a: Side;
  b: Side;
  reasons: string[];
  warnings: string[];
  /** diff_ids recomputed from the layer blobs (only with --deep) */
  diffIds?: { a: string[]; b: string[] };
}

/** An attestation or signature entry of an index, listed apart from platforms. */
export interface Attestation {
  digest: string;
  kind: string;
  mediaType: string;
  refersTo?: string;
}

/** The result of {@link compareImages}: the sameness level per platform and why. */
export interface Comparison {
  equivalent: boolean;
  deep: boolean;
  a: { reference: string; digest: string; mediaType: string };
  b: { reference: string; digest: string; mediaType: string };
  indexReasons: string[];
  platforms: PlatformResult[];
  onlyInA: string[];
  onlyInB: string[];
  attestations: { a: Attestation[]; b: Attestation[] };
}

/** Options of {@link compareImages}: platforms to compare, and `deep` (prove layer contents). */
export interface CompareOptions {
  platforms?: Platform[];
  deep?: boolean;
}

function platformKey(p: Platform | undefined, cfg?: ImageConfig): string {
  const os = p?.os ?? cfg?.os ?? 'unknown';
  const arch = p?.architecture ?? cfg?.architecture ?? 'unknown';
  let variant = p ? p.variant : cfg?.variant;
  if (arch === 'arm64' && variant === 'v8') variant = undefined;
  return `${os}/${arch}${variant ? `/${variant}` : ''}`;
}

function platformsOf(t: ImageTree): Map<string, ImageNode> {
  const out = new Map<string, ImageNode>();
  if (t.root.manifest.value.kind !== 'index') {
    out.set(platformKey(undefined, t.root.config?.value), t.root);
    return out;
  }
  for (const c of t.children) {
    if (c.kind !== 'platform') continue;
    const k = platformKey(c.descriptor.platform);
    if (!out.has(k)) out.set(k, c);
  }
  return out;
}

function attestationsOf(t: ImageTree): Attestation[] {
  const m = t.root.manifest.value;
  if (m.kind !== 'index') return [];
  return m.manifests
    .filter((d) => classifyEntry(d) !== 'platform')
    .map((d: Descriptor) => ({
      digest: d.digest,
      kind: classifyEntry(d),
      mediaType: d.mediaType,
      ...(d.annotations?.['vnd.docker.reference.digest']
        ? { refersTo: d.annotations['vnd.docker.reference.digest'] }
        : {}),
    }));
}

function side(n: ImageNode): Side {
  const m = n.manifest.value as ImageManifest;
  return {
    manifest: n.descriptor.digest,
    config: m.config?.digest,
    mediaType: m.mediaType,
    layers: (m.layers ?? []).map((l) => l.digest),
  };
}

const isDocker = (mt: string) => mt.startsWith('application/vnd.docker.');

/** Why two image manifests with the same config differ. */
function manifestReasons(a: ImageManifest, b: ImageManifest, rawA: Buffer, rawB: Buffer): string[] {
  const r: string[] = [];
  if (a.mediaType !== b.mediaType)
    r.push(
      `media types converted: ${isDocker(a.mediaType) ? 'Docker' : 'OCI'} → ${isDocker(b.mediaType) ? 'Docker' : 'OCI'}`,
    );
  const la = a.layers.map((l) => l.digest);
  const lb = b.layers.map((l) => l.digest);
  if (!isDeepStrictEqual(la, lb))
    r.push(
      'layer blobs differ (recompressed or converted layers); the config still commits to the same diff_ids',
    );
  const lta = a.layers.map((l) => l.mediaType);
  const ltb = b.layers.map((l) => l.mediaType);
  if (!isDeepStrictEqual(lta, ltb))
    r.push(
      `layer types: ${[...new Set(lta.map(shortType))].join(', ')} vs ${[...new Set(ltb.map(shortType))].join(', ')}`,
    );
  if (a.config.mediaType !== b.config.mediaType)
    r.push(`config type: ${shortType(a.config.mediaType)} vs ${shortType(b.config.mediaType)}`);
  if (!isDeepStrictEqual(a.annotations ?? {}, b.annotations ?? {})) r.push('manifest annotations differ');
  if (r.length === 0) {
    r.push(
      isDeepStrictEqual(JSON.parse(rawA.toString()), JSON.parse(rawB.toString()))
        ? 'manifest JSON re-encoded (whitespace or key order); same content'
        : 'manifest JSON differs',
    );
  }
  return r;
}

function indexReasons(
  a: ImageTree,
  b: ImageTree,
  onlyA: string[],
  onlyB: string[],
  attA: Attestation[],
  attB: Attestation[],
): string[] {
  const ma = a.root.manifest.value;
  const mb = b.root.manifest.value;
  if (a.root.descriptor.digest === b.root.descriptor.digest) return [];
  const r: string[] = [];
  if (ma.kind !== 'index' && mb.kind !== 'index') return r;
  if (ma.kind !== mb.kind)
    r.push(
      `one side is ${ma.kind === 'index' ? 'an index' : 'a single manifest'}, the other ${mb.kind === 'index' ? 'an index' : 'a single manifest'}`,
    );
  if (ma.kind === 'index' && mb.kind === 'index') {
    if (ma.mediaType !== mb.mediaType)
      r.push(`index type converted: ${shortType(ma.mediaType)} → ${shortType(mb.mediaType)}`);
    const same = isDeepStrictEqual(
      JSON.parse(a.root.manifest.bytes.toString()),
      JSON.parse(b.root.manifest.bytes.toString()),
    );
    if (same) r.push('index JSON re-encoded (whitespace or key order); same content');
  }
  if (onlyA.length) r.push(`platforms missing on the second side: ${onlyA.join(', ')}`);
  if (onlyB.length) r.push(`extra platforms on the second side: ${onlyB.join(', ')}`);
  if (attA.length !== attB.length || attA.some((x, i) => x.digest !== attB[i]?.digest)) {
    r.push(`attestation/signature entries differ (${attA.length} vs ${attB.length})`);
  }
  if (r.length === 0) r.push('index entries point at different manifests');
  return r;
}

async function comparePlatform(
  key: string,
  A: ImageTree,
  B: ImageTree,
  na: ImageNode,
  nb: ImageNode,
  deep: boolean,
): Promise<PlatformResult> {
  const base = { platform: key, a: side(na), b: side(nb), reasons: [] as string[], warnings: [] as string[] };
  if (A.root.descriptor.digest === B.root.descriptor.digest)
    return { ...base, level: 'index', reasons: ['same index digest'] };
  if (na.descriptor.digest === nb.descriptor.digest)
    return { ...base, level: 'manifest', reasons: ['same manifest digest'] };
  const ma = na.manifest.value as ImageManifest;
  const mb = nb.manifest.value as ImageManifest;
  if (ma.config.digest === mb.config.digest) {
    return {
      ...base,
      level: 'config',
      reasons: manifestReasons(ma, mb, na.manifest.bytes, nb.manifest.bytes),
    };
  }
  const cfgDiff = configDifferences(na.config!.value, nb.config!.value);
  const reasons = [`configs differ: ${cfgDiff.map((d) => d.field).join(', ') || 'byte encoding only'}`];
  if (!deep) {
    const sameClaimed = isDeepStrictEqual(na.config!.value.diffIds, nb.config!.value.diffIds);
    if (sameClaimed)
      reasons.push('the configs claim the same diff_ids; run with --deep to prove them from the layer blobs');
    return { ...base, level: 'none', reasons };
  }
  const [da, db] = await Promise.all([
    mapLimit(ma.layers, 3, (l) => diffIdOf(A.source, l)),
    mapLimit(mb.layers, 3, (l) => diffIdOf(B.source, l)),
  ]);
  const ida = da.map((x) => x.diffId);
  const idb = db.map((x) => x.diffId);
  const diffIds = { a: ida, b: idb };
  const warnings: string[] = [];
  for (const [n, ids, claimed] of [
    ['first', ida, na.config!.value.diffIds],
    ['second', idb, nb.config!.value.diffIds],
  ] as const) {
    if (!isDeepStrictEqual(ids, claimed as Digest[]))
      warnings.push(`the ${n} image's config lists diff_ids its layers do not have`);
  }
  if (isDeepStrictEqual(ida, idb) && warnings.length === 0) {
    if (cfgDiff.some((d) => d.field === 'history')) {
      warnings.push(
        'history differs while every layer is identical: history is unproven metadata and can be forged either way',
      );
    }
    return { ...base, level: 'diff_ids', reasons, warnings, diffIds };
  }
  reasons.push('layer contents differ (uncompressed digests)');
  return { ...base, level: 'none', reasons, warnings, diffIds };
}

/** Compare two images platform by platform and say at which level they are the same. */
export async function compareImages(
  a: ImageSource,
  b: ImageSource,
  o: CompareOptions = {},
): Promise<Comparison> {
  const [A, B] = await Promise.all([walkImage(a, { configs: true }), walkImage(b, { configs: true })]);
  const pa = platformsOf(A);
  const pb = platformsOf(B);
  const wanted = (k: string, n: ImageNode) =>
    !o.platforms?.length ||
    o.platforms.some((p) =>
      platformMatches(
        p,
        n.descriptor.platform ?? {
          os: k.split('/')[0]!,
          architecture: k.split('/')[1]!,
          variant: k.split('/')[2],
        },
      ),
    );
  const keys = [...new Set([...pa.keys(), ...pb.keys()])].filter((k) => wanted(k, (pa.get(k) ?? pb.get(k))!));
  const onlyInA = keys.filter((k) => pa.has(k) && !pb.has(k));
  const onlyInB = keys.filter((k) => pb.has(k) && !pa.has(k));
  const both = keys.filter((k) => pa.has(k) && pb.has(k));
  const platforms = await mapLimit(both, 2, (k) =>
    comparePlatform(k, A, B, pa.get(k)!, pb.get(k)!, o.deep === true),
  );
  const attA = attestationsOf(A);
  const attB = attestationsOf(B);
  const okLevels: Level[] = o.deep
    ? ['index', 'manifest', 'config', 'diff_ids']
    : ['index', 'manifest', 'config'];
  const requested = o.platforms?.length ?? 0;
  const equivalent =
    platforms.length > 0 &&
    platforms.every((p) => okLevels.includes(p.level)) &&
    onlyInA.length === 0 &&
    onlyInB.length === 0 &&
    (requested === 0 || platforms.length >= 1);
  return {
    equivalent,
    deep: o.deep === true,
    a: { reference: a.name, digest: A.root.descriptor.digest, mediaType: A.root.manifest.value.mediaType },
    b: { reference: b.name, digest: B.root.descriptor.digest, mediaType: B.root.manifest.value.mediaType },
    indexReasons: indexReasons(A, B, onlyInA, onlyInB, attA, attB),
    platforms,
    onlyInA,
    onlyInB,
    attestations: { a: attA, b: attB },
  };
}
