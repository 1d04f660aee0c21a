import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf, parseDigest, selfDigested, verifyBytes } from '../../src/digest/index.js';
import { isTrustpinError } from '../../src/errors/index.js';
import {
  classifyEntry,
  cosignTagKind,
  type Descriptor,
  MT,
  parseManifest,
  parsePlatform,
  platformMatches,
  schema1Payload,
} from '../../src/manifest/index.js';
import { skipNoVectors, vector } from '../vectors.js';

const CI = 'containers-image/manifest/fixtures/';

test('containers/image digests: v2s2 raw bytes; signed schema1 over the JWS payload', {
  skip: skipNoVectors,
}, () => {
  const v2s2 = vector(`${CI}v2s2.manifest.json`);
  assert.equal(digestOf(v2s2), 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55');
  const s1 = vector(`${CI}v2s1.manifest.json`);
  const want = parseDigest('sha256:7364fea9d84ee548ab67d4c46c6006289800c98de3fbf8c0a97138dfcc23f000');
  const vb = verifyBytes(s1, { digest: want }, schema1Payload(s1));
  assert.equal(parseManifest(vb).value.kind, 'schema1');
  assert.equal(digestOf(vector(`${CI}v2s1-unsigned.manifest.json`)), want);
  assert.throws(
    () => schema1Payload(vector(`${CI}v2s1-invalid-signatures.manifest.json`)),
    (e: unknown) => isTrustpinError(e, 'MANIFEST_INVALID'),
  );
});

test('moby schema1 fixtures: good verifies, altered payload does not', { skip: skipNoVectors }, () => {
  const want = parseDigest('sha256:02fee8c3220ba806531f606525eceb83f4feb654f62b207191b1c9209188dedd');
  const good = vector('moby/distribution/fixtures/validate_manifest/good_manifest');
  assert.equal(verifyBytes(good, { digest: want }, schema1Payload(good)).digest, want);
  const bad = vector('moby/distribution/fixtures/validate_manifest/bad_manifest');
  assert.throws(
    () => verifyBytes(bad, { digest: want }, schema1Payload(bad)),
    (e: unknown) => isTrustpinError(e, 'DIGEST_MISMATCH'),
  );
});

test('webdis 0.1.19 manifest list parses as a Docker list with its platforms', {
  skip: skipNoVectors,
}, () => {
  const b = vector('webdis/_derived/nicolas-webdis-0.1.19.manifest-list.json');
  const m = parseManifest(selfDigested(b)).value;
  assert.equal(m.kind, 'index');
  assert.equal(m.mediaType, MT.dockerList);
  if (m.kind !== 'index') return;
  assert.ok(m.manifests.length >= 2);
  assert.ok(m.manifests.every((d) => classifyEntry(d) === 'platform'));
});

test('each containers/image fixture parses as its kind or fails with MANIFEST_INVALID, as expected (never a crash)', {
  skip: skipNoVectors,
}, () => {
  // every outcome is pinned: a parser that rejected good manifests (or accepted bad ones) fails here
  const expected: Record<string, string> = {
    'ociv1.manifest.json': 'image',
    'ociv1.image.index.json': 'index',
    'ociv1nomime.manifest.json': 'image',
    'ociv1nomime.image.index.json': 'index',
    'v2list.manifest.json': 'index',
    'v2s2.manifest.json': 'image',
    'v2s2nomime.manifest.json': 'image',
    'v2s1.manifest.json': 'schema1',
    'ociv1.artifact.json': 'MANIFEST_INVALID',
    'non-json.manifest.json': 'MANIFEST_INVALID',
    'unknown-version.manifest.json': 'MANIFEST_INVALID',
  };
  const outcome = (f: string): string => {
    try {
      return parseManifest(selfDigested(vector(CI + f))).value.kind;
    } catch (e) {
      if (!isTrustpinError(e)) throw e;
      return e.code;
    }
  };
  assert.deepEqual(Object.fromEntries(Object.keys(expected).map((f) => [f, outcome(f)])), expected);
});

test('a manifest whose mediaType contradicts its parent descriptor is rejected', () => {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] }));
  assert.throws(
    () => parseManifest(selfDigested(body), { descriptorMediaType: MT.ociManifest }),
    (e: unknown) => isTrustpinError(e, 'MEDIA_TYPE_MISMATCH'),
  );
});

const D = (extra: Partial<Descriptor>): Descriptor => ({
  mediaType: MT.ociManifest,
  digest: parseDigest(`sha256:${'1'.repeat(64)}`),
  size: 1,
  ...extra,
});

test('attestations and signatures are never platforms', () => {
  assert.equal(classifyEntry(D({ platform: { os: 'linux', architecture: 'amd64' } })), 'platform');
  assert.equal(
    classifyEntry(
      D({
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
      }),
    ),
    'attestation',
  );
  assert.equal(classifyEntry(D({ platform: { os: 'unknown', architecture: 'unknown' } })), 'attestation');
  assert.equal(
    classifyEntry(D({ artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' })),
    'signature',
  );
  assert.equal(classifyEntry(D({})), 'unknown');
  assert.equal(cosignTagKind(`sha256-${'a'.repeat(64)}.sig`), 'signature');
  assert.equal(cosignTagKind(`sha256-${'a'.repeat(64)}.att`), 'attestation');
  assert.equal(cosignTagKind('1.0'), undefined);
});

test('platform matching normalises like containerd', () => {
  assert.ok(
    platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }),
  );
  assert.ok(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' }));
  assert.ok(platformMatches(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' }));
  assert.ok(platformMatches(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm' }));
  assert.ok(
    !platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' }),
  );
  assert.ok(!platformMatches(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }));
  assert.throws(
    () => parsePlatform('linux'),
    (e: unknown) => isTrustpinError(e, 'USAGE'),
  );
});
