// Sigstore bundles (v0.1–v0.3, DSSE and message signature, keyed and keyless) through checkArtifact, with the
// conformance bundles as seeds when ../shared/vectors is present. Oracle: checkArtifact never throws; ok is
// exactly "no problems"; an accepted keyed bundle is the unmutated statement about this image.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type CheckContext, checkArtifact, loadTrustedRoot } from '../../../src/trust/cosign/index.js';
import { haveVectors, vector, vectorPath } from '../../vectors.js';
import { bufferCodec, check, defineTarget, type JsonValue, mutatedJson } from '../harness.js';
import { count, ctx, dsseBundle, NOW, STATEMENT, sha } from './cosign-seeds.js';

const SIGN = { ...STATEMENT, predicateType: 'https://sigstore.dev/cosign/sign/v1', predicate: {} };
const own = JSON.parse(dsseBundle(Buffer.from(JSON.stringify(SIGN))).toString('utf8')) as JsonValue;
const B = 'sigstore-conformance/test/assets/bundle-verify';
const CASES = [
  'happy-path-v0.1',
  'happy-path-v0.3',
  'happy-path-intoto-in-dsse-v3',
  'managed-key-happy-path',
  'rekor2-happy-path',
];
const conformance = haveVectors
  ? CASES.filter((c) => existsSync(vectorPath(`${B}/${c}/bundle.sigstore.json`))).map(
      (c) => JSON.parse(vector(`${B}/${c}/bundle.sigstore.json`).toString('utf8')) as JsonValue,
    )
  : [];
let conformanceCtx: CheckContext | undefined;
function keylessCtx(): CheckContext | undefined {
  if (!haveVectors) return undefined;
  if (!conformanceCtx) {
    const artifact = vector(`${B}/a.txt`);
    conformanceCtx = {
      digest: `sha256:${createHash('sha256').update(artifact).digest('hex')}`,
      artifact,
      trust: {
        keys: [],
        identities: [
          {
            issuer: 'https://token.actions.githubusercontent.com',
            subjectRegExp: '^https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/',
          },
        ],
        trustedRoot: loadTrustedRoot(vector('root-signing/targets/trusted_root.json'), 'production'),
        requireTlog: true,
      },
      now: NOW,
    };
  }
  return conformanceCtx;
}

export default defineTarget<Buffer>({
  name: 'cosign-bundle',
  description:
    'bundleFromJSON → toSignedEntity → checkArtifact, keyed and keyless; oracle: coded results only',
  arbitrary: mutatedJson([own, ...conformance]),
  run(bytes) {
    const a = {
      format: 'bundle' as const,
      origin: 'fuzz',
      manifestDigest: 'sha256:0',
      layerDigest: `sha256:${sha(bytes)}`,
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      annotations: {},
      bytes,
    };
    const k = checkArtifact(a, ctx({ trust: { ...ctx().trust, requireTlog: false } }));
    count(k);
    check(k.ok === (k.problems.length === 0), 'ok is not "no problems"');
    if (k.ok)
      check(
        k.statement?.predicateType === SIGN.predicateType && k.signedDigest === ctx().digest,
        'accepted a keyed bundle about something else',
      );
    const kc = keylessCtx();
    if (kc) {
      const c = checkArtifact(a, kc);
      check(c.ok === (c.problems.length === 0), 'ok is not "no problems"');
    }
  },
  ...bufferCodec,
});
