// Where attachments live and how they are found, for every signature system: a registry repository or an OCI
// layout as an AttachmentStore, and the referrers of a digest by the referrers API or, without one, the
// tag-schema index `sha256-<hex>`. Everything a registry or a layout says about attachments is a claim: every
// manifest is fetched by digest and checked, every layer is fetched by digest under a size cap (refused before
// download when its descriptor is over it). A tag that does not exist is "none found"; a registry failure throws.
import {
  algorithmOf,
  type Digest,
  hexOf,
  readCapped,
  selfDigested,
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
import { settleLater } from '../../util/index.js';

/** Largest signature, attestation or bundle layer fetched (default; notation-go caps envelopes at 32 MiB too). */
export const DEFAULT_SIGNATURE_LAYER_CAP = 32 * 1024 * 1024;
/** Most bytes of layers fetched in one discovery, all artifacts together (default). */
export const DEFAULT_ATTACHMENT_BUDGET_CAP = 128 * 1024 * 1024;
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
  /** each call is a network round trip (a registry), so independent questions are worth asking at once */
  readonly remote?: boolean | undefined;
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

export function tooLarge(what: string, d: Descriptor, cap: number, where: string): TrustpinError {
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
    remote: true,
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

/** A failure of one attachment (refuse it and go on), as opposed to one of the store (throw). */
export function isArtifactFailure(e: unknown): e is TrustpinError {
  return (
    e instanceof TrustpinError &&
    (e.isVerificationFailure || e.code === 'MANIFEST_UNKNOWN' || e.code === 'BLOB_UNKNOWN')
  );
}

/** Counts ignored entries by reason, for one note. */
export class Ignored {
  private readonly counts = new Map<string, number>();
  add(why: string): void {
    this.counts.set(why, (this.counts.get(why) ?? 0) + 1);
  }
  note(): string | undefined {
    if (this.counts.size === 0) return undefined;
    return `ignored ${[...this.counts].map(([w, n]) => `${n} ${w}`).join(', ')}`;
  }
}

export function joinNotes(...n: (string | undefined)[]): string | undefined {
  const s = n.filter((x): x is string => !!x);
  return s.length ? s.join('; ') : undefined;
}

/** The legacy cosign tag for `digest`: `sha256-<hex>.sig` / `.att` / `.sbom`. */
export function cosignTag(digest: Digest, suffix: 'sig' | 'att' | 'sbom'): string {
  return `${algorithmOf(digest)}-${hexOf(digest)}.${suffix}`;
}

/** The referrer candidates of `digest`: the referrers API, else the tag-schema index. */
export async function referrerCandidates(
  store: AttachmentStore,
  digest: Digest,
  types: readonly string[] | undefined,
  signal: AbortSignal | undefined,
): Promise<{ candidates: Descriptor[]; via: string; record: SearchRecord }> {
  const tag = referrersTag(digest);
  // a registry without the referrers API (docker-registry 2.x, many mirrors) costs a second round trip for the
  // tag-schema fallback: on a registry it is asked at once, beside the API, and used only when the API is absent
  // (an answer that is not needed is dropped unread; either one's failure counts only when its answer would)
  const fallback = store.remote ? settleLater(store.resolveTag(tag, { signal })) : undefined;
  let answer: ReferrersAnswer;
  try {
    answer = await store.referrers(digest, { artifactTypes: types, signal });
  } finally {
    if (fallback) await fallback.catch(() => undefined);
  }
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
  const record: SearchRecord = {
    where: `${store.where}:${tag} (tag schema)`,
    found: 0,
    note: `no referrers API (${answer.reason})`,
  };
  const out = { candidates: [] as Descriptor[], via: `tag ${tag}`, record };
  let idx: Verified<Manifest> | undefined;
  try {
    idx = await (fallback ?? store.resolveTag(tag, { signal }));
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
 * The bytes one discovery may fetch, manifests and layers together: each descriptor is charged before its fetch,
 * and one that would pass the budget is refused (SIZE_EXCEEDED) with nothing downloaded.
 */
export class DownloadBudget {
  private left: number;
  constructor(
    private readonly limit: number,
    private readonly where: string,
  ) {
    this.left = limit;
  }

  spend(d: Descriptor, what: string): void {
    if (d.size > this.left)
      throw new TrustpinError(
        'SIZE_EXCEEDED',
        `${what} ${d.digest} in ${this.where} would pass the download budget`,
        {
          expected: `at most ${this.limit} bytes of attachments in all`,
          found: `${d.size} bytes, with ${this.left} left`,
          hint: 'nothing more was downloaded; raise the budget only if you trust the source',
        },
      );
    this.left -= d.size;
  }
}

/** A referrer that passed {@link forEachReferrer}'s checks: an image manifest of the asked-for type, naming `digest`. */
export interface ReferrerManifest {
  /** `referrer sha256:… (referrers API)` or `(tag sha256-…)` */
  origin: string;
  manifest: Verified<ImageManifest>;
  artifactType: string;
}

/**
 * Visit, in order, the referrers of `digest` whose artifact type is one of `artifactTypes`: found by the referrers
 * API or the tag-schema index, each manifest charged to `budget` and fetched by digest, then kept only if it is an
 * image manifest naming `digest` as subject with such an artifact type (the image listed as its own referrer, the
 * ones over `max`, and the rest are counted in `o.ignored`; a manifest failing its digest goes to `refused`).
 * `visit` runs before the next manifest is fetched, so its downloads are charged in the same order; it returns how
 * many artifacts it took from the referrer (the record's `found`).
 * @throws TrustpinError operational failures of the store, ABORTED
 */
export async function forEachReferrer(
  store: AttachmentStore,
  digest: Digest,
  artifactTypes: readonly string[],
  o: {
    /** most manifests fetched, and the words for it and the type in notes: `referrer`, `Sigstore bundles` */
    max: number;
    unit: string;
    kind: string;
    budget: DownloadBudget;
    refused: RefusedArtifact[];
    /** where the skipped referrers are counted (visit may add its own reasons) */
    ignored: Ignored;
    signal?: AbortSignal | undefined;
  },
  visit: (r: ReferrerManifest) => Promise<number>,
): Promise<SearchRecord> {
  const { candidates, via, record } = await referrerCandidates(store, digest, artifactTypes, o.signal);
  const ignored = o.ignored;
  let examined = 0;
  for (const d of candidates) {
    if (d.digest === digest) {
      ignored.add('listing the image itself');
      continue;
    }
    if (examined >= o.max) {
      ignored.add(`over the ${o.max}-${o.unit} limit`);
      continue;
    }
    examined++;
    const origin = `referrer ${d.digest} (${via})`;
    let m: Verified<Manifest>;
    try {
      o.budget.spend(d, 'manifest');
      m = await store.manifest(d, { signal: o.signal });
    } catch (e) {
      if (!isArtifactFailure(e)) throw e;
      o.refused.push({ origin, error: e });
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
    const artifactType = artifactTypeOf(v);
    if (artifactType === undefined || !artifactTypes.includes(artifactType)) {
      ignored.add(`that are not ${o.kind}`);
      continue;
    }
    record.found += await visit({ origin, manifest: m as Verified<ImageManifest>, artifactType });
  }
  return record;
}
