// One interface for every place an image can live. Every implementation verifies what it returns: manifests
// against their descriptor before parsing, blobs while streaming (the stream errors at its end on mismatch).
import type { Readable } from 'node:stream';
import type { Verified } from '../digest/index.js';
import type { Descriptor, Manifest } from '../manifest/index.js';

/** The transports trustpin reads. */
export type Transport = 'docker' | 'oci' | 'docker-archive' | 'oci-archive';

/**
 * What every read of a source takes. A registry source also obeys its client's own `signal` (a process-wide
 * shutdown); this one is per call (one admission request). An aborted call rejects, and an aborted blob stream
 * errors, with ABORTED, and the connection behind it is closed.
 */
export interface SourceCallOptions {
  signal?: AbortSignal | undefined;
}

/** A place an image lives; every implementation verifies what it returns. */
export interface ImageSource {
  readonly transport: Transport;
  /** what the user asked for, normalised: `docker://127.0.0.1:5000/demo/app:1.0`, `oci:/path:tag` */
  readonly name: string;
  /**
   * the descriptor of the top-level manifest; its digest is computed from the bytes, never taken from a header.
   * Memoised: a second call returns the first answer without reading again (a tag is resolved once per source).
   */
  resolve(o?: SourceCallOptions): Promise<Descriptor>;
  /** manifest bytes checked against `d` (digest and size), then parsed */
  manifest(d: Descriptor, o?: SourceCallOptions): Promise<Verified<Manifest>>;
  /** a stream of the blob that errors on size or digest mismatch; consume it fully before trusting it */
  blob(d: Descriptor, o?: SourceCallOptions): Promise<Readable>;
  close(): Promise<void>;
}

/** Largest manifest read by default (containers/image uses the same 4 MiB). */
export const DEFAULT_MANIFEST_CAP = 4 * 1024 * 1024;
/**
 * Largest image config read into memory: 4 MiB, the limit containers/image (podman, skopeo) reads configs under
 * (`iolimits.MaxConfigBodySize`). Parsing is linear but costs up to ≈400 ns/byte on a hostile shape (millions of
 * tiny members): at 4 MiB that is ≈1.5 s and ≈0.5 GB at worst, at 16 MiB it was 6–8 s and 1.5 GB.
 */
export const DEFAULT_CONFIG_CAP = 4 * 1024 * 1024;
