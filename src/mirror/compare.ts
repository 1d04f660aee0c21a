// The equivalence ladder over two images from any transports: per platform, the highest level that matches —
// index › manifest › config (the image ID, which commits to every layer's diff_id) › diff_ids (--deep) › none —
// and why the lower levels differ. No blob moves unless --deep.
import { isDeepStrictEqual } from 'node:util';
import type { Digest } from '../digest/index.js';
import { type ImageNode, type ImageTree, shortType, walkImage } from '../image/index.js';
import {
  classifyEntry,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type Platform,
  samePlatform,
} from '../manifest/index.js';
import type { ImageSource } from '../source/index.js';
import { mapLimit } from '../util/index.js';
import { configDifferences } from './config-diff.js';
import type { Finding, MirrorFinding } from './findings.js';

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
  /** why the level is what it is */
  reasons: MirrorFinding[];
  /** what the level reached does not prove, or a side that lies */
  warnings: MirrorFinding[];
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
  /** why the top-level digests differ (empty when they are equal) */
  indexReasons: MirrorFinding[];
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

/** Build a finding; `extra` fields that are undefined are left out, so JSON stays minimal. */
function finding<C extends string>(
  code: C,
  message: string,
  extra: Omit<Finding<C>, 'code' | 'message'> = {},
): Finding<C> {
  const f: Finding<C> = { code, message };
  for (const [k, v] of Object.entries(extra))
    if (v !== undefined) (f as unknown as Record<string, unknown>)[k] = v;
  return f;
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
function manifestReasons(
  a: ImageManifest,
  b: ImageManifest,
  rawA: Buffer,
  rawB: Buffer,
  platform: string,
): MirrorFinding[] {
  const r: MirrorFinding[] = [];
  const add = (code: MirrorFinding['code'], message: string, detail?: Record<string, unknown>) =>
    r.push(finding(code, message, { platform, detail }));
  if (a.mediaType !== b.mediaType)
    add(
      'MEDIA_TYPE_CONVERTED',
      `media types converted: ${isDocker(a.mediaType) ? 'Docker' : 'OCI'} → ${isDocker(b.mediaType) ? 'Docker' : 'OCI'}`,
      { a: a.mediaType, b: b.mediaType },
    );
  const la = a.layers.map((l) => l.digest);
  const lb = b.layers.map((l) => l.digest);
  if (!isDeepStrictEqual(la, lb))
    add(
      'LAYER_COMPRESSION_DIFFERS',
      'layer blobs differ (recompressed or converted layers); the config still commits to the same diff_ids',
    );
  const lta = a.layers.map((l) => l.mediaType);
  const ltb = b.layers.map((l) => l.mediaType);
  if (!isDeepStrictEqual(lta, ltb))
    add(
      'LAYER_MEDIA_TYPES_DIFFER',
      `layer types: ${[...new Set(lta.map(shortType))].join(', ')} vs ${[...new Set(ltb.map(shortType))].join(', ')}`,
      { a: lta, b: ltb },
    );
  if (a.config.mediaType !== b.config.mediaType)
    add(
      'CONFIG_MEDIA_TYPE_DIFFERS',
      `config type: ${shortType(a.config.mediaType)} vs ${shortType(b.config.mediaType)}`,
      { a: a.config.mediaType, b: b.config.mediaType },
    );
  if (!isDeepStrictEqual(a.annotations ?? {}, b.annotations ?? {}))
    add('ANNOTATIONS_DIFFER', 'manifest annotations differ');
  if (r.length === 0) {
    if (isDeepStrictEqual(JSON.parse(rawA.toString()), JSON.parse(rawB.toString())))
      add('MANIFEST_REENCODED', 'manifest JSON re-encoded (whitespace or key order); same content');
    else add('MANIFEST_DIFFERS', 'manifest JSON differs');
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
): MirrorFinding[] {
  const ma = a.root.manifest.value;
  const mb = b.root.manifest.value;
  if (a.root.descriptor.digest === b.root.descriptor.digest) return [];
  const r: MirrorFinding[] = [];
  const add = (code: MirrorFinding['code'], message: string, detail?: Record<string, unknown>) =>
    r.push(finding(code, message, { detail }));
  if (ma.kind !== 'index' && mb.kind !== 'index') return r;
  if (ma.kind !== mb.kind)
    add(
      'INDEX_KIND_DIFFERS',
      `one side is ${ma.kind === 'index' ? 'an index' : 'a single manifest'}, the other ${mb.kind === 'index' ? 'an index' : 'a single manifest'}`,
    );
  if (ma.kind === 'index' && mb.kind === 'index') {
    if (ma.mediaType !== mb.mediaType)
      add(
        'INDEX_MEDIA_TYPE_CONVERTED',
        `index type converted: ${shortType(ma.mediaType)} → ${shortType(mb.mediaType)}`,
        { a: ma.mediaType, b: mb.mediaType },
      );
    const same = isDeepStrictEqual(
      JSON.parse(a.root.manifest.bytes.toString()),
      JSON.parse(b.root.manifest.bytes.toString()),
    );
    if (same) add('INDEX_REENCODED', 'index JSON re-encoded (whitespace or key order); same content');
  }
  if (onlyA.length)
    add('PLATFORMS_MISSING', `platforms missing on the second side: ${onlyA.join(', ')}`, {
      platforms: onlyA,
    });
  if (onlyB.length)
    add('PLATFORMS_EXTRA', `extra platforms on the second side: ${onlyB.join(', ')}`, { platforms: onlyB });
  if (attA.length !== attB.length || attA.some((x, i) => x.digest !== attB[i]?.digest)) {
    add('ATTESTATIONS_DIFFER', `attestation/signature entries differ (${attA.length} vs ${attB.length})`, {
      a: attA.length,
      b: attB.length,
    });
  }
  if (r.length === 0) add('INDEX_ENTRIES_DIFFER', 'index entries point at different manifests');
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
  const base = {
    platform: key,
    a: side(na),
    b: side(nb),
    reasons: [] as MirrorFinding[],
    warnings: [] as MirrorFinding[],
  };
  const at = (
    code: MirrorFinding['code'],
    message: string,
    extra: Omit<MirrorFinding, 'code' | 'message'> = {},
  ) => finding(code, message, { platform: key, ...extra });
  if (A.root.descriptor.digest === B.root.descriptor.digest)
    return { ...base, level: 'index', reasons: [at('SAME_INDEX', 'same index digest')] };
  if (na.descriptor.digest === nb.descriptor.digest)
    return { ...base, level: 'manifest', reasons: [at('SAME_MANIFEST', 'same manifest digest')] };
  const ma = na.manifest.value as ImageManifest;
  const mb = nb.manifest.value as ImageManifest;
  if (ma.config.digest === mb.config.digest) {
    return {
      ...base,
      level: 'config',
      reasons: manifestReasons(ma, mb, na.manifest.bytes, nb.manifest.bytes, key),
    };
  }
  const cfgDiff = configDifferences(na.config!.value, nb.config!.value);
  const fields = cfgDiff.map((d) => d.field);
  const reasons = [
    at('CONFIG_DIFFERS', `configs differ: ${fields.join(', ') || 'byte encoding only'}`, {
      detail: { fields },
    }),
  ];
  if (!deep) {
    const sameClaimed = isDeepStrictEqual(na.config!.value.diffIds, nb.config!.value.diffIds);
    if (sameClaimed)
      reasons.push(
        at(
          'DIFF_IDS_UNPROVEN',
          'the configs claim the same diff_ids; the `deep` option (--deep) proves them from the layer blobs',
        ),
      );
    return { ...base, level: 'none', reasons };
  }
  // the layer reader (inflate, tar, a worker) is loaded only by a deep comparison: `compare` without --deep is a
  // start-up-bound single call
  const { diffIdOf } = await import('../layer/index.js');
  const [da, db] = await Promise.all([
    mapLimit(ma.layers, 3, (l) => diffIdOf(A.source, l)),
    mapLimit(mb.layers, 3, (l) => diffIdOf(B.source, l)),
  ]);
  const ida = da.map((x) => x.diffId);
  const idb = db.map((x) => x.diffId);
  const diffIds = { a: ida, b: idb };
  const warnings: MirrorFinding[] = [];
  for (const [n, sd, ids, claimed] of [
    ['first', 'A', ida, na.config!.value.diffIds],
    ['second', 'B', idb, nb.config!.value.diffIds],
  ] as const) {
    if (!isDeepStrictEqual(ids, claimed as Digest[]))
      warnings.push(
        at('DIFF_IDS_FALSE', `the ${n} image's config lists diff_ids its layers do not have`, { side: sd }),
      );
  }
  if (isDeepStrictEqual(ida, idb) && warnings.length === 0) {
    if (cfgDiff.some((d) => d.field === 'history')) {
      warnings.push(
        at(
          'HISTORY_DIFFERS',
          'history differs while every layer is identical: history is unproven metadata and can be forged either way',
        ),
      );
    }
    return { ...base, level: 'diff_ids', reasons, warnings, diffIds };
  }
  reasons.push(at('LAYER_CONTENTS_DIFFER', 'layer contents differ (uncompressed digests)'));
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
  // --platform names exactly the platforms to compare (not the lower variants a runtime would accept)
  const wanted = (k: string, n: ImageNode) =>
    !o.platforms?.length ||
    o.platforms.some((p) => {
      const have = n.descriptor.platform ?? {
        os: k.split('/')[0]!,
        architecture: k.split('/')[1]!,
        variant: k.split('/')[2],
      };
      return samePlatform(p, p['os.version'] ? have : { ...have, 'os.version': undefined });
    });
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
