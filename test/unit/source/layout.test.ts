// oci:, oci-archive: and docker-archive: over the same generated image: identical digests through every
// transport, and every kind of tampering (changed byte, longer file, lying index.json) caught before use.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  allBlobs,
  type Blob,
  type BuiltImage,
  type BuiltIndex,
  buildImage,
  buildIndex,
  type FileSpec,
  makeTar,
} from '../../../src/demo/build.js';
import { type Digest, digestOf, readCapped } from '../../../src/digest/index.js';
import { type ErrorCode, isTrustpinError } from '../../../src/errors/index.js';
import { type Descriptor, MT } from '../../../src/manifest/index.js';
import { openArchiveSource } from '../../../src/source/archive.js';
import { readConfig } from '../../../src/source/helpers.js';
import { REF_NAME } from '../../../src/source/layout-format.js';
import { openOciLayout, parseOciRef } from '../../../src/source/oci-layout.js';
import type { ImageSource } from '../../../src/source/types.js';

const CONTAINERD_NAME = 'io.containerd.image.name';
const hex = (d: string) => d.slice('sha256:'.length);
const code =
  (c: ErrorCode, ...inMessage: string[]) =>
  (e: unknown) =>
    isTrustpinError(e, c) && inMessage.every((s) => e.message.includes(s));

interface Entry {
  target: Blob;
  annotations: Record<string, string>;
}

/** The files of an OCI layout: marker, index.json naming `entries`, blobs by digest. */
function layoutFiles(blobs: Blob[], entries: Entry[]): FileSpec[] {
  const manifests = entries.map((e) => ({
    mediaType: e.target.mediaType,
    digest: e.target.digest,
    size: e.target.size,
    annotations: e.annotations,
  }));
  return [
    { path: 'oci-layout', content: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { path: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests }) },
    ...blobs.map((b) => ({ path: `blobs/sha256/${hex(b.digest)}`, content: b.bytes })),
  ];
}

async function writeFiles(dir: string, files: FileSpec[]): Promise<string> {
  for (const f of files) {
    await mkdir(join(dir, f.path, '..'), { recursive: true });
    await writeFile(join(dir, f.path), f.content ?? '');
  }
  return dir;
}

async function drain(s: Readable): Promise<Buffer> {
  return readCapped(s, 64 << 20);
}

let tmp: string;
let amd64: BuiltImage;
let arm64: BuiltImage;
let idx: BuiltIndex;
let files: FileSpec[];
let dir: string;
const layer = (i: BuiltImage, n = 0): Descriptor => ({ ...i.layers[n]!, bytes: undefined }) as Descriptor;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'trustpin-layout-'));
  const files2 = (arch: string) => [
    [
      { path: 'etc', type: 'directory' as const },
      { path: 'etc/arch', content: `${arch}\n` },
    ],
    [{ path: 'app.txt', content: `app for ${arch}\n` }],
  ];
  amd64 = await buildImage({ platform: { os: 'linux', architecture: 'amd64' }, layers: files2('amd64') });
  arm64 = await buildImage({ platform: { os: 'linux', architecture: 'arm64' }, layers: files2('arm64') });
  idx = buildIndex([amd64, arm64]);
  files = layoutFiles(allBlobs(idx), [
    { target: idx.index, annotations: { [REF_NAME]: '1.0' } },
    { target: amd64.manifest, annotations: { [REF_NAME]: 'amd64' } },
  ]);
  dir = await writeFiles(join(tmp, 'layout'), files);
});
after(() => rm(tmp, { recursive: true, force: true }));

async function withSource<T>(src: ImageSource, use: (s: ImageSource) => Promise<T>): Promise<T> {
  try {
    return await use(src);
  } finally {
    await src.close();
  }
}

