// The Notation attack corpus: a hostile signer's forgeries, each written next to a tiny image in an OCI layout
// (as notation writes signatures: the signature manifest and its tag-schema index `sha256-<hex>`) and verified
// offline through createNotationVerifier — each refused with its named code, while the same image with an honest
// signature verifies (JWS and COSE, RSA and EC, with an intermediate), so a refusal is the forgery's doing.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { type BuiltImage, buildImage } from '../../src/demo/build.js';
import type { Digest } from '../../src/digest/index.js';
import type { ErrorCode } from '../../src/errors/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { blobPath, INDEX_FILE, indexEntry } from '../../src/source/index.js';
import { type AttachmentStore, openWithAttachments } from '../../src/trust/attachments/index.js';
import { discoverNotationSignatures } from '../../src/trust/notation/discover.js';
import { MAX_NOTATION_ENVELOPE_BYTES } from '../../src/trust/notation/envelope.js';
import { createNotationVerifier, type NotationVerdict } from '../../src/trust/notation/verifier.js';
import {
  defaultPolicy,
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_HEADER,
  NOTATION_JWS_MEDIA_TYPE,
  NOTATION_SIGNATURE_ARTIFACT_TYPE,
  type NotationPki,
  notationPayload,
  notationPki,
  notationSignatureManifest,
  type SignOptions,
  signCose,
  signJws,
  type TargetArtifact,
  type TestTsa,
  testTsa,
  writeNotationToLayout,
  writeTrustStore,
} from '../harness/notation.js';
import { writeOciLayout } from '../harness/oci-layout-writer.js';
import { built } from '../harness/push.js';

const DAY = 86_400_000;
const NOW = Date.now();
const ago = (days: number) => new Date(NOW - days * DAY);
const SMALL = { rootKey: 'rsa-2048', intermediateKey: 'rsa-2048', leafKey: 'rsa-2048' } as const;
const SMALL_EC = { rootKey: 'ec-p256', intermediateKey: 'ec-p256', leafKey: 'ec-p256' } as const;
const LONG_CA = { notBefore: ago(400), notAfter: new Date(NOW + 3650 * DAY) };

// the PKIs, made once: each variant under its own root, in its own named store
const rsa = notationPki(SMALL);
const ec = notationPki(SMALL_EC);
const stranger = notationPki({ ...SMALL_EC, intermediate: false });
const noCodeSigning = notationPki({ ...SMALL_EC, intermediate: false, eku: ['1.3.6.1.5.5.7.3.5'] });
const serverAuth = notationPki({ ...SMALL_EC, intermediate: false, eku: ['codeSigning', 'serverAuth'] });
const caAsLeaf = notationPki({ ...SMALL_EC, intermediate: false, leafIsCa: true });
const sha1 = notationPki({ ...SMALL, intermediate: false, sha1: true });
/** a leaf valid 30 … 10 days ago */
const expired = notationPki({
  ...SMALL_EC,
  notBefore: ago(30),
  notAfter: ago(10),
  caValidity: LONG_CA,
});
const tsaValidity = { notBefore: ago(400), notAfter: new Date(NOW + 3650 * DAY) };
const tsa = testTsa({ key: 'ec-p256', rootKey: 'ec-p256', validity: tsaValidity });
/** its `root` (the one a store would hold) is not the root it chains to */
const rogueTsa = testTsa({ key: 'ec-p256', rootKey: 'ec-p256', validity: tsaValidity, untrusted: true });

const STORES: [string, NotationPki][] = [
  ['test', rsa],
  ['ec', ec],
  ['nocs', noCodeSigning],
  ['server', serverAuth],
  ['caleaf', caAsLeaf],
  ['sha1', sha1],
  ['expired', expired],
];

interface Sig {
  envelope: Buffer;
  mediaType: string;
  chain: Buffer[];
  legacyConfig?: boolean;
}

