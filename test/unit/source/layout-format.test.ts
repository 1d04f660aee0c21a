// One OCI-layout module for the reader and the writer: what the pull store writes, the oci: source reads (marker,
// index.json names, blob paths), and both agree on which markers and tags are valid.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { blobOf } from '../../../src/demo/build.js';
import { OciStore } from '../../../src/pull/index.js';
import {
  blobPath,
  checkMarker,
  emptyIndex,
  openOciLayout,
  REF_NAME,
  withIndexEntry,
} from '../../../src/source/index.js';

test('checkMarker: any 1.x.y is readable; other versions and non-JSON are not', () => {
  assert.equal(checkMarker('{"imageLayoutVersion":"1.0.0"}').ok, true);
  assert.equal(checkMarker('{"imageLayoutVersion":"1.1.0"}').ok, true);
  assert.equal(checkMarker('{"imageLayoutVersion":"2.0.0"}').ok, false);
  assert.equal(checkMarker('null').ok, false);
  assert.equal(checkMarker('{').ok, false);
});

test('withIndexEntry: a tag replaces its old entry; an unnamed entry is not added twice; others are kept', () => {
  const d = (n: number) => ({ mediaType: 'm', digest: `sha256:${String(n).repeat(64)}` as never, size: n });
  let idx = withIndexEntry(emptyIndex(), d(1), 'a');
  idx = withIndexEntry(idx, d(2), 'b');
  idx = withIndexEntry(idx, d(3), 'a');
  idx = withIndexEntry(idx, d(4), undefined);
  idx = withIndexEntry(idx, d(4), undefined);
  assert.deepEqual(
    idx.manifests.map((m) => [m.annotations?.[REF_NAME], m.size]),
    [
      ['b', 2],
      ['a', 3],
      [undefined, 4],
    ],
  );
});

test('what the pull store writes, the oci: source reads back by tag, blob for blob', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trustpin-layout-'));
  try {
    const config = blobOf(
      Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'),
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = blobOf(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
          layers: [],
        }),
      ),
      'application/vnd.oci.image.manifest.v1+json',
    );
    const store = await OciStore.open(dir);
    for (const b of [config, manifest]) await store.putBytes(b, b.bytes);
    await store.tag(manifest, 'v1');
    await store.close();
    assert.ok((await readFile(join(dir, blobPath(config.digest)))).equals(config.bytes));

    const src = openOciLayout(`${dir}:v1`);
    try {
      const top = await src.resolve();
      assert.equal(top.digest, manifest.digest);
      const m = await src.manifest(top);
      assert.equal(m.value.kind, 'image');
    } finally {
      await src.close();
    }
    // and a marker the reader refuses, the store refuses to write into
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await assert.rejects(OciStore.open(dir), { code: 'SOURCE_INVALID' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a local source obeys the signal: ABORTED before a read, and an open blob stream errors with ABORTED', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trustpin-layout-'));
  try {
    const big = blobOf(Buffer.alloc(4 * 1024 * 1024, 7), 'application/octet-stream');
    const store = await OciStore.open(dir);
    await store.putBytes(big, big.bytes);
    await store.tag(big, 'v1');
    await store.close();
    const src = openOciLayout(`${dir}:v1`);
    try {
      const ac = new AbortController();
      const d = { mediaType: big.mediaType, digest: big.digest, size: big.size };
      const s = await src.blob(d, { signal: ac.signal });
      const failed = new Promise<unknown>((r) => s.once('error', r));
      ac.abort();
      assert.equal(((await failed) as { code?: string }).code, 'ABORTED');
      await assert.rejects(src.resolve({ signal: ac.signal }), { code: 'ABORTED' });
      await assert.rejects(src.blob(d, { signal: ac.signal }), { code: 'ABORTED' });
    } finally {
      await src.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
