// Mirrors against the real registry: v2s2 copy (config), re-encoded index (manifest), tampered arm64, missing
// platform, added attestation, history-only difference (--deep → diff_ids), other transports, and
// `verify --mirror-of` with the real notary.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allBlobs, blobOf, buildImage, buildIndex, descriptorOf } from '../../src/demo/build.js';
import { MT } from '../../src/manifest/index.js';
import { trustpin } from '../cli/run.js';
import {
  makeTempDir,
  type RunningNotary,
  type RunningRegistry,
  requireBinary,
  run,
  type SeededImages,
  seedRegistry,
  seedTrust,
  startNotary,
  startRegistry,
  writeOciLayout,
} from '../harness/index.js';

describe('mirror proofs', () => {
  let reg: RunningRegistry;
  let notary: RunningNotary;
  let images: SeededImages;
  let home: string;
  const compare = async (a: string, b: string, ...extra: string[]) => {
    const r = await trustpin(['--json', 'compare', ...extra, a, b]);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    return { code: r.code, j: JSON.parse(r.stdout) };
  };
  const levels = (j: { platforms: { platform: string; level: string }[] }) =>
    Object.fromEntries(j.platforms.map((p) => [p.platform, p.level]));
  const has = (findings: { code: string }[], code: string) => findings.some((f) => f.code === code);

  before(async () => {
    [reg, notary] = await Promise.all([startRegistry({ mode: 'plain' }), startNotary()]);
    images = await seedRegistry(reg);
    await seedTrust(notary, reg.host, images);
    home = await makeTempDir('tphome-mirror');
    // extra mirrors, built from the same demo images
    const skopeo = requireBinary('skopeo', 'skopeo');
    const { app, liar } = images.layout.built;
    const [amd, arm] = app.images as [(typeof app.images)[0], (typeof app.images)[0]];
    const liarArm = await buildImage({
      platform: { os: 'linux', architecture: 'arm64' },
      layers: [[{ path: 'app/hello.txt', content: 'not what was signed\n' }]],
    });
    const tampered = buildIndex([amd, liarArm]);
    const missing = buildIndex([amd]);
    const attManifest = blobOf(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MT.ociManifest,
          config: descriptorOf(blobOf(Buffer.from('{}'), MT.ociEmpty)),
          layers: [],
        }),
      ),
      MT.ociManifest,
    );
    const empty = blobOf(Buffer.from('{}'), MT.ociEmpty);
    const withAtt = buildIndex([amd, arm], {
      extra: [
        descriptorOf(attManifest, {
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: {
            'vnd.docker.reference.type': 'attestation-manifest',
            'vnd.docker.reference.digest': amd.manifest.digest,
          },
        }),
      ],
    });
    const rehistory = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      cmd: ['/app/hello.txt'],
      labels: { 'org.opencontainers.image.title': 'demo-app' },
      history: ['/bin/sh -c #(nop) COPY file:hello.txt in /app/hello.txt # rebuilt by someone else'],
      layers: [
        [
          { path: 'app', type: 'directory' },
          { path: 'app/hello.txt', content: 'hello from trustpin demo (amd64)\n' },
        ],
      ],
    });
    const dir = await makeTempDir('mirrors');
    const blobs = [
      ...allBlobs(tampered),
      ...allBlobs(missing),
      ...allBlobs(withAtt),
      attManifest,
      empty,
      ...allBlobs(rehistory),
      ...allBlobs(liar),
    ];
    await writeOciLayout(dir, blobs, [
      { name: 'tampered', target: tampered.index },
      { name: 'missing', target: missing.index },
      { name: 'att', target: withAtt.index },
      { name: 'rehistory', target: rehistory.manifest },
    ]);
    for (const [tag, repo] of [
      ['tampered', 'tampered/app:1.0'],
      ['missing', 'missing/app:1.0'],
      ['att', 'att/app:1.0'],
      ['rehistory', 'rehistory/app:1.0'],
    ] as const) {
      await run(skopeo, [
        'copy',
        '--all',
        '--insecure-policy',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${dir}:${tag}`,
        `docker://${reg.host}/${repo}`,
      ]);
    }
  });
  after(async () => {
    await Promise.allSettled([reg?.stop(), notary?.stop()]);
  });

  test('v2s2 copy: index and manifests differ, configs equal → config; re-encoded index → manifest', async () => {
    const v2 = await compare(images.demoApp.ref, images.mirrorApp.ref);
    assert.equal(v2.code, 0);
    assert.equal(v2.j.equivalent, true);
    assert.deepEqual(levels(v2.j), { 'linux/amd64': 'config', 'linux/arm64': 'config' });
    assert.ok(has(v2.j.platforms[0].reasons, 'MEDIA_TYPE_CONVERTED'));
    assert.ok(has(v2.j.indexReasons, 'INDEX_MEDIA_TYPE_CONVERTED'));
    const re = await compare(images.demoApp.ref, images.mirror2App.ref);
    assert.equal(re.code, 0);
    assert.deepEqual(levels(re.j), { 'linux/amd64': 'manifest', 'linux/arm64': 'manifest' });
    assert.ok(has(re.j.indexReasons, 'INDEX_REENCODED'));
    const same = await compare(images.demoApp.ref, images.demoApp.ref);
    assert.deepEqual(levels(same.j), { 'linux/amd64': 'index', 'linux/arm64': 'index' });
    assert.ok(same.j.graph.edges.length > 0);
  });

  test('tampered arm64 → not equivalent, names linux/arm64; missing platform; --platform limits the comparison', async () => {
    const t = await compare(images.demoApp.ref, `${reg.host}/tampered/app:1.0`);
    assert.equal(t.code, 1);
    assert.equal(levels(t.j)['linux/arm64'], 'none');
    assert.equal(levels(t.j)['linux/amd64'], 'manifest');
    const text = await trustpin(['compare', images.demoApp.ref, `${reg.host}/tampered/app:1.0`]);
    assert.match(text.stdout, /not equivalent: linux\/arm64/);
    const m = await compare(images.demoApp.ref, `${reg.host}/missing/app:1.0`);
    assert.equal(m.code, 1);
    assert.deepEqual(m.j.onlyInA, ['linux/arm64']);
    const only = await compare(
      images.demoApp.ref,
      `${reg.host}/missing/app:1.0`,
      '--platform',
      'linux/amd64',
    );
    assert.equal(only.code, 0);
  });

  test('an added attestation manifest: equivalent, attestation listed on its own', async () => {
    const a = await compare(images.demoApp.ref, `${reg.host}/att/app:1.0`);
    assert.equal(a.code, 0);
    assert.deepEqual(a.j.onlyInB, []);
    assert.equal(a.j.attestations.b.length, 1);
    assert.equal(a.j.attestations.b[0].kind, 'attestation');
    assert.deepEqual(levels(a.j), { 'linux/amd64': 'manifest', 'linux/arm64': 'manifest' });
  });

  test('history-only difference: none without --deep; with --deep diff_ids and a history warning', async () => {
    const b = `${reg.host}/rehistory/app:1.0`;
    const shallow = await compare(images.demoAppAmd64.ref, b);
    assert.equal(shallow.code, 1);
    assert.equal(shallow.j.platforms[0].level, 'none');
    const deep = await compare(images.demoAppAmd64.ref, b, '--deep');
    assert.equal(deep.code, 0, JSON.stringify(deep.j.platforms));
    assert.equal(deep.j.platforms[0].level, 'diff_ids');
    assert.ok(has(deep.j.platforms[0].warnings, 'HISTORY_DIFFERS'));
    const liar = await compare(images.demoAppAmd64.ref, images.demoLiar.ref, '--deep');
    assert.equal(liar.code, 1);
    assert.equal(liar.j.platforms[0].level, 'none');
  });

  test('across transports: OCI layout and docker-archive against the registry copy', async () => {
    const skopeo = requireBinary('skopeo', 'skopeo');
    const dir = await makeTempDir('mirror-transports');
    await run(skopeo, [
      'copy',
      '--all',
      '--insecure-policy',
      '--src-tls-verify=false',
      '--preserve-digests',
      `docker://${images.demoApp.ref}`,
      `oci:${join(dir, 'l')}:1.0`,
    ]);
    const oci = await compare(images.demoApp.ref, `oci:${join(dir, 'l')}:1.0`);
    assert.deepEqual(levels(oci.j), { 'linux/amd64': 'index', 'linux/arm64': 'index' });
    await run(skopeo, [
      'copy',
      '--insecure-policy',
      '--src-tls-verify=false',
      `docker://${images.demoAppAmd64.ref}`,
      `docker-archive:${join(dir, 'a.tar')}:demo/app:1.0`,
    ]);
    const da = await compare(
      `docker-archive:${join(dir, 'a.tar')}`,
      images.demoApp.ref,
      '--platform',
      'linux/amd64',
    );
    assert.equal(da.code, 0, JSON.stringify(da.j));
    assert.ok(['config', 'manifest'].includes(da.j.platforms[0].level));
  });

  test('verify --mirror-of: the v2s2 mirror of the signed origin passes; the tampered one fails', async () => {
    const flags = ['--trust-server', notary.url, '--trust-ca', notary.caFile];
    const ok = await trustpin(
      ['--json', 'verify', '--dct', ...flags, '--mirror-of', images.demoApp.ref, images.mirrorApp.ref],
      { env: { TRUSTPIN_HOME: home } },
    );
    assert.equal(ok.code, 0, ok.stderr);
    const j = JSON.parse(ok.stdout);
    assert.equal(j.ok, true);
    assert.equal(j.origin.subject.digest, images.demoApp.digest);
    assert.ok(j.mirror.graph.edges.some((e: { kind: string; ok: boolean }) => e.kind === 'signs' && e.ok));
    const bad = await trustpin(
      ['verify', '--dct', ...flags, '--mirror-of', images.demoApp.ref, `${reg.host}/tampered/app:1.0`],
      { env: { TRUSTPIN_HOME: home } },
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /NOT trusted/);
    assert.match(bad.stdout, /linux\/arm64/);
  });
});
