// Discovery of cosign signatures and other attachments against a real docker-registry 2.8 (which answers 404 on
// the referrers API, so bundles are found through the tag-schema index `sha256-<hex>`), with cosign's legacy
// `.sig`/`.att` tags, a signature repository other than the image's, and the same artifacts in an OCI layout.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Digest } from '../../src/digest/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { openOciLayout } from '../../src/source/index.js';
import {
  type AttachmentStore,
  discoverArtifacts,
  layoutAttachments,
  listAttachments,
  registryAttachments,
} from '../../src/trust/cosign/index.js';
import {
  type BuiltBlob,
  built,
  cosignLegacyManifest,
  digestTag,
  EMPTY_CONFIG,
  makeTempDir,
  ociManifest,
  pushArtifacts,
  referrerManifest,
  registryFixture,
  removeDir,
  requireBinary,
  run,
  tagSchemaIndex,
  writeOciLayout,
} from '../harness/index.js';

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const NOTATION = 'application/vnd.cncf.notary.signature';
const SPDX = 'application/spdx+json';
const SIMPLE = 'application/vnd.dev.cosign.simplesigning.v1+json';
const DSSE = 'application/vnd.dsse.envelope.v1+json';

/** One image and everything a test attaches to it, as exact bytes. */
function buildSet(name: string) {
  const config = built(
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, name }),
    ),
    'application/vnd.oci.image.config.v1+json',
  );
  const image = ociManifest({ config, layers: [] });
  const other = ociManifest({ config: EMPTY_CONFIG, layers: [], annotations: { other: name } });
  const payload = built(
    Buffer.from(
      `{"critical":{"identity":{"docker-reference":"x/${name}"},"image":{"docker-manifest-digest":"${image.digest}"},"type":"cosign container image signature"},"optional":null}`,
    ),
    SIMPLE,
  );
  const sigAnn = { 'dev.cosignproject.cosign/signature': 'MEUCIQ-not-a-real-signature' };
  const sig = cosignLegacyManifest([{ blob: payload, annotations: sigAnn }]);
  const envelope = built(
    Buffer.from(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`),
    DSSE,
  );
  const att = cosignLegacyManifest([
    { blob: envelope, annotations: { 'dev.cosignproject.cosign/signature': '' } },
  ]);
  const bundleJson = built(Buffer.from(`{"mediaType":"${BUNDLE}","name":"${name}"}`), BUNDLE);
  const bundle = referrerManifest({
    artifactType: BUNDLE,
    subject: image,
    layers: [bundleJson],
    annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
  });
  const notationEnv = built(Buffer.from('{"payload":"x"}'), 'application/jose+json');
  const notation = referrerManifest({ artifactType: NOTATION, subject: image, layers: [notationEnv] });
  const sbomDoc = built(Buffer.from('{"spdxVersion":"SPDX-2.3"}'), SPDX);
  const sbom = referrerManifest({ artifactType: SPDX, subject: image, layers: [sbomDoc] });
  // a signature of the SBOM: a referrer of a referrer
  const sbomSigBlob = built(Buffer.from(`{"mediaType":"${BUNDLE}","of":"sbom"}`), BUNDLE);
  const sbomSig = referrerManifest({ artifactType: BUNDLE, subject: sbom, layers: [sbomSigBlob] });
  // listed in the image's referrers index, but its manifest names another subject
  const decoyBlob = built(Buffer.from(`{"mediaType":"${BUNDLE}","decoy":true}`), BUNDLE);
  const decoy = referrerManifest({ artifactType: BUNDLE, subject: other, layers: [decoyBlob] });
  const index = tagSchemaIndex([
    { manifest: bundle, artifactType: BUNDLE },
    { manifest: notation, artifactType: NOTATION },
    { manifest: sbom, artifactType: SPDX },
    { manifest: decoy, artifactType: BUNDLE },
  ]);
  const sbomIndex = tagSchemaIndex([{ manifest: sbomSig, artifactType: BUNDLE }]);
  return {
    config,
    image,
    other,
    payload,
    sig,
    envelope,
    att,
    bundleJson,
    bundle,
    notationEnv,
    notation,
    sbomDoc,
    sbom,
    sbomSigBlob,
    sbomSig,
    decoyBlob,
    decoy,
    index,
    sbomIndex,
  };
}
type Set = ReturnType<typeof buildSet>;

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const IDX = 'application/vnd.oci.image.index.v1+json';

/** Push the attachments of `s` (not the image) to `host/repo`. */
async function pushAttachments(host: string, repo: string, s: Set, creds?: string): Promise<void> {
  const blobs: BuiltBlob[] = [
    EMPTY_CONFIG,
    s.config,
    s.payload,
    s.sig.config,
    s.envelope,
    s.att.config,
    s.bundleJson,
    s.notationEnv,
    s.sbomDoc,
    s.sbomSigBlob,
    s.decoyBlob,
  ];
  await pushArtifacts(
    host,
    repo,
    {
      blobs: blobs.map((b) => b.bytes),
      manifests: [
        { bytes: s.sig.manifest.bytes, mediaType: OCI, tag: digestTag(s.image.digest, 'sig') },
        { bytes: s.att.manifest.bytes, mediaType: OCI, tag: digestTag(s.image.digest, 'att') },
        { bytes: s.bundle.bytes, mediaType: OCI },
        { bytes: s.notation.bytes, mediaType: OCI },
        { bytes: s.sbom.bytes, mediaType: OCI },
        { bytes: s.sbomSig.bytes, mediaType: OCI },
        { bytes: s.decoy.bytes, mediaType: OCI },
        { bytes: s.index.bytes, mediaType: IDX, tag: digestTag(s.image.digest) },
        { bytes: s.sbomIndex.bytes, mediaType: IDX, tag: digestTag(s.sbom.digest) },
      ],
    },
    creds,
  );
}

async function pushImage(host: string, repo: string, s: Set, tag: string): Promise<void> {
  await pushArtifacts(host, repo, {
    blobs: [s.config.bytes, EMPTY_CONFIG.bytes],
    manifests: [
      { bytes: s.image.bytes, mediaType: OCI, tag },
      { bytes: s.other.bytes, mediaType: OCI, tag: 'other' },
    ],
  });
}

describe('cosign discovery against docker-registry 2.8', () => {
  const fx = registryFixture('plain', { seed: false });
  const signed = buildSet('signed');
  const elsewhere = buildSet('elsewhere');
  const unsigned = buildSet('unsigned');
  let client: RegistryClient;
  let store: AttachmentStore;

  before(async () => {
    const { host } = fx.registry;
    await pushImage(host, 'demo/signed', signed, 'v1');
    await pushAttachments(host, 'demo/signed', signed);
    await pushImage(host, 'demo/elsewhere', elsewhere, 'v1');
    await pushAttachments(host, 'sigs/store', elsewhere);
    await pushImage(host, 'demo/unsigned', unsigned, 'v1');
    client = new RegistryClient({ credentials: async () => undefined });
    store = registryAttachments(client, host, 'demo/signed');
  });
  after(() => client?.close());

  test('finds the bundle through the tag-schema index and the .sig/.att layers, bytes as pushed', async () => {
    const found = await discoverArtifacts(store, signed.image.digest as Digest, {
      kinds: ['signatures', 'attestations'],
    });
    assert.deepEqual(found.refused, []);
    const byFormat = Object.fromEntries(found.artifacts.map((a) => [a.format, a]));
    assert.equal(found.artifacts.length, 3, found.artifacts.map((a) => a.origin).join(', '));
    const b = byFormat.bundle!;
    assert.deepEqual(b.bytes, signed.bundleJson.bytes);
    assert.equal(b.manifestDigest, signed.bundle.digest);
    assert.equal(b.layerDigest, signed.bundleJson.digest);
    assert.equal(b.artifactType, BUNDLE);
    assert.equal(b.predicateTypeHint, 'https://sigstore.dev/cosign/sign/v1');
    assert.match(b.origin, new RegExp(`referrer ${signed.bundle.digest} \\(tag sha256-[0-9a-f]{64}\\)`));
    const s = byFormat['legacy-signature']!;
    assert.deepEqual(s.bytes, signed.payload.bytes);
    assert.equal(s.mediaType, SIMPLE);
    assert.equal(s.annotations['dev.cosignproject.cosign/signature'], 'MEUCIQ-not-a-real-signature');
    assert.equal(s.manifestDigest, signed.sig.manifest.digest);
    assert.equal(
      s.origin,
      `${fx.registry.host}/demo/signed:${digestTag(signed.image.digest, 'sig')} layer 1`,
    );
    const a = byFormat['legacy-attestation']!;
    assert.deepEqual(a.bytes, signed.envelope.bytes);
    assert.equal(a.mediaType, DSSE);
    // the registry has no referrers API: that is said, and the decoy (another subject) is left out
    const tagSchema = found.searched.find((r) => r.where.includes('(tag schema)'))!;
    assert.equal(tagSchema.found, 1);
    assert.match(tagSchema.note ?? '', /no referrers API \(HTTP 404\)/);
    assert.match(tagSchema.note ?? '', /1 whose subject is another image/);
    assert.ok(!found.artifacts.some((x) => x.layerDigest === signed.decoyBlob.digest));
  });

  test('signatures only: no .att is read', async () => {
    const found = await discoverArtifacts(store, signed.image.digest as Digest, { kinds: ['signatures'] });
    assert.deepEqual(found.artifacts.map((a) => a.format).sort(), ['bundle', 'legacy-signature']);
    assert.ok(!found.searched.some((r) => r.where.endsWith('.att')));
  });

  test('an unsigned image: none found in each place, no error', async () => {
    const s = registryAttachments(client, fx.registry.host, 'demo/unsigned');
    const found = await discoverArtifacts(s, unsigned.image.digest as Digest, {
      kinds: ['signatures', 'attestations'],
    });
    assert.deepEqual(found.artifacts, []);
    assert.equal(found.searched.length, 3);
    for (const r of found.searched) {
      assert.equal(r.found, 0);
      assert.match(r.note ?? '', /no such tag/);
    }
  });

  test('a signature repository other than the image’s (COSIGN_REPOSITORY)', async () => {
    const image = registryAttachments(client, fx.registry.host, 'demo/elsewhere');
    const digest = elsewhere.image.digest as Digest;
    const none = await discoverArtifacts(image, digest);
    assert.deepEqual(none.artifacts, []);
    const sigs = registryAttachments(client, fx.registry.host, 'sigs/store');
    const found = await discoverArtifacts(image, digest, { signatureRepository: sigs });
    assert.deepEqual(found.artifacts.map((a) => a.format).sort(), ['bundle', 'legacy-signature']);
    assert.ok(found.searched.every((r) => r.where.startsWith(`${fx.registry.host}/sigs/store`)));
    // a repository that does not exist at all is "none found" too
    const missing = registryAttachments(client, fx.registry.host, 'no/such/repo');
    const nothing = await discoverArtifacts(image, digest, { signatureRepository: missing });
    assert.deepEqual(nothing.artifacts, []);
  });

  test('a layer over the cap is refused before download, the others still found', async () => {
    const found = await discoverArtifacts(store, signed.image.digest as Digest, {
      kinds: ['signatures', 'attestations'],
      layerCap: signed.payload.size - 1,
    });
    const refused = found.refused.find((r) => r.origin.endsWith('.sig layer 1'));
    assert.equal(refused?.error.code, 'SIZE_EXCEEDED');
    assert.ok(!found.artifacts.some((a) => a.format === 'legacy-signature'));
  });

  test('a .sig written by skopeo 1.9.3 (use-sigstore-attachments) is found, payload and annotations as given', async () => {
    const skopeo = requireBinary('skopeo', 'skopeo');
    const dir = await makeTempDir('discovery-skopeo');
    try {
      const s = buildSet('peer');
      const img = join(dir, 'img');
      await mkdir(img);
      await writeFile(join(img, 'manifest.json'), s.image.bytes);
      await writeFile(join(img, s.config.digest.slice('sha256:'.length)), s.config.bytes);
      await writeFile(join(img, 'version'), 'Directory Transport Version: 1.1\n');
      const annotations = {
        'dev.cosignproject.cosign/signature': 'MEUCIQ-peer',
        'dev.sigstore.cosign/bundle': '{}',
      };
      // containers/image's dir: form of a sigstore signature: a prefix, then {mimeType, payload (base64), annotations}
      const sig = { mimeType: SIMPLE, payload: s.payload.bytes.toString('base64'), annotations };
      await writeFile(
        join(img, 'signature-1'),
        Buffer.concat([Buffer.from('\x00sigstore-json\n'), Buffer.from(JSON.stringify(sig))]),
      );
      await mkdir(join(dir, 'registries.d'));
      await writeFile(
        join(dir, 'registries.d', 'trustpin.yaml'),
        `docker:\n  ${fx.registry.host}:\n    use-sigstore-attachments: true\n`,
      );
      await writeFile(join(dir, 'auth.json'), '{"auths":{}}');
      await run(
        skopeo,
        [
          '--insecure-policy',
          '--registries.d',
          join(dir, 'registries.d'),
          'copy',
          '--preserve-digests',
          '--dest-tls-verify=false',
          `dir:${img}`,
          `docker://${fx.registry.host}/demo/peer:v1`,
        ],
        { env: { ...process.env, REGISTRY_AUTH_FILE: join(dir, 'auth.json') } },
      );
      const found = await discoverArtifacts(
        registryAttachments(client, fx.registry.host, 'demo/peer'),
        s.image.digest as Digest,
      );
      assert.equal(found.artifacts.length, 1);
      const a = found.artifacts[0]!;
      assert.equal(a.format, 'legacy-signature');
      assert.deepEqual(a.bytes, s.payload.bytes);
      assert.equal(a.mediaType, SIMPLE);
      assert.deepEqual(a.annotations, annotations);
    } finally {
      await removeDir(dir);
    }
  });

  test('listAttachments: every referrer kind, the nested signature of the SBOM, the legacy tags', async () => {
    const listing = await listAttachments(store, signed.image.digest as Digest);
    const kinds = listing.attachments.map(
      (n) =>
        `${n.kind} ${n.via.startsWith('tag sha256-') && n.via.endsWith('.sig') ? 'sig' : n.via.endsWith('.att') ? 'att' : 'ref'}`,
    );
    assert.deepEqual(kinds.sort(), [
      'cosign-attestation att',
      'cosign-signature sig',
      'notation-signature ref',
      'sbom ref',
      'sigstore-bundle ref',
    ]);
    assert.ok(!listing.attachments.some((n) => n.digest === signed.decoy.digest), 'decoy left out');
    const sbom = listing.attachments.find((n) => n.kind === 'sbom')!;
    assert.equal(sbom.artifactType, SPDX);
    assert.deepEqual(sbom.layers, [
      { mediaType: SPDX, digest: signed.sbomDoc.digest, size: signed.sbomDoc.size, annotations: {} },
    ]);
    assert.equal(sbom.referrers.length, 1);
    assert.equal(sbom.referrers[0]!.digest, signed.sbomSig.digest);
    assert.equal(sbom.referrers[0]!.kind, 'sigstore-bundle');
    const bundle = listing.attachments.find((n) => n.kind === 'sigstore-bundle')!;
    assert.equal(
      bundle.annotations['dev.sigstore.bundle.predicateType'],
      'https://sigstore.dev/cosign/sign/v1',
    );
    // depth 1: only the image's own attachments, each marked as not followed
    const shallow = await listAttachments(store, signed.image.digest as Digest, { maxDepth: 1 });
    assert.ok(shallow.attachments.every((n) => n.referrers.length === 0 && /depth limit/.test(n.note ?? '')));
  });
});

