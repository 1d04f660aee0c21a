// The simple-signing payload of a legacy cosign signature: checkSimpleSigning, and the whole checkArtifact over
// the same payload signed (with a Rekor SET). Oracle: coded rejections only; an accepted payload names this
// digest and carries the required annotation; checkArtifact never throws and holds exactly when the payload does.
import { checkArtifact } from '../../../src/trust/cosign/index.js';
import { checkSimpleSigning } from '../../../src/trust/cosign/simple-signing.js';
import {
  bufferCodec,
  check,
  codedSync,
  deeplyNested,
  defineTarget,
  type JsonValue,
  mutatedJson,
} from '../harness.js';
import { count, ctx, DIGEST, REPO, SIMPLE, signedLayer } from './cosign-seeds.js';

const GO_CASED: JsonValue = {
  Critical: {
    Identity: { 'Docker-Reference': `${REPO}:v1` },
    Image: { 'Docker-manifest-digest': DIGEST },
    Type: 'cosign container image signature',
  },
  Optional: { creator: 'fuzz' },
};
const NESTED = Buffer.from(JSON.stringify(SIMPLE).replace('"n":1', `"n":${deeplyNested(10_000)}`));
const arbitrary = mutatedJson([SIMPLE as unknown as JsonValue, GO_CASED, { critical: null, optional: null }]);

export default defineTarget<Buffer>({
  name: 'cosign-simple-signing',
  description:
    'checkSimpleSigning + checkArtifact on the signed payload; oracle: accepted ⇔ check ok, digest and annotation hold',
  arbitrary: arbitrary.map((b) => (b.length % 97 === 0 ? NESTED : b)),
  run(b) {
    const want = { digest: DIGEST, repository: REPO, annotations: { creator: 'fuzz' } };
    const r = codedSync(() => checkSimpleSigning(b, want));
    if (r) {
      check(r.signedDigest === DIGEST, `accepted a payload for ${r.signedDigest}`);
      check(r.optional?.creator === 'fuzz', 'accepted a payload without the required annotation');
    }
    const c = checkArtifact(signedLayer(b), ctx({ annotations: { creator: 'fuzz' } }));
    check(
      c.ok === (r !== undefined),
      () =>
        `checkArtifact ok=${c.ok} but the payload check said ${r ? 'yes' : 'no'}: ${JSON.stringify(c.problems)}`,
    );
    count(c);
    check(c.ok === (c.problems.length === 0), 'ok is not "no problems"');
  },
  ...bufferCodec,
});
