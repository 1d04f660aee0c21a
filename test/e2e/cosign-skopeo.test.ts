// skopeo 1.9.3 as a real peer for cosign's storage format (wave2 §B.3; Debian's skopeo cannot verify sigstore
// signatures, but it reads and writes the `sha256-<hex>.sig` attachments): signatures made by the harness signer
// go through skopeo into docker-registry 2.8, and the `.sig` manifest skopeo writes is byte for byte what
// sigManifest builds; the other way, what the harness pushes skopeo reads back intact; and trustpin discovers and
// verifies the skopeo-pushed signatures.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Digest } from '../../src/digest/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import {
  type CheckContext,
  checkArtifact,
  discoverArtifacts,
  registryAttachments,
} from '../../src/trust/cosign/index.js';
import { loadTrustedRoot } from '../../src/trust/cosign/trusted-root.js';
import {
  type CosignKey,
  cosignKey,
  digestOf,
  digestTag,
  fakeSigstore,
  hostile,
  type LegacyLayer,
  legacyPushSet,
  makeTempDir,
  pushArtifacts,
  registryFixture,
  removeDir,
  requireBinary,
  run,
  SLSA_PROVENANCE_V1,
  sigManifest,
  signImage,
  signLegacy,
  simpleSigningPayload,
  skopeoSignatureFile,
  slsaProvenance,
} from '../harness/index.js';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/team/app/.github/workflows/release.yml@refs/heads/main';

/** A small OCI image (config + one empty-tar layer) as exact bytes. */
function image(name: string) {
  const layer = gzipSync(Buffer.alloc(1024));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { name } },
      rootfs: { type: 'layers', diff_ids: [digestOf(Buffer.alloc(1024))] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: digestOf(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: digestOf(layer),
          size: layer.length,
        },
      ],
    }),
  );
  return { layer, config, manifest, digest: digestOf(manifest) };
}
type Image = ReturnType<typeof image>;

const hexOf = (d: string) => d.slice('sha256:'.length);

