// checkArtifact on real upstream signatures: every containers-image `dir-img-cosign-*` fixture, every
// sigstore-conformance bundle-verify case and cosign's OCI attestation bundle, each giving the verdict
// ../shared/vectors/expectations.json records (deviations named in the test titles).
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import {
  type CheckContext,
  type CosignTrust,
  checkArtifact,
  type LoadedTrustedRoot,
  loadPublicKey,
  loadTrustedRoot,
  type SignatureArtifact,
  type SignatureCheck,
} from '../../../src/trust/cosign/index.js';
import { skipNoVectors, vector, vectorPath } from '../../vectors.js';

const FIX = 'containers-image/signature/fixtures';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const NOW = new Date('2026-12-02T12:00:00Z');

/** A c/image `dir:` signature file: `\x00sigstore-json\n` + {mimeType, payload, annotations}. */
function fixtureSignature(path: string): SignatureArtifact {
  const raw = vector(path);
  const prefix = '\x00sigstore-json\n';
  assert.equal(raw.subarray(0, prefix.length).toString('latin1'), prefix, `${path} is a sigstore signature`);
  const j = JSON.parse(raw.subarray(prefix.length).toString('utf8')) as {
    mimeType: string;
    payload: string;
    annotations: Record<string, string>;
  };
  const bytes = Buffer.from(j.payload, 'base64');
  return {
    format: 'legacy-signature',
    origin: path,
    manifestDigest: 'sha256:0',
    layerDigest: sha(bytes),
    mediaType: j.mimeType,
    annotations: j.annotations,
    bytes,
  };
}
function signatures(dir: string): SignatureArtifact[] {
  return readdirSync(vectorPath(`${FIX}/${dir}`))
    .filter((f) => /^signature-\d+$/.test(f))
    .sort()
    .map((f) => fixtureSignature(`${FIX}/${dir}/${f}`));
}
function manifestDigest(dir: string): string {
  const p = `${FIX}/${dir}/manifest.json`;
  return existsSync(vectorPath(p)) ? sha(vector(p)) : sha(Buffer.alloc(0));
}
const key = (name: string) => loadPublicKey(vector(`${FIX}/${name}`), name);

/** A trusted root holding just one Rekor key (c/image's `rekorPublicKeyPath`). */
function rekorRoot(pubName: string): LoadedTrustedRoot {
  const der = createPublicKey(vector(`${FIX}/${pubName}`)).export({ type: 'spki', format: 'der' });
  return loadTrustedRoot(
    {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: 'https://rekor.sigstore.dev',
          hashAlgorithm: 'SHA2_256',
          publicKey: {
            rawBytes: der.toString('base64'),
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            validFor: { start: '2021-01-01T00:00:00Z' },
          },
          logId: { keyId: createHash('sha256').update(der).digest('base64') },
        },
      ],
    },
    pubName,
  );
}

function ctx(digest: string, trust: Partial<CosignTrust>, o: Partial<CheckContext> = {}): CheckContext {
  return {
    digest,
    trust: { keys: [], identities: [], requireTlog: false, ...trust },
    now: NOW,
    ...o,
  };
}
const codes = (c: SignatureCheck) => c.problems.map((p) => p.code);
/** The image is accepted when any signature's check holds (c/image and cosign both need one). */
const anyOk = (checks: SignatureCheck[]) => checks.some((c) => c.ok);

