// What a comparison found, as data: every reason a level was (not) reached and every warning carries a code from
// a closed list, so a program or a policy matches on the code and a person reads the message.

/** One coded fact about two images. `message` is for people and may change; `code` is the contract. */
export interface Finding<C extends string = string> {
  code: C;
  message: string;
  /** the platform it concerns (`linux/arm64`), when it concerns one */
  platform?: string | undefined;
  /** the image it concerns, when only one side is meant: A is the first (origin), B the second (mirror) */
  side?: 'A' | 'B' | undefined;
  /** a path inside the image file system, when it concerns one */
  path?: string | undefined;
  /** the facts behind the message, for programs (field names, platform lists, media types) */
  detail?: Record<string, unknown> | undefined;
}

/**
 * Every code `compareImages` emits, closed. Per platform (`reasons`): why the level is what it is; per platform
 * (`warnings`): what a matching level does not prove; for the index (`indexReasons`): why the top digests differ.
 */
export const MIRROR_FINDING_CODES = [
  // platform reasons
  /** both sides are the same index (or the same single manifest) by digest */
  'SAME_INDEX',
  /** the platform's manifest is the same by digest */
  'SAME_MANIFEST',
  /** the manifest was converted between Docker v2s2 and OCI media types (`detail.a`, `detail.b`) */
  'MEDIA_TYPE_CONVERTED',
  /** other layer blobs under the same config: recompressed or converted layers, the same diff_ids */
  'LAYER_COMPRESSION_DIFFERS',
  /** the layers' media types differ (e.g. tar+gzip vs tar+zstd, Docker vs OCI names) */
  'LAYER_MEDIA_TYPES_DIFFER',
  /** the config descriptor's media type differs (Docker vs OCI) */
  'CONFIG_MEDIA_TYPE_DIFFERS',
  /** the manifests' annotations differ */
  'ANNOTATIONS_DIFFER',
  /** the same manifest JSON re-encoded (whitespace or key order) */
  'MANIFEST_REENCODED',
  /** the manifests differ in some other field of their JSON */
  'MANIFEST_DIFFERS',
  /** the configs differ, so the image IDs do; `detail.fields` names the fields */
  'CONFIG_DIFFERS',
  /** the configs claim the same diff_ids, unproven without the `deep` option */
  'DIFF_IDS_UNPROVEN',
  /** the layers decompress to other diff_ids (`deep` only) */
  'LAYER_CONTENTS_DIFFER',
  // platform warnings
  /** a side's config names diff_ids its layers do not decompress to (`side`) */
  'DIFF_IDS_FALSE',
  /** every layer is identical but the history differs: unproven metadata, forgeable either way */
  'HISTORY_DIFFERS',
  // index reasons
  /** one side is an index, the other a single manifest */
  'INDEX_KIND_DIFFERS',
  /** the index was converted between a Docker manifest list and an OCI index */
  'INDEX_MEDIA_TYPE_CONVERTED',
  /** the same index JSON re-encoded (whitespace or key order) */
  'INDEX_REENCODED',
  /** platforms the first side has and the second lacks (`detail.platforms`) */
  'PLATFORMS_MISSING',
  /** platforms only the second side has (`detail.platforms`) */
  'PLATFORMS_EXTRA',
  /** the attestation/signature entries of the indexes differ */
  'ATTESTATIONS_DIFFER',
  /** the index entries point at other manifests, for no reason listed above */
  'INDEX_ENTRIES_DIFFER',
] as const;

/** A code of {@link MIRROR_FINDING_CODES}. */
export type MirrorFindingCode = (typeof MIRROR_FINDING_CODES)[number];

/** A reason or warning of {@link compareImages}. */
export type MirrorFinding = Finding<MirrorFindingCode>;
