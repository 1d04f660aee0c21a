// The cosign attack corpus, end to end: each attack's artifacts are pushed next to a real image in the real
// docker-registry, and the verifier (keys and trusted root loaded once) must reject it with its named code — while
// the same image with an honest signature verifies, so a rejection is the attack's doing and not the setup's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ErrorCode } from '../../src/errors/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { type CosignVerdict, createCosignVerifier } from '../../src/trust/cosign/index.js';
import {
  type CosignKey,
  cosignKey,
  type FakeSigstore,
  fakeSigstore,
  hostile,
  legacyPushSet,
  type PushSet,
  pushArtifacts,
  type RunningRegistry,
  referrersPushSet,
  type SeededImages,
  seedRegistry,
  signLegacy,
  simpleSigningPayload,
  startRegistry,
} from '../harness/index.js';

const ISSUER = 'https://accounts.example.com';
const SUBJECT = 'release@acme.example';

describe('cosign attacks against the real docker-registry', () => {
  let reg: RunningRegistry;
  let images: SeededImages;
  let sigstore: FakeSigstore;
  let key: CosignKey;
  let client: RegistryClient;
  let n = 0;
  /** a fresh repository holding demo/app:1.0-amd64 (same digest every time) and `attack`'s artifacts */
  const setup = async (attack: (digest: string, repo: string) => PushSet): Promise<string> => {
    const repo = `attack/case-${++n}`;
    const img = images.layout.built.app.images[0]!;
    await pushArtifacts(reg.host, repo, {
      blobs: [img.config.bytes, ...img.layers.map((l) => l.bytes)],
      manifests: [{ bytes: img.manifest.bytes, mediaType: img.manifest.mediaType, tag: '1.0' }],
    });
    await pushArtifacts(reg.host, repo, attack(img.manifest.digest, `${reg.host}/${repo}`));
    return `${reg.host}/${repo}:1.0`;
  };
  const keyed = () => createCosignVerifier({ client, keys: [key.pem], trustedRoot: sigstore.trustedRoot });
  const keyless = () =>
    createCosignVerifier({
      client,
      trustedRoot: sigstore.trustedRoot,
      identities: [{ issuer: ISSUER, subject: SUBJECT }],
    });
  const rejected = (v: CosignVerdict, code: ErrorCode) => {
    assert.equal(v.ok, false, `expected ${code}, but it verified`);
    assert.equal(v.problems[0]?.code, code, JSON.stringify(v.problems, null, 1));
    assert.equal(v.pinned, undefined);
    assert.deepEqual(v.claims, []);
  };

  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    images = await seedRegistry(reg);
    sigstore = fakeSigstore();
    key = cosignKey('p256');
    client = new RegistryClient();
  });
  after(async () => {
    await client?.close();
    await reg?.stop();
  });

  test('control: the honest keyed and keyless signatures of the same image verify', async () => {
    const honestKeyed = await setup((digest, repo) =>
      legacyPushSet(digest, [
        signLegacy({ payload: simpleSigningPayload({ digest, dockerReference: repo }), key, tlog: sigstore }),
      ]),
    );
    assert.equal((await keyed().verify(honestKeyed)).ok, true);
    const ci = sigstore.issue({ subject: SUBJECT, issuer: ISSUER });
    const honestKeyless = await setup((digest, repo) =>
      legacyPushSet(digest, [
        signLegacy({ payload: simpleSigningPayload({ digest, dockerReference: repo }), signer: ci }),
      ]),
    );
    assert.equal((await keyless().verify(honestKeyless)).ok, true);
  });

  test('a valid signature over another digest: SIGNED_DIGEST_MISMATCH', async () => {
    const ref = await setup((digest, repo) =>
      legacyPushSet(digest, [
        hostile.signatureOverOtherDigest({
          otherDigest: images.demoAppArm64.digest,
          dockerReference: repo,
          signer: key,
          tlog: sigstore,
        }),
      ]),
    );
    rejected(await keyed().verify(ref), 'SIGNED_DIGEST_MISMATCH');
  });

  test("a valid signature replayed from another image's .sig: SIGNED_DIGEST_MISMATCH", async () => {
    const other = signLegacy({
      payload: simpleSigningPayload({
        digest: images.demoAppArm64.digest,
        dockerReference: `${reg.host}/demo/app`,
      }),
      key,
      tlog: sigstore,
    });
    const ref = await setup((digest) => legacyPushSet(digest, [hostile.replay(other)]));
    rejected(await keyed().verify(ref), 'SIGNED_DIGEST_MISMATCH');
  });

  test('signed by another key: SIGNATURE_INVALID', async () => {
    const mallory = cosignKey('p256');
    const ref = await setup((digest, repo) =>
      legacyPushSet(digest, [
        signLegacy({
          payload: simpleSigningPayload({ digest, dockerReference: repo }),
          key: mallory,
          tlog: sigstore,
        }),
      ]),
    );
    rejected(await keyed().verify(ref), 'SIGNATURE_INVALID');
  });

  test('keyless by another identity: SIGNER_MISMATCH', async () => {
    const mallory = sigstore.issue({ subject: 'mallory@evil.example', issuer: ISSUER });
    const ref = await setup((digest, repo) =>
      legacyPushSet(digest, [
        signLegacy({ payload: simpleSigningPayload({ digest, dockerReference: repo }), signer: mallory }),
      ]),
    );
    rejected(await keyless().verify(ref), 'SIGNER_MISMATCH');
  });

  test('a certificate outside its validity at the integrated time: CERTIFICATE_INVALID', async () => {
    const ref = await setup((digest, repo) =>
      legacyPushSet(digest, [
        hostile.expiredAtIntegratedTime({
          payload: simpleSigningPayload({ digest, dockerReference: repo }),
          sigstore,
          subject: SUBJECT,
          issuer: ISSUER,
        }),
      ]),
    );
    rejected(await keyless().verify(ref), 'CERTIFICATE_INVALID');
  });

  test('a forged SET: TLOG_INVALID', async () => {
    const ref = await setup((digest, repo) =>
      legacyPushSet(digest, [
        hostile.forgedSet(
          signLegacy({
            payload: simpleSigningPayload({ digest, dockerReference: repo }),
            key,
            tlog: sigstore,
          }),
        ),
      ]),
    );
    rejected(await keyed().verify(ref), 'TLOG_INVALID');
  });

  test('an attacker CA in the chain annotation is not trust: CERTIFICATE_INVALID', async () => {
    const attacker = fakeSigstore();
    const ref = await setup((digest, repo) =>
      legacyPushSet(digest, [
        hostile.attackerCa({
          payload: simpleSigningPayload({ digest, dockerReference: repo }),
          attacker,
          trusted: sigstore,
          subject: SUBJECT,
          issuer: ISSUER,
        }),
      ]),
    );
    rejected(await keyless().verify(ref), 'CERTIFICATE_INVALID');
  });

  test('a payload naming another repository: IDENTITY_MISMATCH', async () => {
    const ref = await setup((digest) =>
      legacyPushSet(digest, [
        hostile.payloadForOtherRepository({
          digest,
          otherRepository: `${reg.host}/someone/else`,
          signer: key,
          tlog: sigstore,
        }),
      ]),
    );
    rejected(await keyed().verify(ref), 'IDENTITY_MISMATCH');
  });

  test('a bundle for another artifact: SIGNED_DIGEST_MISMATCH', async () => {
    const img = images.layout.built.app.images[0]!;
    const ref = await setup(() =>
      referrersPushSet(img.manifest, [
        hostile.bundleForOtherArtifact({
          otherArtifact: images.demoAppArm64.bytes,
          signer: key,
          tlog: sigstore,
        }),
      ]),
    );
    rejected(await keyed().verify(ref), 'SIGNED_DIGEST_MISMATCH');
  });

  test('an attestation whose subject is another image: SIGNED_DIGEST_MISMATCH', async () => {
    const img = images.layout.built.app.images[0]!;
    const ci = sigstore.issue({ subject: SUBJECT, issuer: ISSUER });
    const ref = await setup(() =>
      referrersPushSet(img.manifest, [
        hostile.attestationAboutOtherImage({
          otherDigest: images.demoAppArm64.digest,
          signer: ci,
          predicateType: 'https://slsa.dev/provenance/v1',
          predicate: {},
        }),
      ]),
    );
    const v = await createCosignVerifier({
      client,
      trustedRoot: sigstore.trustedRoot,
      identities: [{ issuer: ISSUER, subject: SUBJECT }],
      attestation: 'slsaprovenance1',
    }).verify(ref);
    rejected(v, 'SIGNED_DIGEST_MISMATCH');
    assert.equal(v.attestations, undefined);
    // and a cosign v3 signature statement about another image, in signature mode
    const sig = await setup(() =>
      referrersPushSet(img.manifest, [
        hostile.attestationAboutOtherImage({ otherDigest: images.demoAppArm64.digest, signer: ci }),
      ]),
    );
    rejected(await keyless().verify(sig), 'SIGNED_DIGEST_MISMATCH');
  });

  test('a 100 MiB "signature" layer is refused before a byte of it is read: SIZE_EXCEEDED', async () => {
    let blobBytes = 0;
    const counting = new RegistryClient({
      onRequest: (_method, url) => {
        if (url.includes('/blobs/')) blobBytes++;
      },
    });
    const ref = await setup((digest, repo) =>
      hostile.hugeSignatureLayer({
        imageDigest: digest,
        layer: signLegacy({
          payload: simpleSigningPayload({ digest, dockerReference: repo }),
          key,
          tlog: sigstore,
        }),
      }),
    );
    const v = await createCosignVerifier({
      client: counting,
      keys: [key.pem],
      trustedRoot: sigstore.trustedRoot,
      fetchImage: false,
    }).verify(ref);
    await counting.close();
    rejected(v, 'SIZE_EXCEEDED');
    assert.equal(blobBytes, 0, 'no blob request was made for the oversized layer');
  });
});
