// `--mirror-of`: decide trust on the origin with a signature system, then prove the mirror holds the signed image
// (index › manifest › config, diff_ids with `deep`). The verdict carries both the signature chain and the proof.
import type { Platform } from '../manifest/index.js';
import { type Comparison, compareImages } from '../mirror/index.js';
import { parseDockerReference, type Reference, withDigest } from '../reference/index.js';
import type { RegistryClient } from '../registry/index.js';
import { comparisonGraph } from '../report/index.js';
import type { ImageSource } from '../source/index.js';
import { RegistrySource } from '../source/index.js';
import type { ChainGraph } from './chain.js';
import type { Problem, TrustVerdict, TrustVerifier } from './verdict.js';

/** Options of {@link verifyMirrorOf}. */
export interface MirrorOfOptions {
  /** the client the origin image is fetched with (the verifier's own client is used for trust data) */
  client: RegistryClient;
  /** compare only these platforms */
  platforms?: Platform[] | undefined;
  /** compare layer contents (diff_ids) when configs differ */
  deep?: boolean | undefined;
}

/** The origin's signature verdict and the proof that the mirror is the signed image. */
export interface MirrorVerdict<V extends TrustVerdict = TrustVerdict> {
  ok: boolean;
  origin: V;
  /** absent when the origin's signature did not verify (nothing to compare against) */
  comparison?: Comparison | undefined;
  /** the mirror proof as a chain graph, anchored at the signed tag */
  graph?: ChainGraph | undefined;
  problems: Problem[];
}

/** Verify `origin` with `verifier`, then prove that `mirror` (any transport) is the image that was signed. */
export async function verifyMirrorOf<V extends TrustVerdict>(
  verifier: TrustVerifier<V>,
  origin: string | Reference,
  mirror: ImageSource,
  o: MirrorOfOptions,
): Promise<MirrorVerdict<V>> {
  const ref = typeof origin === 'string' ? parseDockerReference(origin) : origin;
  const v = await verifier.verify(ref);
  if (!v.ok || !v.subject.digest) return { ok: false, origin: v, problems: [...v.problems] };
  const signed = new RegistrySource(
    withDigest({ ...ref, tag: undefined }, v.subject.digest as never),
    o.client,
  );
  const c = await compareImages(signed, mirror, { platforms: o.platforms ?? [], deep: o.deep });
  const anchor = {
    system: { dct: 'Docker Content Trust', cosign: 'cosign', notation: 'Notation' }[v.system],
    tag: ref.tag ?? 'latest',
    digest: v.subject.digest,
    signers: v.claims.map((c) => ('name' in c ? c.name : 'subject' in c ? c.subject : c.keyId)),
  };
  const problems: Problem[] = c.equivalent
    ? []
    : [
        {
          code: 'MIRROR_NOT_PROVEN',
          message: `${mirror.name} is not proven to be the signed image ${v.subject.reference}@${v.subject.digest}`,
          expected: 'every compared platform equal at config level or better',
          found: c.platforms.map((p) => `${p.platform} at ${p.level}`).join(', ') || 'no platform in common',
        },
      ];
  return { ok: c.equivalent, origin: v, comparison: c, graph: comparisonGraph(c, anchor), problems };
}
