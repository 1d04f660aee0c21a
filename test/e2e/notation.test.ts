// The Notation verifier as a library against the real docker-registry (2.8: no referrers API, so signatures are
// found through the tag-schema index `sha256-<hex>`), with signatures made by the project's own Notation signer:
// JWS and COSE envelopes, an RSA-3072 chain (root → intermediate → leaf) and an EC P-256 one, the pre-1.1 signature
// manifest (config media type), an expired certificate saved by an RFC 3161 timestamp, the same image and its
// signatures in an OCI layout verified offline, and `verifyMirrorOf` with a layout copy as the mirror.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildImage } from '../../src/demo/build.js';
import { TrustpinError } from '../../src/errors/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { openSource } from '../../src/source/open.js';
import { verifyMirrorOf } from '../../src/trust/mirror-of.js';
import { createNotationVerifier, type NotationVerdict } from '../../src/trust/notation/index.js';
import {
  makeTempDir,
  pushArtifacts,
  type RunningRegistry,
  type SeededImages,
  seedRegistry,
  startRegistry,
} from '../harness/index.js';
import {
  defaultPolicy,
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  type NotationPki,
  notationPki,
  pushNotationSignature,
  signCose,
  signJws,
  testTsa,
  writeNotationToLayout,
  writeTrustPolicy,
  writeTrustStore,
} from '../harness/notation.js';

const DAY = 86_400_000;
const RSA_LEAF = 'C=US, ST=WA, L=Seattle, O=Acme Test, CN=Acme RSA Signer';
const EC_LEAF = 'C=US, ST=WA, L=Seattle, O=Acme Test, CN=Acme EC Signer';
const fingerprint = (der: Buffer) => createHash('sha256').update(der).digest('hex');

interface Subject {
  mediaType: string;
  digest: string;
  size: number;
}

