// Pushes exact bytes to a real docker-registry over plain HTTP: blobs by monolithic upload (POST
// /v2/<n>/blobs/uploads/ then PUT <location>?digest=), manifests by PUT with their Content-Type, optionally
// tagged. Tests use it to place signature artifacts (cosign `.sig`/`.att`, referrers, tag-schema indexes) next
// to an image; it is independent of trustpin's own client, which only reads.
import { createHash } from 'node:crypto';
import { fetchToken, parseChallenge } from './http.js';

export interface PushManifest {
  bytes: Buffer;
  mediaType: string;
  /** push under this tag; without one the manifest is pushed by its digest */
  tag?: string;
}

export interface PushSet {
  blobs: Buffer[];
  /** pushed in order (an index after the manifests it lists: the registry checks they exist) */
  manifests: PushManifest[];
}

export interface PushResult {
  /** sha256 digests of the blobs, in the order given */
  blobs: string[];
  /** sha256 digests of the manifests, in the order given */
  manifests: string[];
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/**
 * Push `a` to `http://host/v2/repository/…`. `auth` is `user:pass` (what RunningRegistry.creds holds): sent as
 * Basic to an htpasswd registry, or traded for a push token when the registry answers with a Bearer challenge.
 * Throws with the registry's answer on any failure.
 */
export async function pushArtifacts(
  host: string,
  repository: string,
  a: PushSet,
  auth?: string,
): Promise<PushResult> {
  const base = `http://${host}`;
  const basic = auth ? `Basic ${Buffer.from(auth).toString('base64')}` : undefined;
  let authorization: string | undefined;
  const send = async (
    method: string,
    url: string,
    headers: Record<string, string> = {},
    body?: Buffer,
  ): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const h: Record<string, string> = { ...headers };
      if (authorization) h.authorization = authorization;
      const res = await fetch(url, {
        method,
        headers: h,
        ...(body ? { body: new Uint8Array(body) } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status !== 401 || attempt > 0) return res;
      await res.arrayBuffer();
      const challenge = res.headers.get('www-authenticate') ?? '';
      if (/^basic/i.test(challenge)) {
        if (!basic) return res;
        authorization = basic;
      } else {
        authorization = `Bearer ${await fetchToken(parseChallenge(challenge), basic)}`;
      }
    }
  };
  const fail = async (what: string, res: Response): Promise<never> => {
    const text = (await res.text()).slice(0, 500);
    throw new Error(`push ${what} to ${host}/${repository}: ${res.status} ${text}`);
  };

  const out: PushResult = { blobs: [], manifests: [] };
  for (const b of a.blobs) {
    const digest = sha256(b);
    out.blobs.push(digest);
    const have = await send('HEAD', `${base}/v2/${repository}/blobs/${digest}`);
    await have.arrayBuffer();
    if (have.status === 200) continue;
    const start = await send('POST', `${base}/v2/${repository}/blobs/uploads/`);
    await start.arrayBuffer();
    const loc = start.headers.get('location');
    if (start.status !== 202 || !loc) await fail(`blob ${digest} (start upload)`, start);
    const put = new URL(loc!, base);
    put.searchParams.set('digest', digest);
    const done = await send(
      'PUT',
      put.toString(),
      { 'content-type': 'application/octet-stream', 'content-length': String(b.length) },
      b,
    );
    if (done.status !== 201) await fail(`blob ${digest}`, done);
    await done.arrayBuffer();
  }
  for (const m of a.manifests) {
    const digest = sha256(m.bytes);
    out.manifests.push(digest);
    const res = await send(
      'PUT',
      `${base}/v2/${repository}/manifests/${m.tag ?? digest}`,
      { 'content-type': m.mediaType },
      m.bytes,
    );
    if (res.status !== 201) await fail(`manifest ${m.tag ?? digest}`, res);
    await res.arrayBuffer();
  }
  return out;
}

// ---- hand-built attachment manifests (exact bytes, for pushArtifacts, MemoryRegistry or an OCI layout) ----
// Written as Go writes them (cosign, skopeo and the registries are Go), so sigManifest's bytes equal skopeo's.

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/** JSON as Go's encoding/json writes it: no spaces, `<>&` and U+2028/U+2029 escaped. */
export function goJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Bytes with their digest and media type (the shape of src/demo/build.ts `Blob`). */
export interface BuiltBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export function built(bytes: Buffer, mediaType: string): BuiltBlob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

export interface DescriptorJson {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The descriptor of `b`: its media type, digest and size (not its own artifactType or annotations), plus `extra`. */
export function descriptorJson(
  b: DescriptorJson,
  extra: { artifactType?: string; annotations?: Record<string, string> } = {},
): DescriptorJson {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra };
}

/** The OCI empty descriptor's blob `{}`. */
export const EMPTY_CONFIG: BuiltBlob = built(Buffer.from('{}'), OCI_EMPTY);

/** An OCI image manifest over `config` and `layers` (each layer may carry annotations). */
export function ociManifest(o: {
  config: BuiltBlob;
  layers: { blob: BuiltBlob; annotations?: Record<string, string> }[];
  artifactType?: string;
  subject?: DescriptorJson;
  annotations?: Record<string, string>;
}): BuiltBlob {
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: OCI_MANIFEST };
  if (o.artifactType) doc.artifactType = o.artifactType;
  doc.config = descriptorJson(o.config);
  doc.layers = o.layers.map((l) =>
    descriptorJson(l.blob, l.annotations ? { annotations: l.annotations } : {}),
  );
  if (o.subject) doc.subject = descriptorJson(o.subject);
  if (o.annotations) doc.annotations = o.annotations;
  return built(Buffer.from(goJson(doc)), OCI_MANIFEST);
}

