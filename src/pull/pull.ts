// `pull`: resolve and walk the image, store every blob (in parallel, bounded), each proven before any use; a
// layer's blob digest and then its diff_id are proven (or it is unpacked) as soon as its own blob is written,
// while the others still download; only when every blob is durable and every proof passed is the image tagged.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Digest } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import {
  DEFAULT_LIMITS,
  type Limits,
  type TarLimits,
  type TreeLimits,
  warmGzipWorkers,
} from '../layer/index.js';
import type { Descriptor, Platform } from '../manifest/index.js';
import { type BlobOptions, CALLER_VERIFIES } from '../registry/index.js';
import { DEFAULT_CONFIG_CAP, type ImageSource, type SourceCallOptions } from '../source/index.js';
import {
  checkTarget,
  type PendingLayer,
  type UnpackResult,
  type UnpackWarning,
  unpackLayers,
} from '../unpack/index.js';
import { alive, fsError, Limiter, startLimited, writeAtomic } from '../util/index.js';
import {
  checkDiffId,
  isTarLayer,
  type LayerJob,
  type LayerProof,
  layerJobs,
  proveLayer,
} from './diff-ids.js';
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
  /** parallel downloads (default 4); the diff_id proofs run beside them, one per core at most */
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
  /**
   * `download` runs from the first request to the last blob verified; `prove` from the first proof's start to
   * the last one's end, and covers the unpack too when there is one (both happen in one pass). The two overlap:
   * a layer is proven while later blobs still download.
   */
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
  // every blob fetched is proven on a worker thread (its digest, and a gzip layer's diff_id): the threads boot
  // (≈ 30 ms of CPU each) while the manifests are fetched, not when the first blob is in
  warmGzipWorkers(proofLanes(jobs));
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
    const limits = opts.limits ?? DEFAULT_LIMITS;
    if (marker !== undefined && opts.unpack !== undefined) {
      // the rootfs is written while later blobs still download: it is claimed before the first byte arrives
      await writeAtomic(marker, JSON.stringify({ pid: process.pid, rootfs: resolve(opts.unpack) }));
      claimed = true;
    }
    // each layer is decompressed as soon as its own blob is verified, while the other blobs still download
    const layerChecks = layerJobs(plan.images);
    // a layer with a diff_id proof has its blob digest proven by that proof (on its worker, before the inflate);
    // every other blob is proven as soon as it is written
    const provenLater = new Set(opts.unpack === undefined ? layerChecks.map((j) => j.descriptor.digest) : []);
    const t = transfer(
      src,
      store,
      plan,
      jobs,
      emit,
      opts.unpack === undefined ? 'size' : 'layers',
      provenLater,
    );
    const work =
      opts.unpack === undefined
        ? proveAll(store, layerChecks, t, limits, emit)
        : unpackProving(store, plan, t, opts.unpack, opts, limits, emit);
    const { proven, unpacked, proving } = await work.catch(async (e: unknown) => {
      // whatever failed, no download goes on behind the error
      t.fail(e);
      await t.settled;
      throw t.failure?.e ?? e;
    });
    const counts = await t.settled;

    // only a fully proven (and, if asked, unpacked) image whose blobs are all durable gets a name in index.json
    await store.settle();
    await store.tag(plan.top, opts.tag);
    return result(src, store, opts, plan, proven, counts, unpacked, {
      plan: plannedAt,
      download: t.seconds(),
      prove: proving,
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

interface Counts {
  fetched: number;
  reused: number;
  bytesFetched: number;
  bytesReused: number;
}

/**
 * The downloads of a pull, under way, and the pull's first failure. A blob's `ready` promise resolves once every
 * byte of it is in the store and proven (or it was already there and re-hashed) — except for the blobs in
 * `provenLater`, whose `ready` only means written: their layer proof proves the digest before it decompresses
 * anything (`proveAndReadLayer`). The first failure anywhere — a download, a proof, the unpack — stops every
 * download in flight and every queued one, and is the one the pull reports.
 */
interface Transfer {
  ready(d: Digest): Promise<void>;
  fail(e: unknown): void;
  /** the first failure, once there is one */
  readonly failure: { e: unknown } | undefined;
  /** rejects with the first failure (never resolves): ends a wait for a blob that will no longer come */
  failed: Promise<never>;
  /** settles when every download has (fulfilled, failed or stopped); never rejects */
  settled: Promise<Counts>;
  /** seconds from the first request to the last blob verified */
  seconds(): number;
  /** downloads at once */
  jobs: number;
}

/**
 * Store every blob, at most `jobs` at a time: largest first when layers are proven in any order (the longest
 * download starts first), bottom layer first when they are unpacked (in that order, so layer 0 should land first).
 */
function transfer(
  src: ImageSource,
  store: OciStore,
  plan: PullPlan,
  jobs: number,
  emit: (e: PullEvent) => void,
  order: 'size' | 'layers',
  provenLater: ReadonlySet<Digest>,
): Transfer {
  type Item = { d: Descriptor; role: BlobRole; bytes?: Buffer };
  const layers = order === 'size' ? [...plan.layers].sort((a, b) => b.size - a.size) : plan.layers;
  const items: Item[] = [
    ...layers.map((d) => ({ d, role: 'layer' as const })),
    ...plan.small.map((s) => ({ d: s.descriptor, role: s.role, bytes: s.bytes })),
  ];
  emit({ type: 'start', blobs: items.map((i) => ({ digest: i.d.digest, size: i.d.size, role: i.role })) });
  const c: Counts = { fetched: 0, reused: 0, bytesFetched: 0, bytesReused: 0 };
  const streams = new Set<Readable>();
  const t0 = performance.now();
  let last = t0;
  let failure: { e: unknown } | undefined;
  let reject: (e: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, rej) => {
    reject = rej;
  });
  failed.catch(() => undefined);
  const run = startLimited(items, jobs, async ({ d, bytes }) => {
    if ((await store.has(d)) === 'present') {
      c.reused++;
      c.bytesReused += d.size;
      emit({ type: 'blob', digest: d.digest, state: 'reused' });
    } else {
      if (bytes) await store.putBytes(d, bytes);
      else {
        // a registry hands the body over unhashed (the proof hashes the file on a worker thread); other sources
        // ignore the option and verify as they stream
        const s = await src.blob(d, UNHASHED);
        streams.add(s);
        try {
          // a failure elsewhere while this request was being made: its stream was not there to be destroyed
          if (failure) throw failure.e;
          await store.put(d, s, (n) =>
            emit({ type: 'bytes', digest: d.digest, phase: 'download', bytes: n }),
          );
        } finally {
          streams.delete(s);
          if (failure) s.destroy();
        }
        if (!provenLater.has(d.digest)) await store.prove(d);
      }
      c.fetched++;
      c.bytesFetched += d.size;
      emit({ type: 'blob', digest: d.digest, state: 'fetched' });
    }
    last = performance.now();
  });
  const ready = new Map<Digest, Promise<void>>(items.map((it, i) => [it.d.digest, run.results[i]!]));
  const fail = (e: unknown) => {
    if (failure) return;
    failure = { e };
    reject(e);
    // one failure is enough: stop the downloads in flight rather than finish them for nothing
    run.stop(e);
    for (const s of streams) s.destroy();
  };
  for (const r of run.results) r.catch(fail);
  return {
    ready: (d) =>
      ready.get(d) ?? Promise.reject(new TrustpinError('INTERNAL', `${d} is not in the pull plan`)),
    fail,
    failed,
    get failure() {
      return failure;
    },
    settled: Promise.allSettled(run.results).then(() => c),
    seconds: () => Math.round(last - t0) / 1000,
    jobs,
  };
}

/**
 * The blob call of a pull's downloads: a registry source passes it to its client, which then returns the body
 * size-capped but not hashed ({@link CALLER_VERIFIES}); the store proves every such blob before any use.
 */
const UNHASHED = { [CALLER_VERIFIES]: true } as SourceCallOptions & BlobOptions;

/** The span of some work items in seconds: from the first start to the last end. */
class Span {
  private first: number | undefined;
  private last = 0;
  start(): void {
    this.first ??= performance.now();
  }
  end(): void {
    this.last = performance.now();
  }
  seconds(): number {
    return this.first === undefined ? 0 : Math.round(this.last - this.first) / 1000;
  }
}

/**
 * Every layer of every image against its config's diff_id, each as soon as its blob is written, a few at a time:
 * a gzip layer's proof (its blob's digest first, then inflate + sha256 of the tar) runs on a worker thread, one
 * per core at most, so more proofs than cores would only queue.
 */
async function proveAll(
  store: OciStore,
  checks: LayerJob[],
  t: Transfer,
  limits: Limits,
  emit: (e: PullEvent) => void,
): Promise<{ proven: LayerProof[]; unpacked: undefined; proving: number }> {
  const lanes = new Limiter(proofLanes(t.jobs));
  const span = new Span();
  const proofs = checks.map((j) =>
    t.ready(j.descriptor.digest).then(() =>
      lanes.run(async () => {
        if (t.failure) throw t.failure.e;
        span.start();
        const p = await proveLayer(store, j, limits, (n) =>
          emit({ type: 'bytes', digest: j.descriptor.digest, phase: 'verify', bytes: n }),
        );
        span.end();
        emit({ type: 'layer', digest: j.descriptor.digest, state: 'proven' });
        return p;
      }),
    ),
  );
  for (const p of proofs) p.catch(t.fail);
  const settled = await Promise.allSettled(proofs);
  await t.settled;
  if (t.failure) throw t.failure.e;
  return {
    proven: settled.map((r) => (r as PromiseFulfilledResult<LayerProof>).value),
    unpacked: undefined,
    proving: span.seconds(),
  };
}

/** How many layers are proven at once: one per core, and never more than the downloads. */
function proofLanes(jobs: number): number {
  return Math.max(1, Math.min(jobs, availableParallelism()));
}

/**
 * Unpack the one image, bottom layer first, proving each diff_id in the same pass: the tar is hashed as it is
 * applied, and a mismatch fails the pull and removes the rootfs (nothing is tagged). Layer i starts once layers
 * 0…i-1 are applied and blob i is verified, so the unpack runs behind the downloads.
 */
async function unpackProving(
  store: OciStore,
  plan: PullPlan,
  t: Transfer,
  rootfs: string,
  opts: PullOptions,
  limits: Limits,
  emit: (e: PullEvent) => void,
): Promise<{ proven: LayerProof[]; unpacked: UnpackResult; proving: number }> {
  const img = plan.images[0]!;
  const jobs = layerJobs([img]);
  const layers = img.manifest.layers.filter((d) => isTarLayer(d.mediaType));
  const diffIdOf = (d: Descriptor) => img.config.value.diffIds[img.manifest.layers.indexOf(d)];
  const proven: LayerProof[] = [];
  const span = new Span();
  const pending: PendingLayer[] = layers.map((d) => ({
    descriptor: d,
    ready: async () => {
      // a failure elsewhere ends the wait at once, not when this blob's own download is stopped
      await Promise.race([t.ready(d.digest), t.failed]);
      if (t.failure) throw t.failure.e;
      span.start();
      return store.file(d, (n) => emit({ type: 'bytes', digest: d.digest, phase: 'unpack', bytes: n }));
    },
  }));
  const unpacking = unpackLayers(pending, rootfs, {
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
    onLayer: (i, state) => {
      if (state === 'done') span.end();
      emit({
        type: 'layer',
        digest: layers[i]!.digest,
        state: state === 'start' ? 'unpacking' : 'unpacked',
      });
    },
  });
  unpacking.catch(t.fail);
  const [u] = await Promise.allSettled([unpacking, t.settled]);
  if (t.failure) throw t.failure.e;
  return { proven, unpacked: (u as PromiseFulfilledResult<UnpackResult>).value, proving: span.seconds() };
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