/** Walk index → amd64 manifest → config and first layer, asserting every digest against the built image. */
async function assertSameImage(src: ImageSource): Promise<void> {
  const top = await src.resolve();
  assert.equal(top.digest, idx.index.digest, src.name);
  const index = await src.manifest(top);
  assert.equal(index.value.kind, 'index');
  const child = index.value.kind === 'index' ? index.value.manifests[0]! : assert.fail();
  const image = await src.manifest(child);
  assert.equal(image.digest, amd64.manifest.digest);
  assert.equal(image.value.kind === 'image' && image.value.config.digest, amd64.config.digest);
  const cfg = await readConfig(src, amd64.config);
  assert.equal(cfg.digest, amd64.config.digest);
  assert.deepEqual(cfg.value.diffIds, amd64.diffIds);
  assert.deepEqual(await drain(await src.blob(layer(amd64, 1))), amd64.layers[1]!.bytes);
}

test('the same image through oci:, oci-archive: and docker-archive: (OCI layout inside) has the same digests', async () => {
  const ociTar = join(tmp, 'oci.tar');
  await writeFile(ociTar, await makeTar(files));
  // Docker ≥ 25 `docker save`: an OCI layout named by image name, plus the legacy manifest.json.
  const docker = layoutFiles(allBlobs(idx), [
    { target: idx.index, annotations: { [CONTAINERD_NAME]: 'docker.io/demo/app:1.0', [REF_NAME]: '1.0' } },
    { target: amd64.manifest, annotations: { [REF_NAME]: 'amd64' } },
  ]);
  const manifestJson = [
    { Config: `blobs/sha256/${hex(amd64.config.digest)}`, RepoTags: ['demo/app:1.0'], Layers: [] },
    { Config: `blobs/sha256/${hex(amd64.config.digest)}`, RepoTags: ['demo/app:amd64'], Layers: [] },
  ];
  const dockerTar = join(tmp, 'docker25.tar');
  await writeFile(
    dockerTar,
    await makeTar([...docker, { path: 'manifest.json', content: JSON.stringify(manifestJson) }]),
  );
  for (const src of [
    openOciLayout(`${dir}:1.0`),
    openArchiveSource('oci-archive', `${ociTar}:1.0`),
    openArchiveSource('docker-archive', `${dockerTar}:demo/app:1.0`),
    openArchiveSource('docker-archive', `${dockerTar}:docker.io/demo/app:1.0`), // the full name
  ]) {
    await withSource(src, assertSameImage);
  }
  // No containerd annotation for :amd64, so RepoTags → config → the index entry whose manifest uses it.
  await withSource(openArchiveSource('docker-archive', `${dockerTar}:demo/app:amd64`), async (s) => {
    assert.equal((await s.resolve()).digest, amd64.manifest.digest);
  });
  await withSource(openArchiveSource('docker-archive', `${dockerTar}:demo/app:2.0`), (s) =>
    assert.rejects(s.resolve(), code('NOT_FOUND', 'docker.io/demo/app:1.0', 'demo/app:amd64')),
  );
  await withSource(openArchiveSource('oci-archive', `${ociTar}@${arm64.manifest.digest}`), async (s) => {
    assert.equal((await s.resolve()).digest, arm64.manifest.digest);
  });
});

test('selection: unknown tag lists the names, no tag needs a single entry, @digest finds any manifest blob', async () => {
  await assert.rejects(openOciLayout(`${dir}:nope`).resolve(), code('NOT_FOUND', '1.0', 'amd64'));
  await assert.rejects(openOciLayout(dir).resolve(), code('USAGE', '1.0, amd64'));
  const byDigest = await openOciLayout(`${dir}@${arm64.manifest.digest}`).resolve();
  assert.deepEqual(byDigest, {
    mediaType: MT.ociManifest,
    digest: arm64.manifest.digest,
    size: arm64.manifest.size,
  });
  assert.equal(
    (await openOciLayout(`${dir}@${amd64.manifest.digest}`).resolve()).annotations?.[REF_NAME],
    'amd64',
  );
  await assert.rejects(openOciLayout(`${dir}@sha256:${'0'.repeat(64)}`).resolve(), code('MANIFEST_UNKNOWN'));
  const one = await writeFiles(
    join(tmp, 'single'),
    layoutFiles(allBlobs(amd64), [{ target: amd64.manifest, annotations: {} }]),
  );
  assert.equal((await openOciLayout(one).resolve()).digest, amd64.manifest.digest);
});

