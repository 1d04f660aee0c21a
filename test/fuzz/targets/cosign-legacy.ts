// The annotations of a legacy cosign layer (signature, certificate, chain, Rekor SET bundle, RFC 3161 timestamp)
// mutated around a valid keyed signature with a SET, and around the keyless containers-image fixture when
// ../shared/vectors is present. Oracle: checkArtifact never throws; an accepted layer still carries the
// original signature bytes (what is verified cannot be changed and still pass).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { checkArtifact, loadTrustedRoot, type SignatureArtifact } from '../../../src/trust/cosign/index.js';
import { haveVectors, vector, vectorPath } from '../../vectors.js';
import { bufferCodec, check, defineTarget, type JsonValue, mutatedJson } from '../harness.js';
import { count, ctx, NOW, signedLayer, simpleBytes } from './cosign-seeds.js';

const keyed = signedLayer(simpleBytes);
const FULCIO = 'containers-image/signature/fixtures/dir-img-cosign-fulcio-rekor-valid';
let keyless: { layer: SignatureArtifact; digest: string } | undefined;
if (haveVectors && existsSync(vectorPath(`${FULCIO}/signature-1`))) {
  const j = JSON.parse(vector(`${FULCIO}/signature-1`).subarray(15).toString('utf8'));
  const bytes = Buffer.from(j.payload, 'base64');
  keyless = {
    layer: { ...keyed, mediaType: j.mimeType, annotations: j.annotations, bytes },
    digest: `sha256:${createHash('sha256')
      .update(vector(`${FULCIO}/manifest.json`))
      .digest('hex')}`,
  };
}
const prod = haveVectors
  ? loadTrustedRoot(vector('root-signing/targets/trusted_root.json'), 'production')
  : undefined;
const SIG = 'dev.cosignproject.cosign/signature';
const seeds: JsonValue[] = [{ which: 0, annotations: keyed.annotations }];
if (keyless) seeds.push({ which: 1, annotations: keyless.layer.annotations });
const decoded = (s: unknown) =>
  typeof s === 'string' ? Buffer.from(s.replace(/[\r\n]/g, ''), 'base64') : Buffer.alloc(0);

export default defineTarget<Buffer>({
  name: 'cosign-legacy',
  description:
    'legacy layer annotations → SignedEntity → checkArtifact; oracle: coded results, accepted ⇒ signature unchanged',
  arbitrary: mutatedJson(seeds),
  run(b) {
    let input: { which?: unknown; annotations?: unknown };
    try {
      input = JSON.parse(b.toString('utf8'));
    } catch {
      return;
    }
    if (
      typeof input !== 'object' ||
      input === null ||
      typeof input.annotations !== 'object' ||
      input.annotations === null
    )
      return;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.annotations)) if (typeof v === 'string') annotations[k] = v;
    const base = input.which === 1 && keyless ? keyless.layer : keyed;
    const c =
      base === keyed
        ? checkArtifact({ ...keyed, annotations }, ctx())
        : checkArtifact(
            { ...base, annotations },
            ctx({
              digest: keyless!.digest,
              repository: '192.168.64.2:5000/cosign-signed/fulcio-rekor-1',
              trust: {
                keys: [],
                identities: [{ issuer: 'https://github.com/login/oauth', subject: 'mitr@redhat.com' }],
                trustedRoot: prod,
                requireTlog: true,
              },
              now: NOW,
            }),
          );
    count(c);
    check(c.ok === (c.problems.length === 0), 'ok is not "no problems"');
    if (c.ok)
      check(decoded(annotations[SIG]).equals(decoded(base.annotations[SIG])), 'accepted a changed signature');
  },
  ...bufferCodec,
});
