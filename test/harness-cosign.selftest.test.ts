// The cosign signer harness (test/harness/cosign.ts) makes what cosign makes: every artifact verifies with
// @sigstore/verify directly over the fake trusted root (legacy layers through an inline SignedEntity mapping,
// wave2 §A.2; bundles through toSignedEntity) and through trustpin's checkArtifact; every hostile variant fails;
// the payload bytes equal cosign's own (containers-image fixtures), and the wave2 traps hold against the fake root.
import assert from 'node:assert/strict';
import { createHash, verify as cryptoVerify, X509Certificate as NodeX509 } from 'node:crypto';
import { describe, test } from 'node:test';
import { bundleFromJSON, type TransparencyLogEntry } from '@sigstore/bundle';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { type SignedEntity, toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import {
  type CheckContext,
  checkArtifact,
  loadTrustedRoot,
  type SignatureCheck,
} from '../src/trust/cosign/index.js';
import {
  bundleArtifact,
  COSIGN_ANNOTATION,
  type CosignKey,
  cosignKey,
  digestOf,
  dsseBundle,
  fakeSigstore,
  hostile,
  inTotoStatement,
  type LegacyLayer,
  legacyArtifact,
  legacyPushSet,
  messageSignatureBundle,
  referrersPushSet,
  type SigstoreBundle,
  SLSA_PROVENANCE_V1,
  sigManifest,
  signLegacy,
  signLegacyAttestation,
  simpleSigningPayload,
  slsaProvenance,
} from './harness/cosign.js';
import { digestTag } from './harness/push.js';
import { skipNoVectors, vector } from './vectors.js';

const NOW = new Date('2026-12-01T10:00:00Z');
const CHECK_AT = new Date('2026-12-02T12:00:00Z');
const REPO = 'registry.test/team/app';
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    note: 'the image',
  }),
);
const DIGEST = digestOf(MANIFEST);
const OTHER_MANIFEST = Buffer.from('{"schemaVersion":2,"note":"another image"}');
const OTHER = digestOf(OTHER_MANIFEST);
const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/team/app/.github/workflows/release.yml@refs/heads/main';

const sigstore = fakeSigstore({ now: NOW });
const root = loadTrustedRoot(sigstore.trustedRoot, 'fake sigstore');
const material = toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot));
const keyless = sigstore.issue({
  subject: SUBJECT,
  issuer: ISSUER,
  extensions: { githubWorkflowRepository: 'team/app', sourceRepositoryURI: 'https://github.com/team/app' },
});
const payload = simpleSigningPayload({ digest: DIGEST, dockerReference: REPO });

// ---- @sigstore/verify directly: the legacy mapping (wave2 §A.2), written here independently of src/ ----

function legacyEntity(l: LegacyLayer): SignedEntity {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest();
  let signed = l.payload;
  let sig: Buffer;
  let digest = sha(l.payload);
  if (l.mediaType === 'application/vnd.dsse.envelope.v1+json') {
    const env = JSON.parse(l.payload.toString());
    const body = Buffer.from(env.payload, 'base64');
    signed = Buffer.concat([
      Buffer.from(`DSSEv1 ${env.payloadType.length} ${env.payloadType} ${body.length} `),
      body,
    ]);
    sig = Buffer.from(env.signatures[0].sig, 'base64');
    digest = sha(body);
  } else {
    sig = Buffer.from(l.annotations[COSIGN_ANNOTATION.signature]!, 'base64');
  }
  const tlogEntries: TransparencyLogEntry[] = [];
  const bundle = l.annotations[COSIGN_ANNOTATION.bundle];
  if (bundle) {
    const b = JSON.parse(bundle);
    const body = Buffer.from(b.Payload.body, 'base64');
    const parsed = JSON.parse(body.toString());
    tlogEntries.push({
      logIndex: String(b.Payload.logIndex),
      logId: { keyId: Buffer.from(b.Payload.logID, 'hex') },
      kindVersion: { kind: parsed.kind, version: parsed.apiVersion },
      integratedTime: String(b.Payload.integratedTime),
      inclusionPromise: { signedEntryTimestamp: Buffer.from(b.SignedEntryTimestamp, 'base64') },
      inclusionProof: undefined,
      canonicalizedBody: body,
    });
  }
  const cert = l.annotations[COSIGN_ANNOTATION.certificate];
  return {
    signature: {
      signature: sig,
      compareSignature: (s) => s.equals(sig),
      compareDigest: (d) => d.equals(digest),
      verifySignature: (k) =>
        cryptoVerify(k.asymmetricKeyType === 'ed25519' ? null : 'sha256', signed, k, sig),
    },
    key: cert
      ? { $case: 'certificate', certificate: X509Certificate.parse(cert) }
      : { $case: 'public-key', hint: 'configured' },
    tlogEntries,
    timestamps: tlogEntries.map((tlogEntry) => ({ $case: 'transparency-log', tlogEntry })),
  };
}