describe('notation attacks: forged signatures in an OCI layout', () => {
  let image: BuiltImage;
  let other: BuiltImage;
  let target: TargetArtifact;
  let storeRoot: string;
  let n = 0;
  const work = mkdtempSync(join(tmpdir(), 'trustpin-notation-attacks-'));

  before(async () => {
    image = await buildImage({
      platform: { architecture: 'amd64', os: 'linux' },
      layers: [[{ path: 'hello.txt', content: 'hello from the signed image\n' }]],
    });
    other = await buildImage({
      platform: { architecture: 'amd64', os: 'linux' },
      layers: [[{ path: 'hello.txt', content: 'another image\n' }]],
    });
    target = {
      mediaType: image.manifest.mediaType,
      digest: image.manifest.digest,
      size: image.manifest.size,
    };
    storeRoot = join(work, 'truststore');
    for (const [name, pki] of STORES) await writeTrustStore(storeRoot, 'ca', name, [pki.root.der]);
    await writeTrustStore(storeRoot, 'signingAuthority', 'test', [rsa.root.der]);
    await writeTrustStore(storeRoot, 'tsa', 'test', [tsa.root.der]);
    await writeTrustStore(storeRoot, 'tsa', 'rogue', [rogueTsa.root.der]);
  });

  /** a fresh layout holding the image (tag v1) and `sigs` attached to it; returns `oci:DIR:v1` */
  const layout = async (sigs: Sig[], img: BuiltImage = image): Promise<{ ref: string; dir: string }> => {
    const dir = join(work, `layout-${++n}`);
    await writeOciLayout(
      dir,
      [img.manifest, img.config, ...img.layers],
      [{ name: 'v1', target: img.manifest }],
    );
    const subject = {
      mediaType: img.manifest.mediaType,
      digest: img.manifest.digest,
      size: img.manifest.size,
    };
    for (const s of sigs)
      await writeNotationToLayout(
        dir,
        subject,
        s.envelope,
        s.mediaType,
        s.chain,
        s.legacyConfig ? { legacyConfig: true } : {},
      );
    return { ref: `oci:${dir}:v1`, dir };
  };
  const verify = (ref: string, policy: Parameters<typeof defaultPolicy>[0] = {}, now = NOW) =>
    createNotationVerifier({
      trustPolicy: Buffer.from(JSON.stringify({ version: '1.0', trustPolicies: [defaultPolicy(policy)] })),
      trustStore: storeRoot,
      offline: true,
      now: () => now,
    }).verify(ref);

  const signer = (pki: NotationPki) => ({ key: pki.leaf.key, chain: pki.chain });
  const jws = (pki: NotationPki, o: Partial<SignOptions> = {}): Sig => ({
    envelope: signJws({ target, signer: signer(pki), ...o }),
    mediaType: NOTATION_JWS_MEDIA_TYPE,
    chain: pki.chain,
  });
  const cose = (pki: NotationPki, o: Partial<SignOptions> = {}): Sig => ({
    envelope: signCose({ target, signer: signer(pki), ...o }),
    mediaType: NOTATION_COSE_MEDIA_TYPE,
    chain: pki.chain,
  });

  const passes = (v: NotationVerdict) => {
    assert.equal(v.ok, true, JSON.stringify(v.problems, null, 1));
    assert.equal(v.pinned?.endsWith(`@${image.manifest.digest}`), true);
    assert.ok(!v.warnings.some((w) => w.code === 'CHECK_LOGGED'), JSON.stringify(v.warnings));
  };
  const refused = (v: NotationVerdict, code: ErrorCode) => {
    assert.equal(v.ok, false, `expected ${code}, but it verified`);
    assert.equal(v.problems[0]?.code, code, JSON.stringify(v.problems, null, 1));
    assert.equal(v.pinned, undefined);
    assert.deepEqual(v.claims, []);
    // strict: nothing merely logged hides the failure
    assert.ok(!v.warnings.some((w) => w.code === 'CHECK_LOGGED'));
    for (const s of v.signatures) assert.deepEqual(s.logged, []);
  };

  describe('baselines: honest signatures verify', () => {
    test('JWS, RSA-2048 root → intermediate → leaf', async () => {
      const v = await verify((await layout([jws(rsa)])).ref);
      passes(v);
      assert.equal(v.signatures[0]?.format, 'jws');
      assert.equal(v.signatures[0]?.trustStore, 'ca:test');
      assert.equal(v.signatures[0]?.certificates.length, 3);
      assert.ok(v.warnings.some((w) => w.code === 'REVOCATION_NOT_CHECKED'));
    });
    test('COSE, RSA-2048 with intermediate', async () => {
      const v = await verify((await layout([cose(rsa)])).ref);
      passes(v);
      assert.equal(v.signatures[0]?.format, 'cose');
    });
    test('JWS, EC P-256 with intermediate', async () => {
      passes(await verify((await layout([jws(ec)])).ref, { trustStores: ['ca:ec'] }));
    });
    test('COSE, EC P-256 with intermediate', async () => {
      passes(await verify((await layout([cose(ec)])).ref, { trustStores: ['ca:ec'] }));
    });
    test('signingAuthority scheme with a signingAuthority store', async () => {
      const v = await verify(
        (await layout([jws(rsa, { signingScheme: 'notary.x509.signingAuthority' })])).ref,
        { trustStores: ['signingAuthority:test'] },
      );
      passes(v);
      assert.equal(v.signatures[0]?.signingScheme, 'notary.x509.signingAuthority');
    });
    test('a timestamped signature with a valid certificate, tsa store named', async () => {
      const v = await verify(
        (await layout([jws(rsa, { timestamp: { tsa, genTime: new Date(NOW - 60_000) } })])).ref,
        { trustStores: ['ca:test', 'tsa:test'] },
      );
      passes(v);
      assert.equal(v.signatures[0]?.timestamp?.trustStore, 'tsa:test');
    });
  });

  describe('certificates', () => {
    test('an untrusted root → CERTIFICATE_UNTRUSTED', async () => {
      refused(await verify((await layout([jws(stranger)])).ref), 'CERTIFICATE_UNTRUSTED');
    });
    test('a leaf whose EKU lacks codeSigning → CERTIFICATE_INVALID', async () => {
      refused(
        await verify((await layout([jws(noCodeSigning)])).ref, { trustStores: ['ca:nocs'] }),
        'CERTIFICATE_INVALID',
      );
    });
    test('a leaf with serverAuth next to codeSigning → CERTIFICATE_INVALID', async () => {
      refused(
        await verify((await layout([cose(serverAuth)])).ref, { trustStores: ['ca:server'] }),
        'CERTIFICATE_INVALID',
      );
    });
    test('a CA certificate used as the signing leaf → CERTIFICATE_INVALID', async () => {
      const v = await verify((await layout([jws(caAsLeaf)])).ref, { trustStores: ['ca:caleaf'] });
      refused(v, 'CERTIFICATE_INVALID');
      assert.match(v.problems[0]!.message, /CA certificate/);
    });
    test('a SHA-1 signed chain → CERTIFICATE_INVALID', async () => {
      const v = await verify((await layout([jws(sha1)])).ref, { trustStores: ['ca:sha1'] });
      refused(v, 'CERTIFICATE_INVALID');
      assert.match(v.problems[0]!.message, /SHA1|sha1/i);
    });
    test('an expired certificate without a timestamp → CERTIFICATE_EXPIRED', async () => {
      refused(
        await verify((await layout([jws(expired, { signingTime: ago(20) })])).ref, {
          trustStores: ['ca:expired'],
        }),
        'CERTIFICATE_EXPIRED',
      );
    });
    test('the same expired certificate verified at a time inside its validity passes', async () => {
      passes(
        await verify(
          (await layout([jws(expired, { signingTime: ago(20) })])).ref,
          { trustStores: ['ca:expired'] },
          NOW - 19 * DAY,
        ),
      );
    });
  });

  describe('timestamps', () => {
    const expiredStamped = (t: TestTsa, genTime: Date) =>
      jws(expired, { signingTime: ago(20), timestamp: { tsa: t, genTime } });

    test('an expired certificate with a trusted timestamp inside its validity → PASS', async () => {
      const genTime = new Date(Math.floor((NOW - 20 * DAY) / 1000) * 1000);
      const v = await verify((await layout([expiredStamped(tsa, genTime)])).ref, {
        trustStores: ['ca:expired', 'tsa:test'],
      });
      passes(v);
      assert.equal(v.signatures[0]?.timestamp?.time, genTime.toISOString());
    });
    test('COSE: an expired certificate with a trusted timestamp inside its validity → PASS', async () => {
      passes(
        await verify(
          (await layout([cose(expired, { signingTime: ago(20), timestamp: { tsa, genTime: ago(20) } })])).ref,
          { trustStores: ['ca:expired', 'tsa:test'] },
        ),
      );
    });
    test('a timestamp from a TSA chaining to an untrusted root → CERTIFICATE_UNTRUSTED', async () => {
      const v = await verify((await layout([expiredStamped(rogueTsa, ago(20))])).ref, {
        trustStores: ['ca:expired', 'tsa:rogue'],
      });
      refused(v, 'CERTIFICATE_UNTRUSTED');
      assert.match(v.problems[0]!.message, /timestamp authority/);
    });
    test('a trusted timestamp outside the certificate validity → TIMESTAMP_INVALID', async () => {
      refused(
        await verify((await layout([expiredStamped(tsa, ago(5))])).ref, {
          trustStores: ['ca:expired', 'tsa:test'],
        }),
        'TIMESTAMP_INVALID',
      );
    });
    test('a timestamp copied from another signature → TIMESTAMP_INVALID', async () => {
      const donor = JSON.parse(expiredStamped(tsa, ago(20)).envelope.toString()) as {
        header: Record<string, unknown>;
      };
      const victim = jws(expired, { signingTime: ago(19) });
      const env = JSON.parse(victim.envelope.toString()) as { header: Record<string, unknown> };
      env.header[NOTATION_HEADER.timestampSignature] = donor.header[NOTATION_HEADER.timestampSignature];
      const v = await verify(
        (await layout([{ ...victim, envelope: Buffer.from(JSON.stringify(env)) }])).ref,
        { trustStores: ['ca:expired', 'tsa:test'] },
      );
      refused(v, 'TIMESTAMP_INVALID');
      assert.match(v.problems[0]!.message, /other bytes/);
    });
    test('a tsa store named but no timestamp → TIMESTAMP_INVALID', async () => {
      refused(
        await verify((await layout([jws(rsa)])).ref, { trustStores: ['ca:test', 'tsa:test'] }),
        'TIMESTAMP_INVALID',
      );
    });
  });

  describe('payload and envelope integrity', () => {
    test('a payload for another digest → SIGNED_DIGEST_MISMATCH', async () => {
      const payloadOverride = notationPayload({ ...target, digest: other.manifest.digest }, 'sorted');
      refused(await verify((await layout([jws(rsa, { payloadOverride })])).ref), 'SIGNED_DIGEST_MISMATCH');
    });
    test('a payload for another size → SIGNED_DIGEST_MISMATCH', async () => {
      const payloadOverride = notationPayload({ ...target, size: target.size + 1 });
      refused(await verify((await layout([cose(rsa, { payloadOverride })])).ref), 'SIGNED_DIGEST_MISMATCH');
    });
    for (const [name, make] of [
      ['JWS', jws],
      ['COSE', cose],
    ] as const) {
      test(`${name}: a tampered payload byte → SIGNATURE_INVALID`, async () => {
        refused(await verify((await layout([make(rsa, { tamper: 'payload' })])).ref), 'SIGNATURE_INVALID');
      });
      test(`${name}: a tampered signature byte → SIGNATURE_INVALID`, async () => {
        refused(
          await verify((await layout([make(ec, { tamper: 'signature' })])).ref, { trustStores: ['ca:ec'] }),
          'SIGNATURE_INVALID',
        );
      });
      test(`${name}: an unknown critical header → ENVELOPE_INVALID`, async () => {
        const v = await verify(
          (await layout([make(rsa, { extraCritical: { name: 'io.example.mustUnderstand', value: 'x' } })]))
            .ref,
        );
        refused(v, 'ENVELOPE_INVALID');
        assert.match(v.problems[0]!.message, /io\.example\.mustUnderstand/);
      });
      test(`${name}: the expiry header left out of crit → ENVELOPE_INVALID`, async () => {
        const v = await verify(
          (await layout([make(rsa, { expiry: new Date(NOW + DAY), dropCritical: [NOTATION_HEADER.expiry] })]))
            .ref,
        );
        refused(v, 'ENVELOPE_INVALID');
        assert.match(v.problems[0]!.message, /expiry/);
      });
      test(`${name}: alg not the key's (PS384 on an RSA-2048 key, ES384 on P-256) → ENVELOPE_INVALID`, async () => {
        refused(await verify((await layout([make(rsa, { alg: 'PS384' })])).ref), 'ENVELOPE_INVALID');
        refused(
          await verify((await layout([make(ec, { alg: 'ES384' })])).ref, { trustStores: ['ca:ec'] }),
          'ENVELOPE_INVALID',
        );
      });
    }
    test('an expired signature at strict → SIGNATURE_EXPIRED', async () => {
      refused(
        await verify(
          (await layout([jws(rsa, { signingTime: ago(1), expiry: new Date(NOW - 3_600_000) })])).ref,
        ),
        'SIGNATURE_EXPIRED',
      );
    });
    test('a JWS envelope stored under the COSE media type → ENVELOPE_INVALID', async () => {
      const s = jws(rsa);
      refused(
        await verify((await layout([{ ...s, mediaType: NOTATION_COSE_MEDIA_TYPE }])).ref),
        'ENVELOPE_INVALID',
      );
    });
    test('a COSE envelope stored under the JWS media type → ENVELOPE_INVALID', async () => {
      const s = cose(rsa);
      refused(
        await verify((await layout([{ ...s, mediaType: NOTATION_JWS_MEDIA_TYPE }])).ref),
        'ENVELOPE_INVALID',
      );
    });
    test('an envelope over MAX_NOTATION_ENVELOPE_BYTES → SIZE_EXCEEDED, refused before download', async () => {
      const big = jws(rsa, { signingAgent: 'x'.repeat(MAX_NOTATION_ENVELOPE_BYTES) });
      assert.ok(big.envelope.length > MAX_NOTATION_ENVELOPE_BYTES);
      const { ref, dir } = await layout([big]);
      // the blob is gone: had the verifier tried to read it, the failure would be another one
      await rm(join(dir, blobPath(built(big.envelope, '').digest)));
      refused(await verify(ref), 'SIZE_EXCEEDED');
    });
  });

  describe('discovery and policy', () => {
    /** a valid signature of `other`, its manifest written into this image's layout, untagged */
    const foreignSignature = async (dir: string) => {
      const otherTarget = {
        mediaType: other.manifest.mediaType,
        digest: other.manifest.digest,
        size: other.manifest.size,
      };
      const envelope = signJws({ target: otherTarget, signer: signer(rsa) });
      const { manifest, blobs } = notationSignatureManifest({
        subject: otherTarget,
        envelope,
        envelopeMediaType: NOTATION_JWS_MEDIA_TYPE,
        chain: rsa.chain,
      });
      for (const b of [...blobs, manifest.bytes]) {
        const file = join(dir, blobPath(built(b, '').digest));
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, b);
      }
      const doc = JSON.parse(await readFile(join(dir, INDEX_FILE), 'utf8')) as { manifests: unknown[] };
      doc.manifests.push(indexEntry(manifest as never));
      await writeFile(join(dir, INDEX_FILE), JSON.stringify(doc));
      return manifest;
    };

    test('a signature of another image written into this layout → SIGNATURE_NOT_FOUND', async () => {
      const { ref, dir } = await layout([]);
      await foreignSignature(dir);
      refused(await verify(ref), 'SIGNATURE_NOT_FOUND');
    });

    test('a store whose referrers list a signature of another image: ignored (subject is another image)', async () => {
      // a lying referrers answer cannot come from a layout (its referrers are found by subject): wrap its store
      const { dir } = await layout([]);
      const manifest = await foreignSignature(dir);
      const { source, store } = openWithAttachments(`oci:${dir}:v1`, new RegistryClient());
      try {
        const liar: AttachmentStore = {
          where: store.where,
          resolveTag: (t, o) => store.resolveTag(t, o),
          manifest: (d, o) => store.manifest(d, o),
          blob: (d, cap, o) => store.blob(d, cap, o),
          referrers: async () => ({
            supported: true as const,
            truncated: false,
            serverFiltered: false,
            pages: 1,
            descriptors: [
              {
                mediaType: manifest.mediaType,
                digest: manifest.digest as Digest,
                size: manifest.size,
                artifactType: NOTATION_SIGNATURE_ARTIFACT_TYPE,
              },
            ],
          }),
        };
        const found = await discoverNotationSignatures(liar, image.manifest.digest as Digest);
        assert.deepEqual(found.signatures, []);
        assert.deepEqual(found.refused, []);
        assert.match(found.searched.map((r) => r.note ?? '').join(' '), /subject is another image/);
      } finally {
        await source.close();
      }
    });

    test('trustedIdentities not matching the leaf → IDENTITY_MISMATCH', async () => {
      refused(
        await verify((await layout([jws(rsa)])).ref, {
          trustedIdentities: ['x509.subject: C=US, ST=WA, L=Seattle, O=Acme Test, CN=Someone Else'],
        }),
        'IDENTITY_MISMATCH',
      );
    });
    test('trustedIdentities matching the leaf passes', async () => {
      passes(
        await verify((await layout([jws(rsa)])).ref, {
          trustedIdentities: [`x509.subject: ${rsa.leaf.subject}`],
        }),
      );
    });
    test('a signingAuthority signature against a ca-only policy → CERTIFICATE_UNTRUSTED', async () => {
      refused(
        await verify((await layout([jws(rsa, { signingScheme: 'notary.x509.signingAuthority' })])).ref),
        'CERTIFICATE_UNTRUSTED',
      );
    });
    test('a notary.x509 signature against a signingAuthority-only policy → CERTIFICATE_UNTRUSTED', async () => {
      refused(
        await verify((await layout([cose(rsa)])).ref, { trustStores: ['signingAuthority:test'] }),
        'CERTIFICATE_UNTRUSTED',
      );
    });
    test('a valid signature next to forged ones passes: the valid one decides', async () => {
      const v = await verify(
        (await layout([jws(rsa, { tamper: 'signature' }), jws(stranger), cose(rsa)])).ref,
      );
      passes(v);
      assert.equal(v.signatures[0]?.ok, true);
      assert.equal(v.signatures[0]?.format, 'cose');
    });
    test('the legacy (pre-1.1) signature manifest, config media type only, passes', async () => {
      const v = await verify((await layout([{ ...jws(rsa), legacyConfig: true }])).ref);
      passes(v);
    });
    test('a signature of another image in its own tag-schema index is not this image’s → SIGNATURE_NOT_FOUND', async () => {
      const { ref, dir } = await layout([]);
      const s = jws(rsa);
      await writeNotationToLayout(
        dir,
        { mediaType: other.manifest.mediaType, digest: other.manifest.digest, size: other.manifest.size },
        s.envelope,
        s.mediaType,
        s.chain,
      );
      refused(await verify(ref), 'SIGNATURE_NOT_FOUND');
    });
  });
});
