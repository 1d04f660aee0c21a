// Issue 17: a cosign or Notation verifier given a reference by digest searches for signatures while it fetches the
// image. The overlap must change nothing but time: a signature next to a digest the registry does not serve (or
// serves other bytes for) is never accepted, and a good image still verifies, on the real docker-registry.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildImage } from '../../src/demo/build.js';
import { RegistryClient } from '../../src/registry/index.js';
import { createCosignVerifier } from '../../src/trust/cosign/index.js';
import { createNotationVerifier, trustStoreFromFiles } from '../../src/trust/notation/index.js';
import { cosignKey, fakeSigstore, pushArtifacts, registryFixture, signImage } from '../harness/index.js';
import {
  NOTATION_JWS_MEDIA_TYPE,
  notationPki,
  pemOf,
  pushNotationSignature,
  signJws,
} from '../harness/notation.js';

const fx = registryFixture('plain');

async function image(seed: string) {
  return buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [[{ path: `app/${seed}.txt`, content: `image ${seed}\n` }]],
  });
}

async function push(host: string, repo: string, img: Awaited<ReturnType<typeof image>>, tag: string) {
  await pushArtifacts(host, repo, {
    blobs: [img.config.bytes, ...img.layers.map((l) => l.bytes)],
    manifests: [{ bytes: img.manifest.bytes, mediaType: img.manifest.mediaType, tag }],
  });
}

describe('signature search beside the image fetch (reference by digest)', () => {
  let client: RegistryClient;
  const sigstore = fakeSigstore();
  const key = cosignKey('p256');
  const pki = notationPki();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  before(() => {
    client = new RegistryClient({ credentials: async () => undefined });
    process.on('unhandledRejection', onUnhandled);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await client?.close();
  });

  test('cosign: a signed image verifies; a signature beside a digest the registry lacks never passes', async () => {
    const { host } = fx.registry;
    const good = await image('good');
    const ghost = await image('ghost'); // signed, its signature pushed, the image itself never pushed
    await push(host, 'o/cosign', good, 'v1');
    for (const img of [good, ghost]) {
      const s = signImage({
        image: { digest: img.manifest.digest, bytes: img.manifest.bytes, mediaType: img.manifest.mediaType },
        dockerReference: `${host}/o/cosign`,
        signer: key,
        format: 'legacy',
        tlog: sigstore,
      });
      await pushArtifacts(host, 'o/cosign', s.push);
    }
    const v = createCosignVerifier({
      client,
      keys: [key.pem],
      trustedRoot: JSON.stringify(sigstore.trustedRoot),
    });
    const ok = await v.verify(`${host}/o/cosign@${good.manifest.digest}`);
    assert.ok(ok.ok, JSON.stringify(ok.problems));
    assert.equal(ok.subject.digest, good.manifest.digest);
    const r = await v.verify(`${host}/o/cosign@${ghost.manifest.digest}`).then(
      (x) => ({ verdict: x }),
      (e: unknown) => ({ error: e as { code?: string } }),
    );
    if ('verdict' in r) {
      assert.equal(r.verdict.ok, false, 'a signature without its image verified');
      assert.deepEqual(r.verdict.signatures, [], 'the signature found early was checked');
    } else assert.equal(r.error.code, 'MANIFEST_UNKNOWN');
    // the verifier keeps nothing: the good image still verifies after the failure
    assert.ok((await v.verify(`${host}/o/cosign@${good.manifest.digest}`)).ok);
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(unhandled, []);
  });

  test('Notation: the same, with the signature found through the tag-schema index', async () => {
    const { host } = fx.registry;
    const good = await image('n-good');
    const ghost = await image('n-ghost');
    await push(host, 'o/notation', good, 'v1');
    for (const img of [good, ghost]) {
      const desc = {
        mediaType: img.manifest.mediaType,
        digest: img.manifest.digest,
        size: img.manifest.bytes.length,
      };
      await pushNotationSignature(
        host,
        'o/notation',
        desc,
        signJws({ target: desc, signer: { key: pki.leaf.key, chain: pki.chain } }),
        NOTATION_JWS_MEDIA_TYPE,
        pki.chain,
      );
    }
    const v = createNotationVerifier({
      client,
      trustPolicy: {
        version: '1.0',
        trustPolicies: [
          {
            name: 't',
            registryScopes: ['*'],
            signatureVerification: { level: 'strict' },
            trustStores: ['ca:t'],
            trustedIdentities: ['*'],
          },
        ],
      },
      trustStores: [
        trustStoreFromFiles('ca', 't', [{ path: 'ca.pem', bytes: Buffer.from(pemOf(pki.root.der)) }]),
      ],
    });
    const ok = await v.verify(`${host}/o/notation@${good.manifest.digest}`);
    assert.ok(ok.ok, JSON.stringify(ok.problems));
    const r = await v.verify(`${host}/o/notation@${ghost.manifest.digest}`).then(
      (x) => ({ verdict: x }),
      (e: unknown) => ({ error: e as { code?: string } }),
    );
    if ('verdict' in r) {
      assert.equal(r.verdict.ok, false, 'a signature without its image verified');
      assert.deepEqual(r.verdict.signatures, []);
    } else assert.equal(r.error.code, 'MANIFEST_UNKNOWN');
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(unhandled, []);
  });
});