function keyedMaterial(k: CosignKey) {
  return toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot), () => ({
    publicKey: k.publicKey,
    validFor: () => true,
  }));
}

const keylessPolicy = { subjectAlternativeName: SUBJECT, extensions: { issuer: ISSUER } };
const strict = { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 };
const noLog = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };

const verifyLegacyKeyless = (l: LegacyLayer, m = material) =>
  new Verifier(m, strict).verify(legacyEntity(l), keylessPolicy);
const verifyBundle = (b: SigstoreBundle, o: { key?: CosignKey; artifact?: Buffer } = {}) =>
  new Verifier(
    o.key ? keyedMaterial(o.key) : material,
    o.key ? { ...strict, ctlogThreshold: 0 } : strict,
  ).verify(toSignedEntity(bundleFromJSON(b.json), o.artifact), o.key ? undefined : keylessPolicy);

// ---- trustpin's checkArtifact ----

function ctx(
  o: { key?: CosignKey; requireTlog?: boolean; digest?: string } & Partial<CheckContext> = {},
): CheckContext {
  const { key, requireTlog, ...rest } = o;
  return {
    digest: DIGEST,
    repository: REPO,
    artifact: MANIFEST,
    now: CHECK_AT,
    trust: {
      keys: key ? [{ keyId: key.keyId, key: key.publicKey }] : [],
      identities: key ? [] : [{ issuer: ISSUER, subject: SUBJECT }],
      trustedRoot: root,
      requireTlog: requireTlog ?? !key,
    },
    ...rest,
  };
}
const codes = (c: SignatureCheck) => c.problems.map((p) => p.code);
function passes(c: SignatureCheck): void {
  assert.deepEqual(codes(c), [], JSON.stringify(c.problems, null, 1));
  assert.equal(c.ok, true);
}
function failsWith(c: SignatureCheck, code: string): void {
  assert.equal(c.ok, false);
  assert.ok(codes(c).includes(code as never), `expected ${code}, got ${codes(c).join(',') || 'a pass'}`);
}