test('blob paths come from parsed digests only', async () => {
  const src = openOciLayout(`${dir}:1.0`);
  const evil = { mediaType: MT.ociLayerGzip, digest: 'sha256:../../../etc/passwd' as Digest, size: 1 };
  await assert.rejects(src.blob(evil), code('DIGEST_INVALID'));
  await assert.rejects(src.manifest(evil), code('DIGEST_INVALID'));
  await assert.rejects(
    src.blob({ ...layer(amd64), digest: `sha256:${'1'.repeat(64)}` as Digest }),
    code('BLOB_UNKNOWN'),
  );
});

test('a tampered blob fails DIGEST_MISMATCH when streamed; a longer one fails SIZE_EXCEEDED before', async () => {
  const d = await writeFiles(join(tmp, 'tampered'), files);
  const path = join(d, 'blobs/sha256', hex(amd64.layers[0]!.digest));
  const bytes = await readFile(path);
  bytes[bytes.length - 5]! ^= 0x01;
  await writeFile(path, bytes);
  const src = openOciLayout(`${d}:1.0`);
  await assert.rejects(drain(await src.blob(layer(amd64, 0))), code('DIGEST_MISMATCH'));
  await appendFile(join(d, 'blobs/sha256', hex(amd64.layers[1]!.digest)), 'x');
  await assert.rejects(src.blob(layer(amd64, 1)), code('SIZE_EXCEEDED'));
  // The same inside an archive: the tar member is one byte longer than its descriptor.
  const longer = files.map((f) =>
    f.path.endsWith(hex(amd64.config.digest))
      ? { ...f, content: Buffer.concat([amd64.config.bytes, Buffer.from(' ')]) }
      : f,
  );
  const tarPath = join(tmp, 'longer.tar');
  await writeFile(tarPath, await makeTar(longer));
  const arch = openArchiveSource('oci-archive', `${tarPath}:amd64`);
  await assert.rejects(arch.blob({ ...amd64.config }), code('SIZE_EXCEEDED'));
  await arch.close();
});

test('index.json naming a digest whose blob holds other bytes fails DIGEST_MISMATCH on manifest()', async () => {
  const d = await writeFiles(join(tmp, 'lying-index'), files);
  const forged = Buffer.from(
    amd64.manifest.bytes.toString().replace('"schemaVersion":2', '"schemaVersion":3'),
  );
  assert.equal(forged.length, amd64.manifest.size);
  await writeFile(join(d, 'blobs/sha256', hex(amd64.manifest.digest)), forged);
  const src = openOciLayout(`${d}:amd64`);
  const desc = await src.resolve();
  assert.equal(desc.digest, amd64.manifest.digest);
  await assert.rejects(src.manifest(desc), code('DIGEST_MISMATCH'));
});

test('not a layout: missing dir, missing marker, unknown layout version, bad index.json', async () => {
  await assert.rejects(openOciLayout(join(tmp, 'absent')).resolve(), code('NOT_FOUND'));
  const bare = await writeFiles(join(tmp, 'bare'), files.slice(1));
  await assert.rejects(openOciLayout(bare).resolve(), code('SOURCE_INVALID', 'oci-layout'));
  const v2 = await writeFiles(join(tmp, 'v2'), [
    { path: 'oci-layout', content: '{"imageLayoutVersion":"2.0.0"}' },
  ]);
  await assert.rejects(openOciLayout(v2).resolve(), code('SOURCE_INVALID', 'imageLayoutVersion'));
  const badIndex = await writeFiles(join(tmp, 'bad-index'), [
    files[0]!,
    { path: 'index.json', content: '{"x":1}' },
  ]);
  await assert.rejects(openOciLayout(badIndex).resolve(), code('SOURCE_INVALID', 'index.json'));
  await assert.rejects(
    openArchiveSource('oci-archive', join(tmp, 'absent.tar')).resolve(),
    code('NOT_FOUND'),
  );
});

