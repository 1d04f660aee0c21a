// Finding what is attached to an image digest, on every transport trustpin reads: Sigstore bundles as OCI 1.1
// referrers (the referrers API, else the tag-schema index `sha256-<hex>`), and cosign's legacy tags
// `sha256-<hex>.sig` / `.att` (each layer one signature). Everything a registry or a layout says about
// attachments is a claim: every manifest is fetched by digest and checked, its `subject` must name the image,
// every layer is fetched by digest under a size cap (refused before download when its descriptor is over it)
// and only then handed on. A tag that does not exist is "none found"; a registry failure throws.
import {
  algorithmOf,
  type Digest,
  hexOf,
  readCapped,
  selfDigested,
  shortDigest,
  type Verified,
  verifyBytes,
} from '../../digest/index.js';
import { isTrustpinError, TrustpinError } from '../../errors/index.js';
import {
  type Descriptor,
  type ImageManifest,
  isManifestType,
  type Manifest,
  MT,
  parseManifest,
} from '../../manifest/index.js';
import { parseDockerReference } from '../../reference/index.js';
import {
  abortedError,
  hasArtifactType,
  listReferrers,
  type ReferrersAnswer,
  type RegistryClient,
  referrersTag,
} from '../../registry/index.js';
import {
  DEFAULT_MANIFEST_CAP,
  type ImageSource,
  type LazySource,
  OciLayout,
  OciLayoutSource,
  openArchiveSource,
  openOciLayout,
  REF_NAME,
  RegistrySource,
} from '../../source/index.js';
import type { SignatureArtifact } from './types.js';

/** The artifact types of a Sigstore bundle stored as an OCI referrer (cosign v3 writes the first). */
export const SIGSTORE_BUNDLE_ARTIFACT_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
];

/** Largest signature, attestation or bundle layer fetched (default; notation-go caps envelopes at 32 MiB too). */
export const DEFAULT_SIGNATURE_LAYER_CAP = 32 * 1024 * 1024;
/** Most bytes of layers fetched in one discovery, all artifacts together (default). */
export const DEFAULT_ATTACHMENT_BUDGET_CAP = 128 * 1024 * 1024;
/** Most layers of one `.sig`/`.att` manifest (cosign aborts above the same 1000). */
export const MAX_SIGNATURE_LAYERS = 1000;
/** Most referrer manifests fetched and checked for one image (default). */
export const MAX_REFERRER_MANIFESTS = 128;
/** Deepest nesting of referrers of referrers that listAttachments follows (default). */
export const MAX_ATTACHMENT_DEPTH = 4;
/** Most manifests listAttachments fetches in one listing, every level together (default). */
export const MAX_ATTACHMENT_NODES = 512;
/** Most index.json entries of an OCI layout read to find the manifests whose subject is an image. */
export const MAX_LAYOUT_REFERRER_SCAN = 1024;

/** What every store call takes. */
export interface StoreCallOptions {
  signal?: AbortSignal | undefined;
}

/**
 * Where attachments live: a registry repository or an OCI layout. Every method verifies what it returns; the
 * store itself decides nothing about whether an attachment belongs to an image.
 */
export interface AttachmentStore {
  /** for messages: `127.0.0.1:5000/demo/app`, `oci:/path/to/layout` */
  readonly where: string;
  /**
   * the manifest a tag names, its digest computed from the bytes; undefined when no such tag (or repository)
   * exists. @throws on any other failure (network, auth, a registry error)
   */
  resolveTag(tag: string, o?: StoreCallOptions): Promise<Verified<Manifest> | undefined>;
  /** the referrers of `digest` (hints to re-verify), or `supported: false` when the store has no referrers API */
  referrers(
    digest: Digest,
    o?: StoreCallOptions & { artifactTypes?: readonly string[] | undefined },
  ): Promise<ReferrersAnswer>;
  /** a manifest checked against `d` (digest and size) before parsing */
  manifest(d: Descriptor, o?: StoreCallOptions): Promise<Verified<Manifest>>;
  /**
   * a blob checked against `d`. Refused with SIZE_EXCEEDED before any byte is read when `d.size > cap`, and
   * capped at `d.size` while streaming.
   */
  blob(d: Descriptor, cap: number, o?: StoreCallOptions): Promise<Buffer>;
}

