// Finding what is attached to an image digest, on every transport trustpin reads: Sigstore bundles as OCI 1.1
// referrers (the referrers API, else the tag-schema index `sha256-<hex>`), and cosign's legacy tags
// `sha256-<hex>.sig` / `.att` (each layer one signature). Everything a registry or a layout says about
// attachments is a claim: every manifest is fetched by digest and checked, its `subject` must name the image,
// every layer is fetched by digest under a size cap (refused before download when its descriptor is over it)
// and only then handed on. A tag that does not exist is "none found"; a registry failure throws.
import type { Digest } from '../../digest/index.js';
import { TrustpinError } from '../../errors/index.js';
import type { Descriptor, ImageManifest } from '../../manifest/index.js';
import {
  type AttachmentStore,
  cosignTag,
  DEFAULT_ATTACHMENT_BUDGET_CAP,
  DEFAULT_SIGNATURE_LAYER_CAP,
  DownloadBudget,
  forEachReferrer,
  Ignored,
  isArtifactFailure,
  joinNotes,
  MAX_REFERRER_MANIFESTS,
  type RefusedArtifact,
  type SearchRecord,
  tooLarge,
} from '../attachments/index.js';
import type { SignatureArtifact } from './types.js';

/** The artifact types of a Sigstore bundle stored as an OCI referrer (cosign v3 writes the first). */
export const SIGSTORE_BUNDLE_ARTIFACT_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
];

/** Most layers of one `.sig`/`.att` manifest (cosign aborts above the same 1000). */
export const MAX_SIGNATURE_LAYERS = 1000;

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

/** What one place searched gave. */
interface Found {
  record: SearchRecord;
  artifacts: SignatureArtifact[];
  refused: RefusedArtifact[];
}

/** What {@link discoverArtifacts} found. */
export interface Discovery {
  /** every artifact fetched and checked against its descriptor; nothing in it is trusted yet */
  artifacts: SignatureArtifact[];
  searched: SearchRecord[];
  /** attachments refused (DIGEST_MISMATCH, SIZE_EXCEEDED, …); they never reach `artifacts` */
  refused: RefusedArtifact[];
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
  const budget = new DownloadBudget(options.budget ?? DEFAULT_ATTACHMENT_BUDGET_CAP, store.where);
  const out: Discovery = { artifacts: [], searched: [], refused: [] };
  const fetchLayer = async (d: Descriptor): Promise<Buffer> => {
    if (d.size > layerCap) throw tooLarge('layer', d, layerCap, store.where);
    budget.spend(d, 'layer');
    return store.blob(d, layerCap, { signal });
  };

  /** (1)/(2) Sigstore bundles as referrers */
  const referrerSearch = async (): Promise<Found> => {
    const found: Found = { record: { where: store.where, found: 0 }, artifacts: [], refused: [] };
    const ignored = new Ignored();
    const record = await forEachReferrer(
      store,
      digest,
      SIGSTORE_BUNDLE_ARTIFACT_TYPES,
      {
        max: maxReferrers,
        unit: 'referrer',
        kind: 'Sigstore bundles',
        budget,
        refused: found.refused,
        ignored,
        signal,
      },
      async ({ origin, manifest: m, artifactType: at }) => {
        const v = m.value;
        const layers = v.layers.filter((l) => SIGSTORE_BUNDLE_ARTIFACT_TYPES.includes(l.mediaType));
        if (layers.length === 0) {
          ignored.add('without a bundle layer');
          return 0;
        }
        let n = 0;
        for (const [i, l] of layers.entries()) {
          const where = layers.length > 1 ? `${origin} layer ${i + 1}` : origin;
          try {
            const bytes = await fetchLayer(l);
            found.artifacts.push({
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
            n++;
          } catch (e) {
            if (!isArtifactFailure(e)) throw e;
            found.refused.push({ origin: where, error: e });
          }
        }
        return n;
      },
    );
    record.note = joinNotes(record.note, ignored.note());
    found.record = record;
    return found;
  };

  /** (3) one of cosign's legacy tags: each layer of the manifest is one signature (or attestation) */
  const legacySearch = async (suffix: 'sig' | 'att', format: SignatureArtifact['format']): Promise<Found> => {
    const tag = cosignTag(digest, suffix);
    const record: SearchRecord = { where: `${store.where}:${tag}`, found: 0 };
    const found: Found = { record, artifacts: [], refused: [] };
    const m = await store.resolveTag(tag, { signal }).catch((e: unknown) => {
      if (isArtifactFailure(e)) {
        found.refused.push({ origin: record.where, error: e });
        return null;
      }
      throw e;
    });
    if (m === null) {
      record.note = 'refused';
      return found;
    }
    if (!m) {
      record.note = 'no such tag';
      return found;
    }
    if (m.value.kind !== 'image') {
      record.note = `the tag names a ${m.value.mediaType}, not an image manifest; ignored`;
      return found;
    }
    const v: ImageManifest = m.value;
    if (v.layers.length > maxLayers) {
      found.refused.push({
        origin: record.where,
        error: new TrustpinError('SIZE_EXCEEDED', `${record.where} has ${v.layers.length} layers`, {
          expected: `at most ${maxLayers} signatures in one manifest (cosign's limit)`,
          found: `${v.layers.length} layers`,
          hint: 'none of its layers was downloaded',
        }),
      });
      record.note = 'refused: too many layers';
      return found;
    }
    for (const [i, l] of v.layers.entries()) {
      const origin = `${store.where}:${tag} layer ${i + 1}`;
      try {
        const bytes = await fetchLayer(l);
        found.artifacts.push({
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
        found.refused.push({ origin, error: e });
      }
    }
    if (found.refused.length) record.note = `${found.refused.length} layer(s) refused`;
    return found;
  };

  // The places are independent: all are searched at once (their round trips overlap), each into its own record,
  // and the results are joined in the fixed order referrers, `.sig`, `.att` — what is found, refused and reported
  // does not depend on which answer came first. Every search has ended before this returns or throws, and the
  // first failure in that order is the one thrown, as when they ran one after another.
  const searches: Promise<Found>[] = [];
  if (kinds.length > 0) searches.push(referrerSearch());
  if (options.legacy !== false) {
    if (kinds.includes('signatures')) searches.push(legacySearch('sig', 'legacy-signature'));
    if (kinds.includes('attestations')) searches.push(legacySearch('att', 'legacy-attestation'));
  }
  const settled = await Promise.allSettled(searches);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  for (const r of settled as PromiseFulfilledResult<Found>[]) {
    out.searched.push(r.value.record);
    out.artifacts.push(...r.value.artifacts);
    out.refused.push(...r.value.refused);
  }
  return out;
}