test('parseOciRef splits on the last segment only', () => {
  const d = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseOciRef('/tmp/x'), { dir: '/tmp/x', tag: undefined, digest: undefined });
  assert.deepEqual(parseOciRef('/tmp/x:1.0'), { dir: '/tmp/x', tag: '1.0', digest: undefined });
  assert.deepEqual(parseOciRef('/mnt/c:d/layout:v1'), {
    dir: '/mnt/c:d/layout',
    tag: 'v1',
    digest: undefined,
  });
  assert.deepEqual(parseOciRef(`rel@${d}`), { dir: 'rel', tag: undefined, digest: d });
  assert.deepEqual(parseOciRef('a/x@y:tag'), { dir: 'a/x@y', tag: 'tag', digest: undefined });
  for (const bad of ['/tmp/x:', ':tag', `/tmp/x:t@${d}`, '/tmp/x:a b']) {
    assert.throws(() => parseOciRef(bad), code('REFERENCE_INVALID'), bad);
  }
  assert.throws(() => parseOciRef(`/x@sha256:${'A'.repeat(64)}`), code('DIGEST_INVALID'));
});

/** A pre-25 `docker save`: `<id>/layer.tar`, `<config hex>.json`, manifest.json, repositories. */
function legacyFiles(images: [string, BuiltImage][]): FileSpec[] {
  const out: FileSpec[] = [];
  for (const [, img] of images) {
    out.push({ path: `${hex(img.config.digest)}.json`, content: img.config.bytes });
    img.layers.forEach((l, i) => {
      const id = hex(digestOf(Buffer.from(`${img.config.digest}/${i}`)));
      out.push({ path: `${id}/VERSION`, content: '1.0' }, { path: `${id}/layer.tar`, content: l.bytes });
    });
  }
  const manifest = images.map(([tag, img]) => ({
    Config: `${hex(img.config.digest)}.json`,
    RepoTags: [tag],
    Layers: img.layers.map((_, i) => `${hex(digestOf(Buffer.from(`${img.config.digest}/${i}`)))}/layer.tar`),
  }));
  out.push(
    { path: 'manifest.json', content: JSON.stringify(manifest) },
    { path: 'repositories', content: '{}' },
  );
  return out;
}

