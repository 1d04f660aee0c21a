// Typed, validated manifests. `parseManifest` accepts only VerifiedBytes: nothing is parsed before its digest
// has been checked (or computed, for a tag fetch).
import { type Digest, parseDigest, type Verified, type VerifiedBytes } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import {
  array,
  type Check,
  checkShape,
  literal,
  map,
  object,
  optional,
  record,
  size,
  str,
} from '../util/index.js';
import { requireJsonDepth, requireJsonNumbers } from './json.js';
import { IMAGE_MANIFEST_TYPES, INDEX_TYPES, isManifestType, MT, SCHEMA1_TYPES } from './media-types.js';
import type { Platform } from './platform.js';

/** An OCI content descriptor: media type, digest and size of the bytes it names. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform | undefined;
  annotations?: Record<string, string> | undefined;
  urls?: string[] | undefined;
  artifactType?: string | undefined;
  data?: string | undefined;
}

/** A parsed OCI index or Docker manifest list. */
export interface IndexManifest {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string> | undefined;
  subject?: Descriptor | undefined;
  artifactType?: string | undefined;
}

/** A parsed OCI image manifest or Docker v2s2 manifest. */
export interface ImageManifest {
  kind: 'image';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string> | undefined;
  subject?: Descriptor | undefined;
  artifactType?: string | undefined;
}

/** A Docker schema1 manifest (read for digests only; never asked for). */
export interface Schema1Manifest {
  kind: 'schema1';
  mediaType: string;
  name: string;
  tag: string;
  architecture: string;
  fsLayers: { blobSum: Digest }[];
  history: { v1Compatibility: string }[];
}

/** Any parsed manifest, discriminated by `kind`. */
export type Manifest = IndexManifest | ImageManifest | Schema1Manifest;

const digestSchema = map(str(), (s) => parseDigest(s));
const annotations = optional(record(str()));
const platformSchema = object({
  os: str(),
  architecture: str(),
  variant: optional(str()),
  'os.version': optional(str()),
  'os.features': optional(array(str())),
});
const descriptorSchema = object({
  mediaType: str(1),
  digest: digestSchema,
  size,
  platform: optional(platformSchema),
  annotations,
  urls: optional(array(str())),
  artifactType: optional(str()),
  data: optional(str()),
});
const indexSchema = object({
  schemaVersion: literal(2),
  mediaType: optional(str()),
  manifests: array(descriptorSchema, 10000),
  annotations,
  subject: optional(descriptorSchema),
  artifactType: optional(str()),
});
const imageSchema = object({
  schemaVersion: literal(2),
  mediaType: optional(str()),
  config: descriptorSchema,
  layers: array(descriptorSchema, 10000),
  annotations,
  subject: optional(descriptorSchema),
  artifactType: optional(str()),
});
const schema1Schema = object({
  schemaVersion: literal(1),
  name: str(),
  tag: str(),
  architecture: str(),
  fsLayers: array(object({ blobSum: digestSchema })),
  history: array(object({ v1Compatibility: str() })),
});

function invalid(digest: string, why: string, found?: string): TrustpinError {
  return new TrustpinError('MANIFEST_INVALID', `manifest ${digest} is not a valid image manifest: ${why}`, {
    found,
    hint: 'its digest verified, so this is what the publisher pushed; trustpin cannot use it',
  });
}

/** `check` of the document, or MANIFEST_INVALID saying where it does not fit. */
function shaped<T>(digest: string, check: Check<T>, obj: unknown): T {
  return checkShape(check, obj, (e) => invalid(digest, e.message));
}

/** Guess the media type from the document itself, as containers/image does when `mediaType` is absent. */
function sniff(doc: Record<string, unknown>): string | undefined {
  if (doc.schemaVersion === 1) return Array.isArray(doc.signatures) ? MT.schema1Signed : MT.schema1;
  if (Array.isArray(doc.manifests)) return MT.ociIndex;
  const cfg = doc.config as { mediaType?: unknown } | undefined;
  if (cfg && typeof cfg === 'object')
    return cfg.mediaType === MT.dockerConfig ? MT.dockerManifest : MT.ociManifest;
  return undefined;
}

export interface ParseHints {
  /** media type the parent descriptor claims (trusted: it is inside verified bytes) */
  descriptorMediaType?: string | undefined;
  /** HTTP Content-Type (untrusted hint) */
  contentType?: string | undefined;
}

