// `pull`: resolve and walk the image, store every blob verified (in parallel, bounded), then — only once every
// blob is proven — decompress each layer to prove its diff_id, unpack if asked, and finally tag index.json.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Digest } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { DEFAULT_LIMITS, type Limits, type TarLimits, type TreeLimits } from '../layer/index.js';
import type { Descriptor, Platform } from '../manifest/index.js';
import { DEFAULT_CONFIG_CAP, type ImageSource } from '../source/index.js';
import { checkTarget, type UnpackResult, type UnpackWarning, unpackLayers } from '../unpack/index.js';
import { alive, fsError, settleAll, startLimited, writeAtomic } from '../util/index.js';
import { checkDiffId, isTarLayer, type LayerProof, layerJobs, proveLayer } from './diff-ids.js';
import { type PullPlan, planPull } from './plan.js';
import { OciStore } from './store.js';

/** What a blob is to the image. */
export type BlobRole = 'manifest' | 'config' | 'layer';

/** Progress events of {@link pull}. */
export type PullEvent =
  | { type: 'start'; blobs: { digest: Digest; size: number; role: BlobRole }[] }
  | { type: 'bytes'; digest: Digest; phase: 'download' | 'verify' | 'unpack'; bytes: number }
  | { type: 'blob'; digest: Digest; state: 'reused' | 'fetched' }
  | { type: 'layer'; digest: Digest; state: 'proven' | 'unpacking' | 'unpacked' };

/** Options of {@link pull}. */
export interface PullOptions {
  /** the OCI layout directory to write */
  dest: string;
  /** `org.opencontainers.image.ref.name` for the pulled image */
  tag?: string | undefined;
  platform?: Platform | undefined;
  allPlatforms?: boolean;
  /** parallel downloads and parallel diff_id proofs (default 4) */
  jobs?: number;
  /** unpack the (single) image into this new or empty directory */
  unpack?: string | undefined;
  allowDevices?: boolean;
  preserveSetid?: boolean;
  /** caps on each decompressed layer (default DEFAULT_LIMITS) */
  limits?: Limits;
  /** caps on each layer's tar stream during --unpack (default DEFAULT_TAR_LIMITS) */
  tarLimits?: TarLimits;
  /** bounds on symlink resolution during --unpack (default DEFAULT_TREE_LIMITS) */
  treeLimits?: TreeLimits;
  onEvent?: (e: PullEvent) => void;
  onWarning?: (w: UnpackWarning) => void;
}

/** A pulled layer and its proven diff_id. */
export interface PulledLayer extends Descriptor {
  diffId?: Digest | undefined;
  uncompressed?: number | undefined;
}

/** What {@link pull} wrote and proved. */
export interface PullResult {
  source: string;
  layout: string;
  tag: string | undefined;
  digest: Digest;
  mediaType: string;
  images: { platform: string; manifest: Digest; config: Digest; layers: PulledLayer[] }[];
  blobs: { total: number; fetched: number; reused: number; bytesFetched: number; bytesReused: number };
  /** `prove` covers the diff_id proofs, and the unpack too when there is one (both happen in one pass) */
  seconds: { plan: number; download: number; prove: number; total: number };
  unpack?: UnpackResult | undefined;
}

function since(t: number): number {
  return Math.round(performance.now() - t) / 1000;
}