test('legacy docker-archive: a synthesized v2s2 manifest over hashed files, same config and diff_ids', async () => {
  const plain = await buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [[{ path: 'a', content: 'a' }], [{ path: 'b', content: 'b' }]],
    format: 'docker',
    compression: 'none',
  });
  const gz = await buildImage({
    platform: { os: 'linux', architecture: 'arm64' },
    layers: [[{ path: 'g', content: 'g' }]],
  });
  const file = join(tmp, 'legacy.tar');
  await writeFile(
    file,
    await makeTar(
      legacyFiles([
        ['demo/app:1.0', plain],
        ['ghcr.io/o/gz:1', gz],
      ]),
    ),
  );

  await withSource(openArchiveSource('docker-archive', `${file}:demo/app:1.0`), async (src) => {
    const d = await src.resolve();
    assert.equal(d.mediaType, MT.dockerManifest);
    const m = (await src.manifest(d)).value;
    assert.ok(m.kind === 'image');
    assert.deepEqual(m.config, {
      mediaType: MT.dockerConfig,
      digest: plain.config.digest,
      size: plain.config.size,
    });
    assert.deepEqual(
      m.layers.map((l) => [l.mediaType, l.digest]),
      plain.diffIds.map((id) => [MT.dockerLayer, id]),
    );
    const cfg = await readConfig(src, m.config);
    assert.deepEqual(cfg.value.diffIds, plain.diffIds);
    assert.deepEqual(await drain(await src.blob(m.layers[1]!)), plain.layers[1]!.bytes);
    await assert.rejects(src.blob({ ...m.layers[0]!, size: m.layers[0]!.size - 1 }), code('SIZE_EXCEEDED'));
    // Serialised like the builder's compact JSON, so here it is even the same manifest digest.
    assert.equal(d.digest, plain.manifest.digest);
    await assert.rejects(src.manifest({ ...d, digest: amd64.manifest.digest }), code('MANIFEST_UNKNOWN'));
  });
  await withSource(openArchiveSource('docker-archive', `${file}:ghcr.io/o/gz:1`), async (src) => {
    const m = (await src.manifest(await src.resolve())).value;
    assert.ok(m.kind === 'image');
    assert.equal(m.config.digest, gz.config.digest);
    assert.deepEqual(m.layers[0], {
      mediaType: MT.dockerLayerGzip,
      digest: gz.layers[0]!.digest,
      size: gz.layers[0]!.size,
    });
  });
  await assert.rejects(
    openArchiveSource('docker-archive', file).resolve(),
    code('USAGE', 'demo/app:1.0', 'ghcr.io/o/gz:1'),
  );
  await assert.rejects(
    openArchiveSource('docker-archive', `${file}:demo/other`).resolve(),
    code('NOT_FOUND', 'demo/app:1.0', 'ghcr.io/o/gz:1'),
  );

  // A config whose bytes no longer hash to the name it is stored under.
  const forged = legacyFiles([['demo/app:1.0', plain]]).map((f) =>
    f.path.endsWith('.json') && f.path !== 'manifest.json' ? { ...f, content: `${f.content} ` } : f,
  );
  const forgedFile = join(tmp, 'legacy-forged.tar');
  await writeFile(forgedFile, await makeTar(forged));
  await assert.rejects(openArchiveSource('docker-archive', forgedFile).resolve(), code('DIGEST_MISMATCH'));
});

const exec = promisify(execFile);
const SKOPEO = '/usr/bin/skopeo';

test('skopeo reads the same bytes and writes archives trustpin reads', {
  skip: !existsSync(SKOPEO) && `${SKOPEO} not installed`,
}, async () => {
  for (const tag of ['1.0', 'amd64']) {
    const { stdout } = await exec(SKOPEO, ['inspect', '--raw', `oci:${dir}:${tag}`], { encoding: 'buffer' });
    const ours = await openOciLayout(`${dir}:${tag}`).resolve();
    assert.equal(digestOf(stdout), ours.digest, `skopeo inspect --raw oci:DIR:${tag}`);
  }
  // skopeo's docker-archive: decompressed `<diffID>.tar` layers behind `<id>/layer.tar` symlinks.
  const out = join(tmp, 'skopeo-docker.tar');
  await exec(SKOPEO, ['--insecure-policy', 'copy', `oci:${dir}:amd64`, `docker-archive:${out}:demo/app:1.0`]);
  await withSource(openArchiveSource('docker-archive', `${out}:demo/app:1.0`), async (src) => {
    const m = (await src.manifest(await src.resolve())).value;
    assert.ok(m.kind === 'image');
    assert.equal(m.config.digest, amd64.config.digest);
    assert.deepEqual(
      m.layers.map((l) => l.digest),
      amd64.diffIds,
    );
  });
  const ociOut = join(tmp, 'skopeo-oci.tar');
  await exec(SKOPEO, ['--insecure-policy', 'copy', `oci:${dir}:amd64`, `oci-archive:${ociOut}:copied`]);
  await withSource(openArchiveSource('oci-archive', `${ociOut}:copied`), async (src) => {
    const d = await src.resolve();
    assert.equal(d.digest, amd64.manifest.digest);
    const m = (await src.manifest(d)).value;
    assert.ok(m.kind === 'image');
    assert.deepEqual(await drain(await src.blob(m.layers[0]!)), amd64.layers[0]!.bytes);
  });
});
