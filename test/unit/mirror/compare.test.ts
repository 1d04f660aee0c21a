// The equivalence ladder over OCI layouts, asserted by finding code: a Docker v2s2 ↔ OCI conversion, recompressed
// layers, re-encoded JSON, a history-only rewrite (with and without the deep proof), a lying config, a lost platform.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  allBlobs,
  type BuiltImage,
  type BuiltIndex,
  blobOf,
  buildImage,
  buildIndex,
  descriptorOf,
  type FileSpec,
  makeTar,
} from '../../../src/demo/build.js';
import { MT } from '../../../src/manifest/index.js';
import { type Comparison, compareImages } from '../../../src/mirror/compare.js';
import { MIRROR_FINDING_CODES, type MirrorFinding } from '../../../src/mirror/findings.js';
import { comparisonJson, renderComparison } from '../../../src/report/mirror.js';
import { makeStyle } from '../../../src/report/style.js';
import { openOciLayout } from '../../../src/source/oci-layout.js';
import { writeOciLayout } from '../../harness/oci-layout-writer.js';

let dir: string;
const files: FileSpec[][] = [
  [{ path: 'etc/app.conf', content: 'x=1' }],
  [{ path: 'usr/bin/app', content: 'binary', mode: 0o755 }],
];
const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

/** The same manifest with other bytes and other layer blobs, as `rewrite` says. */
function variant(
  img: BuiltImage,
  rewrite: (m: Record<string, unknown>) => void,
  layers = img.layers,
): BuiltImage {
  const m = JSON.parse(img.manifest.bytes.toString());
  m.layers = layers.map((l) => descriptorOf(l));
  rewrite(m);
  return {
    ...img,
    layers,
    manifest: blobOf(Buffer.from(JSON.stringify(m, null, 1)), img.manifest.mediaType),
  };
}

/** A config with another history (same diff_ids), or another image's diff_ids over these layers. */
interface RawConfig {
  history: { created_by: string }[];
  rootfs: { diff_ids: string[] };
}

function withConfig(img: BuiltImage, edit: (c: RawConfig) => void): BuiltImage {
  const c = JSON.parse(img.config.bytes.toString());
  edit(c);
  const config = blobOf(Buffer.from(JSON.stringify(c)), img.config.mediaType);
  const m = JSON.parse(img.manifest.bytes.toString());
  m.config = descriptorOf(config);
  return { ...img, config, manifest: blobOf(Buffer.from(JSON.stringify(m)), img.manifest.mediaType) };
}