/** skopeo's `dir:` layout of an image with sigstore attachments as signature-1, -2, … */
async function writeDir(dir: string, img: Image, sigs: LegacyLayer[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  await writeFile(join(dir, 'manifest.json'), img.manifest);
  await writeFile(join(dir, hexOf(digestOf(img.config))), img.config);
  await writeFile(join(dir, hexOf(digestOf(img.layer))), img.layer);
  for (const [i, s] of sigs.entries())
    await writeFile(join(dir, `signature-${i + 1}`), skopeoSignatureFile(s));
}

async function getRaw(url: string, accept = OCI): Promise<Buffer> {
  const res = await fetch(url, { headers: { accept }, signal: AbortSignal.timeout(30_000) });
  assert.equal(res.status, 200, `${url}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

describe('cosign .sig attachments through skopeo 1.9.3 and docker-registry 2.8', () => {
  const fx = registryFixture('plain', { seed: false });
  const skopeo = requireBinary('skopeo', 'skopeo');
  const now = new Date();
  const sigstore = fakeSigstore({ now });
  let tmp: string;
  let regsD: string;
  let key: CosignKey;
  let client: RegistryClient;
  const env = () => ({ ...process.env, REGISTRY_AUTH_FILE: join(tmp, 'auth.json') });
  const sk = (args: string[]) =>
    run(skopeo, ['--insecure-policy', '--registries.d', regsD, '--tmpdir', tmp, ...args], { env: env() });

  before(async () => {
    tmp = await makeTempDir('trustpin-cosign-skopeo-');
    regsD = join(tmp, 'registries.d');
    await mkdir(regsD);
    await writeFile(join(tmp, 'auth.json'), '{"auths":{}}');
    await writeFile(
      join(regsD, 'trustpin-test.yaml'),
      `docker:\n  ${fx.registry.host}:\n    use-sigstore-attachments: true\n`,
    );
    key = cosignKey('p256');
    client = new RegistryClient({ credentials: async () => undefined });
  });
  after(async () => {
    client?.close();
    if (tmp) await removeDir(tmp);
  });

  const ctx = (img: Image, repository: string, o: Partial<CheckContext['trust']> = {}): CheckContext => ({
    digest: img.digest,
    repository,
    now,
    trust: {
      keys: [{ keyId: key.keyId, key: key.publicKey }],
      identities: [{ issuer: ISSUER, subject: SUBJECT }],
      trustedRoot: loadTrustedRoot(sigstore.trustedRoot, 'fake sigstore'),
      requireTlog: true,
      ...o,
    },
  });

  test('skopeo pushes our signatures as the .sig manifest sigManifest builds, byte for byte; trustpin verifies them', async () => {
    const img = image('from-skopeo');
    const repo = `${fx.registry.host}/demo/skopeo`;
    const keyed = signLegacy({
      payload: simpleSigningPayload({ digest: img.digest, dockerReference: repo }),
      key,
      tlog: sigstore,
    });
    const keyless = signLegacy({
      payload: simpleSigningPayload({
        digest: img.digest,
        dockerReference: repo,
        annotations: { run: '42' },
      }),
      signer: sigstore.issue({ subject: SUBJECT, issuer: ISSUER }),
    });
    const src = join(tmp, 'src-img');
    await writeDir(src, img, [keyed, keyless]);
    await sk(['copy', '--dest-tls-verify=false', `dir:${src}`, `docker://${repo}:v1`]);

    const tag = digestTag(img.digest, 'sig');
    const pushed = await getRaw(`${fx.registry.url}/v2/demo/skopeo/manifests/${tag}`);
    const ours = sigManifest([keyed, keyless], { forDigest: img.digest });
    assert.equal(ours.manifest.tag, tag);
    assert.equal(
      pushed.toString(),
      ours.manifest.bytes.toString(),
      'skopeo’s .sig manifest differs from sigManifest',
    );
    const doc = JSON.parse(pushed.toString());
    assert.equal(
      (await getRaw(`${fx.registry.url}/v2/demo/skopeo/blobs/${doc.config.digest}`, '*/*')).toString(),
      ours.config.toString(),
    );
    for (const [i, l] of [keyed, keyless].entries()) {
      assert.deepEqual(
        await getRaw(`${fx.registry.url}/v2/demo/skopeo/blobs/${doc.layers[i].digest}`, '*/*'),
        l.payload,
      );
      assert.deepEqual(doc.layers[i].annotations, l.annotations);
    }

    // trustpin finds both layers through the .sig tag and both verify (keyed + SET, keyless + SCT + SET)
    const found = await discoverArtifacts(
      registryAttachments(client, fx.registry.host, 'demo/skopeo'),
      img.digest as Digest,
    );
    assert.deepEqual(found.refused, []);
    assert.equal(found.artifacts.length, 2);
    for (const a of found.artifacts) {
      const c = checkArtifact(a, ctx(img, repo));
      assert.deepEqual(c.problems, [], a.origin);
      assert.equal(c.ok, true);
    }
    // and for another repository's name they do not
    const c = checkArtifact(found.artifacts[0]!, ctx(img, `${fx.registry.host}/demo/other`));
    assert.equal(c.ok, false);
    assert.ok(c.problems.some((p) => p.code === 'IDENTITY_MISMATCH'));
  });

  test('skopeo reads the .sig tag we push back into dir: with the signatures intact', async () => {
    const img = image('from-harness');
    const repo = `${fx.registry.host}/demo/harness`;
    const layers = [
      signLegacy({ payload: simpleSigningPayload({ digest: img.digest, dockerReference: repo }), key }),
      signLegacy({
        payload: simpleSigningPayload({ digest: img.digest, dockerReference: repo }),
        signer: sigstore.issue({ subject: SUBJECT, issuer: ISSUER }),
      }),
    ];
    await pushArtifacts(fx.registry.host, 'demo/harness', {
      blobs: [img.config, img.layer],
      manifests: [{ bytes: img.manifest, mediaType: OCI, tag: 'v1' }],
    });
    await pushArtifacts(fx.registry.host, 'demo/harness', legacyPushSet(img.digest, layers));
    const out = join(tmp, 'out-img');
    await sk(['copy', '--src-tls-verify=false', `docker://${repo}:v1`, `dir:${out}`]);
    assert.deepEqual(await readFile(join(out, 'manifest.json')), img.manifest);
    for (const [i, l] of layers.entries())
      assert.equal(
        (await readFile(join(out, `signature-${i + 1}`))).toString('latin1'),
        skopeoSignatureFile(l).toString('latin1'),
        `signature-${i + 1}`,
      );
    await assert.rejects(readFile(join(out, 'signature-3')), { code: 'ENOENT' });
  });

  test('signImage: legacy and bundle artifacts, keyed and keyless, pushed with pushArtifacts, discovered and verified', async () => {
    const cases = [
      { name: 'legacy-keyed', format: 'legacy', keyed: true },
      { name: 'legacy-keyless', format: 'legacy', keyed: false },
      { name: 'bundle-keyed', format: 'bundle', keyed: true },
      { name: 'bundle-keyless', format: 'bundle', keyed: false },
      { name: 'bundle-message', format: 'bundle', keyed: false, content: 'message' },
    ] as const;
    for (const k of cases) {
      const img = image(k.name);
      const repoPath = `demo/${k.name}`;
      const repo = `${fx.registry.host}/${repoPath}`;
      await pushArtifacts(fx.registry.host, repoPath, {
        blobs: [img.config, img.layer],
        manifests: [{ bytes: img.manifest, mediaType: OCI, tag: 'v1' }],
      });
      const signed = signImage({
        image: { digest: img.digest, bytes: img.manifest },
        dockerReference: repo,
        signer: k.keyed ? key : sigstore.issue({ subject: SUBJECT, issuer: ISSUER }),
        tlog: sigstore,
        format: k.format,
        ...('content' in k ? { bundleContent: k.content } : {}),
        attestations: [
          {
            predicateType: SLSA_PROVENANCE_V1,
            predicate: slsaProvenance({
              sourceRepository: 'https://github.com/team/app',
              commit: 'c'.repeat(40),
            }),
          },
        ],
      });
      await pushArtifacts(fx.registry.host, repoPath, signed.push);
      const found = await discoverArtifacts(
        registryAttachments(client, fx.registry.host, repoPath),
        img.digest as Digest,
        {
          kinds: ['signatures', 'attestations'],
        },
      );
      assert.deepEqual(found.refused, [], k.name);
      assert.equal(
        found.artifacts.length,
        2,
        `${k.name}: ${found.artifacts.map((a) => a.origin).join(', ')}`,
      );
      for (const a of found.artifacts) {
        const isAtt = a.format === 'legacy-attestation' || a.predicateTypeHint === SLSA_PROVENANCE_V1;
        const c = checkArtifact(a, {
          ...ctx(img, repo),
          artifact: img.manifest,
          ...(isAtt ? { predicateType: SLSA_PROVENANCE_V1 } : {}),
        });
        assert.deepEqual(c.problems, [], `${k.name} ${a.origin}`);
      }
    }
  });

  test('a .sig layer descriptor claiming 100 MiB is refused unread', async () => {
    const img = image('huge');
    await pushArtifacts(fx.registry.host, 'demo/huge', {
      blobs: [img.config, img.layer],
      manifests: [{ bytes: img.manifest, mediaType: OCI, tag: 'v1' }],
    });
    const layer = signLegacy({
      payload: simpleSigningPayload({ digest: img.digest, dockerReference: `${fx.registry.host}/demo/huge` }),
      key,
    });
    await pushArtifacts(
      fx.registry.host,
      'demo/huge',
      hostile.hugeSignatureLayer({ imageDigest: img.digest, layer }),
    );
    const found = await discoverArtifacts(
      registryAttachments(client, fx.registry.host, 'demo/huge'),
      img.digest as Digest,
    );
    assert.equal(found.artifacts.length, 0);
    assert.equal(found.refused.length, 1);
  });
});