describe('Notation verifier against the real docker-registry', () => {
  let reg: RunningRegistry;
  let images: SeededImages;
  let dir: string;
  let store: string;
  let policyFile: string;
  let rsa: NotationPki;
  let ec: NotationPki;
  let expired: NotationPki;
  let layout: string;
  let client: RegistryClient;
  let ts: Subject;
  const ref = (r: string) => `${reg.host}/${r}`;
  const desc = (i: Subject): Subject => ({ mediaType: i.mediaType, digest: i.digest, size: i.size });
  const verifier = (o: Parameters<typeof createNotationVerifier>[0] = {}) =>
    createNotationVerifier({ client, trustPolicy: policyFile, trustStore: store, ...o });

  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    images = await seedRegistry(reg);
    dir = await makeTempDir('tp-notation');
    client = new RegistryClient({ credentials: async () => undefined });
    rsa = notationPki({ subjects: { leaf: RSA_LEAF } });
    ec = notationPki({
      rootKey: 'ec-p256',
      intermediateKey: 'ec-p256',
      leafKey: 'ec-p256',
      intermediate: false,
      subjects: { root: 'C=US, O=Acme Test, CN=Acme EC Root', leaf: EC_LEAF },
    });
    const now = Date.now();
    expired = notationPki({
      notBefore: new Date(now - 30 * DAY),
      notAfter: new Date(now - DAY),
      caValidity: { notBefore: new Date(now - 60 * DAY) },
      subjects: { leaf: 'C=US, ST=WA, O=Acme Test, CN=Acme Expired Signer' },
    });
    const tsa = testTsa({ validity: { notBefore: new Date(now - 60 * DAY) } });
    store = join(dir, 'truststore');
    await writeTrustStore(store, 'ca', 'acme', [rsa.root.der, ec.root.der, expired.root.der]);
    await writeTrustStore(store, 'tsa', 'acme-tsa', [tsa.root.der]);
    policyFile = join(dir, 'trustpolicy.json');
    await writeTrustPolicy(policyFile, [
      defaultPolicy({
        name: 'acme-images',
        registryScopes: [ref('demo/app'), ref('demo/liar')],
        trustStores: ['ca:acme'],
        trustedIdentities: [`x509.subject: ${RSA_LEAF}`, `x509.subject: ${EC_LEAF}`],
      }),
      // a tsa store in the statement makes notation require a timestamp (verifyTimestamp: always)
      defaultPolicy({
        name: 'acme-timestamped',
        registryScopes: [ref('demo/ts')],
        trustStores: ['ca:acme', 'tsa:acme-tsa'],
        trustedIdentities: ['x509.subject: C=US, ST=WA, O=Acme Test, CN=Acme Expired Signer'],
      }),
    ]);
    const app = desc(images.demoApp);
    const amd = desc(images.demoAppAmd64);
    const arm = desc(images.demoAppArm64);
    // demo/app:1.0 (the index): JWS, RSA-3072 under an intermediate; demo/app:1.0-amd64: COSE, EC P-256;
    // demo/app:1.0-arm64: COSE, RSA, the pre-1.1 manifest (config.mediaType = the signature type, no artifactType)
    const appJws = signJws({ target: app, signer: { key: rsa.leaf.key, chain: rsa.chain } });
    await pushNotationSignature(reg.host, 'demo/app', app, appJws, NOTATION_JWS_MEDIA_TYPE, rsa.chain);
    const amdCose = signCose({ target: amd, signer: { key: ec.leaf.key, chain: ec.chain } });
    await pushNotationSignature(reg.host, 'demo/app', amd, amdCose, NOTATION_COSE_MEDIA_TYPE, ec.chain);
    const armCose = signCose({ target: arm, signer: { key: rsa.leaf.key, chain: rsa.chain } });
    await pushNotationSignature(reg.host, 'demo/app', arm, armCose, NOTATION_COSE_MEDIA_TYPE, rsa.chain, {
      legacyConfig: true,
    });
    // demo/ts:1.0: signed 10 days ago by a certificate that expired yesterday, timestamped then
    const img = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [[{ path: 'ts.txt', content: 'timestamped\n' }]],
    });
    await pushArtifacts(reg.host, 'demo/ts', {
      blobs: [img.config.bytes, ...img.layers.map((l) => l.bytes)],
      manifests: [{ bytes: img.manifest.bytes, mediaType: img.manifest.mediaType, tag: '1.0' }],
    });
    ts = { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.length };
    const then = new Date(now - 10 * DAY);
    const tsJws = signJws({
      target: ts,
      signer: { key: expired.leaf.key, chain: expired.chain },
      signingTime: then,
      timestamp: { tsa, genTime: then },
    });
    await pushNotationSignature(reg.host, 'demo/ts', ts, tsJws, NOTATION_JWS_MEDIA_TYPE, expired.chain);
    // an OCI layout copy of the demo images, with demo/app:1.0's signature written next to it
    layout = join(dir, 'layout');
    await cp(images.layout.dir, layout, { recursive: true });
    await writeNotationToLayout(layout, app, appJws, NOTATION_JWS_MEDIA_TYPE, rsa.chain);
  });
  after(async () => {
    await client?.close();
    await reg?.stop();
  });

  const assertSigned = (v: NotationVerdict, pki: NotationPki, subjectCn: string) => {
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.system, 'notation');
    assert.equal(v.policy?.name, 'acme-images');
    assert.equal(v.policy?.level, 'strict');
    assert.equal(v.claims.length, 1);
    const c = v.claims[0]!;
    assert.equal(c.type, 'notation-x509');
    assert.ok(c.type === 'notation-x509');
    assert.match(c.subject, new RegExp(`CN=${subjectCn}`));
    assert.match(c.issuer ?? '', pki.intermediate ? /CN=Acme Test Intermediate CA/ : /CN=Acme EC Root/);
    assert.equal(c.fingerprint, fingerprint(pki.leaf.der));
    assert.equal(v.signatures[0]?.ok, true);
    assert.equal(v.signatures[0]?.trustStore, 'ca:acme');
  };

  /** the kinds of the chain's nodes along its edges, from the trust store down */
  const kinds = (v: NotationVerdict) => v.chain.nodes.map((n) => n.kind);

  test('JWS, RSA-3072 under an intermediate, by tag: trust store → root → intermediate → leaf → signature → index → images', async () => {
    const v = await verifier().verify(ref('demo/app:1.0'));
    assertSigned(v, rsa, 'Acme RSA Signer');
    assert.equal(v.subject.digest, images.demoApp.digest);
    assert.equal(v.pinned, `${ref('demo/app')}@${images.demoApp.digest}`);
    assert.equal(v.signatures[0]?.format, 'jws');
    assert.match(v.signatures[0]!.artifact.origin, /tag sha256-[0-9a-f]{64}/);
    assert.deepEqual(
      v.signatures[0]!.certificates.map((c) => c.fingerprint),
      rsa.chain.map(fingerprint),
    );
    const k = kinds(v);
    assert.equal(k[0], 'root');
    assert.deepEqual(k.slice(1, 4), ['certificate', 'certificate', 'certificate']);
    assert.equal(k[4], 'signature');
    assert.ok(k.includes('config'), k.join(' '));
    const labels = v.chain.nodes.map((n) => n.label);
    assert.match(labels[0]!, /trust store ca:acme/);
    assert.match(labels[3]!, /signing certificate .*CN=Acme RSA Signer/);
    assert.match(labels[4]!, /Notation signature \(JWS\)/);
    // every edge is good, and the signature signs the index
    assert.ok(v.chain.edges.every((e) => e.ok));
    const sig = v.chain.nodes[4]!.id;
    const signed = v.chain.edges.filter((e) => e.from === sig).map((e) => e.to);
    assert.equal(signed.length, 1);
    assert.equal(v.chain.nodes.find((n) => n.id === signed[0])?.digest, images.demoApp.digest);
    assert.ok(v.chain.nodes.some((n) => n.kind === 'registry-tag' && n.label === 'tag 1.0'));
  });

  test('by digest: the same verdict, no tag node', async () => {
    const v = await verifier().verify(ref(`demo/app@${images.demoApp.digest}`));
    assertSigned(v, rsa, 'Acme RSA Signer');
    assert.equal(v.pinned, `${ref('demo/app')}@${images.demoApp.digest}`);
    assert.ok(!v.chain.nodes.some((n) => n.kind === 'registry-tag'));
  });

  test('COSE, EC P-256 (root → leaf)', async () => {
    const v = await verifier().verify(ref('demo/app:1.0-amd64'));
    assertSigned(v, ec, 'Acme EC Signer');
    assert.equal(v.signatures[0]?.format, 'cose');
    assert.equal(v.pinned, `${ref('demo/app')}@${images.demoAppAmd64.digest}`);
    assert.deepEqual(kinds(v).slice(0, 4), ['root', 'certificate', 'certificate', 'signature']);
    assert.match(v.chain.nodes[3]!.label, /Notation signature \(COSE\)/);
  });

  test('the pre-1.1 signature manifest (config media type, no artifactType) is found and verifies', async () => {
    const v = await verifier().verify(ref('demo/app:1.0-arm64'));
    assertSigned(v, rsa, 'Acme RSA Signer');
    assert.equal(v.signatures[0]?.format, 'cose');
    assert.equal(v.subject.digest, images.demoAppArm64.digest);
  });

  test('a repository with no signatures: SIGNATURE_NOT_FOUND, nothing pinned', async () => {
    const v = await verifier().verify(ref('demo/liar:1.0'));
    assert.equal(v.ok, false);
    assert.equal(v.problems[0]?.code, 'SIGNATURE_NOT_FOUND');
    assert.equal(v.pinned, undefined);
    assert.equal(v.subject.digest, images.demoLiar.digest);
    assert.equal(v.policy?.name, 'acme-images');
  });

  test('a repository no statement covers: TRUST_POLICY_INVALID is thrown (operational, not a verdict)', async () => {
    await assert.rejects(
      verifier().verify(ref('mirror/app:1.0')),
      (e: unknown) =>
        e instanceof TrustpinError && e.code === 'TRUST_POLICY_INVALID' && !e.isVerificationFailure,
    );
  });

  test('another identity than the signer: not trusted (the policy decides, not the store alone)', async () => {
    const v = await verifier({
      trustPolicy: {
        version: '1.0',
        trustPolicies: [
          defaultPolicy({
            name: 'only-ec',
            registryScopes: [ref('demo/app')],
            trustStores: ['ca:acme'],
            trustedIdentities: [`x509.subject: ${EC_LEAF}`],
          }),
        ],
      },
    }).verify(ref('demo/app:1.0'));
    assert.equal(v.ok, false);
    assert.equal(v.policy?.name, 'only-ec');
    assert.equal(v.problems[0]?.code, 'IDENTITY_MISMATCH');
    assert.equal(v.pinned, undefined);
  });

  test('an expired certificate with an RFC 3161 timestamp from a trusted TSA passes; without the tsa store it fails', async () => {
    const v = await verifier().verify(ref('demo/ts:1.0'));
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.policy?.name, 'acme-timestamped');
    assert.equal(v.signatures[0]?.timestamp?.trustStore, 'tsa:acme-tsa');
    assert.equal(v.pinned, `${ref('demo/ts')}@${ts.digest}`);
    assert.match(v.claims[0]!.type === 'notation-x509' ? v.claims[0]!.subject : '', /Acme Expired Signer/);
    const noTsa = await verifier({
      trustPolicy: {
        version: '1.0',
        trustPolicies: [defaultPolicy({ registryScopes: [ref('demo/ts')], trustStores: ['ca:acme'] })],
      },
    }).verify(ref('demo/ts:1.0'));
    assert.equal(noTsa.ok, false);
    assert.equal(noTsa.problems[0]?.code, 'CERTIFICATE_EXPIRED');
    assert.equal(noTsa.pinned, undefined);
    // and with a tsa store, notation requires a timestamp: an untimestamped signature fails
    const untimestamped = await verifier({
      trustPolicy: {
        version: '1.0',
        trustPolicies: [
          defaultPolicy({ registryScopes: [ref('demo/app')], trustStores: ['ca:acme', 'tsa:acme-tsa'] }),
        ],
      },
    }).verify(ref('demo/app:1.0'));
    assert.equal(untimestamped.ok, false);
    assert.equal(untimestamped.problems[0]?.code, 'TIMESTAMP_INVALID');
  });

  test('the OCI layout copy with its signature, offline: the scope option selects the statement', async () => {
    const v = await verifier({ offline: true, scope: ref('demo/app') }).verify(`oci:${layout}:app`);
    assertSigned(v, rsa, 'Acme RSA Signer');
    assert.equal(v.subject.digest, images.demoApp.digest);
    assert.match(v.pinned ?? '', new RegExp(`@${images.demoApp.digest}$`));
    // unsigned in the layout: demo/liar
    const liar = await verifier({ offline: true, scope: ref('demo/liar') }).verify(`oci:${layout}:liar`);
    assert.equal(liar.ok, false);
    assert.equal(liar.problems[0]?.code, 'SIGNATURE_NOT_FOUND');
    // no scope: the policy has no `*` statement
    await assert.rejects(
      verifier({ offline: true }).verify(`oci:${layout}:app`),
      (e: unknown) => e instanceof TrustpinError && e.code === 'TRUST_POLICY_INVALID',
    );
    // offline refuses a registry reference
    await assert.rejects(
      verifier({ offline: true }).verify(ref('demo/app:1.0')),
      (e: unknown) => e instanceof TrustpinError && e.code === 'OFFLINE',
    );
  });

  test('verifyMirrorOf: the origin signed in the registry, the OCI layout copy proven the same image; another image is not', async () => {
    const v = verifier();
    const same = await verifyMirrorOf(v, ref('demo/app:1.0'), await openSource(`oci:${layout}:app`, client), {
      client,
    });
    assert.equal(same.ok, true, JSON.stringify(same.problems));
    assert.equal(same.origin.ok, true);
    assert.equal(same.comparison?.equivalent, true);
    assert.deepEqual(same.problems, []);
    const other = await verifyMirrorOf(
      v,
      ref('demo/app:1.0'),
      await openSource(`oci:${layout}:liar`, client),
      { client },
    );
    assert.equal(other.ok, false);
    assert.equal(other.origin.ok, true);
    assert.equal(other.problems[0]?.code, 'MIRROR_NOT_PROVEN');
    // an unsigned origin: nothing to compare against
    const unsigned = await verifyMirrorOf(
      v,
      ref('demo/liar:1.0'),
      await openSource(`oci:${layout}:liar`, client),
      { client },
    );
    assert.equal(unsigned.ok, false);
    assert.equal(unsigned.comparison, undefined);
    assert.equal(unsigned.problems[0]?.code, 'SIGNATURE_NOT_FOUND');
  });
});
