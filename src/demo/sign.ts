// In-process signing for the embedded demo: a keyed cosign signature in the legacy `sha256-<hex>.sig` tag layout
// (a simple-signing payload layer with the ECDSA-P256 SHA-256 signature in its annotation), and images whose
// content or history differ from demo/app's — no cosign binary, no network.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { MT } from '../manifest/index.js';
import { type Blob, type BuiltImage, blobOf, descriptorOf } from './build.js';

/** The legacy cosign payload media type and signature annotation. */
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** A P-256 key pair; `pem` is the SPKI PEM a `cosign.pub` file holds. */
export interface DemoKey {
  privateKey: KeyObject;
  pem: string;
}

export function demoKey(): DemoKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

/** A cosign legacy signature of `digest` for `repo`: the manifest (tag `sha256-<hex>.sig`) and its blobs. */
export function cosignSignature(
  key: DemoKey,
  repo: string,
  digest: string,
): { tag: string; manifest: Blob; blobs: Blob[] } {
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': repo },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
  const layer = blobOf(payload, SIMPLE_SIGNING);
  const signature = sign('sha256', payload, key.privateKey).toString('base64');
  const config = blobOf(
    Buffer.from(
      JSON.stringify({
        architecture: '',
        os: '',
        config: {},
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
    MT.ociConfig,
  );
  const manifest = blobOf(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: descriptorOf(config),
        layers: [descriptorOf(layer, { annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature } })],
      }),
    ),
    MT.ociManifest,
  );
  return { tag: `${digest.replace(':', '-')}.sig`, manifest, blobs: [config, layer] };
}

/**
 * The same layers as `img` under a config whose `history` claims another build: equal files, another config and so
 * another digest. History is what the builder wrote about itself — not evidence of anything.
 */
export function forgeHistory(img: BuiltImage, createdBy: string): BuiltImage {
  const cfg = JSON.parse(img.config.bytes.toString('utf8')) as { history?: { created_by?: string }[] };
  cfg.history = (cfg.history ?? []).map((h) => ({ ...h, created_by: createdBy }));
  const config = blobOf(Buffer.from(JSON.stringify(cfg)), img.config.mediaType);
  const m = JSON.parse(img.manifest.bytes.toString('utf8')) as Record<string, unknown>;
  m.config = descriptorOf(config);
  const manifest = blobOf(Buffer.from(JSON.stringify(m)), img.manifest.mediaType);
  return { ...img, config, manifest };
}
