// The Notation signer proves itself without trustpin's verifier: the PKI chains with node:crypto, JWS and COSE
// signatures verify over their signing inputs, RFC 3161 tokens verify with pkijs, the header shapes match
// notation's own envelopes, and signatures pushed to a real docker-registry / written to a layout read back
// through the tag-schema index.
import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/asn1-x509';
import { decode, encode, Tag } from 'cbor2';
import { sortCoreDeterministic } from 'cbor2/sorts';
import * as pkijs from 'pkijs';
import { registryGet } from './harness/http.js';
import {
  defaultPolicy,
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  NOTATION_SIGNATURE_ARTIFACT_TYPE,
  NOTATION_THUMBPRINT_ANNOTATION,
  notationPki,
  pushNotationSignature,
  signCose,
  signJws,
  testTsa,
  thumbprints,
  writeNotationToLayout,
  writeTrustPolicy,
  writeTrustStore,
} from './harness/notation.js';
import { writeOciLayout } from './harness/oci-layout-writer.js';
import { makeTempDir, removeDir } from './harness/processes.js';
import { built, EMPTY_CONFIG, ociManifest, pushArtifacts } from './harness/push.js';
import { type RunningRegistry, startRegistry } from './harness/registry.js';
import { skipNoVectors, vector } from './vectors.js';

const pki = notationPki(); // rsa-3072 everywhere, with an intermediate
const ecPki = notationPki({ leafKey: 'ec-p256', rootKey: 'ec-p384', intermediate: false });
const tsa = testTsa({ key: 'ec-p256', rootKey: 'ec-p256' });
const image = ociManifest({
  config: EMPTY_CONFIG,
  layers: [{ blob: built(Buffer.from('layer'), 'application/vnd.oci.image.layer.v1.tar') }],
});
const target = { mediaType: image.mediaType, digest: image.digest, size: image.size };

const b64u = (s: string) => Buffer.from(s, 'base64url');
/** cbor2 decodes a bstr as a Buffer in Node, and encodes a Buffer as its toJSON() map: hand it plain bytes */
const u8 = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const pss = (hash: number) => ({ padding: 6, saltLength: hash / 8 });
const typeOf = (v: unknown): string =>
  v instanceof Tag
    ? `tag${v.tag}`
    : v instanceof Uint8Array
      ? 'bytes'
      : Array.isArray(v)
        ? 'array'
        : typeof v;

function verifyToken(token: Buffer, data: Buffer, root: Buffer): Promise<boolean> {
  const ci = pkijs.ContentInfo.fromBER(new Uint8Array(token));
  const sd = new pkijs.SignedData({ schema: ci.content });
  return sd
    .verify({
      signer: 0,
      data: new Uint8Array(data).buffer,
      trustedCerts: [pkijs.Certificate.fromBER(new Uint8Array(root))],
      checkChain: true,
    })
    .then(
      (r) => r === true,
      () => false,
    );
}

