// Referrers indexes (the referrers API's answer and the tag-schema index `sha256-<hex>`): bytes nobody's digest
// names. Oracles: (1) parseReferrersIndex rejects only with a code, and what it accepts are well-formed
// descriptors that re-serialise to the same list; (2) discoverArtifacts over a store whose tag-schema index is the
// fuzzed input returns only bundles whose manifest names the image as subject and whose bytes hash to their
// digest — never the image itself, a stray referrer, or a forged entry — whatever the index says.
import { isDeepStrictEqual } from 'node:util';
import { type Digest, digestOf, isDigest, selfDigested, verifyBytes } from '../../../src/digest/index.js';
import { TrustpinError } from '../../../src/errors/index.js';
import { type Descriptor, MT, parseManifest } from '../../../src/manifest/index.js';
import { hasArtifactType, parseReferrersIndex, referrersTag } from '../../../src/registry/index.js';
import {
  type AttachmentStore,
  discoverArtifacts,
  SIGSTORE_BUNDLE_ARTIFACT_TYPES,
} from '../../../src/trust/cosign/index.js';
import { check, coded, codedSync, defineTarget, type JsonValue, mutatedJson } from '../harness.js';

const BUNDLE = SIGSTORE_BUNDLE_ARTIFACT_TYPES[0]!;

interface Doc {
  bytes: Buffer;
  digest: Digest;
  size: number;
  mediaType: string;
}
const doc = (v: unknown, mediaType: string): Doc => {
  const bytes = Buffer.from(JSON.stringify(v));
  return { bytes, digest: digestOf(bytes), size: bytes.length, mediaType };
};
const desc = (d: Doc, extra: Record<string, JsonValue> = {}): JsonValue => ({
  mediaType: d.mediaType,
  digest: d.digest,
  size: d.size,
  ...extra,
});

// a small world: an image, another image, honest bundle referrers of the image, a stray one of the other image
const empty = doc({}, MT.ociEmpty);
const image = doc(
  { schemaVersion: 2, mediaType: MT.ociManifest, config: desc(empty), layers: [] },
  MT.ociManifest,
);
const otherImage = doc(
  { schemaVersion: 2, mediaType: MT.ociManifest, config: desc(empty), layers: [], annotations: { o: '1' } },
  MT.ociManifest,
);
const layer = (n: string) => doc({ mediaType: BUNDLE, n }, BUNDLE);
const referrer = (subject: Doc, l: Doc) =>
  doc(
    {
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      artifactType: BUNDLE,
      config: desc(empty),
      layers: [desc(l)],
      subject: desc(subject),
    },
    MT.ociManifest,
  );
const goodLayer = layer('good');
const good = referrer(image, goodLayer);
const strayLayer = layer('stray');
const stray = referrer(otherImage, strayLayer);
const forgedLayer = layer('forged');
const forged = referrer(image, forgedLayer);

const BLOBS = new Map<string, Doc>(
  [empty, image, otherImage, goodLayer, good, strayLayer, stray, forgedLayer, forged].map((d) => [
    d.digest,
    d,
  ]),
);
/** the digests an artifact may come from */
const HONEST = new Set<string>([good.digest]);

const SEEDS: JsonValue[] = [
  {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: [
      desc(good, { artifactType: BUNDLE }),
      desc(stray, { artifactType: BUNDLE }),
      desc(image, { artifactType: BUNDLE }),
      // a forged entry: another manifest's digest with this one's size
      { mediaType: MT.ociManifest, digest: forged.digest, size: good.size, artifactType: BUNDLE },
      desc(good, { artifactType: 'application/vnd.cncf.notary.signature', annotations: { a: 'b' } }),
    ],
  },
  { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] },
  { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [desc(good)], subject: desc(image) },
  // GitLab: the tag names the subject itself
  JSON.parse(image.bytes.toString()) as JsonValue,
];

/** An honest content-addressed store whose tag-schema tag holds the fuzzed bytes, and whose `forged` lies. */
function storeWith(indexBytes: Buffer): AttachmentStore {
  const get = (d: Descriptor): Doc => {
    const b = BLOBS.get(d.digest);
    if (!b) throw new TrustpinError('MANIFEST_UNKNOWN', `no ${d.digest}`);
    // the forged manifest is served with the good one's bytes
    return b === forged ? good : b;
  };
  return {
    where: 'fuzz',
    async resolveTag(tag) {
      if (tag !== referrersTag(image.digest)) return undefined;
      return parseManifest(selfDigested(indexBytes));
    },
    async referrers() {
      return { supported: false, reason: 'fuzz' };
    },
    async manifest(d) {
      const b = get(d);
      return parseManifest(verifyBytes(b.bytes, { digest: d.digest, size: d.size }), {
        descriptorMediaType: d.mediaType,
      });
    },
    async blob(d, cap) {
      if (d.size > cap) throw new TrustpinError('SIZE_EXCEEDED', 'too large');
      return verifyBytes(get(d).bytes, { digest: d.digest, size: d.size }).bytes;
    },
  };
}

function runParse(bytes: Buffer): void {
  const list = codedSync(() => parseReferrersIndex(bytes, 'fuzz'));
  if (!list) return;
  for (const d of list) {
    check(isDigest(d.digest), () => `accepted a malformed digest ${JSON.stringify(d.digest)}`);
    check(
      Number.isSafeInteger(d.size) && d.size >= 0,
      'accepted a size that is not a safe non-negative integer',
    );
    check(
      d.artifactType === undefined || hasArtifactType(d, [d.artifactType]),
      'artifactType does not match itself',
    );
    const tag = referrersTag(d.digest);
    check(/^[a-zA-Z0-9_.-]{1,97}$/.test(tag), () => `tag-schema tag ${tag} is not a valid tag`);
  }
  const again = codedSync(() =>
    parseReferrersIndex(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: list })), 'again'),
  );
  check(
    again !== undefined && isDeepStrictEqual(again, list),
    'a parsed referrers list re-serialised parses differently',
  );
}

async function runDiscovery(bytes: Buffer): Promise<void> {
  const found = await coded(() => discoverArtifacts(storeWith(bytes), image.digest, { legacy: false }));
  if (!found) return;
  for (const a of found.artifacts) {
    check(
      HONEST.has(a.manifestDigest),
      () => `an artifact came from ${a.manifestDigest}, not an honest referrer`,
    );
    check(a.manifestDigest !== image.digest, 'the image itself was used as a referrer');
    check(digestOf(a.bytes) === a.layerDigest, 'artifact bytes do not hash to their layer digest');
    check(a.format === 'bundle', 'a non-bundle came out of the referrers search');
  }
  for (const r of found.refused) check(r.error instanceof TrustpinError, 'a refusal without a code');
}

const encode = (b: Buffer) => Buffer.from(b);
const decode = (b: Buffer) => Buffer.from(b);

export default [
  defineTarget<Buffer>({
    name: 'referrers-index',
    description:
      'parseReferrersIndex (referrers API page / tag-schema index) and referrersTag; oracle: coded rejection only, accepted descriptors well-formed and stable under re-serialisation',
    arbitrary: mutatedJson(SEEDS),
    run: runParse,
    encode,
    decode,
  }),
  defineTarget<Buffer>({
    name: 'referrers-discovery',
    description:
      'discoverArtifacts over a fuzzed tag-schema index; oracle: only honest bundle referrers of the image come out (never the image itself, a stray subject, a forged entry), bytes hash to their digest',
    arbitrary: mutatedJson(SEEDS),
    run: runDiscovery,
    encode,
    decode,
  }),
];
