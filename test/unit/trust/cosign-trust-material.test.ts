// Trust material as a user hands it over (trusted_root.json, cosign.pub) and hostile payload shapes: every refusal
// is a coded error naming the file and the field, never a raw exception; the fuzz findings stay fixed.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import {
  checkArtifact,
  loadPublicKey,
  loadTrustedRoot,
  MAX_PUBLIC_KEY_PEM_BYTES,
  MAX_TRUSTED_ROOT_BYTES,
  predicateTypeUri,
} from '../../../src/trust/cosign/index.js';
import { checkStatement } from '../../../src/trust/cosign/intoto.js';
import { checkSimpleSigning } from '../../../src/trust/cosign/simple-signing.js';
import { skipNoVectors, vector } from '../../vectors.js';

const throwsCode = (fn: () => unknown, code: string, re?: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(isTrustpinError(e), `not a TrustpinError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });

const spki = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
  k.export({ type: 'spki', format: 'der' });
const rekor = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [
    {
      baseUrl: 'https://rekor.test',
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: spki(rekor).toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start: '2021-01-01T00:00:00Z' },
      },
      logId: { keyId: createHash('sha256').update(spki(rekor)).digest('base64') },
    },
  ],
};
const clone = () => JSON.parse(JSON.stringify(ROOT));

describe('loadTrustedRoot', () => {
  test('a minimal root loads, with a summary', () => {
    const r = loadTrustedRoot(Buffer.from(JSON.stringify(ROOT)), 'root.json');
    assert.deepEqual(r.summary, { certificateAuthorities: 0, tlogs: 1, ctlogs: 0, timestampAuthorities: 0 });
    assert.equal(r.source, 'root.json');
  });
  test('the production root loads', { skip: skipNoVectors }, () => {
    const r = loadTrustedRoot(vector('root-signing/targets/trusted_root.json'), 'prod');
    assert.ok(r.summary.certificateAuthorities >= 1 && r.summary.ctlogs >= 1 && r.summary.tlogs >= 1);
  });
  test('a key without validFor.start (trap c) → TRUSTED_ROOT_INVALID naming the file and the field', () => {
    const j = clone();
    delete j.tlogs[0].publicKey.validFor.start;
    throwsCode(
      () => loadTrustedRoot(j, 'my-root.json'),
      'TRUSTED_ROOT_INVALID',
      /my-root\.json: tlogs\[0\]\.publicKey\.validFor\.start is missing/,
    );
  });
  test('an end before its start, a time that is no time, a key that is no key → TRUSTED_ROOT_INVALID', () => {
    const a = clone();
    a.tlogs[0].publicKey.validFor.end = '2020-01-01T00:00:00Z';
    throwsCode(() => loadTrustedRoot(a, 'r'), 'TRUSTED_ROOT_INVALID', /validFor\.end/);
    const b = clone();
    b.tlogs[0].publicKey.validFor.start = 'yesterday';
    throwsCode(() => loadTrustedRoot(b, 'r'), 'TRUSTED_ROOT_INVALID', /RFC 3339/);
    const c = clone();
    c.tlogs[0].publicKey.rawBytes = Buffer.from('not a key').toString('base64');
    throwsCode(() => loadTrustedRoot(c, 'r'), 'TRUSTED_ROOT_INVALID', /rawBytes is not a public key/);
  });
  test('a CA certificate that is not one, an empty chain → TRUSTED_ROOT_INVALID', () => {
    const ca = (certificates: object[]) => ({
      ...clone(),
      certificateAuthorities: [{ certChain: { certificates }, validFor: { start: '2021-01-01T00:00:00Z' } }],
    });
    throwsCode(
      () => loadTrustedRoot(ca([{ rawBytes: 'AAAA' }]), 'r'),
      'TRUSTED_ROOT_INVALID',
      /certificateAuthorities\[0\]\.certChain\.certificates\[0\]/,
    );
    throwsCode(() => loadTrustedRoot(ca([]), 'r'), 'TRUSTED_ROOT_INVALID', /empty/);
  });
  test('garbage, another media type, a parsed object as mediaType, too large → TRUSTED_ROOT_INVALID', () => {
    throwsCode(() => loadTrustedRoot('{"tlogs":', 'r'), 'TRUSTED_ROOT_INVALID', /not valid JSON/);
    throwsCode(
      () => loadTrustedRoot({ ...clone(), mediaType: 'application/json' }, 'r'),
      'TRUSTED_ROOT_INVALID',
      /mediaType/,
    );
    // fuzz finding: a JSON object where a string belongs made the message builder throw a TypeError
    throwsCode(
      () => loadTrustedRoot(Buffer.from('{"mediaType":{"a":1}}'), 'r'),
      'TRUSTED_ROOT_INVALID',
      /mediaType/,
    );
    throwsCode(
      () => loadTrustedRoot(Buffer.alloc(MAX_TRUSTED_ROOT_BYTES + 1, 0x20), 'r'),
      'TRUSTED_ROOT_INVALID',
      /bytes/,
    );
  });
});

describe('loadPublicKey', () => {
  test('P-256, P-384, RSA and Ed25519 PEM keys load; keyId = sha256 of the DER SPKI', () => {
    const keys = [
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
    ];
    for (const k of keys) {
      const l = loadPublicKey(k.export({ type: 'spki', format: 'pem' }) as string, 'k.pub');
      assert.equal(l.keyId, createHash('sha256').update(spki(k)).digest('hex'));
    }
  });
  test('the containers-image cosign.pub has the key ID cosign prints', { skip: skipNoVectors }, () => {
    const k = loadPublicKey(vector('containers-image/signature/fixtures/cosign.pub'), 'cosign.pub');
    assert.match(k.keyId, /^[0-9a-f]{64}$/);
  });
  test('a private key, a certificate, garbage, secp256k1, oversized → USAGE naming the file', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    throwsCode(
      () => loadPublicKey(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'cosign.key'),
      'USAGE',
      /cosign\.key: holds a PRIVATE KEY/,
    );
    throwsCode(
      () => loadPublicKey('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'c.pem'),
      'USAGE',
      /CERTIFICATE/,
    );
    throwsCode(() => loadPublicKey('hello', 'x'), 'USAGE', /not PEM/);
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    throwsCode(() => loadPublicKey(k1, 'k1.pub'), 'USAGE', /secp256k1/);
    throwsCode(
      () => loadPublicKey(Buffer.alloc(MAX_PUBLIC_KEY_PEM_BYTES + 1, 0x41), 'big'),
      'USAGE',
      /larger/,
    );
  });
});

describe('hostile payload shapes (checked after verification)', () => {
  const D = `sha256:${'a'.repeat(64)}`;
  test('fuzz finding: a JSON object as critical.type → PAYLOAD_INVALID, not a TypeError', () => {
    const p = Buffer.from(
      `{"critical":{"identity":{"docker-reference":"r.example/a"},"image":{"docker-manifest-digest":"${D}"},"type":{"x":1}},"optional":null}`,
    );
    throwsCode(() => checkSimpleSigning(p, { digest: D }), 'PAYLOAD_INVALID', /critical\.type/);
  });
  test('fuzz finding: a JSON object as the statement _type → PAYLOAD_INVALID, not a TypeError', () => {
    const s = Buffer.from(
      `{"_type":{"a":[{"b":1}]},"predicateType":"x","subject":[{"digest":{"sha256":"${'a'.repeat(64)}"}}]}`,
    );
    throwsCode(
      () => checkStatement('application/vnd.in-toto+json', s, { digest: D }, 'st'),
      'PAYLOAD_INVALID',
      /_type/,
    );
  });
  test('a statement 10,000 levels deep → PAYLOAD_INVALID (no stack overflow)', () => {
    const s = Buffer.from(
      `{"_type":"https://in-toto.io/Statement/v1","predicate":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    );
    throwsCode(
      () => checkStatement('application/vnd.in-toto+json', s, { digest: D }, 'st'),
      'PAYLOAD_INVALID',
    );
  });
  test('cosign short predicate names map to their URIs; a URI is kept', () => {
    assert.equal(predicateTypeUri('slsaprovenance'), 'https://slsa.dev/provenance/v0.2');
    assert.equal(predicateTypeUri('slsaprovenance1'), 'https://slsa.dev/provenance/v1');
    assert.equal(predicateTypeUri('spdxjson'), 'https://spdx.dev/Document');
    assert.equal(predicateTypeUri('openvex'), 'https://openvex.dev/ns');
    assert.equal(predicateTypeUri('https://example.com/p'), 'https://example.com/p');
  });
  test('fuzz finding: a bundle with a chain of 1,434 certificates is refused before any is parsed (SIGNATURE_INVALID)', () => {
    const bytes = Buffer.from(
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
        verificationMaterial: {
          x509CertificateChain: { certificates: Array(1434).fill({ rawBytes: 'MIIB' }) },
          tlogEntries: [],
        },
        messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: 'AAAA' }, signature: 'AAAA' },
      }),
    );
    const c = checkArtifact(
      {
        format: 'bundle',
        origin: 'x',
        manifestDigest: 'sha256:0',
        layerDigest: 'sha256:0',
        mediaType: 'x',
        annotations: {},
        bytes,
      },
      { digest: D, trust: { keys: [], identities: [{ subject: 'x' }], requireTlog: true }, now: new Date() },
    );
    assert.deepEqual(
      c.problems.map((p) => p.code),
      ['SIGNATURE_INVALID'],
    );
    assert.match(
      c.problems[0]!.message,
      /1434 entries in verificationMaterial\.x509CertificateChain\.certificates, more than 10/,
    );
  });
  test('a signature layer with oversized or malformed annotations → coded problems, never a throw', () => {
    const base = {
      format: 'legacy-signature' as const,
      origin: 'x',
      manifestDigest: 'sha256:0',
      layerDigest: 'sha256:0',
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      bytes: Buffer.from('{}'),
    };
    const key = loadPublicKey(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
        type: 'spki',
        format: 'pem',
      }) as string,
      'k',
    );
    const trust = { keys: [key], identities: [], requireTlog: false };
    const run = (annotations: Record<string, string>) =>
      checkArtifact({ ...base, annotations }, { digest: D, trust, now: new Date() }).problems.map(
        (p) => p.code,
      );
    assert.deepEqual(run({ 'dev.cosignproject.cosign/signature': 'A'.repeat(200_000) }), ['SIZE_EXCEEDED']);
    assert.deepEqual(run({ 'dev.cosignproject.cosign/signature': '%%%' }), ['SIGNATURE_INVALID']);
    assert.deepEqual(run({}), ['SIGNATURE_INVALID']);
    const big = {
      ...base,
      bytes: Buffer.alloc(2 * 1024 * 1024, 0x20),
      annotations: { 'dev.cosignproject.cosign/signature': 'AAAA' },
    };
    assert.deepEqual(
      checkArtifact(big, { digest: D, trust, now: new Date() }).problems.map((p) => p.code),
      ['SIZE_EXCEEDED'],
    );
    assert.deepEqual(
      run({ 'dev.cosignproject.cosign/signature': 'AAAA', 'dev.sigstore.cosign/certificate': 'nope' }),
      ['CERTIFICATE_INVALID'],
    );
  });
});