function tooLarge(what: string, d: Descriptor, cap: number, where: string): TrustpinError {
  return new TrustpinError(
    'SIZE_EXCEEDED',
    `${what} ${d.digest} in ${where} is ${d.size} bytes, over the ${cap}-byte limit`,
    {
      expected: `at most ${cap} bytes`,
      found: `${d.size} bytes (descriptor)`,
      hint: 'nothing was downloaded; no real signature is this large (raise the limit only if you trust the source)',
    },
  );
}

/** A registry repository as an attachment store (the image's own, or cosign's `COSIGN_REPOSITORY`). */
export function registryAttachments(
  client: RegistryClient,
  registry: string,
  repository: string,
  opts: { manifestCap?: number } = {},
): AttachmentStore {
  const cap = opts.manifestCap ?? DEFAULT_MANIFEST_CAP;
  const where = `${registry}/${repository}`;
  return {
    where,
    async resolveTag(tag, o = {}) {
      let res: Awaited<ReturnType<RegistryClient['getManifest']>>;
      try {
        res = await client.getManifest(registry, repository, tag, cap, o);
      } catch (e) {
        if (isTrustpinError(e, 'MANIFEST_UNKNOWN') || isTrustpinError(e, 'NAME_UNKNOWN')) return undefined;
        throw e;
      }
      return parseManifest(selfDigested(res.bytes), { contentType: res.contentType });
    },
    referrers(digest, o = {}) {
      return listReferrers(client, registry, repository, digest, o);
    },
    async manifest(d, o = {}) {
      if (d.size > cap) throw tooLarge('manifest', d, cap, where);
      const res = await client.getManifest(registry, repository, d.digest, cap, o);
      const vb = verifyBytes(res.bytes, { digest: d.digest, size: d.size, what: 'manifest' });
      return parseManifest(vb, { descriptorMediaType: d.mediaType, contentType: res.contentType });
    },
    async blob(d, blobCap, o = {}) {
      if (d.size > blobCap) throw tooLarge('layer', d, blobCap, where);
      const s = client.blob(registry, repository, d, { ...o, what: 'signature layer' });
      const bytes = await readCapped(s, d.size, `layer ${d.digest}`);
      return verifyBytes(bytes, { digest: d.digest, size: d.size, what: 'layer' }).bytes;
    },
  };
}

type LayoutLike = OciLayout | OciLayoutSource | LazySource;

async function layoutOf(s: LayoutLike): Promise<OciLayout> {
  if (s instanceof OciLayout) return s;
  if (s instanceof OciLayoutSource) return s.layout;
  const inner = await s.open();
  if (inner instanceof OciLayoutSource) return inner.layout;
  throw new TrustpinError('USAGE', `${s.name} is not an OCI layout; it carries no attachments`, {
    expected: 'an oci: or oci-archive: source',
    found: s.transport,
  });
}

function checkAbort(o: StoreCallOptions | undefined, what: string): void {
  if (o?.signal?.aborted) throw abortedError(what, o.signal);
}

/** The artifact type of a manifest as the referrers API reports it: `artifactType`, else the config's type. */
export function artifactTypeOf(m: Manifest): string | undefined {
  if (m.kind === 'image') return m.artifactType ?? m.config.mediaType;
  if (m.kind === 'index') return m.artifactType;
  return undefined;
}

/**
 * An OCI layout (directory or archive) as an attachment store: tags are index.json's
 * `org.opencontainers.image.ref.name`, and the referrers of a digest are the manifests listed in index.json
 * whose `subject` names it (each read and verified by digest; at most {@link MAX_LAYOUT_REFERRER_SCAN}).
 */