/** Parse verified manifest bytes (OCI, Docker v2s2, lists, schema1). */
export function parseManifest(vb: VerifiedBytes, hints: ParseHints = {}): Verified<Manifest> {
  requireJsonDepth(vb.bytes, `manifest ${vb.digest}`);
  let doc: unknown;
  try {
    doc = JSON.parse(vb.bytes.toString('utf8'));
  } catch (e) {
    throw invalid(vb.digest, `not JSON (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(vb.digest, 'not a JSON object');
  const obj = doc as Record<string, unknown>;
  const bodyType = typeof obj.mediaType === 'string' ? obj.mediaType : undefined;
  const ct = hints.contentType?.split(';')[0]?.trim();
  if (bodyType && hints.descriptorMediaType && bodyType !== hints.descriptorMediaType) {
    throw new TrustpinError('MEDIA_TYPE_MISMATCH', `manifest ${vb.digest} says it is ${bodyType}`, {
      expected: hints.descriptorMediaType,
      found: bodyType,
      hint: 'the parent index describes this child as another kind of document',
    });
  }
  if (bodyType && ct && isManifestType(ct) && ct !== bodyType && !SCHEMA1_TYPES.includes(ct)) {
    throw new TrustpinError(
      'MEDIA_TYPE_MISMATCH',
      `registry served ${vb.digest} as ${ct} but it says ${bodyType}`,
      {
        expected: bodyType,
        found: ct,
      },
    );
  }
  const mediaType =
    bodyType ?? hints.descriptorMediaType ?? (ct && isManifestType(ct) ? ct : undefined) ?? sniff(obj);
  if (!mediaType) throw invalid(vb.digest, 'cannot tell what kind of manifest this is');
  const value = toManifest(vb.digest, mediaType, obj);
  // -0 (a size of `-0`, annotations values left as data) prints as 0 and compares unequal to it: make it 0
  requireJsonNumbers(vb.bytes, value, `manifest ${vb.digest}`);
  return { value, digest: vb.digest, bytes: vb.bytes };
}

function toManifest(digest: string, mediaType: string, obj: Record<string, unknown>): Manifest {
  if (INDEX_TYPES.includes(mediaType)) {
    return { kind: 'index', ...shaped(digest, indexSchema, obj), mediaType };
  }
  if (IMAGE_MANIFEST_TYPES.includes(mediaType)) {
    return { kind: 'image', ...shaped(digest, imageSchema, obj), mediaType };
  }
  if (SCHEMA1_TYPES.includes(mediaType)) {
    return { kind: 'schema1', ...shaped(digest, schema1Schema, obj), mediaType };
  }
  throw invalid(digest, `unsupported media type ${mediaType}`, mediaType);
}

/** What an index entry is: a platform image, an attestation, a signature, or unknown. */
export type EntryKind = 'platform' | 'attestation' | 'signature' | 'unknown';

const SIGNATURE_ARTIFACTS = [
  MT.cosignSimpleSigning,
  MT.notationSignature,
  'application/vnd.dev.sigstore.bundle',
];

/** What an index entry is. Attestations and signatures are never platforms. */
export function classifyEntry(d: Descriptor): EntryKind {
  const refType = d.annotations?.['vnd.docker.reference.type'];
  if (refType === 'attestation-manifest') return 'attestation';
  const art = d.artifactType ?? '';
  if (SIGNATURE_ARTIFACTS.some((s) => art.startsWith(s))) return 'signature';
  if (art.includes('in-toto') || art.includes('sbom') || art.includes('spdx') || art.includes('cyclonedx')) {
    return 'attestation';
  }
  if (!d.platform) return 'unknown';
  if (d.platform.os === 'unknown' && d.platform.architecture === 'unknown') return 'attestation';
  return 'platform';
}

/** A manifest that is a cosign `.sig`/`.att` or notation artifact rather than a runnable image. */
export function artifactKind(m: ImageManifest): 'signature' | 'attestation' | undefined {
  const types = [m.artifactType, m.config.mediaType, ...m.layers.map((l) => l.mediaType)];
  if (types.some((t) => t && SIGNATURE_ARTIFACTS.some((s) => t.startsWith(s)))) return 'signature';
  if (types.some((t) => t?.includes('in-toto') || t === 'application/vnd.dsse.envelope.v1+json'))
    return 'attestation';
  return undefined;
}

/** Cosign's tag scheme: `sha256-<hex>.sig` / `.att` / `.sbom`. */
export function cosignTagKind(tag: string | undefined): 'signature' | 'attestation' | 'sbom' | undefined {
  const m = tag ? /^sha256-[a-f0-9]{64}\.(sig|att|sbom)$/.exec(tag) : null;
  if (!m) return undefined;
  return m[1] === 'sig' ? 'signature' : m[1] === 'att' ? 'attestation' : 'sbom';
}