/** Pull an image into an OCI layout, every blob verified before use, and optionally unpack it safely. */
export async function pull(src: ImageSource, opts: PullOptions): Promise<PullResult> {
  const t0 = performance.now();
  const jobs = Math.max(1, opts.jobs ?? 4);
  const emit = opts.onEvent ?? (() => undefined);
  // a target that cannot be used fails now, not after the download
  const marker = opts.unpack === undefined ? undefined : unpackMarker(opts.dest, opts.unpack);
  if (opts.unpack !== undefined && marker !== undefined) {
    await resumeUnpack(marker, opts.unpack);
    await checkTarget(opts.unpack);
  }
  const store = await OciStore.open(opts.dest);
  let claimed = false;
  try {
    const plan = await planPull(src, {
      platform: opts.platform,
      allPlatforms: opts.allPlatforms,
      concurrency: jobs,
      local: (d) => store.read(d, DEFAULT_CONFIG_CAP),
    });
    if (opts.unpack !== undefined && plan.images.length !== 1) {
      throw new TrustpinError('USAGE', 'unpacking (option unpack) needs exactly one image', {
        expected: 'one platform (option platform, or the host default)',
        found: `${plan.images.length} images (option allPlatforms)`,
        hint: 'drop option allPlatforms, or unpack each platform with its own pull',
      });
    }
    const plannedAt = since(t0);
    const tDown = performance.now();
    const counts = await download(src, store, plan, jobs, emit);
    const downloaded = since(tDown);

    // every blob of the image is now verified (its fsync and rename may still be running): decompression may begin
    const tProve = performance.now();
    const limits = opts.limits ?? DEFAULT_LIMITS;
    if (marker !== undefined && opts.unpack !== undefined) {
      await writeAtomic(marker, JSON.stringify({ pid: process.pid, rootfs: resolve(opts.unpack) }));
      claimed = true;
    }
    const { proven, unpacked } =
      opts.unpack === undefined
        ? { proven: await proveAll(store, plan, jobs, limits, emit), unpacked: undefined }
        : await unpackProving(store, plan, opts.unpack, opts, limits, emit);
    const provenAt = since(tProve);

    // only a fully proven (and, if asked, unpacked) image whose blobs are all durable gets a name in index.json
    await store.settle();
    await store.tag(plan.top, opts.tag);
    return result(src, store, opts, plan, proven, counts, unpacked, {
      plan: plannedAt,
      download: downloaded,
      prove: provenAt,
      total: since(t0),
    });
  } finally {
    await store.close();
    // the marker goes last, so a run killed before this point is redone (a failed unpack removed its rootfs)
    if (claimed) {
      await rm(marker!, { force: true }).catch(() => undefined);
      await rmdir(store.tmp).catch(() => undefined);
    }
  }
}

/**
 * While a pull unpacks, `<layout>/blobs/.tmp/unpack-<hash of the rootfs path>` holds its PID: a rootfs that a
 * killed pull left half-written is then known to be trustpin's own partial work, and the rerun starts it again
 * instead of refusing a non-empty directory.
 */
function unpackMarker(dest: string, rootfs: string): string {
  const id = createHash('sha256').update(resolve(rootfs)).digest('hex').slice(0, 16);
  return join(resolve(dest), 'blobs', '.tmp', `unpack-${id}.json`);
}

/** Empty the rootfs a killed pull was unpacking (its marker names a process that is gone). */
async function resumeUnpack(marker: string, rootfs: string): Promise<void> {
  const raw = await readFile(marker, 'utf8').catch(() => undefined);
  if (raw === undefined) return;
  let owner: { pid?: unknown; rootfs?: unknown } = {};
  try {
    owner = JSON.parse(raw);
  } catch {
    // a marker cut short: its writer died before the rename, so it never unpacked anything
  }
  if (typeof owner.pid === 'number' && owner.pid !== process.pid && alive(owner.pid)) return;
  try {
    if (owner.rootfs === resolve(rootfs)) {
      const entries = await readdir(rootfs).catch(() => [] as string[]);
      for (const e of entries) await rm(join(rootfs, e), { recursive: true, force: true });
    }
    await rm(marker, { force: true });
  } catch (e) {
    throw fsError(e, `cannot remove the partial unpack a killed pull left in ${rootfs}`);
  }
}

/** Every layer of every image against its config's diff_id, a few at a time. */
function proveAll(
  store: OciStore,
  plan: PullPlan,
  jobs: number,
  limits: Limits,
  emit: (e: PullEvent) => void,
): Promise<LayerProof[]> {
  // CPU-bound (inflate on the thread pool, sha256 here): more in parallel than cores only adds queueing
  return settleAll(
    startLimited(layerJobs(plan.images), Math.min(jobs, availableParallelism()), async (j) => {
      const p = await proveLayer(store, j, limits, (n) =>
        emit({ type: 'bytes', digest: j.descriptor.digest, phase: 'verify', bytes: n }),
      );
      emit({ type: 'layer', digest: j.descriptor.digest, state: 'proven' });
      return p;
    }),
  );
}

/**
 * Unpack the one image, bottom layer first, proving each diff_id in the same pass: the tar is hashed as it is
 * applied, and a mismatch fails the pull and removes the rootfs (nothing is tagged).
 */