export function layoutAttachments(source: LayoutLike): AttachmentStore {
  const where = source instanceof OciLayout ? source.fs.where : source.name;
  let layoutP: Promise<OciLayout> | undefined;
  const layout = () => {
    layoutP ??= layoutOf(source);
    return layoutP;
  };
  return {
    where,
    async resolveTag(tag, o) {
      checkAbort(o, `tag ${tag}`);
      const l = await layout();
      let d: Descriptor;
      try {
        d = await l.byAnnotation(REF_NAME, tag, `tagged ${JSON.stringify(tag)}`);
      } catch (e) {
        if (isTrustpinError(e, 'NOT_FOUND')) return undefined;
        throw e;
      }
      return l.manifest(d);
    },
    async referrers(digest, o = {}) {
      const l = await layout();
      const entries = (await l.index()).manifests;
      const descriptors: Descriptor[] = [];
      let scanned = 0;
      let truncated = false;
      for (const e of entries) {
        checkAbort(o, `referrers of ${digest}`);
        if (e.digest === digest || !isManifestType(e.mediaType)) continue;
        if (scanned >= MAX_LAYOUT_REFERRER_SCAN) {
          truncated = true;
          break;
        }
        scanned++;
        let m: Verified<Manifest>;
        try {
          m = await l.manifest(e);
        } catch (err) {
          // an entry whose blob is missing or wrong names nothing that could be a referrer
          if (err instanceof TrustpinError && (err.isVerificationFailure || err.code.endsWith('_UNKNOWN')))
            continue;
          throw err;
        }
        const v = m.value;
        if (v.kind === 'schema1' || v.subject?.digest !== digest) continue;
        const d: Descriptor = {
          mediaType: v.mediaType,
          digest: e.digest,
          size: m.bytes.length,
          artifactType: artifactTypeOf(v),
          ...(v.annotations ? { annotations: v.annotations } : {}),
        };
        if (hasArtifactType(d, o.artifactTypes) && !descriptors.some((x) => x.digest === d.digest))
          descriptors.push(d);
      }
      return { supported: true, descriptors, truncated, serverFiltered: false, pages: 1 };
    },
    async manifest(d, o) {
      checkAbort(o, `manifest ${d.digest}`);
      return (await layout()).manifest(d);
    },
    async blob(d, cap, o) {
      checkAbort(o, `layer ${d.digest}`);
      if (d.size > cap) throw tooLarge('layer', d, cap, where);
      const s = await (await layout()).blob(d);
      const bytes = await readCapped(s, d.size, `layer ${d.digest}`);
      return verifyBytes(bytes, { digest: d.digest, size: d.size, what: 'layer' }).bytes;
    },
  };
}

/**
 * Open an image (`REF`, `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`) together with the store its attachments live
 * in: a registry repository, or the layout itself — a layout carries its image's signatures in the same files.
 */
export function openWithAttachments(
  spec: string,
  client: RegistryClient,
): { source: ImageSource; store: AttachmentStore } {
  if (spec.startsWith('oci:') || spec.startsWith('oci-archive:')) {
    const source = spec.startsWith('oci:')
      ? openOciLayout(spec.slice('oci:'.length))
      : openArchiveSource('oci-archive', spec.slice('oci-archive:'.length));
    return { source, store: layoutAttachments(source as LazySource) };
  }
  const ref = parseDockerReference(spec);
  return {
    source: new RegistrySource(ref, client),
    store: registryAttachments(client, ref.registry, ref.repository),
  };
}

/** Which artifacts to look for: cosign signatures, attestations, or both. Bundles count as either. */
export type DiscoverKind = 'signatures' | 'attestations';