describe('notation harness: PKI', () => {
  test('root → intermediate → leaf chains with node:crypto, with the CA and code signing extensions', () => {
    const [leaf, int, root] = pki.chain.map((d) => new X509Certificate(d));
    assert.ok(leaf && int && root);
    assert.equal(pki.chain.length, 3);
    assert.ok(root.verify(root.publicKey) && root.checkIssued(root));
    assert.ok(int.verify(root.publicKey) && int.checkIssued(root));
    assert.ok(leaf.verify(int.publicKey) && leaf.checkIssued(int));
    assert.ok(!leaf.verify(root.publicKey));
    assert.ok(root.ca && int.ca && !leaf.ca);
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.3']);
    assert.equal(leaf.subject, 'C=US\nST=WA\nL=Seattle\nO=Acme Test\nCN=Acme Test Signer');
    assert.equal(pki.leaf.subject, 'C=US, ST=WA, L=Seattle, O=Acme Test, CN=Acme Test Signer');
    assert.equal(createPublicKey(pki.leaf.key).asymmetricKeyDetails?.modulusLength, 3072);
    assert.ok(leaf.publicKey.equals(createPublicKey(pki.leaf.key)));
    assert.ok(pki.intermediate?.der.equals(pki.chain[1]!));
    assert.match(pki.root.pem, /^-----BEGIN CERTIFICATE-----\n/);
    assert.ok(new X509Certificate(pki.root.pem).raw.equals(pki.root.der));
  });

  test('leaf variants: EKU, no EKU, a CA as leaf, SHA-1, self-signed, validity', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const v = notationPki({
      leafKey: 'ec-p256',
      rootKey: 'ec-p256',
      intermediate: false,
      eku: 'serverAuth',
      leafIsCa: true,
      now,
    });
    const leaf = new X509Certificate(v.chain[0]!);
    assert.equal(v.chain.length, 2);
    assert.ok(leaf.checkIssued(new X509Certificate(v.root.der)));
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    // node's X509Certificate.ca also wants keyCertSign: read basicConstraints itself
    const bc = AsnConvert.parse(v.chain[0]!, x509.Certificate).tbsCertificate.extensions?.find(
      (e) => e.extnID === '2.5.29.19',
    );
    assert.ok(bc?.critical);
    assert.equal(AsnConvert.parse(bc.extnValue.buffer, x509.BasicConstraints).cA, true);
    assert.ok(!leaf.ca);
    assert.equal(new Date(leaf.validFrom).toISOString(), '2029-12-31T00:00:00.000Z');
    assert.equal(new Date(leaf.validTo).toISOString(), '2031-01-01T00:00:00.000Z');
    const noEku = notationPki({ leafKey: 'ec-p256', rootKey: 'ec-p256', intermediate: false, eku: null });
    assert.equal(new X509Certificate(noEku.chain[0]!).keyUsage, undefined);
    const sha1 = notationPki({ leafKey: 'ec-p256', rootKey: 'ec-p256', intermediate: false, sha1: true });
    // ecdsa-with-SHA1 (1.2.840.10045.4.1) in the leaf's signatureAlgorithm
    assert.ok(sha1.chain[0]!.includes(Buffer.from('06072a8648ce3d0401', 'hex')));
    const self = notationPki({ selfSignedLeaf: true, leafKey: 'ec-p384' });
    const s = new X509Certificate(self.chain[0]!);
    assert.equal(self.chain.length, 1);
    assert.ok(s.verify(s.publicKey) && !s.ca);
    assert.deepEqual(s.keyUsage, ['1.3.6.1.5.5.7.3.3']);
  });
});

