// Finding the Notation signatures of an image digest (NSPEC signature-specification "OCI Signatures"; notation-go
// registry/repository.go `ListSignatures`): referrers of artifact type application/vnd.cncf.notary.signature by the
// referrers API, else the tag-schema index `sha256-<hex>`, on a registry or an OCI layout. Each signature manifest
// is fetched by digest and must name the image as its subject and hold exactly one envelope layer (JWS or COSE); the
// envelope is fetched by digest under a cap. Signatures written before spec v1.1 (no artifactType, config media
// type = the signature type) are accepted, as the spec asks.
import type { Digest } from '../../digest/index.js';
import { TrustpinError } from '../../errors/index.js';
import type { Descriptor } from '../../manifest/index.js';
import {
  type AttachmentStore,
  DEFAULT_ATTACHMENT_BUDGET_CAP,
  DownloadBudget,
  forEachReferrer,
  Ignored,
  isArtifactFailure,
  joinNotes,
  type RefusedArtifact,
  type SearchRecord,
  tooLarge,
} from '../attachments/index.js';
import { MAX_NOTATION_ENVELOPE_BYTES, openEnvelope } from './envelope.js';
import {
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  NOTATION_SIGNATURE_ARTIFACT_TYPE,
  type NotationArtifact,
} from './types.js';

/** Most signature manifests examined for one image (notation's `--max-signatures` default is 100). */
export const MAX_NOTATION_SIGNATURES = 100;

/** Options of {@link discoverNotationSignatures}. */
export interface NotationDiscoverOptions {
  /** most signature manifests examined (default {@link MAX_NOTATION_SIGNATURES}) */
  maxSignatures?: number | undefined;
  /** largest envelope fetched (default {@link MAX_NOTATION_ENVELOPE_BYTES}); larger ones are refused unread */
  envelopeCap?: number | undefined;
  /** most bytes fetched in all, manifests and envelopes (default {@link DEFAULT_ATTACHMENT_BUDGET_CAP}) */
  budget?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** What {@link discoverNotationSignatures} found. */
export interface NotationDiscovery {
  /** envelopes fetched and checked against their descriptors; nothing in them is trusted yet */
  signatures: NotationArtifact[];
  searched: SearchRecord[];
  /** signature manifests or envelopes refused (digest mismatch, over a bound) */
  refused: RefusedArtifact[];
}

/**
 * Every Notation signature attached to `digest` in `store`.
 * @throws TrustpinError operational failures of the store (network, auth, REGISTRY_ERROR), ABORTED
 */
export async function discoverNotationSignatures(
  store: AttachmentStore,
  digest: Digest,
  options: NotationDiscoverOptions = {},
): Promise<NotationDiscovery> {
  const max = options.maxSignatures ?? MAX_NOTATION_SIGNATURES;
  const cap = options.envelopeCap ?? MAX_NOTATION_ENVELOPE_BYTES;
  const budget = new DownloadBudget(options.budget ?? DEFAULT_ATTACHMENT_BUDGET_CAP, store.where);
  const signal = options.signal;
  const out: NotationDiscovery = { signatures: [], searched: [], refused: [] };
  const ignored = new Ignored();
  const record = await forEachReferrer(
    store,
    digest,
    [NOTATION_SIGNATURE_ARTIFACT_TYPE],
    { max, unit: 'signature', kind: 'Notation signatures', budget, refused: out.refused, ignored, signal },
    async ({ origin, manifest: m }) => {
      const v = m.value;
      const layer = v.layers[0];
      if (
        v.layers.length !== 1 ||
        !layer ||
        (layer.mediaType !== NOTATION_JWS_MEDIA_TYPE && layer.mediaType !== NOTATION_COSE_MEDIA_TYPE)
      ) {
        out.refused.push({
          origin,
          error: new TrustpinError(
            'ENVELOPE_INVALID',
            'a Notation signature manifest must hold exactly one envelope',
            {
              expected: `one layer of ${NOTATION_JWS_MEDIA_TYPE} or ${NOTATION_COSE_MEDIA_TYPE}`,
              found: v.layers.map((l) => l.mediaType).join(', ') || 'no layers',
            },
          ),
        });
        return 0;
      }
      try {
        if (layer.size > cap) throw tooLarge('signature envelope', layer, cap, store.where);
        budget.spend(layer, 'signature envelope');
        const bytes = await store.blob(layer, cap, { signal });
        out.signatures.push({
          origin,
          manifestDigest: m.digest,
          envelopeDigest: layer.digest,
          mediaType: layer.mediaType,
          bytes,
          annotations: v.annotations ?? {},
        });
        return 1;
      } catch (e) {
        if (!isArtifactFailure(e)) throw e;
        out.refused.push({ origin, error: e });
        return 0;
      }
    },
  );
  record.note = joinNotes(record.note, ignored.note());
  out.searched.push(record);
  return out;
}

/** Who a Notation signature says signed it: its envelope opened and its integrity proven, its trust not decided. */
export type NotationSignerInfo =
  | {
      ok: true;
      format: 'jws' | 'cose';
      /** the signing certificate's subject, issuer and SHA-256 fingerprint */
      subject: string;
      issuer: string;
      fingerprint: string;
      signingScheme: string;
      signingTime?: string | undefined;
      expiry?: string | undefined;
      timestamped: boolean;
    }
  | { ok: false; code: string; message: string };

/**
 * Fetch the envelope `layer` of a signature manifest (by digest, under the envelope cap) and open it: the signer it
 * names, after its signature verified under the chain it carries. Not a verdict: no trust store or policy is
 * consulted (that is `createNotationVerifier`). For listings (`trustpin signatures`).
 * @throws TrustpinError operational failures of the store
 */
export async function notationSignerOf(
  store: AttachmentStore,
  layer: Descriptor,
  o: { signal?: AbortSignal | undefined } = {},
): Promise<NotationSignerInfo> {
  try {
    if (layer.size > MAX_NOTATION_ENVELOPE_BYTES)
      throw tooLarge('signature envelope', layer, MAX_NOTATION_ENVELOPE_BYTES, store.where);
    const bytes = await store.blob(layer, MAX_NOTATION_ENVELOPE_BYTES, o);
    const e = openEnvelope(bytes, layer.mediaType);
    const leaf = e.certificates[0]!;
    return {
      ok: true,
      format: e.format,
      subject: leaf.subject,
      issuer: leaf.issuer,
      fingerprint: leaf.fingerprint,
      signingScheme: e.signingScheme,
      signingTime: e.signingTime?.toISOString(),
      expiry: e.expiry?.toISOString(),
      timestamped: e.timestampToken !== undefined,
    };
  } catch (e) {
    if (!isArtifactFailure(e)) throw e;
    return { ok: false, code: e.code, message: e.message };
  }
}