describe('containers-image dir-img-cosign-* fixtures', { skip: skipNoVectors }, () => {
  const single = '192.168.64.2:5000/cosign-signed-single-sample';
  const run = (dir: string, trust: Partial<CosignTrust>, o: Partial<CheckContext> = {}) =>
    signatures(dir).map((a) =>
      checkArtifact(a, ctx(manifestDigest(dir), trust, { repository: single, ...o })),
    );

  test('valid: cosign.pub, matchRepository → pass, with the claim and the signed reference', () => {
    const [c] = run('dir-img-cosign-valid', { keys: [key('cosign.pub')] });
    assert.equal(c!.ok, true, JSON.stringify(c!.problems));
    assert.deepEqual(c!.claim, { type: 'cosign-key', keyId: key('cosign.pub').keyId });
    assert.equal(c!.dockerReference, single);
    assert.equal(c!.signedDigest, 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00');
  });
  test('valid with image ref testing/manifest:notlatest → IDENTITY_MISMATCH', () => {
    const [c] = run(
      'dir-img-cosign-valid',
      { keys: [key('cosign.pub')] },
      { repository: 'docker.io/testing/manifest' },
    );
    assert.deepEqual(codes(c!), ['IDENTITY_MISMATCH']);
  });
  test('valid with matchExact (exact tag asked) → IDENTITY_MISMATCH: cosign signs the repository only', () => {
    const [c] = run('dir-img-cosign-valid', { keys: [key('cosign.pub')] }, { tag: 'latest' });
    assert.deepEqual(codes(c!), ['IDENTITY_MISMATCH']);
  });
  test('valid with cosign2.pub → SIGNATURE_INVALID', () => {
    const [c] = run('dir-img-cosign-valid', { keys: [key('cosign2.pub')] });
    assert.deepEqual(codes(c!), ['SIGNATURE_INVALID']);
  });
  test('valid (no Rekor SET) with the log required → TLOG_INVALID', () => {
    const [c] = run('dir-img-cosign-valid', {
      keys: [key('cosign.pub')],
      requireTlog: true,
      trustedRoot: rekorRoot('rekor.pub'),
    });
    assert.deepEqual(codes(c!), ['TLOG_INVALID']);
  });
  test('valid-2: both signatures pass; with ref this/does-not:match both fail', () => {
    assert.deepEqual(
      run('dir-img-cosign-valid-2', { keys: [key('cosign.pub')] }).map((c) => c.ok),
      [true, true],
    );
    const wrong = run(
      'dir-img-cosign-valid-2',
      { keys: [key('cosign.pub')] },
      { repository: 'docker.io/this/does-not' },
    );
    assert.deepEqual(wrong.map(codes), [['IDENTITY_MISMATCH'], ['IDENTITY_MISMATCH']]);
  });
  test('mixed: signature 1 by an unknown key fails, signature 2 passes → image accepted', () => {
    const checks = run('dir-img-cosign-mixed', { keys: [key('cosign.pub')] });
    assert.deepEqual(checks.map(codes), [['SIGNATURE_INVALID'], []]);
    assert.equal(anyOk(checks), true);
  });
  test('modified-manifest → SIGNED_DIGEST_MISMATCH', () => {
    const [c] = run('dir-img-cosign-modified-manifest', { keys: [key('cosign.pub')] });
    assert.deepEqual(codes(c!), ['SIGNED_DIGEST_MISMATCH']);
  });
  test('manifest-digest-error (the bytes of a broken schema1 manifest hashed as is) → SIGNED_DIGEST_MISMATCH', () => {
    const [c] = run('dir-img-cosign-manifest-digest-error', { keys: [key('cosign.pub')] });
    assert.deepEqual(codes(c!), ['SIGNED_DIGEST_MISMATCH']);
  });
  test('no-manifest (no digest to hold it against: the empty digest) → SIGNED_DIGEST_MISMATCH', () => {
    const [c] = run('dir-img-cosign-no-manifest', { keys: [key('cosign.pub')] });
    assert.deepEqual(codes(c!), ['SIGNED_DIGEST_MISMATCH']);
  });
  test('other-attachment (text/plain layer with a signature annotation) → PAYLOAD_INVALID, not even verified', () => {
    const [c] = run('dir-img-cosign-other-attachment', { keys: [key('cosign.pub')] });
    assert.deepEqual(codes(c!), ['PAYLOAD_INVALID']);
    assert.equal(c!.claim, undefined);
  });
  test('unknown-cosign-key.signature → SIGNATURE_INVALID under cosign.pub and cosign2.pub', () => {
    const a = fixtureSignature(`${FIX}/unknown-cosign-key.signature`);
    const c = checkArtifact(
      a,
      ctx(
        manifestDigest('dir-img-cosign-valid'),
        { keys: [key('cosign.pub'), key('cosign2.pub')] },
        { repository: single },
      ),
    );
    assert.deepEqual(codes(c), ['SIGNATURE_INVALID']);
  });
  test('valid-with-tag: exact tag `tag` → pass; `othertag` → IDENTITY_MISMATCH', () => {
    const o = { repository: '192.168.64.2:5000/skopeo-signed' };
    const [c] = run('dir-img-cosign-valid-with-tag', { keys: [key('cosign.pub')] }, { ...o, tag: 'tag' });
    assert.equal(c!.ok, true, JSON.stringify(c!.problems));
    assert.equal(c!.dockerReference, '192.168.64.2:5000/skopeo-signed:tag');
    const [d] = run(
      'dir-img-cosign-valid-with-tag',
      { keys: [key('cosign.pub')] },
      { ...o, tag: 'othertag' },
    );
    assert.deepEqual(codes(d!), ['IDENTITY_MISMATCH']);
  });

  const keyRekor = (trust: Partial<CosignTrust>) =>
    run(
      'dir-img-cosign-key-rekor-valid',
      { keys: [key('cosign2.pub')], requireTlog: true, ...trust },
      {
        repository: '192.168.64.2:5000/cosign-signed/key-1',
      },
    )[0]!;
  test('key-rekor-valid: cosign2.pub + rekor.pub, log required → pass with the log time', () => {
    const c = keyRekor({ trustedRoot: rekorRoot('rekor.pub') });
    assert.equal(c.ok, true, JSON.stringify(c.problems));
    assert.equal(c.times.length, 1);
    assert.equal(c.times[0]!.source, 'tlog');
    assert.equal(c.times[0]!.logId, 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d');
  });
  test('key-rekor-valid with the production trusted root → pass', () => {
    const c = keyRekor({
      trustedRoot: loadTrustedRoot(vector('root-signing/targets/trusted_root.json'), 'prod'),
    });
    assert.equal(c.ok, true, JSON.stringify(c.problems));
  });
  test('key-rekor-valid with the Rekor key = cosign.pub → TLOG_INVALID', () => {
    assert.deepEqual(codes(keyRekor({ trustedRoot: rekorRoot('cosign.pub') })), ['TLOG_INVALID']);
  });
  test('key-rekor-valid with the SET annotation removed → TLOG_INVALID', () => {
    const [a] = signatures('dir-img-cosign-key-rekor-valid');
    const { 'dev.sigstore.cosign/bundle': _, ...rest } = a!.annotations;
    const c = checkArtifact(
      { ...a!, annotations: rest },
      ctx(manifestDigest('dir-img-cosign-key-rekor-valid'), {
        keys: [key('cosign2.pub')],
        requireTlog: true,
        trustedRoot: rekorRoot('rekor.pub'),
      }),
    );
    assert.deepEqual(codes(c), ['TLOG_INVALID']);
  });

  const prod = () => loadTrustedRoot(vector('root-signing/targets/trusted_root.json'), 'prod');
  const fulcio = (
    identity: { issuer: string; subject: string },
    trust: Partial<CosignTrust> = {},
    a?: SignatureArtifact,
  ) =>
    checkArtifact(
      a ?? signatures('dir-img-cosign-fulcio-rekor-valid')[0]!,
      ctx(
        manifestDigest('dir-img-cosign-fulcio-rekor-valid'),
        { identities: [identity], requireTlog: true, trustedRoot: prod(), ...trust },
        {
          repository: '192.168.64.2:5000/cosign-signed/fulcio-rekor-1',
        },
      ),
    );
  const mitr = { issuer: 'https://github.com/login/oauth', subject: 'mitr@redhat.com' };
  test('fulcio-rekor-valid: production root (deviation: not fulcio_v1.crt.pem + chain annotation), SAN + issuer → pass at the SET time', () => {
    const c = fulcio(mitr);
    assert.equal(c.ok, true, JSON.stringify(c.problems));
    assert.deepEqual(c.claim, {
      type: 'cosign-keyless',
      issuer: mitr.issuer,
      subject: mitr.subject,
      extensions: { issuer: mitr.issuer },
    });
    assert.equal(c.times[0]!.time, '2023-01-20T20:51:33.000Z');
    assert.equal(c.certificate!.notBefore, '2023-01-20T20:51:31.000Z');
    assert.equal(c.certificate!.issuer, 'O=sigstore.dev, CN=sigstore-intermediate');
  });
  test('a remembered certificate check is not reused for other signed times or another trusted root', () => {
    const one = { trustedRoot: prod() };
    assert.equal(fulcio(mitr, one).ok, true);
    const [a] = signatures('dir-img-cosign-fulcio-rekor-valid');
    const b = JSON.parse(a!.annotations['dev.sigstore.cosign/bundle']!);
    b.Payload.integratedTime += 3600; // an hour after the 10-minute certificate expired
    const later = {
      ...a!,
      annotations: { ...a!.annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(b) },
    };
    assert.deepEqual(codes(fulcio(mitr, one, later)), ['CERTIFICATE_INVALID']);
    const j = JSON.parse(vector('root-signing/targets/trusted_root.json').toString('utf8'));
    const noFulcio = loadTrustedRoot(
      { ...j, certificateAuthorities: j.certificateAuthorities.slice(0, 1) },
      'old CA only',
    );
    assert.deepEqual(codes(fulcio(mitr, { trustedRoot: noFulcio })), ['CERTIFICATE_INVALID']);
  });
  test('fulcio-rekor-valid with email this-does-not-match@example.com → SIGNER_MISMATCH', () => {
    assert.deepEqual(codes(fulcio({ ...mitr, subject: 'this-does-not-match@example.com' })), [
      'SIGNER_MISMATCH',
    ]);
  });
  test('fulcio-rekor-valid without its Rekor SET → TLOG_INVALID (log required), TIMESTAMP_INVALID (not): never a crash', () => {
    const [a] = signatures('dir-img-cosign-fulcio-rekor-valid');
    const { 'dev.sigstore.cosign/bundle': _, ...rest } = a!.annotations;
    const bare = { ...a!, annotations: rest };
    assert.deepEqual(codes(fulcio(mitr, {}, bare)), ['TLOG_INVALID']);
    assert.deepEqual(codes(fulcio(mitr, { requireTlog: false }, bare)), ['TIMESTAMP_INVALID']);
  });
  test('fulcio-rekor-valid with a root that has no CT log keys → CERTIFICATE_INVALID (the SCT cannot be checked)', () => {
    const j = JSON.parse(vector('root-signing/targets/trusted_root.json').toString('utf8'));
    const c = fulcio(mitr, { trustedRoot: loadTrustedRoot({ ...j, ctlogs: [] }, 'no-ct') });
    assert.deepEqual(codes(c), ['CERTIFICATE_INVALID']);
  });
  const pki = (trust: Partial<CosignTrust>) => {
    const [a] = signatures('dir-img-cosign-pki-valid');
    return checkArtifact(
      a!,
      ctx(manifestDigest('dir-img-cosign-pki-valid'), trust, { repository: 'localhost:5000/test' }),
    );
  };
  const roots = () => [vector(`${FIX}/pki_root_crts.pem`)];
  const inter = () => [vector(`${FIX}/pki_intermediate_crts.pem`)];
  const qiwan = [{ subject: 'qiwan@redhat.com' }];
  test('pki-valid: BYO-PKI roots + intermediates, subject qiwan@redhat.com → pass (RSA leaf, no EKU)', () => {
    const c = pki({ caRoots: roots(), caIntermediates: inter(), identities: qiwan });
    assert.equal(c.ok, true, JSON.stringify(c.problems));
    assert.equal(c.claim?.type === 'cosign-keyless' && c.claim.subject, 'qiwan@redhat.com');
  });
  test('pki-valid with another subject → SIGNER_MISMATCH; without any PKI or identity → SIGNER_MISMATCH', () => {
    assert.deepEqual(
      codes(
        pki({ caRoots: roots(), caIntermediates: inter(), identities: [{ subject: 'someone@example.com' }] }),
      ),
      ['SIGNER_MISMATCH'],
    );
    assert.deepEqual(codes(pki({})), ['SIGNER_MISMATCH']);
  });
  test('pki-valid with roots only: the chain annotation may supply the intermediate (a candidate link, the root decides)', () => {
    assert.equal(pki({ caRoots: roots(), identities: qiwan }).ok, true);
    const [a] = signatures('dir-img-cosign-pki-valid');
    const bare = { ...a!, annotations: { ...a!.annotations, 'dev.sigstore.cosign/chain': '' } };
    const c = checkArtifact(
      bare,
      ctx(
        manifestDigest('dir-img-cosign-pki-valid'),
        { caRoots: roots(), identities: qiwan },
        { repository: 'localhost:5000/test' },
      ),
    );
    assert.deepEqual(codes(c), ['CERTIFICATE_INVALID']);
  });
  test('pki-valid against other roots (the intermediate as a root is not the root) → CERTIFICATE_INVALID', () => {
    assert.deepEqual(
      codes(
        pki({ caRoots: [vector(`${FIX}/fulcio_v1.crt.pem`)], caIntermediates: inter(), identities: qiwan }),
      ),
      ['CERTIFICATE_INVALID'],
    );
  });
  test('pki-valid judged after the leaf expired (2053) → CERTIFICATE_INVALID', () => {
    const [a] = signatures('dir-img-cosign-pki-valid');
    const c = checkArtifact(
      a!,
      ctx(
        manifestDigest('dir-img-cosign-pki-valid'),
        { caRoots: roots(), caIntermediates: inter(), identities: qiwan },
        {
          repository: 'localhost:5000/test',
          now: new Date('2053-01-01T00:00:00Z'),
        },
      ),
    );
    assert.deepEqual(codes(c), ['CERTIFICATE_INVALID']);
  });
});

interface Case {
  id: string;
  set: string;
  expected: 'pass' | 'fail';
  inputs: {
    artifact: string;
    trusted_root: string;
    identity: string | null;
    issuer: string | null;
    key?: string;
  };
}
const cases: Case[] = skipNoVectors
  ? []
  : (JSON.parse(vector('expectations.json').toString('utf8')) as { cases: Case[] }).cases.filter(
      (c) => c.set === 'sigstore-conformance',
    );
/** Cases whose outcome differs from upstream with @sigstore/verify@3 (wave2 §A.3). */
const DEVIATIONS: Record<string, string> = {
  'rekor2-dsse-happy-path':
    'Rekor v2 DSSE-as-hashedrekord needs @sigstore/verify@4 (sigstore-js#1677): TLOG_INVALID digest mismatch',
};

describe('sigstore-conformance bundle-verify', { skip: skipNoVectors }, () => {
  const B = 'sigstore-conformance/test/assets/bundle-verify';
  let prod: LoadedTrustedRoot | undefined;
  test('70 cases are recorded', () => assert.equal(cases.length, 70));
  for (const c of cases) {
    const name = c.id.split('/')[1]!;
    const dev = DEVIATIONS[name];
    test(`${name} → ${dev ? `fail (deviation: ${dev})` : c.expected}`, () => {
      prod ??= loadTrustedRoot(
        vector('root-signing/targets/trusted_root.json'),
        'production trusted_root.json',
      );
      const artifact = vector(c.inputs.artifact);
      let result: SignatureCheck | { ok: false; problems: { code: string }[] };
      try {
        const own = `${B}/${name}/trusted_root.json`;
        const root = existsSync(vectorPath(own)) ? loadTrustedRoot(vector(own), own) : prod;
        const bytes = vector(`${B}/${name}/bundle.sigstore.json`);
        // conformance checks the cryptography of any in-toto statement: ask for the predicate type it carries
        let predicateType: string | undefined;
        try {
          const env = JSON.parse(bytes.toString('utf8')).dsseEnvelope;
          if (env)
            predicateType = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')).predicateType;
        } catch {}
        result = checkArtifact(
          {
            format: 'bundle',
            origin: name,
            manifestDigest: 'sha256:0',
            layerDigest: sha(bytes),
            mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
            annotations: {},
            bytes,
          },
          {
            digest: sha(artifact),
            artifact,
            predicateType,
            trust: {
              keys: c.inputs.key ? [loadPublicKey(vector(c.inputs.key), c.inputs.key)] : [],
              identities: c.inputs.identity ? [{ issuer: c.inputs.issuer!, subject: c.inputs.identity }] : [],
              trustedRoot: root,
              requireTlog: true,
            },
            now: NOW,
          },
        );
      } catch (e) {
        // trust material refused at load time (trap c; a key file that is not a key) is a failed verification too
        assert.ok(isTrustpinError(e, 'TRUSTED_ROOT_INVALID') || isTrustpinError(e, 'USAGE'), String(e));
        result = { ok: false, problems: [{ code: (e as { code: string }).code }] };
      }
      const want = dev ? 'fail' : c.expected;
      assert.equal(result.ok ? 'pass' : 'fail', want, JSON.stringify(result.problems));
      if (name === 'trust-root-tlog-missing-validity-start_fail')
        assert.equal(result.problems[0]!.code, 'TRUSTED_ROOT_INVALID');
    });
  }
});

describe('cosign oci-attestation.sigstore.json (trusted_root_pgi.json)', { skip: skipNoVectors }, () => {
  const check = (o: { subject?: string; digest?: string; predicateType?: string } = {}) => {
    const bytes = vector('cosign/pkg/cosign/testdata/oci-attestation.sigstore.json');
    return checkArtifact(
      {
        format: 'bundle',
        origin: 'oci-attestation',
        manifestDigest: 'sha256:0',
        layerDigest: sha(bytes),
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        annotations: {},
        bytes,
      },
      {
        digest: o.digest ?? 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4',
        predicateType: o.predicateType ?? 'custom',
        trust: {
          keys: [],
          identities: [
            { issuer: 'https://github.com/login/oauth', subject: o.subject ?? 'cody@soyland.com' },
          ],
          trustedRoot: loadTrustedRoot(
            vector('cosign/pkg/cosign/testdata/trusted_root_pgi.json'),
            'trusted_root_pgi.json',
          ),
          requireTlog: true,
        },
        now: NOW,
      },
    );
  };
  test('identity cody@soyland.com, digest 7321…aa4, predicate custom → pass with the statement', () => {
    const c = check();
    assert.equal(c.ok, true, JSON.stringify(c.problems));
    assert.equal(c.statement!.predicateType, 'https://cosign.sigstore.dev/attestation/v1');
    assert.equal(c.signedDigest, 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4');
  });
  test('another identity → SIGNER_MISMATCH', () =>
    assert.deepEqual(codes(check({ subject: 'someone@example.com' })), ['SIGNER_MISMATCH']));
  test('another image digest → SIGNED_DIGEST_MISMATCH', () =>
    assert.deepEqual(codes(check({ digest: `sha256:${'0'.repeat(64)}` })), ['SIGNED_DIGEST_MISMATCH']));
  test('another predicate type (slsaprovenance1) → PAYLOAD_INVALID; signature mode → PAYLOAD_INVALID (an attestation is no signature)', () => {
    assert.deepEqual(codes(check({ predicateType: 'slsaprovenance1' })), ['PAYLOAD_INVALID']);
  });
});
