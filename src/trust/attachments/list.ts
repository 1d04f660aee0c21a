// Everything attached to an image, as a tree: referrers of any artifact type (Sigstore bundles, Notation
// signatures, SBOMs, in-toto attestations…) and cosign's legacy tags, each manifest fetched by digest and its
// subject checked. Nothing is verified and no layer is downloaded: a listing, for `trustpin signatures REF`.
import { type Digest, shortDigest, type Verified } from '../../digest/index.js';
import { type Manifest, MT } from '../../manifest/index.js';
import {
  type AttachmentStore,
  artifactTypeOf,
  cosignTag,
  Ignored,
  isArtifactFailure,
  joinNotes,
  MAX_ATTACHMENT_DEPTH,
  MAX_ATTACHMENT_NODES,
  type RefusedArtifact,
  referrerCandidates,
  type SearchRecord,
} from './store.js';

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
