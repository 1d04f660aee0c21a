// The image half of every signature system: once a signature names a digest, fetch the image by that digest and
// verify it down to its configs, and check what the registry serves for the tag today. Draws its chain links.
import { TrustpinError } from '../errors/index.js';
import { type ImageTree, walkImage } from '../image/index.js';
import { formatPlatform } from '../manifest/index.js';
import { formatReference, type Reference, withDigest } from '../reference/index.js';
import type { RegistryClient } from '../registry/index.js';
import { type ImageSource, RegistrySource } from '../source/index.js';
import { settleLater } from '../util/index.js';
import { type ChainBuilder, chainStep } from './chain.js';

/** What a signature says the image is. */
export interface SignedDigest {
  digest: string;
  /** the manifest length the signature covers, when the system signs one (DCT does) */
  size?: number | undefined;
}

/**
 * Fetch `ref`'s repository by the signed digest and verify the manifest (or index), its children and configs.
 * Adds the index/manifest node after `prev` and returns its id. Throws a verification error when the registry's
 * bytes are not the signed ones.
 */
export async function verifySignedImage(
  client: RegistryClient,
  ref: Reference,
  signed: SignedDigest,
  b: ChainBuilder,
  prev: string | undefined,
  signal?: AbortSignal,
  known?: TagAnswer['manifest'],
): Promise<{ id: string; tree: ImageTree }> {
  // `known`: the manifest as the tag served it, when that was already fetched — checked against the signed digest
  // like the registry's answer by digest would be, so a tag serving other bytes changes nothing here
  const src = new RegistrySource(withDigest({ ...ref, tag: undefined }, signed.digest as never), client, {
    known,
  });
  try {
    return await verifySignedSource(src, signed, b, prev, signal);
  } finally {
    await src.close();
  }
}

/**
 * The same for any transport: `src` must be opened by the signed digest (a layout or archive selected by digest),
 * or by a tag whose digest was just checked; the top manifest's digest is checked against the signed one again.
 * `walked` is the walk of `src` when it was started earlier (see {@link prefetchImage}); it is judged here, after
 * the digest checks, exactly as a walk started now.
 */
export async function verifySignedSource(
  src: ImageSource,
  signed: SignedDigest,
  b: ChainBuilder,
  prev: string | undefined,
  signal?: AbortSignal,
  walked?: Promise<ImageTree>,
): Promise<{ id: string; tree: ImageTree }> {
  const id = `image:${signed.digest}`;
  try {
    const top = await src.resolve({ signal });
    if (top.digest !== signed.digest) {
      throw new TrustpinError('DIGEST_MISMATCH', `${src.name} is ${top.digest}, not the signed image`, {
        expected: `${signed.digest} (signed)`,
        found: top.digest,
      });
    }
    if (signed.size !== undefined && top.size !== signed.size) {
      throw new TrustpinError(
        'SIZE_MISMATCH',
        `the signed manifest is ${signed.size} bytes; the registry's is ${top.size}`,
        { expected: `${signed.size} bytes`, found: `${top.size} bytes` },
      );
    }
    const tree = await (walked ?? walkImage(src, { configs: true, signal }));
    const m = tree.root.manifest.value;
    const kind = m.kind === 'index' ? 'index' : 'manifest';
    chainStep(b, prev, {
      id,
      kind,
      label: `${kind} fetched by digest`,
      digest: signed.digest,
      detail: `${m.mediaType}, bytes verified`,
      ok: true,
    });
    if (m.kind === 'image' && tree.root.config) configNode(b, id, tree.root.config.digest, undefined);
    for (const c of tree.children) {
      const cid = b.node({
        id: `manifest:${c.descriptor.digest}`,
        kind: 'manifest',
        label: formatPlatform(c.descriptor.platform),
        digest: c.descriptor.digest,
        platform: formatPlatform(c.descriptor.platform),
        ok: true,
      });
      b.edge(id, cid, 'contains');
      if (c.config) configNode(b, cid, c.config.digest, formatPlatform(c.descriptor.platform));
    }
    return { id, tree };
  } catch (e) {
    if (e instanceof TrustpinError && e.isVerificationFailure)
      chainStep(b, prev, {
        id,
        kind: 'manifest',
        label: 'image fetched by the signed digest',
        digest: signed.digest,
        detail: e.message,
        ok: false,
      });
    throw e;
  }
}

