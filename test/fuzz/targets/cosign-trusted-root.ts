// trusted_root.json as a user gives it (--trusted-root): loadTrustedRoot, then a check against the loaded root.
// Oracle: only TRUSTED_ROOT_INVALID (or SIZE_EXCEEDED) is thrown; an accepted root gives every key and CA a
// validFor.start (trap c: an open start would trust it for all time); a check against it never throws.
import { TrustpinError } from '../../../src/errors/index.js';
import { checkArtifact, loadTrustedRoot } from '../../../src/trust/cosign/index.js';
import { haveVectors, vector } from '../../vectors.js';
import {
  bufferCodec,
  check,
  defineTarget,
  type JsonValue,
  mutatedJson,
  recordRejection,
} from '../harness.js';
import { count, ctx, ROOT_JSON, signedLayer, simpleBytes } from './cosign-seeds.js';

const seeds: JsonValue[] = [ROOT_JSON as unknown as JsonValue];
if (haveVectors)
  seeds.push(JSON.parse(vector('root-signing/targets/trusted_root.json').toString('utf8')) as JsonValue);
const layer = signedLayer(simpleBytes);

function starts(doc: unknown): boolean {
  const d = doc as Record<
    string,
    { publicKey?: { validFor?: { start?: unknown } }; validFor?: { start?: unknown } }[]
  >;
  const logs = [...(d.tlogs ?? []), ...(d.ctlogs ?? [])].every(
    (t) => typeof t.publicKey?.validFor?.start === 'string',
  );
  const cas = [...(d.certificateAuthorities ?? []), ...(d.timestampAuthorities ?? [])].every(
    (c) => typeof c.validFor?.start === 'string',
  );
  return logs && cas;
}

export default defineTarget<Buffer>({
  name: 'cosign-trusted-root',
  description:
    'loadTrustedRoot + checkArtifact under it; oracle: only TRUSTED_ROOT_INVALID, every accepted entry has a start',
  arbitrary: mutatedJson(seeds),
  run(b) {
    let root: ReturnType<typeof loadTrustedRoot>;
    try {
      root = loadTrustedRoot(b, 'fuzz trusted_root.json');
    } catch (e) {
      check(
        e instanceof TrustpinError && e.code === 'TRUSTED_ROOT_INVALID',
        () => `threw ${e instanceof TrustpinError ? e.code : String(e)}`,
      );
      recordRejection(e as TrustpinError);
      return;
    }
    check(
      starts(JSON.parse(b.toString('utf8'))),
      'accepted a trusted root with an entry that has no validFor.start',
    );
    const c = checkArtifact(layer, ctx({ trust: { ...ctx().trust, trustedRoot: root } }));
    count(c);
    check(c.ok === (c.problems.length === 0), 'ok is not "no problems"');
  },
  ...bufferCodec,
});