describe('cosign discovery in an OCI layout', () => {
  const s = buildSet('layout');
  const dir = join(tmpdir(), `trustpin-discovery-${process.pid}`);
  before(async () => {
    const blobs = [
      EMPTY_CONFIG,
      s.config,
      s.image,
      s.payload,
      s.sig.config,
      s.sig.manifest,
      s.bundleJson,
      s.bundle,
      s.decoyBlob,
      s.decoy,
      s.other,
    ].map((b) => ({ ...b, digest: b.digest as Digest }));
    const byDigest = (b: BuiltBlob) => blobs.find((x) => x.digest === b.digest)!;
    // the referrers sit in index.json untagged (as `oras copy --to-oci-layout` leaves them); the .sig is tagged
    await writeOciLayout(dir, blobs, [
      { name: 'v1', target: byDigest(s.image) },
      { name: digestTag(s.image.digest, 'sig'), target: byDigest(s.sig.manifest) },
      { name: 'bundle', target: byDigest(s.bundle) },
      { name: 'decoy', target: byDigest(s.decoy) },
    ]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the bundle is found by its subject and the .sig by its ref name', async () => {
    const source = openOciLayout(`${dir}:v1`);
    try {
      const top = await source.resolve();
      const found = await discoverArtifacts(layoutAttachments(source), top.digest, {
        kinds: ['signatures', 'attestations'],
      });
      assert.deepEqual(found.artifacts.map((a) => a.format).sort(), ['bundle', 'legacy-signature']);
      assert.deepEqual(found.artifacts.find((a) => a.format === 'bundle')!.bytes, s.bundleJson.bytes);
      assert.ok(!found.artifacts.some((a) => a.layerDigest === s.decoyBlob.digest));
      const att = found.searched.find((r) => r.where.endsWith('.att'))!;
      assert.equal(att.note, 'no such tag');
    } finally {
      await source.close();
    }
  });
});

describe('cosign discovery against a token-auth docker-registry', () => {
  const fx = registryFixture('token', { seed: false, token: { anonymousActions: [] } });
  const s = buildSet('token');
  let client: RegistryClient;
  before(async () => {
    const { host, creds } = fx.registry;
    await pushArtifacts(
      host,
      'demo/private',
      {
        blobs: [s.config.bytes, EMPTY_CONFIG.bytes],
        manifests: [
          { bytes: s.image.bytes, mediaType: OCI, tag: 'v1' },
          { bytes: s.other.bytes, mediaType: OCI, tag: 'other' },
        ],
      },
      creds,
    );
    await pushAttachments(host, 'demo/private', s, creds);
    const [username, password] = creds!.split(':') as [string, string];
    client = new RegistryClient({ credentials: async () => ({ username, password, source: 'test' }) });
  });
  after(() => client?.close());

  test('the referrers request, the tags and the layers are all authorised with the pull token', async () => {
    const store = registryAttachments(client, fx.registry.host, 'demo/private');
    const found = await discoverArtifacts(store, s.image.digest as Digest, {
      kinds: ['signatures', 'attestations'],
    });
    assert.deepEqual(found.artifacts.map((a) => a.format).sort(), [
      'bundle',
      'legacy-attestation',
      'legacy-signature',
    ]);
    assert.match(found.searched[0]!.note ?? '', /HTTP 404/);
    // without credentials nothing is granted: an operational failure, not "none found"
    const anonymous = new RegistryClient({ credentials: async () => undefined });
    try {
      await assert.rejects(
        discoverArtifacts(
          registryAttachments(anonymous, fx.registry.host, 'demo/private'),
          s.image.digest as Digest,
        ),
        (e: { code?: string }) => e.code === 'AUTH_REQUIRED' || e.code === 'AUTH_DENIED',
      );
    } finally {
      await anonymous.close();
    }
  });
});