/** An OCI image index listing `entries` (a tag-schema referrers index, or an image index). */
export function ociIndex(entries: DescriptorJson[], annotations?: Record<string, string>): BuiltBlob {
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries };
  if (annotations) doc.annotations = annotations;
  return built(Buffer.from(goJson(doc)), OCI_INDEX);
}

/**
 * cosign's legacy `.sig` / `.att` manifest: config `{"architecture":"","os":"","config":{},"rootfs":…}` whose
 * diff_ids are the layers' digests, one layer per signature (payload bytes, signature in the annotations).
 */
export function cosignLegacyManifest(layers: { blob: BuiltBlob; annotations: Record<string, string> }[]): {
  manifest: BuiltBlob;
  config: BuiltBlob;
} {
  const config = built(
    Buffer.from(
      goJson({
        architecture: '',
        os: '',
        config: {},
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.blob.digest) },
      }),
    ),
    OCI_CONFIG,
  );
  return { manifest: ociManifest({ config, layers }), config };
}

/** A referrer: artifactType, empty config, the given layers, `subject` = the image. */
export function referrerManifest(o: {
  artifactType: string;
  subject: DescriptorJson;
  layers: BuiltBlob[];
  annotations?: Record<string, string>;
}): BuiltBlob {
  return ociManifest({
    config: EMPTY_CONFIG,
    layers: o.layers.map((blob) => ({ blob })),
    artifactType: o.artifactType,
    subject: o.subject,
    ...(o.annotations ? { annotations: o.annotations } : {}),
  });
}

/** The tag-schema fallback index for referrers (`sha256-<hex>`): one entry per referrer, with artifactType. */
export function tagSchemaIndex(
  referrers: { manifest: BuiltBlob; artifactType?: string; annotations?: Record<string, string> }[],
): BuiltBlob {
  return ociIndex(
    referrers.map((r) =>
      descriptorJson(r.manifest, {
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      }),
    ),
  );
}

/** `sha256:<hex>` → `sha256-<hex>` (+ `.suffix`): the tag-schema tag and the cosign legacy `.sig` / `.att` tags. */
export function digestTag(digest: string, suffix?: 'sig' | 'att' | 'sbom'): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
  return `${digest.replace(':', '-')}${suffix ? `.${suffix}` : ''}`;
}
