// The image configuration (OCI config / Docker image JSON): the fields trustpin reads. Its digest is the
// image ID and commits to `rootfs.diff_ids`, so config equality means "same layers, same metadata".
import { type Digest, parseDigest, type Verified, type VerifiedBytes } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import {
  array,
  bool,
  checkShape,
  nullish,
  object,
  optional,
  record,
  type Shape,
  str,
  unknown,
} from '../util/index.js';
import { requireJsonDepth, requireJsonNumbers } from './json.js';

const historySchema = object({
  created: optional(str()),
  created_by: optional(str()),
  author: optional(str()),
  comment: optional(str()),
  empty_layer: optional(bool),
});

const configSchema = object({
  architecture: optional(str()),
  os: optional(str()),
  variant: optional(str()),
  'os.version': optional(str()),
  created: optional(str()),
  author: optional(str()),
  config: nullish(
    object({
      User: optional(str()),
      Env: nullish(array(str())),
      Entrypoint: nullish(array(str())),
      Cmd: nullish(array(str())),
      WorkingDir: optional(str()),
      Labels: nullish(record(str())),
      ExposedPorts: nullish(record(unknown)),
      Volumes: nullish(record(unknown)),
      StopSignal: optional(str()),
    }),
  ),
  rootfs: object({ type: str(), diff_ids: array(str()) }),
  history: nullish(array(historySchema)),
});

/** A parsed image config (the fields trustpin uses) with its layer diff_ids. */
export type ImageConfig = Shape<typeof configSchema> & { diffIds: Digest[] };

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
  const data = checkShape(
    configSchema,
    doc,
    (e) => new TrustpinError('MANIFEST_INVALID', `image config ${vb.digest} is invalid: ${e.message}`),
  );
  // after the schema, so only what it keeps is walked: numbers survive only in free-form members (ExposedPorts, Volumes)
  requireJsonNumbers(vb.bytes, data, `image config ${vb.digest}`);
  const diffIds = data.rootfs.diff_ids.map((d) => parseDigest(d));
  return { value: { ...data, diffIds }, digest: vb.digest, bytes: vb.bytes };
}