/** Options of {@link discoverArtifacts}. */
export interface DiscoverOptions {
  /** default `['signatures']` */
  kinds?: readonly DiscoverKind[] | undefined;
  /**
   * where the signatures are stored instead of next to the image (cosign `COSIGN_REPOSITORY`,
   * `--signature-repository`); only this store is searched then, for the image's digest
   */
  signatureRepository?: AttachmentStore | undefined;
  /** largest layer fetched (default {@link DEFAULT_SIGNATURE_LAYER_CAP}); larger ones are refused unread */
  layerCap?: number | undefined;
  /** most layer bytes fetched in total (default {@link DEFAULT_ATTACHMENT_BUDGET_CAP}) */
  budget?: number | undefined;
  /** most layers of one `.sig`/`.att` manifest (default {@link MAX_SIGNATURE_LAYERS}) */
  maxLayers?: number | undefined;
  /** most referrer manifests fetched (default {@link MAX_REFERRER_MANIFESTS}) */
  maxReferrers?: number | undefined;
  /** also read cosign's legacy `.sig`/`.att` tags (default true) */
  legacy?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** One place searched, and what it held. */
export interface SearchRecord {
  where: string;
  found: number;
  note?: string | undefined;
}

/** An attachment that was found but not used: its bytes failed their check, or were over a bound. */
export interface RefusedArtifact {
  origin: string;
  error: TrustpinError;
}

/** What {@link discoverArtifacts} found. */
export interface Discovery {
  /** every artifact fetched and checked against its descriptor; nothing in it is trusted yet */
  artifacts: SignatureArtifact[];
  searched: SearchRecord[];
  /** attachments refused (DIGEST_MISMATCH, SIZE_EXCEEDED, …); they never reach `artifacts` */
  refused: RefusedArtifact[];
}

/** A failure of one attachment (refuse it and go on), as opposed to one of the store (throw). */
function isArtifactFailure(e: unknown): e is TrustpinError {
  return (
    e instanceof TrustpinError &&
    (e.isVerificationFailure || e.code === 'MANIFEST_UNKNOWN' || e.code === 'BLOB_UNKNOWN')
  );
}

/** Counts ignored entries by reason, for one note. */
class Ignored {
  private readonly counts = new Map<string, number>();
  add(why: string): void {
    this.counts.set(why, (this.counts.get(why) ?? 0) + 1);
  }
  note(): string | undefined {
    if (this.counts.size === 0) return undefined;
    return `ignored ${[...this.counts].map(([w, n]) => `${n} ${w}`).join(', ')}`;
  }
}

function joinNotes(...n: (string | undefined)[]): string | undefined {
  const s = n.filter((x): x is string => !!x);
  return s.length ? s.join('; ') : undefined;
}

/** The legacy cosign tag for `digest`: `sha256-<hex>.sig` / `.att` / `.sbom`. */
export function cosignTag(digest: Digest, suffix: 'sig' | 'att' | 'sbom'): string {
  return `${algorithmOf(digest)}-${hexOf(digest)}.${suffix}`;
}

/** The referrer candidates of `digest`: the referrers API, else the tag-schema index. */
async function referrerCandidates(
  store: AttachmentStore,
  digest: Digest,
  types: readonly string[] | undefined,
  signal: AbortSignal | undefined,
): Promise<{ candidates: Descriptor[]; via: string; record: SearchRecord }> {
  const answer = await store.referrers(digest, { artifactTypes: types, signal });
  if (answer.supported) {
    return {
      candidates: answer.descriptors,
      via: 'referrers API',
      record: {
        where: `${store.where} referrers API`,
        found: 0,
        note: answer.truncated ? 'the list was longer than the bounds; the rest was not read' : undefined,
      },
    };
  }
  const tag = referrersTag(digest);
  const record: SearchRecord = {
    where: `${store.where}:${tag} (tag schema)`,
    found: 0,
    note: `no referrers API (${answer.reason})`,
  };
  const out = { candidates: [] as Descriptor[], via: `tag ${tag}`, record };
  let idx: Verified<Manifest> | undefined;
  try {
    idx = await store.resolveTag(tag, { signal });
  } catch (e) {
    if (!isArtifactFailure(e)) throw e;
    // "if the tag schema does not return a valid image index, the client SHOULD assume there are no referrers"
    record.note = joinNotes(record.note, `the tag holds no valid image index (${e.code}); ignored`);
    return out;
  }
  if (!idx) {
    record.note = joinNotes(record.note, 'no such tag');
  } else if (idx.digest === digest) {
    // GitLab's registry resolves the tag `sha256-<hex>` to the manifest `sha256:<hex>` itself
    record.note = joinNotes(record.note, 'the tag names the image itself, not a referrers index; ignored');
  } else if (idx.value.kind !== 'index' || idx.value.mediaType !== MT.ociIndex) {
    record.note = joinNotes(
      record.note,
      `the tag names a ${idx.value.mediaType}, not an OCI image index; ignored`,
    );
  } else {
    // an entry without artifactType is kept: its fetched manifest says what it is
    out.candidates = idx.value.manifests.filter(
      (d) => d.artifactType === undefined || hasArtifactType(d, types),
    );
  }
  return out;
}

/**
 * Every signature artifact attached to the image `digest`: Sigstore bundle referrers (referrers API, else the
 * tag-schema index) and, unless `legacy: false`, the layers of cosign's `.sig` (signatures) and `.att`
 * (attestations) tags. Every manifest and layer is fetched by digest and checked before it is returned;
 * referrers whose manifest names another subject, and the image itself listed as its own referrer, are ignored.
 * Artifacts over a bound or failing their digest are refused (listed in `refused`), not thrown.
 * @throws TrustpinError operational failures of the store (network, auth, REGISTRY_ERROR), ABORTED
 */
export async function discoverArtifacts(
  imageStore: AttachmentStore,
  digest: Digest,
  options: DiscoverOptions = {},
): Promise<Discovery> {
  const store = options.signatureRepository ?? imageStore;
  const kinds = options.kinds ?? ['signatures'];
  const layerCap = options.layerCap ?? DEFAULT_SIGNATURE_LAYER_CAP;
  const maxLayers = options.maxLayers ?? MAX_SIGNATURE_LAYERS;
  const maxReferrers = options.maxReferrers ?? MAX_REFERRER_MANIFESTS;
  const signal = options.signal;
  let budget = options.budget ?? DEFAULT_ATTACHMENT_BUDGET_CAP;
  const out: Discovery = { artifacts: [], searched: [], refused: [] };

  /** Charge `d` to the budget before fetching it; refused (nothing fetched) when it would pass the budget. */
  const spend = (d: Descriptor, what: string): void => {
    if (d.size > budget)
      throw new TrustpinError(
        'SIZE_EXCEEDED',
        `${what} ${d.digest} in ${store.where} would pass the download budget`,
        {
          expected: `at most ${options.budget ?? DEFAULT_ATTACHMENT_BUDGET_CAP} bytes of attachments in all`,
          found: `${d.size} bytes, with ${budget} left`,
          hint: 'nothing more was downloaded; raise the budget only if you trust the source',
        },
      );
    budget -= d.size;
  };
  const fetchLayer = async (d: Descriptor): Promise<Buffer> => {
    if (d.size > layerCap) throw tooLarge('layer', d, layerCap, store.where);
    spend(d, 'layer');
    return store.blob(d, layerCap, { signal });
  };

  if (kinds.length > 0) {
    // (1)/(2) Sigstore bundles as referrers
    const { candidates, via, record } = await referrerCandidates(
      store,
      digest,
      SIGSTORE_BUNDLE_ARTIFACT_TYPES,
      signal,
    );
    const ignored = new Ignored();
    let examined = 0;
    for (const d of candidates) {
      if (d.digest === digest) {
        ignored.add('listing the image itself');
        continue;
      }
      if (examined >= maxReferrers) {
        ignored.add(`over the ${maxReferrers}-referrer limit`);
        continue;
      }
      examined++;
      const origin = `referrer ${d.digest} (${via})`;
      let m: Verified<Manifest>;
      try {
        spend(d, 'manifest');
        m = await store.manifest(d, { signal });
      } catch (e) {
        if (!isArtifactFailure(e)) throw e;
        out.refused.push({ origin, error: e });
        continue;
      }
      const v = m.value;
      if (v.kind !== 'image') {
        ignored.add('that are not image manifests');
        continue;
      }
      if (v.subject?.digest !== digest) {
        ignored.add('whose subject is another image');
        continue;
      }
      const at = artifactTypeOf(v);
      if (at === undefined || !SIGSTORE_BUNDLE_ARTIFACT_TYPES.includes(at)) {
        ignored.add('that are not Sigstore bundles');
        continue;
      }
      const layers = v.layers.filter((l) => SIGSTORE_BUNDLE_ARTIFACT_TYPES.includes(l.mediaType));
      if (layers.length === 0) {
        ignored.add('without a bundle layer');
        continue;
      }
      for (const [i, l] of layers.entries()) {
        const where = layers.length > 1 ? `${origin} layer ${i + 1}` : origin;
        try {
          const bytes = await fetchLayer(l);
          out.artifacts.push({
            format: 'bundle',
            origin: where,
            manifestDigest: m.digest,
            layerDigest: l.digest,
            mediaType: l.mediaType,
            annotations: l.annotations ?? {},
            bytes,
            artifactType: at,
            predicateTypeHint: v.annotations?.['dev.sigstore.bundle.predicateType'],
          });
          record.found++;
        } catch (e) {
          if (!isArtifactFailure(e)) throw e;
          out.refused.push({ origin: where, error: e });
        }
      }
    }
    record.note = joinNotes(record.note, ignored.note());
    out.searched.push(record);
  }

  if (options.legacy !== false) {
    // (3) cosign's legacy tags: each layer of the manifest is one signature (or attestation)
    const legacy: ['sig' | 'att', SignatureArtifact['format']][] = [];
    if (kinds.includes('signatures')) legacy.push(['sig', 'legacy-signature']);
    if (kinds.includes('attestations')) legacy.push(['att', 'legacy-attestation']);
    for (const [suffix, format] of legacy) {
      const tag = cosignTag(digest, suffix);
      const record: SearchRecord = { where: `${store.where}:${tag}`, found: 0 };
      out.searched.push(record);
      const m = await store.resolveTag(tag, { signal }).catch((e: unknown) => {
        if (isArtifactFailure(e)) {
          out.refused.push({ origin: record.where, error: e });
          return null;
        }
        throw e;
      });
      if (m === null) {
        record.note = 'refused';
        continue;
      }
      if (!m) {
        record.note = 'no such tag';
        continue;
      }
      if (m.value.kind !== 'image') {
        record.note = `the tag names a ${m.value.mediaType}, not an image manifest; ignored`;
        continue;
      }
      const v: ImageManifest = m.value;
      if (v.layers.length > maxLayers) {
        out.refused.push({
          origin: record.where,
          error: new TrustpinError('SIZE_EXCEEDED', `${record.where} has ${v.layers.length} layers`, {
            expected: `at most ${maxLayers} signatures in one manifest (cosign's limit)`,
            found: `${v.layers.length} layers`,
            hint: 'none of its layers was downloaded',
          }),
        });
        record.note = 'refused: too many layers';
        continue;
      }
      for (const [i, l] of v.layers.entries()) {
        const origin = `${store.where}:${tag} layer ${i + 1}`;
        try {
          const bytes = await fetchLayer(l);
          out.artifacts.push({
            format,
            origin,
            manifestDigest: m.digest,
            layerDigest: l.digest,
            mediaType: l.mediaType,
            annotations: l.annotations ?? {},
            bytes,
          });
          record.found++;
        } catch (e) {
          if (!isArtifactFailure(e)) throw e;
          out.refused.push({ origin, error: e });
        }
      }
      if (out.refused.some((r) => r.origin.startsWith(`${store.where}:${tag} `)))
        record.note = `${out.refused.filter((r) => r.origin.startsWith(`${store.where}:${tag} `)).length} layer(s) refused`;
    }
  }
  return out;
}

/** What an attachment is, from its types and the tag it was found under (data only, nothing verified). */
export type AttachmentKind =
  | 'cosign-signature'
  | 'cosign-attestation'
  | 'cosign-sbom'
  | 'sigstore-bundle'
  | 'notation-signature'
  | 'in-toto'
  | 'sbom'
  | 'other';

/** One layer of an attachment manifest, as listed. */
export interface AttachmentLayer {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations: Record<string, string>;
}

/** One attachment: a manifest whose subject is its parent (or a legacy cosign tag), and what hangs off it. */
export interface AttachmentNode {
  /** how it was found: `referrers API`, `tag sha256-<hex>` (tag schema), `tag sha256-<hex>.sig` */
  via: string;
  kind: AttachmentKind;
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string | undefined;
  /** the manifest's own annotations (from its verified bytes, not from the referrers list) */
  annotations: Record<string, string>;
  /** the manifest's layers (or, for an index, its entries) */
  layers: AttachmentLayer[];
  /** referrers of this attachment, to the depth asked */
  referrers: AttachmentNode[];
  /** why the node stops here: the depth or node bound was reached */
  note?: string | undefined;
}

/** Options of {@link listAttachments}. */
export interface ListAttachmentsOptions {
  /** levels of referrers of referrers (default {@link MAX_ATTACHMENT_DEPTH}; 1 = only the image's) */
  maxDepth?: number | undefined;
  /** most manifests fetched in all (default {@link MAX_ATTACHMENT_NODES}) */
  maxNodes?: number | undefined;
  /** also list cosign's legacy `.sig`/`.att`/`.sbom` tags (default true) */
  legacy?: boolean | undefined;
  /** search this store instead of the image's (cosign `COSIGN_REPOSITORY`) */
  signatureRepository?: AttachmentStore | undefined;
  signal?: AbortSignal | undefined;
}

/** What {@link listAttachments} found. */
export interface AttachmentListing {
  subject: Digest;
  attachments: AttachmentNode[];
  searched: SearchRecord[];
  refused: RefusedArtifact[];
}

function kindOf(
  artifactType: string | undefined,
  m: Manifest,
  legacyTag?: 'sig' | 'att' | 'sbom',
): AttachmentKind {
  if (legacyTag === 'sig') return 'cosign-signature';
  if (legacyTag === 'att') return 'cosign-attestation';
  if (legacyTag === 'sbom') return 'cosign-sbom';
  const types = [artifactType, ...(m.kind === 'image' ? m.layers.map((l) => l.mediaType) : [])].filter(
    (t): t is string => t !== undefined,
  );
  if (types.some((t) => t.startsWith('application/vnd.dev.sigstore.bundle'))) return 'sigstore-bundle';
  if (types.some((t) => t === MT.notationSignature)) return 'notation-signature';
  if (types.some((t) => t.includes('in-toto') || t === 'application/vnd.dsse.envelope.v1+json'))
    return 'in-toto';
  if (types.some((t) => /spdx|cyclonedx|sbom|syft/i.test(t))) return 'sbom';
  if (types.some((t) => t === MT.cosignSimpleSigning)) return 'cosign-signature';
  return 'other';
}

function nodeOf(via: string, m: Verified<Manifest>, legacyTag?: 'sig' | 'att' | 'sbom'): AttachmentNode {
  const v = m.value;
  const at = artifactTypeOf(v);
  const layers = v.kind === 'image' ? v.layers : v.kind === 'index' ? v.manifests : [];
  return {
    via,
    kind: kindOf(at, v, legacyTag),
    mediaType: v.mediaType,
    digest: m.digest,
    size: m.bytes.length,
    artifactType: at,
    annotations: (v.kind === 'schema1' ? undefined : v.annotations) ?? {},
    layers: layers.map((l) => ({
      mediaType: l.mediaType,
      digest: l.digest,
      size: l.size,
      annotations: l.annotations ?? {},
    })),
    referrers: [],
  };
}

/**
 * Everything attached to the image `digest`, as a tree: referrers of any artifact type (Sigstore bundles,
 * Notation signatures, SBOMs, in-toto attestations…) found by the referrers API or the tag-schema index, with
 * their own referrers to `maxDepth`, and cosign's legacy `.sig`/`.att`/`.sbom` tags. Each manifest is fetched by
 * digest and its subject checked (a referrer naming another subject is left out); no signature is verified and
 * no layer is downloaded. For `trustpin signatures REF`.
 * @throws TrustpinError operational failures of the store, ABORTED
 */
export async function listAttachments(
  imageStore: AttachmentStore,
  digest: Digest,
  options: ListAttachmentsOptions = {},
): Promise<AttachmentListing> {
  const store = options.signatureRepository ?? imageStore;
  const maxDepth = options.maxDepth ?? MAX_ATTACHMENT_DEPTH;
  let nodesLeft = options.maxNodes ?? MAX_ATTACHMENT_NODES;
  const signal = options.signal;
  const out: AttachmentListing = { subject: digest, attachments: [], searched: [], refused: [] };
  const visited = new Set<string>([digest]);

  const referrersOf = async (subject: Digest, depth: number): Promise<AttachmentNode[]> => {
    const { candidates, via, record } = await referrerCandidates(store, subject, undefined, signal);
    const ignored = new Ignored();
    const nodes: AttachmentNode[] = [];
    for (const d of candidates) {
      if (d.digest === subject) {
        ignored.add('listing the image itself');
        continue;
      }
      if (visited.has(d.digest)) continue;
      if (nodesLeft <= 0) {
        ignored.add(`over the ${options.maxNodes ?? MAX_ATTACHMENT_NODES}-manifest limit`);
        continue;
      }
      nodesLeft--;
      let m: Verified<Manifest>;
      try {
        m = await store.manifest(d, { signal });
      } catch (e) {
        if (!isArtifactFailure(e)) throw e;
        out.refused.push({ origin: `referrer ${d.digest} (${via})`, error: e });
        continue;
      }
      if (m.value.kind === 'schema1' || m.value.subject?.digest !== subject) {
        ignored.add('whose subject is another manifest');
        continue;
      }
      visited.add(d.digest);
      nodes.push(nodeOf(via, m));
    }
    record.found = nodes.length;
    record.where = `${record.where} for ${shortDigest(subject)}`;
    record.note = joinNotes(record.note, ignored.note());
    out.searched.push(record);
    await deeper(nodes, depth);
    return nodes;
  };

  const deeper = async (nodes: AttachmentNode[], depth: number): Promise<void> => {
    for (const n of nodes) {
      if (depth >= maxDepth) {
        n.note = `referrers of this attachment not listed (depth limit ${maxDepth})`;
        continue;
      }
      n.referrers = await referrersOf(n.digest, depth + 1);
    }
  };

  out.attachments = await referrersOf(digest, 1);
  if (options.legacy !== false) {
    const legacyNodes: AttachmentNode[] = [];
    for (const suffix of ['sig', 'att', 'sbom'] as const) {
      const tag = cosignTag(digest, suffix);
      const record: SearchRecord = { where: `${store.where}:${tag}`, found: 0 };
      out.searched.push(record);
      let m: Verified<Manifest> | undefined;
      try {
        m = await store.resolveTag(tag, { signal });
      } catch (e) {
        if (!isArtifactFailure(e)) throw e;
        out.refused.push({ origin: record.where, error: e });
        record.note = 'refused';
        continue;
      }
      if (!m) {
        record.note = 'no such tag';
        continue;
      }
      if (visited.has(m.digest)) continue;
      visited.add(m.digest);
      nodesLeft--;
      record.found = 1;
      legacyNodes.push(nodeOf(`tag ${tag}`, m, suffix));
    }
    await deeper(legacyNodes, 1);
    out.attachments.push(...legacyNodes);
  }
  return out;
}