/**
 * The walk {@link verifySignedSource} does (the image's children and configs, each fetched by the digest its
 * verified parent names and verified before it is parsed), started now, while the signatures are still being
 * searched for: their round trips overlap. Its answer, or its failure, means nothing until a signature has been
 * accepted and {@link verifySignedSource} judges it; for a refused image `drop()` cancels it (then wait for `walked`
 * to settle before closing `src`). Call it only once `src` resolved (its top manifest's digest is computed from the
 * bytes).
 */
export function prefetchImage(
  src: ImageSource,
  signal?: AbortSignal,
): { walked: Promise<ImageTree>; drop: () => void } {
  // a refused image's walk is cancelled, not waited for: its verdict does not wait for a large index's configs
  const dropped = new AbortController();
  const walked = settleLater(
    walkImage(src, {
      configs: true,
      signal: signal ? AbortSignal.any([signal, dropped.signal]) : dropped.signal,
    }),
  );
  return { walked, drop: () => dropped.abort() };
}

/**
 * {@link verifySignedSource} for an image the verifier resolved itself (by tag or digest, its digest computed from
 * the bytes), then, when a tag was asked about, the tag node: it resolved to the signed digest.
 */
export async function verifyResolvedSource(
  src: ImageSource,
  digest: string,
  tag: string | undefined,
  b: ChainBuilder,
  prev: string | undefined,
  signal?: AbortSignal,
  walked?: Promise<ImageTree>,
): Promise<void> {
  const image = await verifySignedSource(src, { digest }, b, prev, signal, walked);
  if (tag !== undefined)
    chainStep(b, image.id, {
      id: `registry-tag:${tag}`,
      kind: 'registry-tag',
      label: `tag ${tag}`,
      digest,
      detail: 'resolved to this digest (computed from the bytes)',
      ok: true,
    });
}

function configNode(b: ChainBuilder, parent: string, digest: string, platform: string | undefined): void {
  const id = b.node({ id: `config:${digest}`, kind: 'config', label: 'config', digest, platform, ok: true });
  b.edge(parent, id, 'contains');
}

/** What a registry serves for a tag: the digest computed from the bytes, and the bytes. */
export interface TagAnswer {
  digest: string;
  /** the manifest's bytes, for {@link verifySignedImage} (which checks them against the signed digest) */
  manifest?: { bytes: Buffer; contentType: string | undefined } | undefined;
}

/**
 * What the registry serves for the tag today (its digest computed from the bytes). Started on its own, it can run
 * beside the trust data's update or the fetch of the signed image; {@link verifyTagServes} judges it.
 */
export async function tagServes(
  client: RegistryClient,
  ref: Reference & { tag: string },
  signal?: AbortSignal,
): Promise<TagAnswer> {
  const src = new RegistrySource({ ...ref, digest: undefined }, client);
  const top = await src.resolve({ signal });
  return { digest: top.digest, manifest: src.fetched(top.digest) };
}

/**
 * What the registry serves for the tag today must be the signed digest; adds the registry-tag node. `served` is
 * the answer of {@link tagServes} when it was started earlier.
 */
export async function verifyTagServes(
  client: RegistryClient,
  ref: Reference & { tag: string },
  digest: string,
  b: ChainBuilder,
  prev: string | undefined,
  signal?: AbortSignal,
  served?: Promise<TagAnswer>,
): Promise<string> {
  const id = `registry-tag:${ref.tag}`;
  const now = await (served ?? tagServes(client, ref, signal));
  const ok = now.digest === digest;
  chainStep(b, prev, {
    id,
    kind: 'registry-tag',
    label: `registry tag ${ref.tag}`,
    digest: now.digest,
    detail: ok ? 'serves the signed digest' : 'serves other content than was signed',
    ok,
  });
  if (!ok) {
    throw new TrustpinError(
      'TAG_MOVED',
      `${formatReference({ ...ref, digest: undefined })} now points at other content than was signed`,
      {
        expected: `${digest} (signed)`,
        found: `${now.digest} (served for the tag)`,
        hint: `the tag was moved or the registry is lying; pull the signed image by digest: ${formatReference({ ...ref, tag: undefined, digest: digest as never })}`,
      },
    );
  }
  return id;
}
