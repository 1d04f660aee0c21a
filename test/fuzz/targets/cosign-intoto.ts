// DSSE envelopes and in-toto statements: parseEnvelope, checkStatement, and checkArtifact on a signed `.att`
// layer. Oracle: coded rejections only; an accepted statement has a subject with this image's sha256 and the
// asked predicate type; checkArtifact never throws and holds exactly when the statement does.
import fc from 'fast-check';
import { checkArtifact } from '../../../src/trust/cosign/index.js';
import { checkStatement, parseEnvelope } from '../../../src/trust/cosign/intoto.js';
import { check, codedSync, defineTarget, type JsonValue, mutatedJson } from '../harness.js';
import { count, ctx, DIGEST, envelope, STATEMENT, sha } from './cosign-seeds.js';

const SLSA1 = 'https://slsa.dev/provenance/v1';
const statements = mutatedJson([
  STATEMENT as unknown as JsonValue,
  {
    ...STATEMENT,
    _type: 'https://in-toto.io/Statement/v0.1',
    subject: [{ digest: { sha512: 'ab' } }, ...STATEMENT.subject],
  },
]);
const envelopes = mutatedJson([
  JSON.parse(envelope(Buffer.from(JSON.stringify(STATEMENT))).toString('utf8')) as JsonValue,
]);

/** byte 0: 0 = a statement (signed here), 1 = an envelope as found */
export default defineTarget<Buffer>({
  name: 'cosign-intoto',
  description:
    'parseEnvelope/checkStatement + checkArtifact on a signed .att layer; oracle: accepted ⇔ check ok, subject = digest',
  arbitrary: fc.oneof(
    statements.map((b) => Buffer.concat([Buffer.from([0]), b])),
    envelopes.map((b) => Buffer.concat([Buffer.from([1]), b])),
  ),
  run(input) {
    const mode = input[0] ?? 0;
    const b = input.subarray(1);
    const env = mode === 0 ? envelope(b) : b;
    if (mode !== 0) codedSync(() => parseEnvelope(b, 'fuzz envelope'));
    const r =
      mode === 0
        ? codedSync(() =>
            checkStatement(
              'application/vnd.in-toto+json',
              b,
              { digest: DIGEST, predicateType: 'slsaprovenance1' },
              'fuzz',
            ),
          )
        : undefined;
    if (r) {
      check(
        r.statement.subject.some((s) => s.digest.sha256 === DIGEST.slice(7)),
        'accepted a statement about another image',
      );
      check(r.statement.predicateType === SLSA1, 'accepted another predicate type');
    }
    const c = checkArtifact(
      {
        format: 'legacy-attestation',
        origin: 'fuzz .att',
        manifestDigest: 'sha256:0',
        layerDigest: `sha256:${sha(env)}`,
        mediaType: 'application/vnd.dsse.envelope.v1+json',
        annotations: {},
        bytes: env,
      },
      ctx({ predicateType: 'slsaprovenance1', trust: { ...ctx().trust, requireTlog: false } }),
    );
    if (mode === 0)
      check(
        c.ok === (r !== undefined),
        () => `checkArtifact ok=${c.ok}, statement check ${r ? 'yes' : 'no'}: ${JSON.stringify(c.problems)}`,
      );
    count(c);
    check(c.ok === (c.problems.length === 0), 'ok is not "no problems"');
  },
  encode: (b) => Buffer.from(b),
  decode: (b) => Buffer.from(b),
});
