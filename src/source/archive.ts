// Image archives read in place: `oci-archive:FILE[:TAG|@DIGEST]` (a tar of an OCI layout) and
// `docker-archive:FILE[:REF]` (`docker save`: an OCI layout since Docker 25, else the legacy manifest.json).
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  algorithmOf,
  type Digest,
  parseDigest,
  selfDigested,
  type Verified,
  verifyBytes,
} from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { type Descriptor, type Manifest, MT, parseManifest } from '../manifest/index.js';
import { formatReference, parseReference, withDefaultTag } from '../reference/index.js';
import { array, checkShape, nullish, object, type Shape, str } from '../util/index.js';
import { blobPath, REF_NAME } from './layout-format.js';
import { type TarEntry, TarFs, TarIndex, verifiedStream } from './layout-fs.js';
import { LazySource, layoutName, OciLayout, OciLayoutSource, parseOciRef } from './oci-layout.js';
import { PinnedSource } from './pinned.js';
import { DEFAULT_MANIFEST_CAP, type ImageSource } from './types.js';

/** containerd's (and Docker 25's `docker save`) full image name annotation: `docker.io/library/alpine:3.20`. */
export const CONTAINERD_NAME = 'io.containerd.image.name';

/** Synchronous: open.ts names sources before anything is read. */
function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `REF` → `docker.io/library/x:latest`, the form both RepoTags and the containerd annotation normalise to. */
function canonicalRef(s: string): string | undefined {
  try {
    const r = parseReference(s);
    return r.digest === undefined ? formatReference(withDefaultTag(r)) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `FILE[:REF]`. A REF holds `:` itself (`app:1.0`), so the file is the shortest `:`-prefix that exists (as
 * skopeo splits at the first `:`), or the whole spec when that is a file.
 */
function splitDockerArchiveSpec(spec: string): { file: string; ref?: string | undefined } {
  if (isFile(spec)) return { file: spec };
  const first = spec.indexOf(':');
  for (let i = first; i >= 0; i = spec.indexOf(':', i + 1)) {
    if (isFile(spec.slice(0, i))) return { file: spec.slice(0, i), ref: spec.slice(i + 1) || undefined };
  }
  return first < 0 ? { file: spec } : { file: spec.slice(0, first), ref: spec.slice(first + 1) || undefined };
}

async function withTar(abs: string, use: (tar: TarIndex) => Promise<ImageSource>) {
  const tar = await TarIndex.open(abs);
  try {
    return await use(tar);
  } catch (e) {
    await tar.close();
    throw e;
  }
}

function openOciArchive(spec: string): ImageSource {
  // A file named exactly by the spec wins over reading its last `:` as a tag.
  const ref = isFile(spec) ? { dir: spec } : parseOciRef(spec);
  const abs = path.resolve(ref.dir);
  const where = `oci-archive:${abs}`;
  const name = layoutName('oci-archive', abs, ref);
  return new LazySource('oci-archive', name, () =>
    withTar(abs, async (tar) => {
      const layout = new OciLayout(new TarFs(tar, where));
      await layout.check();
      return new OciLayoutSource('oci-archive', name, layout, ref);
    }),
  );
}

// manifest.json of `docker save`: untrusted like index.json, so it only chooses files whose bytes get hashed.
const legacySchema = array(
  object({
    Config: str(1),
    RepoTags: nullish(array(str())),
    Layers: array(str(1), 10000),
  }),
  10000,
);
type LegacyEntry = Shape<typeof legacySchema>[number];

async function readLegacyManifest(tar: TarIndex, where: string): Promise<LegacyEntry[] | undefined> {
  const e = tar.lookup('manifest.json');
  if (!e) return undefined;
  const raw = await tar.read(e, DEFAULT_MANIFEST_CAP, 'manifest.json');
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new TrustpinError('SOURCE_INVALID', `manifest.json in ${where} is not JSON`, {
      found: (err as Error).message,
    });
  }
  return checkShape(
    legacySchema,
    doc,
    (e) =>
      new TrustpinError('SOURCE_INVALID', `manifest.json in ${where} is not a docker save manifest`, {
        expected: '[{"Config": …, "RepoTags": […], "Layers": […]}]',
        found: e.message,
      }),
  );
}

function tagsMatch(e: LegacyEntry, want: string): boolean {
  return (e.RepoTags ?? []).some((t) => canonicalRef(t) === want);
}

/** Docker ≥ 25: the OCI layout in the tar, its entry chosen by image name rather than by bare tag. */
class DockerLayoutSource extends OciLayoutSource {
  private readonly want: string | undefined;
  private readonly legacy: LegacyEntry[];
  constructor(name: string, layout: OciLayout, want: string | undefined, legacy: LegacyEntry[]) {
    super('docker-archive', name, layout, {});
    this.want = want;
    this.legacy = legacy;
  }

  protected override async select(): Promise<Descriptor> {
    const want = this.want;
    if (want === undefined) return this.layout.only(CONTAINERD_NAME);
    const entries = (await this.layout.index()).manifests;
    const named = entries.filter((m) => {
      const n = m.annotations?.[CONTAINERD_NAME];
      return n !== undefined && canonicalRef(n) === want;
    });
    if (named.length > 0) {
      if (named.some((m) => m.digest !== named[0]!.digest)) {
        throw new TrustpinError(
          'SOURCE_INVALID',
          `${this.layout.fs.where} has several different images named ${want}`,
        );
      }
      return named[0]!;
    }
    // No annotation: RepoTags name a config; the entry is the image manifest (verified on read) that uses it.
    const tagged = this.legacy.find((e) => tagsMatch(e, want));
    const cfg = tagged && /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(path.posix.normalize(tagged.Config));
    if (cfg) {
      const config = parseDigest(`${cfg[1]}:${cfg[2]}`);
      for (const d of entries) {
        const m = (await this.layout.manifest(d)).value;
        if (m.kind === 'image' && m.config.digest === config) return d;
      }
    }
    const names = [
      ...entries.map((m) => m.annotations?.[CONTAINERD_NAME] ?? m.annotations?.[REF_NAME]).filter((n) => n),
      ...this.legacy.flatMap((e) => e.RepoTags ?? []),
    ];
    throw new TrustpinError(
      'NOT_FOUND',
      `no image ${want} in ${this.layout.fs.where} (available: ${[...new Set(names)].join(', ') || 'none'})`,
    );
  }
}

const CLAIMED = /^(?:blobs\/(sha256|sha512)\/([0-9a-f]+)|([0-9a-f]{64})\.json)$/;

/** The digest a member's name asserts (`blobs/sha256/<hex>`, `<hex>.json`), if any. */
function claimedDigest(name: string): Digest | undefined {
  const m = CLAIMED.exec(name);
  if (!m) return undefined;
  return parseDigest(m[3] ? `sha256:${m[3]}` : `${m[1]}:${m[2]}`);
}

interface Hashed {
  entry: TarEntry;
  digest: Digest;
  head: Buffer;
}

/** Hash a member in full: for legacy files this is where their digests come from, so it is the verification. */
async function hashMember(tar: TarIndex, name: string, where: string): Promise<Hashed> {
  const entry = tar.lookup(name);
  if (!entry) {
    throw new TrustpinError(
      'SOURCE_INVALID',
      `manifest.json in ${where} names ${name}, which the archive lacks`,
    );
  }
  // A name that claims a digest (`<hex>.json`, `blobs/sha256/<hex>`, or a symlink to one) must keep its word.
  const claims = [claimedDigest(path.posix.normalize(name)), claimedDigest(entry.name)].filter((c) => c);
  const { digest, head } = await tar.hash(entry, claims[0] ? algorithmOf(claims[0]) : 'sha256');
  const wrong = claims.find((c) => c !== digest);
  if (wrong) {
    throw new TrustpinError(
      'DIGEST_MISMATCH',
      `${name} in ${where} does not match the digest its name claims`,
      {
        expected: wrong,
        found: digest,
      },
    );
  }
  return { entry, digest, head };
}

/** Legacy layers carry no media type; the bytes say how they are compressed. */
function layerType(head: Buffer): string {
  if (head.subarray(0, 3).equals(Buffer.from([0x1f, 0x8b, 0x08]))) return MT.dockerLayerGzip;
  // Docker's schema 2 has no zstd type; moby and containerd use the OCI one inside Docker manifests too.
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return MT.ociLayerZstd;
  return MT.dockerLayer;
}

interface Synthesized {
  bytes: Buffer;
  desc: Descriptor;
  blobs: Map<string, TarEntry>;
}

/** Pre-25 `docker save`: no manifest in the archive, so a Docker v2s2 manifest is made from the hashed files. */
class LegacyDockerArchiveSource implements ImageSource {
  readonly transport = 'docker-archive' as const;
  readonly name: string;
  private readonly tar: TarIndex;
  private readonly where: string;
  private readonly entry: LegacyEntry;
  private synth: Promise<Synthesized> | undefined;

  constructor(name: string, tar: TarIndex, where: string, entry: LegacyEntry) {
    this.name = name;
    this.tar = tar;
    this.where = where;
    this.entry = entry;
  }

  private synthesize(): Promise<Synthesized> {
    this.synth ??= (async () => {
      const config = await hashMember(this.tar, this.entry.Config, this.where);
      const blobs = new Map<string, TarEntry>([[config.digest, config.entry]]);
      const layers: Descriptor[] = [];
      for (const l of this.entry.Layers) {
        const h = await hashMember(this.tar, l, this.where);
        blobs.set(h.digest, h.entry);
        layers.push({ mediaType: layerType(h.head), digest: h.digest, size: h.entry.size });
      }
      const manifest = {
        schemaVersion: 2,
        mediaType: MT.dockerManifest,
        config: { mediaType: MT.dockerConfig, digest: config.digest, size: config.entry.size },
        layers,
      };
      // Made here from digests just computed, so the bytes are trusted to be what they are.
      const vb = selfDigested(Buffer.from(JSON.stringify(manifest)));
      return {
        bytes: vb.bytes,
        desc: { mediaType: MT.dockerManifest, digest: vb.digest, size: vb.size },
        blobs,
      };
    })();
    return this.synth;
  }

  async resolve(): Promise<Descriptor> {
    return (await this.synthesize()).desc;
  }

  async manifest(d: Descriptor): Promise<Verified<Manifest>> {
    const s = await this.synthesize();
    if (d.digest !== s.desc.digest) {
      throw new TrustpinError('MANIFEST_UNKNOWN', `${this.where} has no manifest ${d.digest}`, {
        hint: `a legacy docker save archive has one manifest, made by trustpin: ${s.desc.digest}`,
      });
    }
    return parseManifest(verifyBytes(s.bytes, { digest: d.digest, size: d.size, what: 'manifest' }), {
      descriptorMediaType: d.mediaType,
    });
  }

  async blob(d: Descriptor): Promise<Readable> {
    blobPath(d.digest); // the same digest grammar check every source applies
    const e = (await this.synthesize()).blobs.get(d.digest);
    if (!e) throw new TrustpinError('BLOB_UNKNOWN', `${this.where} has no blob ${d.digest}`);
    if (e.size > d.size) {
      throw new TrustpinError(
        'SIZE_EXCEEDED',
        `blob ${d.digest} in ${this.where} is longer than its descriptor`,
        {
          expected: `${d.size} bytes`,
          found: `${e.size} bytes`,
        },
      );
    }
    // Hashed once already; the archive may have changed since, so the stream is verified again.
    return verifiedStream(this.tar.stream(e, d.size), { digest: d.digest, size: d.size, what: 'blob' });
  }

  close(): Promise<void> {
    return this.tar.close();
  }
}

function pickLegacy(entries: LegacyEntry[], want: string | undefined, where: string): LegacyEntry {
  const names = entries.flatMap((e, i) => (e.RepoTags?.length ? e.RepoTags : [`(untagged #${i})`]));
  if (want !== undefined) {
    const hit = entries.find((e) => tagsMatch(e, want));
    if (hit) return hit;
    throw new TrustpinError(
      'NOT_FOUND',
      `no image ${want} in ${where} (available: ${names.join(', ') || 'none'})`,
    );
  }
  if (entries.length === 1) return entries[0]!;
  if (entries.length === 0) throw new TrustpinError('NOT_FOUND', `${where} holds no images`);
  throw new TrustpinError(
    'USAGE',
    `${where} holds ${entries.length} images; name one (${names.join(', ')})`,
    {
      expected: `${where}:NAME:TAG`,
    },
  );
}

function openDockerArchive(spec: string): ImageSource {
  // `FILE[:REF]@DIGEST`, the form `trustpin digest` prints: select by REF (or the only image), then hold the pin
  const pin = /@((?:sha256|sha512):[0-9a-f]{64,128})$/.exec(spec);
  if (pin)
    return new PinnedSource(
      openDockerArchive(spec.slice(0, pin.index).replace(/:$/, '')),
      parseDigest(pin[1]!),
    );
  const { file, ref } = splitDockerArchiveSpec(spec);
  const want = ref === undefined ? undefined : canonicalRef(ref);
  if (ref !== undefined && want === undefined) {
    throw new TrustpinError('REFERENCE_INVALID', `invalid image name ${JSON.stringify(ref)}`, {
      expected: 'NAME[:TAG] as in RepoTags (no digest)',
      found: ref,
    });
  }
  const abs = path.resolve(file);
  const where = `docker-archive:${abs}`;
  const name = `${where}${ref === undefined ? '' : `:${ref}`}`;
  return new LazySource('docker-archive', name, () =>
    withTar(abs, async (tar) => {
      const legacy = await readLegacyManifest(tar, where);
      if (tar.lookup('oci-layout') && tar.lookup('index.json')) {
        const layout = new OciLayout(new TarFs(tar, where));
        await layout.check();
        return new DockerLayoutSource(name, layout, want, legacy ?? []);
      }
      if (!legacy) {
        throw new TrustpinError('SOURCE_INVALID', `${abs} is not a docker save archive`, {
          expected: 'manifest.json, or an OCI layout (oci-layout + index.json)',
          found: 'neither',
        });
      }
      return new LegacyDockerArchiveSource(name, tar, where, pickLegacy(legacy, want, where));
    }),
  );
}

/** `oci-archive:` / `docker-archive:` → a source, opened on first use; the spec is what follows the transport. */
export function openArchiveSource(transport: 'oci-archive' | 'docker-archive', spec: string): ImageSource {
  return transport === 'oci-archive' ? openOciArchive(spec) : openDockerArchive(spec);
}