describe('notation harness: envelopes', () => {
  test('JWS verifies over protected.payload with the leaf key; headers are what was asked', () => {
    const signingTime = new Date('2026-01-02T03:04:05.678Z');
    const expiry = new Date('2027-01-01T00:00:00Z');
    const env = JSON.parse(
      signJws({
        target: { ...target, annotations: { b: '2', a: '1' } },
        signer: { key: pki.leaf.key, chain: pki.chain },
        signingTime,
        expiry,
      }).toString(),
    );
    assert.deepEqual(Object.keys(env), ['payload', 'protected', 'header', 'signature']);
    const ok = cryptoVerify(
      'sha384',
      Buffer.from(`${env.protected}.${env.payload}`),
      { key: createPublicKey(pki.leaf.key), ...pss(384) },
      b64u(env.signature),
    );
    assert.ok(ok);
    assert.equal(
      b64u(env.protected).toString(),
      '{"alg":"PS384","crit":["io.cncf.notary.signingScheme","io.cncf.notary.expiry"],' +
        '"cty":"application/vnd.cncf.notary.payload.v1+json","io.cncf.notary.expiry":"2027-01-01T00:00:00Z",' +
        '"io.cncf.notary.signingScheme":"notary.x509","io.cncf.notary.signingTime":"2026-01-02T03:04:05Z"}',
    );
    assert.equal(
      b64u(env.payload).toString(),
      `{"targetArtifact":{"annotations":{"a":"1","b":"2"},"digest":"${target.digest}",` +
        `"mediaType":"${target.mediaType}","size":${target.size}}}`,
    );
    assert.deepEqual(
      env.header.x5c.map((c: string) => Buffer.from(c, 'base64')),
      pki.chain,
    );
    assert.equal(env.header['io.cncf.notary.signingAgent'], 'trustpin-test/1');
  });

  test('JWS variants: EC alg, signingAuthority, a timestamp, tampering, alg override, crit changes', async () => {
    const sign = (o: Partial<Parameters<typeof signJws>[0]> = {}) =>
      JSON.parse(signJws({ target, signer: { key: ecPki.leaf.key, chain: ecPki.chain }, ...o }).toString());
    const check = (e: { protected: string; payload: string; signature: string }) =>
      cryptoVerify(
        'sha256',
        Buffer.from(`${e.protected}.${e.payload}`),
        { key: createPublicKey(ecPki.leaf.key), dsaEncoding: 'ieee-p1363' },
        b64u(e.signature),
      );
    const sa = sign({
      signingScheme: 'notary.x509.signingAuthority',
      timestamp: { tsa, genTime: new Date() },
      extraCritical: { name: 'io.cncf.notary.verificationPlugin', value: 'p' },
    });
    const h = JSON.parse(b64u(sa.protected).toString());
    assert.ok(check(sa));
    assert.equal(h.alg, 'ES256');
    assert.equal(b64u(sa.signature).length, 64);
    assert.deepEqual(h.crit, [
      'io.cncf.notary.signingScheme',
      'io.cncf.notary.verificationPlugin',
      'io.cncf.notary.authenticSigningTime',
    ]);
    assert.equal(h['io.cncf.notary.signingTime'], undefined);
    assert.match(h['io.cncf.notary.authenticSigningTime'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const token = Buffer.from(sa.header['io.cncf.notary.timestampSignature'], 'base64');
    assert.ok(await verifyToken(token, b64u(sa.signature), tsa.root.der));
    assert.ok(!check(sign({ tamper: 'signature' })));
    const tp = sign({ tamper: 'payload' });
    assert.ok(!check(tp));
    assert.notEqual(JSON.parse(b64u(tp.payload).toString()).targetArtifact.digest, target.digest);
    assert.equal(JSON.parse(b64u(sign({ alg: 'ES384' }).protected).toString()).alg, 'ES384');
    assert.deepEqual(
      JSON.parse(b64u(sign({ dropCritical: ['io.cncf.notary.signingScheme'] }).protected).toString()).crit,
      [],
    );
    const other = sign({ payloadOverride: Buffer.from('{"x":1}') });
    assert.ok(check(other));
    assert.equal(b64u(other.payload).toString(), '{"x":1}');
  });

  test('COSE decodes with cbor2 and verifies over the Sig_structure', () => {
    for (const p of [pki, ecPki]) {
      const expiry = new Date('2027-01-01T00:00:00Z');
      const raw = signCose({
        target,
        signer: { key: p.leaf.key, chain: p.chain },
        signingTime: new Date('2026-01-02T03:04:05.678Z'),
        expiry,
        timestamp: { tsa, genTime: new Date() },
      });
      const msg = decode(raw) as Tag;
      assert.equal(msg.tag, 18);
      const [prot, unprot, payload, sig] = msg.contents as [
        Uint8Array,
        Map<unknown, unknown>,
        Uint8Array,
        Uint8Array,
      ];
      const h = decode(prot) as Map<unknown, unknown>;
      const rsa = p === pki;
      assert.equal(h.get(1), rsa ? -38 : -7);
      assert.deepEqual(h.get(2), ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']);
      assert.equal(h.get(3), 'application/vnd.cncf.notary.payload.v1+json');
      assert.equal(h.get('io.cncf.notary.signingScheme'), 'notary.x509');
      assert.deepEqual(h.get('io.cncf.notary.signingTime'), new Date('2026-01-02T03:04:05Z'));
      assert.deepEqual(h.get('io.cncf.notary.expiry'), expiry);
      assert.equal(
        Buffer.from(payload).toString(),
        `{"targetArtifact":{"mediaType":"${target.mediaType}","digest":"${target.digest}","size":${target.size}}}`,
      );
      assert.deepEqual(
        (unprot.get(33) as Uint8Array[]).map((c) => Buffer.from(c)),
        p.chain,
      );
      assert.equal(unprot.get('io.cncf.notary.signingAgent'), 'trustpin-test/1');
      const tbs = Buffer.from(encode(['Signature1', u8(prot), new Uint8Array(0), u8(payload)]));
      const key = createPublicKey(p.leaf.key);
      const ok = rsa
        ? cryptoVerify('sha384', tbs, { key, ...pss(384) }, sig)
        : cryptoVerify('sha256', tbs, { key, dsaEncoding: 'ieee-p1363' }, sig);
      assert.ok(ok);
      assert.ok(unprot.get('io.cncf.notary.timestampSignature') instanceof Uint8Array);
    }
    const bad = decode(
      signCose({ target, signer: { key: ecPki.leaf.key, chain: ecPki.chain }, tamper: 'signature' }),
    ) as Tag;
    const [p2, , pl2, s2] = bad.contents as Uint8Array[];
    const tbs2 = Buffer.from(encode(['Signature1', u8(p2!), new Uint8Array(0), u8(pl2!)]));
    assert.ok(
      !cryptoVerify('sha256', tbs2, { key: createPublicKey(ecPki.leaf.key), dsaEncoding: 'ieee-p1363' }, s2!),
    );
  });

  test('TSA tokens verify with pkijs against the TSA root, not against another', async () => {
    const data = Buffer.from('signature bytes');
    for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
      const token = tsa.timestamp(data, { genTime: new Date(), hash, accuracySeconds: 1 });
      assert.ok(await verifyToken(token, data, tsa.root.der), hash);
      assert.ok(!(await verifyToken(token, Buffer.from('other'), tsa.root.der)));
    }
    const chainToken = tsa.timestamp(data, { genTime: new Date(), certs: 'chain' });
    assert.ok(await verifyToken(chainToken, data, tsa.root.der));
    assert.ok(
      !(await verifyToken(tsa.timestamp(data, { genTime: new Date(), certs: 'none' }), data, tsa.root.der)),
    );
    const rsaTsa = testTsa(); // rsa-2048 TSA under an rsa-3072 root, sha256WithRSAEncryption
    assert.ok(await verifyToken(rsaTsa.timestamp(data, { genTime: new Date() }), data, rsaTsa.root.der));
    const t = new X509Certificate(tsa.tsa.der);
    assert.deepEqual(t.keyUsage, ['1.3.6.1.5.5.7.3.8']);
    const untrusted = testTsa({ key: 'ec-p256', rootKey: 'ec-p256', untrusted: true });
    const token = untrusted.timestamp(data, { genTime: new Date() });
    assert.ok(!(await verifyToken(token, data, untrusted.root.der)));
    assert.ok(await verifyToken(token, data, untrusted.chain[1]!));
    // the token's TSTInfo carries the genTime asked for
    const ci = pkijs.ContentInfo.fromBER(
      new Uint8Array(tsa.timestamp(data, { genTime: new Date('2020-05-06T07:08:09Z') })),
    );
    const sd = new pkijs.SignedData({ schema: ci.content });
    const tst = pkijs.TSTInfo.fromBER(sd.encapContentInfo.eContent!.valueBlock.valueHexView.slice().buffer);
    assert.equal(tst.genTime.toISOString(), '2020-05-06T07:08:09.000Z');
  });
});

describe('notation harness: header shapes match notation’s envelopes', { skip: skipNoVectors }, () => {
  test('JWS protected and unprotected header keys and value types', () => {
    const mine = JSON.parse(
      signJws({
        target,
        signer: { key: ecPki.leaf.key, chain: ecPki.chain },
        expiry: new Date(Date.now() + 86_400_000),
        timestamp: { tsa, genTime: new Date() },
      }).toString(),
    );
    const ca = JSON.parse(vector('notation-go/internal/mock/testdata/ca_valid_sig_env.json').toString());
    const shape = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `${k}:${typeOf(v)}`);
    assert.deepEqual(
      shape(JSON.parse(b64u(mine.protected).toString())),
      shape(JSON.parse(b64u(ca.protected).toString())),
    );
    const ts = JSON.parse(
      vector('notation-go/verifier/testdata/timestamp/sigEnv/jwsWithTimestamp.sig').toString(),
    );
    assert.deepEqual(Object.keys(mine), Object.keys(ts));
    assert.deepEqual(shape(mine.header), shape(ts.header));
    // the payload as notation-core-go re-marshals it: sorted keys
    assert.deepEqual(
      Object.keys(JSON.parse(b64u(mine.payload).toString()).targetArtifact),
      Object.keys(JSON.parse(b64u(ts.payload).toString()).targetArtifact),
    );
  });

  test('COSE labels, value types and encoding order', () => {
    const mine = decode(
      signCose({
        target,
        signer: { key: pki.leaf.key, chain: [pki.chain[0]!] },
        signingAgent: 'Notation/1.0.0',
        timestamp: { tsa, genTime: new Date() },
        alg: 'PS256',
      }),
    ) as Tag;
    const theirs = decode(
      vector('notation-go/verifier/testdata/timestamp/sigEnv/coseWithTimestamp.sig'),
    ) as Tag;
    assert.equal(mine.tag, theirs.tag);
    const [mp, mu, mpl] = mine.contents as [Uint8Array, Map<unknown, unknown>, Uint8Array];
    const [tp, tu, tpl] = theirs.contents as [Uint8Array, Map<unknown, unknown>, Uint8Array];
    const shape = (m: Map<unknown, unknown>) => [...m].map(([k, v]) => `${String(k)}:${typeOf(v)}`);
    // decoded in encoded order: the same labels in the same order with the same types
    assert.deepEqual(shape(decode(mp) as Map<unknown, unknown>), shape(decode(tp) as Map<unknown, unknown>));
    assert.deepEqual(shape(mu), shape(tu));
    assert.deepEqual(
      Object.keys(JSON.parse(Buffer.from(mpl).toString()).targetArtifact),
      Object.keys(JSON.parse(Buffer.from(tpl).toString()).targetArtifact),
    );
    // notation-core-go's conformance vector re-encodes byte-exact with the same key sorting
    const conf = JSON.parse(vector('notation-core-go/signature/cose/testdata/conformance.json').toString());
    for (const h of [conf.protectedHeaders, conf.unprotectedHeaders]) {
      const bytes = Buffer.from(h.cborHex, 'hex');
      assert.ok(Buffer.from(encode(decode(bytes), { sortKeys: sortCoreDeterministic })).equals(bytes));
    }
  });
});

describe('notation harness: storage', () => {
  let reg: RunningRegistry;
  let dir: string;
  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    dir = await makeTempDir('tp-notation-selftest');
  });
  after(async () => {
    await reg?.stop();
    if (dir) await removeDir(dir);
  });

  test('signatures pushed to docker-registry read back through the tag-schema index', async () => {
    await pushArtifacts(reg.host, 'demo/signed', {
      blobs: [EMPTY_CONFIG.bytes, Buffer.from('layer')],
      manifests: [{ bytes: image.bytes, mediaType: image.mediaType, tag: 'v1' }],
    });
    const jws = signJws({ target, signer: { key: ecPki.leaf.key, chain: ecPki.chain } });
    const cose = signCose({ target, signer: { key: ecPki.leaf.key, chain: ecPki.chain } });
    const a = await pushNotationSignature(
      reg.host,
      'demo/signed',
      target,
      jws,
      NOTATION_JWS_MEDIA_TYPE,
      ecPki.chain,
    );
    const b = await pushNotationSignature(
      reg.host,
      'demo/signed',
      target,
      cose,
      NOTATION_COSE_MEDIA_TYPE,
      ecPki.chain,
      {
        legacyConfig: true,
      },
    );
    const idx = await registryGet(reg, `/v2/demo/signed/manifests/${a.tag}`);
    assert.equal(idx.status, 200);
    const index = JSON.parse(idx.bytes.toString());
    assert.deepEqual(
      index.manifests.map((m: { digest: string; artifactType: string }) => [m.digest, m.artifactType]),
      [
        [a.manifest.digest, NOTATION_SIGNATURE_ARTIFACT_TYPE],
        [b.manifest.digest, NOTATION_SIGNATURE_ARTIFACT_TYPE],
      ],
    );
    const m = JSON.parse(
      (await registryGet(reg, `/v2/demo/signed/manifests/${a.manifest.digest}`)).bytes.toString(),
    );
    assert.equal(m.artifactType, NOTATION_SIGNATURE_ARTIFACT_TYPE);
    assert.equal(m.config.mediaType, 'application/vnd.oci.empty.v1+json');
    assert.deepEqual(m.subject, target);
    assert.equal(m.layers.length, 1);
    assert.equal(m.layers[0].mediaType, NOTATION_JWS_MEDIA_TYPE);
    assert.deepEqual(JSON.parse(m.annotations[NOTATION_THUMBPRINT_ANNOTATION]), thumbprints(ecPki.chain));
    const legacy = JSON.parse(
      (await registryGet(reg, `/v2/demo/signed/manifests/${b.manifest.digest}`)).bytes.toString(),
    );
    assert.equal(legacy.artifactType, undefined);
    assert.equal(legacy.config.mediaType, NOTATION_SIGNATURE_ARTIFACT_TYPE);
    const blob = await registryGet(reg, `/v2/demo/signed/blobs/${m.layers[0].digest}`, { accept: '*/*' });
    assert.ok(blob.bytes.equals(jws));
  });

  test('signatures written into an OCI layout as notation writes them', async () => {
    const layout = join(dir, 'layout');
    await writeOciLayout(
      layout,
      [built(EMPTY_CONFIG.bytes, EMPTY_CONFIG.mediaType), built(Buffer.from('layer'), 'x'), image] as never,
      [{ name: 'v1', target: image as never }],
    );
    const jws = signJws({ target, signer: { key: ecPki.leaf.key, chain: ecPki.chain } });
    const a = await writeNotationToLayout(layout, target, jws, NOTATION_JWS_MEDIA_TYPE, ecPki.chain);
    const b = await writeNotationToLayout(layout, target, jws, NOTATION_JWS_MEDIA_TYPE, ecPki.chain, {
      created: new Date('2020-01-01T00:00:00Z'),
    });
    const idx = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    const names = idx.manifests.map(
      (m: { digest: string; annotations?: Record<string, string> }) =>
        m.annotations?.['org.opencontainers.image.ref.name'] ?? m.digest,
    );
    assert.deepEqual(names, ['v1', a.manifest.digest, b.manifest.digest, a.tag]);
    const tagIndex = JSON.parse(
      await readFile(join(layout, 'blobs', 'sha256', b.index.digest.slice(7)), 'utf8'),
    );
    assert.deepEqual(
      tagIndex.manifests.map((m: { digest: string }) => m.digest),
      [a.manifest.digest, b.manifest.digest],
    );
    const sig = await readFile(join(layout, 'blobs', 'sha256', a.manifest.digest.slice(7)));
    assert.ok(sig.equals(a.manifest.bytes));
  });

  test('trust store and trust policy files', async () => {
    const store = await writeTrustStore(join(dir, 'truststore'), 'ca', 'acme', [pki.root.der]);
    assert.equal(store, join(dir, 'truststore', 'x509', 'ca', 'acme'));
    const pem = await readFile(join(store, 'cert-0.pem'), 'utf8');
    assert.ok(new X509Certificate(pem).raw.equals(pki.root.der));
    const file = join(dir, 'trustpolicy.json');
    await writeTrustPolicy(file, [defaultPolicy({ trustStores: ['ca:acme', 'tsa:t'] })]);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {
      version: '1.0',
      trustPolicies: [
        {
          name: 'test-policy',
          registryScopes: ['*'],
          signatureVerification: { level: 'strict' },
          trustStores: ['ca:acme', 'tsa:t'],
          trustedIdentities: ['*'],
        },
      ],
    });
  });
});
