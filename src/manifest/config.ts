// The image configuration (OCI config / Docker image JSON): the fields trustpin reads. Its digest is the
// image ID and commits to `rootfs.diff_ids`, so config equality means "same layers, same metadata".
import { z } from 'zod';
import { type Digest, parseDigest, type Verified, type VerifiedBytes } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { requireJsonDepth, requireJsonNumbers } from './json.js';

const historySchema = z.object({
  created: z.string().optional(),
  created_by: z.string().optional(),
  author: z.string().optional(),
  comment: z.string().optional(),
  empty_layer: z.boolean().optional(),
});

const configSchema = z.object({
  architecture: z.string().optional(),
  os: z.string().optional(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  created: z.string().optional(),
  author: z.string().optional(),
  config: z
    .object({
      User: z.string().optional(),
      Env: z.array(z.string()).nullish(),
      Entrypoint: z.array(z.string()).nullish(),
      Cmd: z.array(z.string()).nullish(),
      WorkingDir: z.string().optional(),
      Labels: z.record(z.string(), z.string()).nullish(),
      ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
      Volumes: z.record(z.string(), z.unknown()).nullish(),
      StopSignal: z.string().optional(),
    })
    .nullish(),
  rootfs: z.object({ type: z.string(), diff_ids: z.array(z.string()) }),
  history: z.array(historySchema).nullish(),
});

/** A parsed image config (the fields trustpin uses) with its layer diff_ids. */
export type ImageConfig = z.infer<typeof configSchema> & { diffIds: Digest[] };

/** Parse verified image config bytes. */
export function parseImageConfig(vb: VerifiedBytes): Verified<ImageConfig> {
  requireJsonDepth(vb.bytes, `image config ${vb.digest}`);
  let doc: unknown;
  try {
    doc = JSON.parse(vb.bytes.toString('utf8'));
  } catch (e) {
    throw new TrustpinError(
      'MANIFEST_INVALID',
      `image config ${vb.digest} is not JSON: ${(e as Error).message}`,
    );
  }
  const r = configSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new TrustpinError(
      'MANIFEST_INVALID',
      `image config ${vb.digest} is invalid: ${i ? `${i.path.join('.')}: ${i.message}` : 'schema mismatch'}`,
    );
  }
  // after the schema, so only what it keeps is walked: numbers survive only in free-form members (ExposedPorts, Volumes)
  requireJsonNumbers(vb.bytes, r.data, `image config ${vb.digest}`);
  const diffIds = r.data.rootfs.diff_ids.map((d) => parseDigest(d));
  return { value: { ...r.data, diffIds }, digest: vb.digest, bytes: vb.bytes };
}
