// The second proof of a layer: decompress the stored blob — its digest proven first — with bomb limits, hash the
// tar, and compare with the config's diff_id. A mismatch names the layer, its platform and both digests.
import { algorithmOf, type Digest } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import type { Limits } from '../layer/index.js';
import { proveAndReadLayer, readLayer } from '../layer/index.js';
import type { Descriptor } from '../manifest/index.js';
import type { PlannedImage } from './plan.js';
import type { OciStore } from './store.js';

export interface LayerProof {
  digest: Digest;
  diffId: Digest;
  /** size of the uncompressed tar */
  uncompressed: number;
}

export interface LayerJob {
  descriptor: Descriptor;
  diffId: Digest;
  /** for messages: `layer 3 of linux/amd64` */
  what: string;
}

/** Layers whose media type says tar; anything else (in-toto, SBOM JSON) has no diff_id to prove. */
export function isTarLayer(mediaType: string): boolean {
  return /tar/.test(mediaType);
}

/** Pair every layer of every image with its diff_id, once per (digest, diff_id). */
export function layerJobs(images: PlannedImage[]): LayerJob[] {
  const jobs = new Map<string, LayerJob>();
  for (const img of images) {
    const layers = img.manifest.layers;
    const ids = img.config.value.diffIds;
    if (ids.length !== layers.length) {
      throw new TrustpinError(
        'LAYER_INVALID',
        `${img.platform} image ${img.descriptor.digest} has ${layers.length} layers but its config lists ${ids.length} diff_ids`,
        {
          expected: `${layers.length} diff_ids`,
          found: `${ids.length}`,
          hint: 'the manifest and the config disagree; the image is broken',
        },
      );
    }
    layers.forEach((d, i) => {
      if (!isTarLayer(d.mediaType)) return;
      const key = `${d.digest} ${ids[i]}`;
      if (!jobs.has(key))
        jobs.set(key, { descriptor: d, diffId: ids[i]!, what: `layer ${i} of ${img.platform}` });
    });
  }
  return [...jobs.values()];
}

/**
 * Prove a stored layer's diff_id. A blob the store holds unproven (the download hashed nothing) has its digest
 * proven first, from the file and on the proof's worker thread, and only then is it decompressed; the store
 * commits it (fsync, rename) as soon as the digest matched.
 */
export async function proveLayer(
  store: OciStore,
  job: LayerJob,
  limits: Limits,
  onBytes?: (n: number) => void,
): Promise<LayerProof> {
  const d = job.descriptor;
  const unproven = store.unproven(d, onBytes);
  const got = unproven
    ? await proveAndReadLayer(unproven, () => store.proven(d), undefined, limits, algorithmOf(job.diffId))
    : await readLayer(store.file(d, onBytes), undefined, limits, algorithmOf(job.diffId));
  return checkDiffId(job, got.diffId, got.size);
}

/** Compare a computed diff_id with the config's; the error names the layer, its platform and both digests. */
export function checkDiffId(job: LayerJob, got: Digest, uncompressed: number): LayerProof {
  if (got !== job.diffId) {
    throw new TrustpinError(
      'DIGEST_MISMATCH',
      `${job.what} (${job.descriptor.digest}) does not decompress to the diff_id its config names`,
      {
        expected: job.diffId,
        found: got,
        hint: 'the layer and the config disagree: the image is broken or was altered before it was pushed; it was not tagged',
      },
    );
  }
  return { digest: job.descriptor.digest, diffId: got, uncompressed };
}