describe('byte-exact with cosign', () => {
  test('simple-signing payload equals cosign’s (containers-image fixture)', { skip: skipNoVectors }, () => {
    const raw = vector('containers-image/signature/fixtures/dir-img-cosign-valid/signature-1');
    const prefix = '\x00sigstore-json\n';
    assert.equal(raw.subarray(0, prefix.length).toString('latin1'), prefix);
    const fromCosign = Buffer.from(JSON.parse(raw.subarray(prefix.length).toString()).payload, 'base64');
    const parsed = JSON.parse(fromCosign.toString());
    const ours = simpleSigningPayload({
      digest: parsed.critical.image['docker-manifest-digest'],
      dockerReference: parsed.critical.identity['docker-reference'],
    });
    assert.equal(ours.toString(), fromCosign.toString());
  });

  test('Go escaping and sorted optional annotations', () => {
    const p = simpleSigningPayload({
      digest: DIGEST,
      dockerReference: REPO,
      annotations: { z: 'a<b>&c', a: '1' },
    });
    assert.equal(
      p.toString(),
      `{"critical":{"identity":{"docker-reference":"${REPO}"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":{"a":"1","z":"a\\u003cb\\u003e\\u0026c"}}`,
    );
  });

  test('tags and .sig manifest shape', () => {
    assert.equal(digestTag(DIGEST, 'sig'), `${DIGEST.replace(':', '-')}.sig`);
    assert.equal(digestTag(DIGEST), DIGEST.replace(':', '-'));
    const l = signLegacy({ payload, key: cosignKey() });
    const m = sigManifest([l], { forDigest: DIGEST });
    assert.equal(
      m.config.toString(),
      `{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":["${digestOf(payload)}"]}}`,
    );
    const doc = JSON.parse(m.manifest.bytes.toString());
    assert.equal(doc.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(doc.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    assert.deepEqual(doc.layers[0].annotations, l.annotations);
    assert.equal(m.manifest.tag, `${DIGEST.replace(':', '-')}.sig`);
  });
});

describe('keyed', () => {
  for (const kind of ['p256', 'p384', 'rsa', 'ed25519'] as const) {
    test(`legacy .sig, ${kind} key, no log`, () => {
      const key = cosignKey(kind);
      const l = signLegacy({ payload, key });
      new Verifier(keyedMaterial(key), noLog).verify(legacyEntity(l));
      passes(checkArtifact(legacyArtifact(l), ctx({ key, requireTlog: false })));
      failsWith(
        checkArtifact(legacyArtifact(l), ctx({ key: cosignKey(kind), requireTlog: false })),
        'SIGNATURE_INVALID',
      );
    });
  }

  test('legacy .sig with a Rekor SET (cosign sign --key, tlog upload)', () => {
    const key = cosignKey();
    const l = signLegacy({ payload, key, tlog: sigstore });
    new Verifier(keyedMaterial(key), { ...strict, ctlogThreshold: 0 }).verify(legacyEntity(l));
    const c = checkArtifact(legacyArtifact(l), ctx({ key, requireTlog: true }));
    passes(c);
    assert.equal(c.times[0]?.source, 'tlog');
    assert.equal(c.times[0]?.time, NOW.toISOString());
  });

  test('legacy .att and bundles', () => {
    const key = cosignKey();
    const stmt = inTotoStatement({ digest: DIGEST, name: REPO });
    const att = signLegacyAttestation({ statement: stmt, signer: key });
    new Verifier(keyedMaterial(key), noLog).verify(legacyEntity(att));
    passes(checkArtifact(legacyArtifact(att), ctx({ key, requireTlog: false })));

    const msg = messageSignatureBundle({ artifact: MANIFEST, signer: key, tlog: sigstore });
    verifyBundle(msg, { key, artifact: MANIFEST });
    passes(checkArtifact(bundleArtifact(msg), ctx({ key, requireTlog: true })));

    const dsse = dsseBundle({ statement: stmt, signer: key, tlog: sigstore });
    verifyBundle(dsse, { key });
    passes(checkArtifact(bundleArtifact(dsse), ctx({ key, requireTlog: true })));

    const noTlog = dsseBundle({ statement: stmt, signer: key });
    passes(checkArtifact(bundleArtifact(noTlog), ctx({ key, requireTlog: false })));
  });
});

describe('keyless (fake Fulcio + CT log + Rekor)', () => {
  test('the leaf is Fulcio-shaped: empty subject, critical SAN, codeSigning, issuer OIDs, SCT', () => {
    const c = new NodeX509(keyless.certificateDer);
    assert.equal(c.subject, undefined);
    assert.equal(c.subjectAltName, `URI:${SUBJECT}`);
    assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.3']);
    assert.ok(c.verify(new NodeX509(sigstore.caChain[0]!).publicKey));
    assert.ok(X509Certificate.parse(Buffer.from(keyless.certificateDer)).extSCT);
    assert.equal(c.validFrom, 'Dec  1 10:00:00 2026 GMT');
    assert.equal(c.validTo, 'Dec  1 10:10:00 2026 GMT');
  });

  test('legacy .sig: certificate, chain, Rekor bundle; SCT and SET required', () => {
    const l = signLegacy({ payload, signer: keyless });
    assert.deepEqual(
      Object.keys(l.annotations).sort(),
      [
        COSIGN_ANNOTATION.signature,
        COSIGN_ANNOTATION.bundle,
        COSIGN_ANNOTATION.certificate,
        COSIGN_ANNOTATION.chain,
      ].sort(),
    );
    const signer = verifyLegacyKeyless(l);
    assert.equal(signer.identity?.subjectAlternativeName, SUBJECT);
    const c = checkArtifact(legacyArtifact(l), ctx());
    passes(c);
    assert.equal(c.certificate?.extensions.githubWorkflowRepository, 'team/app');
    assert.equal(c.certificate?.extensions.sourceRepositoryURI, 'https://github.com/team/app');
    assert.equal(c.certificate?.extensions.issuer, ISSUER);
    // the cert lived 10 minutes on 2026-12-01; it is checked at the SET's time, a day later
    assert.equal(c.times[0]?.time, NOW.toISOString());
  });

  test('legacy .att with a SLSA provenance predicate (intoto 0.0.2 entry)', () => {
    const stmt = inTotoStatement({
      digest: DIGEST,
      name: REPO,
      predicateType: SLSA_PROVENANCE_V1,
      predicate: slsaProvenance({ sourceRepository: 'https://github.com/team/app', commit: 'a'.repeat(40) }),
    });
    const att = signLegacyAttestation({ statement: stmt, signer: keyless });
    verifyLegacyKeyless(att);
    const c = checkArtifact(legacyArtifact(att), ctx({ predicateType: SLSA_PROVENANCE_V1 }));
    passes(c);
    assert.equal(c.statement?.predicateType, SLSA_PROVENANCE_V1);
    assert.equal(
      (
        c.statement!.predicate as {
          buildDefinition: { resolvedDependencies: { digest: { gitCommit: string } }[] };
        }
      ).buildDefinition.resolvedDependencies[0]!.digest.gitCommit,
      'a'.repeat(40),
    );
  });

  test('v0.3 bundles: message signature, cosign v3 sign DSSE, SLSA attestation (inclusion proof + checkpoint)', () => {
    const msg = messageSignatureBundle({ artifact: MANIFEST, signer: keyless });
    verifyBundle(msg, { artifact: MANIFEST });
    passes(checkArtifact(bundleArtifact(msg), ctx()));

    const sign = dsseBundle({ statement: inTotoStatement({ digest: DIGEST, name: REPO }), signer: keyless });
    assert.equal(sign.predicateType, 'https://sigstore.dev/cosign/sign/v1');
    verifyBundle(sign);
    passes(checkArtifact(bundleArtifact(sign), ctx()));

    const prov = dsseBundle({
      statement: inTotoStatement({
        digest: DIGEST,
        predicateType: SLSA_PROVENANCE_V1,
        predicate: slsaProvenance({
          sourceRepository: 'https://github.com/team/app',
          commit: 'b'.repeat(40),
        }),
      }),
      signer: keyless,
    });
    verifyBundle(prov);
    passes(checkArtifact(bundleArtifact(prov), ctx({ predicateType: SLSA_PROVENANCE_V1 })));
    // the checkpoint is checked too: a bundle whose checkpoint signature is forged fails even with a good SET
    const forged = structuredClone(prov.json) as {
      verificationMaterial: { tlogEntries: { inclusionProof: { checkpoint: { envelope: string } } }[] };
    };
    const cp = forged.verificationMaterial.tlogEntries[0]!.inclusionProof.checkpoint;
    cp.envelope = cp.envelope.replace(/ (\S+)\n$/, (_m, sig: string) => {
      const b = Buffer.from(sig, 'base64');
      b[b.length - 1] = b[b.length - 1]! ^ 1;
      return ` ${b.toString('base64')}\n`;
    });
    assert.throws(
      () => new Verifier(material, strict).verify(toSignedEntity(bundleFromJSON(forged)), keylessPolicy),
      { code: 'TLOG_INCLUSION_PROOF_ERROR' },
    );
  });

  test('an injectable clock: a function is read at each issue and log', () => {
    let t = new Date('2026-06-01T00:00:00Z');
    const s = fakeSigstore({ now: () => t, validFrom: new Date('2026-01-01T00:00:00Z') });
    const a = s.issue({ subject: 'a@example.com', issuer: ISSUER });
    t = new Date('2026-06-02T00:00:00Z');
    const l = signLegacy({ payload, signer: a });
    assert.equal(a.notBefore.toISOString(), '2026-06-01T00:00:00.000Z');
    assert.equal(l.logEntry?.integratedTime, Date.parse('2026-06-02T00:00:00Z') / 1000);
  });
});

describe('RFC 3161 timestamps from the fake TSA', () => {
  const tsaOnly = { tlogThreshold: 0, ctlogThreshold: 1, timestampThreshold: 1 };
  test('keyless without Rekor, timestamped: legacy annotation and v0.3 bundle', () => {
    const l = signLegacy({ payload, signer: keyless, tlog: false, tsa: sigstore });
    assert.ok(l.annotations[COSIGN_ANNOTATION.timestamp]);
    assert.equal(l.annotations[COSIGN_ANNOTATION.bundle], undefined);
    const entity = legacyEntity(l);
    const tsr = JSON.parse(l.annotations[COSIGN_ANNOTATION.timestamp]!).SignedRFC3161Timestamp;
    entity.timestamps.push({
      $case: 'timestamp-authority',
      timestamp: RFC3161Timestamp.parse(Buffer.from(tsr, 'base64')),
    });
    new Verifier(material, tsaOnly).verify(entity, keylessPolicy);
    const c = checkArtifact(legacyArtifact(l), ctx({ requireTlog: false }));
    passes(c);
    assert.deepEqual(
      c.times.map((t) => t.source),
      ['timestamp-authority'],
    );

    const b = dsseBundle({
      statement: inTotoStatement({ digest: DIGEST }),
      signer: keyless,
      tlog: false,
      tsa: sigstore,
    });
    new Verifier(material, tsaOnly).verify(toSignedEntity(bundleFromJSON(b.json)), keylessPolicy);
    passes(checkArtifact(bundleArtifact(b), ctx({ requireTlog: false })));
  });

  test('a timestamp from another TSA, or at a time the certificate was not valid, fails', () => {
    const other = signLegacy({ payload, signer: keyless, tlog: false, tsa: fakeSigstore({ now: NOW }) });
    failsWith(checkArtifact(legacyArtifact(other), ctx({ requireTlog: false })), 'TIMESTAMP_INVALID');
    const late = signLegacy({
      payload,
      signer: keyless,
      tlog: false,
      tsa: sigstore,
      timestampTime: new Date(NOW.getTime() + 3600_000),
    });
    failsWith(checkArtifact(legacyArtifact(late), ctx({ requireTlog: false })), 'CERTIFICATE_INVALID');
  });
});

describe('wave2 traps hold against the fake root', () => {
  test('the SCT is checked against the root’s CT log key', () => {
    const l = signLegacy({ payload, signer: keyless });
    const otherCt = structuredClone(sigstore.trustedRoot) as { ctlogs: unknown[] };
    otherCt.ctlogs = (fakeSigstore({ now: NOW }).trustedRoot as { ctlogs: unknown[] }).ctlogs;
    assert.throws(
      () => verifyLegacyKeyless(l, toTrustMaterial(TrustedRoot.fromJSON(otherCt))),
      /SCT verification failed/,
    );
    failsWith(
      checkArtifact(
        legacyArtifact(l),
        ctx({ trust: { ...ctx().trust, trustedRoot: loadTrustedRoot(otherCt, 'x') } }),
      ),
      'CERTIFICATE_INVALID',
    );
  });

  test('the SET is checked against the root’s Rekor key', () => {
    const l = hostile.setFromOtherLog({ payload, signer: keyless, otherLog: fakeSigstore({ now: NOW }) });
    assert.throws(() => verifyLegacyKeyless(l), { code: 'TLOG_INCLUSION_PROMISE_ERROR' });
    failsWith(checkArtifact(legacyArtifact(l), ctx()), 'TLOG_INVALID');
  });

  test('every trusted-root entry has validFor.start (trustpin refuses roots without)', () => {
    const r = sigstore.trustedRoot as Record<
      string,
      { validFor?: { start?: string }; publicKey?: { validFor?: { start?: string } } }[]
    >;
    for (const e of [...r.tlogs!, ...r.ctlogs!]) assert.ok(e.publicKey?.validFor?.start);
    for (const e of r.certificateAuthorities!) assert.ok(e.validFor?.start);
    const bad = structuredClone(sigstore.trustedRoot) as { tlogs: { publicKey: { validFor: object } }[] };
    bad.tlogs[0]!.publicKey.validFor = {};
    assert.throws(() => loadTrustedRoot(bad, 'bad'), { code: 'TRUSTED_ROOT_INVALID' });
  });
});

describe('hostile variants fail', () => {
  const key = cosignKey();
  test('signature over another digest, or replayed from another image', () => {
    failsWith(
      checkArtifact(
        legacyArtifact(
          hostile.signatureOverOtherDigest({ otherDigest: OTHER, dockerReference: REPO, signer: keyless }),
        ),
        ctx(),
      ),
      'SIGNED_DIGEST_MISMATCH',
    );
    const theirs = signLegacy({
      payload: simpleSigningPayload({ digest: OTHER, dockerReference: REPO }),
      key,
    });
    // valid for the other image …
    passes(checkArtifact(legacyArtifact(theirs), ctx({ key, requireTlog: false, digest: OTHER })));
    // … not for this one
    failsWith(
      checkArtifact(legacyArtifact(hostile.replay(theirs)), ctx({ key, requireTlog: false })),
      'SIGNED_DIGEST_MISMATCH',
    );
  });

  test('payload naming another repository', () => {
    const l = hostile.payloadForOtherRepository({
      digest: DIGEST,
      otherRepository: 'registry.test/evil/app',
      signer: key,
    });
    failsWith(checkArtifact(legacyArtifact(l), ctx({ key, requireTlog: false })), 'IDENTITY_MISMATCH');
  });

  test('attacker CA in the chain annotation', () => {
    const l = hostile.attackerCa({
      payload,
      attacker: fakeSigstore({ now: NOW }),
      trusted: sigstore,
      subject: SUBJECT,
      issuer: ISSUER,
    });
    assert.throws(() => verifyLegacyKeyless(l), { code: 'CERTIFICATE_ERROR' });
    failsWith(checkArtifact(legacyArtifact(l), ctx()), 'CERTIFICATE_INVALID');
  });

  test('forged SET, moved integratedTime', () => {
    const good = signLegacy({ payload, signer: keyless });
    for (const l of [hostile.forgedSet(good), hostile.movedIntegratedTime(good, 60)]) {
      assert.throws(() => verifyLegacyKeyless(l), { code: 'TLOG_INCLUSION_PROMISE_ERROR' });
      failsWith(checkArtifact(legacyArtifact(l), ctx()), 'TLOG_INVALID');
    }
  });

  test('certificate expired at the integrated time', () => {
    const l = hostile.expiredAtIntegratedTime({ payload, sigstore, subject: SUBJECT, issuer: ISSUER });
    assert.throws(() => verifyLegacyKeyless(l), { code: 'CERTIFICATE_ERROR' });
    failsWith(checkArtifact(legacyArtifact(l), ctx()), 'CERTIFICATE_INVALID');
  });

  test('keyless certificate without an SCT', () => {
    const l = hostile.noSct({ payload, sigstore, subject: SUBJECT, issuer: ISSUER });
    assert.throws(() => verifyLegacyKeyless(l), /ctlog|SCT/i);
    failsWith(checkArtifact(legacyArtifact(l), ctx()), 'CERTIFICATE_INVALID');
  });

  test('bundle for another artifact', () => {
    const b = hostile.bundleForOtherArtifact({ otherArtifact: OTHER_MANIFEST, signer: keyless });
    verifyBundle(b, { artifact: OTHER_MANIFEST }); // a true signature …
    assert.throws(() => verifyBundle(b, { artifact: MANIFEST })); // … of other bytes
    const c = checkArtifact(bundleArtifact(b), ctx());
    assert.equal(c.ok, false, 'a bundle over another manifest passed');
  });

  test('attestation whose subject is another image', () => {
    const b = hostile.attestationAboutOtherImage({ otherDigest: OTHER, signer: keyless });
    verifyBundle(b);
    failsWith(checkArtifact(bundleArtifact(b), ctx()), 'SIGNED_DIGEST_MISMATCH');
    const att = signLegacyAttestation({ statement: inTotoStatement({ digest: OTHER }), signer: keyless });
    failsWith(checkArtifact(legacyArtifact(att), ctx()), 'SIGNED_DIGEST_MISMATCH');
  });

  test('a 100 MiB "signature" layer descriptor', () => {
    const set = hostile.hugeSignatureLayer({ imageDigest: DIGEST, layer: signLegacy({ payload, key }) });
    const doc = JSON.parse(set.manifests[0]!.bytes.toString());
    assert.equal(doc.layers[0].size, 100 * 1024 * 1024);
    assert.equal(set.manifests[0]!.tag, digestTag(DIGEST, 'sig'));
  });

  test('wrong identity (SAN or issuer) is a signer mismatch', () => {
    const l = signLegacy({
      payload,
      signer: sigstore.issue({ subject: 'mallory@example.com', issuer: ISSUER }),
    });
    failsWith(checkArtifact(legacyArtifact(l), ctx()), 'SIGNER_MISMATCH');
  });
});

describe('push sets', () => {
  test('legacy and referrer push sets carry every blob the manifests name', () => {
    const subject = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: DIGEST,
      size: MANIFEST.length,
    };
    const sets = [
      legacyPushSet(DIGEST, [signLegacy({ payload, signer: keyless })]),
      referrersPushSet(subject, [
        messageSignatureBundle({ artifact: MANIFEST, signer: keyless }),
        dsseBundle({ statement: inTotoStatement({ digest: DIGEST }), signer: keyless }),
      ]),
    ];
    for (const s of sets) {
      const have = new Set(s.blobs.map(digestOf));
      for (const m of s.manifests) {
        const doc = JSON.parse(m.bytes.toString());
        for (const d of [doc.config, ...(doc.layers ?? [])].filter(Boolean))
          assert.ok(have.has(d.digest), d.digest);
      }
    }
    const index = JSON.parse(sets[1]!.manifests[2]!.bytes.toString());
    assert.equal(sets[1]!.manifests[2]!.tag, digestTag(DIGEST));
    assert.deepEqual(
      index.manifests.map(
        (m: { annotations: Record<string, string> }) => m.annotations['dev.sigstore.bundle.content'],
      ),
      ['message-signature', 'dsse-envelope'],
    );
    const ref = JSON.parse(sets[1]!.manifests[0]!.bytes.toString());
    assert.equal(ref.artifactType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.equal(ref.config.mediaType, 'application/vnd.oci.empty.v1+json');
    assert.equal(ref.subject.digest, DIGEST);
  });
});

describe('signing time', () => {
  test('keyless legacy signature (issue + sign + log) per image', () => {
    const n = 20;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = sigstore.issue({ subject: SUBJECT, issuer: ISSUER });
      signLegacy({
        payload: simpleSigningPayload({ digest: digestOf(`img ${i}`), dockerReference: REPO }),
        signer: s,
      });
    }
    const perSig = (performance.now() - t0) / n;
    const k = cosignKey();
    const t1 = performance.now();
    for (let i = 0; i < n; i++)
      signLegacy({
        payload: simpleSigningPayload({ digest: digestOf(`img ${i}`), dockerReference: REPO }),
        key: k,
      });
    const perKeyed = (performance.now() - t1) / n;
    console.log(`# keyless legacy signature: ${perSig.toFixed(2)} ms; keyed: ${perKeyed.toFixed(3)} ms`);
    assert.ok(perSig < 200, `${perSig} ms per keyless signature`);
  });
});