const refs: Record<string, BuiltImage | BuiltIndex> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trustpin-mirror-unit-'));
  const oci = await buildImage({ platform: amd64, layers: files });
  const ociArm = await buildImage({ platform: arm64, layers: files });
  const docker = await buildImage({ platform: amd64, layers: files, format: 'docker' });
  const dockerArm = await buildImage({ platform: arm64, layers: files, format: 'docker' });
  const tars = await Promise.all(files.map(makeTar));
  const recompressed = tars.map((t) => blobOf(gzipSync(t, { level: 1 }), MT.ociLayerGzip));
  refs.oci = oci;
  refs.docker = docker;
  refs.ociIndex = buildIndex([oci, ociArm]);
  refs.dockerList = buildIndex([docker, dockerArm], { format: 'docker' });
  refs.ociIndexReencoded = buildIndex([oci, ociArm], { indent: 2 });
  refs.amd64Only = buildIndex([oci]);
  refs.recompressed = variant(oci, () => undefined, recompressed);
  refs.reencoded = variant(oci, () => undefined);
  refs.annotated = variant(oci, (m) => {
    m.annotations = { 'org.opencontainers.image.title': 'x' };
  });
  refs.rehistory = withConfig(oci, (c) => {
    c.history[0]!.created_by = 'something else';
  });
  const other = await buildImage({
    platform: amd64,
    layers: [files[0]!, [{ path: 'usr/bin/app', content: 'evil' }]],
  });
  refs.liar = withConfig(other, (c) => {
    // another config (or it would be the original's, image ID and all) claiming the original's diff_ids
    c.rootfs.diff_ids = oci.diffIds;
    c.history[1]!.created_by = 'a copied history, slightly off';
  });
  await writeOciLayout(
    dir,
    Object.values(refs).flatMap((r) => allBlobs(r)),
    Object.entries(refs).map(([name, r]) => ({ name, target: 'index' in r ? r.index : r.manifest })),
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const compare = (a: string, b: string, deep = false) =>
  compareImages(openOciLayout(`${dir}:${a}`), openOciLayout(`${dir}:${b}`), { deep });
const codes = (fs: MirrorFinding[]) => fs.map((f) => f.code);

function assertClosed(c: Comparison): void {
  for (const f of [...c.indexReasons, ...c.platforms.flatMap((p) => [...p.reasons, ...p.warnings])])
    assert.ok((MIRROR_FINDING_CODES as readonly string[]).includes(f.code), f.code);
}

test('Docker v2s2 vs its OCI conversion: config level, MEDIA_TYPE_CONVERTED and the converted parts named', async () => {
  const c = await compare('docker', 'oci');
  assertClosed(c);
  assert.equal(c.equivalent, true);
  const p = c.platforms[0]!;
  assert.equal(p.level, 'config');
  assert.deepEqual(codes(p.reasons), [
    'MEDIA_TYPE_CONVERTED',
    'LAYER_MEDIA_TYPES_DIFFER',
    'CONFIG_MEDIA_TYPE_DIFFERS',
  ]);
  assert.deepEqual(p.reasons[0]!.detail, { a: MT.dockerManifest, b: MT.ociManifest });
  assert.equal(p.reasons[0]!.platform, 'linux/amd64');
  // the text view prints the message, the JSON carries code and message
  const text = renderComparison(c, makeStyle(false));
  assert.ok(text.includes('· media types converted: Docker → OCI'), text);
  assert.ok(!text.includes('[object'), text);
  const j = JSON.parse(JSON.stringify(comparisonJson(c)));
  assert.equal(j.platforms[0].reasons[0].code, 'MEDIA_TYPE_CONVERTED');
  assert.equal(j.platforms[0].reasons[0].message, 'media types converted: Docker → OCI');
  assert.ok(Array.isArray(j.graph.edges));
});

test('a Docker manifest list vs an OCI index of the same images: INDEX_MEDIA_TYPE_CONVERTED', async () => {
  const c = await compare('dockerList', 'ociIndex');
  assertClosed(c);
  assert.deepEqual(codes(c.indexReasons), ['INDEX_MEDIA_TYPE_CONVERTED']);
  assert.deepEqual(
    c.platforms.map((p) => [p.platform, p.level, p.reasons[0]?.code]),
    [
      ['linux/amd64', 'config', 'MEDIA_TYPE_CONVERTED'],
      ['linux/arm64', 'config', 'MEDIA_TYPE_CONVERTED'],
    ],
  );
});

test('re-encoded index: INDEX_REENCODED over SAME_MANIFEST; same index: SAME_INDEX and no index reason', async () => {
  const re = await compare('ociIndex', 'ociIndexReencoded');
  assert.deepEqual(codes(re.indexReasons), ['INDEX_REENCODED']);
  assert.deepEqual(
    re.platforms.map((p) => codes(p.reasons)),
    [['SAME_MANIFEST'], ['SAME_MANIFEST']],
  );
  const same = await compare('ociIndex', 'ociIndex');
  assert.deepEqual(same.indexReasons, []);
  assert.deepEqual(codes(same.platforms[0]!.reasons), ['SAME_INDEX']);
});

test('a lost platform: PLATFORMS_MISSING with the platforms as data; the other way PLATFORMS_EXTRA', async () => {
  const c = await compare('ociIndex', 'amd64Only');
  assert.equal(c.equivalent, false);
  const f = c.indexReasons.find((r) => r.code === 'PLATFORMS_MISSING');
  assert.deepEqual(f?.detail, { platforms: ['linux/arm64'] });
  const back = await compare('amd64Only', 'ociIndex');
  assert.ok(codes(back.indexReasons).includes('PLATFORMS_EXTRA'));
});

test('manifest-level differences under one config: recompressed, re-encoded, annotated', async () => {
  for (const [b, code] of [
    ['recompressed', 'LAYER_COMPRESSION_DIFFERS'],
    ['reencoded', 'MANIFEST_REENCODED'],
    ['annotated', 'ANNOTATIONS_DIFFER'],
  ] as const) {
    const c = await compare('oci', b);
    assertClosed(c);
    assert.equal(c.platforms[0]!.level, 'config', b);
    assert.deepEqual(codes(c.platforms[0]!.reasons), [code], b);
  }
});

test('history rewritten over the same layers: CONFIG_DIFFERS + DIFF_IDS_UNPROVEN; deep: diff_ids + HISTORY_DIFFERS', async () => {
  const shallow = await compare('oci', 'rehistory');
  const p = shallow.platforms[0]!;
  assert.equal(p.level, 'none');
  assert.deepEqual(codes(p.reasons), ['CONFIG_DIFFERS', 'DIFF_IDS_UNPROVEN']);
  assert.deepEqual(p.reasons[0]!.detail, { fields: ['history'] });
  const deep = await compare('oci', 'rehistory', true);
  assertClosed(deep);
  assert.equal(deep.platforms[0]!.level, 'diff_ids');
  assert.deepEqual(codes(deep.platforms[0]!.warnings), ['HISTORY_DIFFERS']);
});

test('a config that claims the diff_ids of other layers: deep says DIFF_IDS_FALSE for that side', async () => {
  const c = await compare('oci', 'liar', true);
  assertClosed(c);
  const p = c.platforms[0]!;
  assert.equal(p.level, 'none');
  assert.deepEqual(
    p.warnings.map((w) => [w.code, w.side]),
    [['DIFF_IDS_FALSE', 'B']],
  );
  assert.ok(codes(p.reasons).includes('LAYER_CONTENTS_DIFFER'));
});