async function unpackProving(
  store: OciStore,
  plan: PullPlan,
  rootfs: string,
  opts: PullOptions,
  limits: Limits,
  emit: (e: PullEvent) => void,
): Promise<{ proven: LayerProof[]; unpacked: UnpackResult }> {
  const img = plan.images[0]!;
  const jobs = layerJobs([img]);
  const layers = img.manifest.layers.filter((d) => isTarLayer(d.mediaType));
  const diffIdOf = (d: Descriptor) => img.config.value.diffIds[img.manifest.layers.indexOf(d)];
  const proven: LayerProof[] = [];
  const unpacked = await unpackLayers(
    layers.map((d) =>
      store.file(d, (n) => emit({ type: 'bytes', digest: d.digest, phase: 'unpack', bytes: n })),
    ),
    rootfs,
    {
      allowDevices: opts.allowDevices,
      preserveSetid: opts.preserveSetid,
      limits,
      ...(opts.tarLimits ? { tarLimits: opts.tarLimits } : {}),
      ...(opts.treeLimits ? { treeLimits: opts.treeLimits } : {}),
      onWarning: opts.onWarning,
      check: (i, diffId, size) => {
        const d = layers[i]!;
        const job = jobs.find((j) => j.descriptor.digest === d.digest && j.diffId === diffIdOf(d))!;
        proven.push(checkDiffId(job, diffId, size));
      },
      onLayer: (i, state) =>
        emit({
          type: 'layer',
          digest: layers[i]!.digest,
          state: state === 'start' ? 'unpacking' : 'unpacked',
        }),
    },
  );
  return { proven, unpacked };
}

interface Counts {
  fetched: number;
  reused: number;
  bytesFetched: number;
  bytesReused: number;
}

/** Store every blob, largest first (the longest download starts first), at most `jobs` at a time. */
async function download(
  src: ImageSource,
  store: OciStore,
  plan: PullPlan,
  jobs: number,
  emit: (e: PullEvent) => void,
): Promise<Counts> {
  type Item = { d: Descriptor; role: BlobRole; bytes?: Buffer };
  const items: Item[] = [
    ...[...plan.layers].sort((a, b) => b.size - a.size).map((d) => ({ d, role: 'layer' as const })),
    ...plan.small.map((s) => ({ d: s.descriptor, role: s.role, bytes: s.bytes })),
  ];
  emit({ type: 'start', blobs: items.map((i) => ({ digest: i.d.digest, size: i.d.size, role: i.role })) });
  const c: Counts = { fetched: 0, reused: 0, bytesFetched: 0, bytesReused: 0 };
  const streams = new Set<Readable>();
  const run = startLimited(items, jobs, async ({ d, bytes }) => {
    if ((await store.has(d)) === 'present') {
      c.reused++;
      c.bytesReused += d.size;
      emit({ type: 'blob', digest: d.digest, state: 'reused' });
      return;
    }
    if (bytes) await store.putBytes(d, bytes);
    else {
      const s = await src.blob(d);
      streams.add(s);
      try {
        await store.put(d, s, (n) => emit({ type: 'bytes', digest: d.digest, phase: 'download', bytes: n }));
      } finally {
        streams.delete(s);
      }
    }
    c.fetched++;
    c.bytesFetched += d.size;
    emit({ type: 'blob', digest: d.digest, state: 'fetched' });
  });
  // one failure is enough: stop the downloads in flight rather than finish them for nothing
  for (const r of run.results)
    r.catch(() => {
      for (const s of streams) s.destroy();
    });
  await settleAll(run);
  return c;
}

function result(
  src: ImageSource,
  store: OciStore,
  opts: PullOptions,
  plan: PullPlan,
  proven: LayerProof[],
  c: Counts,
  unpacked: UnpackResult | undefined,
  seconds: PullResult['seconds'],
): PullResult {
  const proofOf = new Map(proven.map((p) => [p.digest, p]));
  return {
    source: src.name,
    layout: store.dir,
    tag: opts.tag,
    digest: plan.top.digest,
    mediaType: plan.top.mediaType,
    images: plan.images.map((img) => ({
      platform: img.platform,
      manifest: img.descriptor.digest,
      config: img.manifest.config.digest,
      layers: img.manifest.layers.map((d) => ({
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        diffId: proofOf.get(d.digest)?.diffId,
        uncompressed: proofOf.get(d.digest)?.uncompressed,
      })),
    })),
    blobs: { total: c.fetched + c.reused, ...c },
    seconds,
    ...(unpacked ? { unpack: unpacked } : {}),
  };
}
