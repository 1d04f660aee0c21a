// The per-layer pipeline of `pull`: a layer is proven (or unpacked) as soon as its own blob is verified, while
// other blobs are still downloading; a failed proof on an early layer stops the downloads still running, and
// nothing is tagged. The source holds one blob back until the pull reports progress on another layer, so a pull
// that waited for every download before its first proof would never see the event (the hold then gives up, and
// the test fails).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { digestOf } from '../../../src/digest/index.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { setGzipInWorker } from '../../../src/layer/diff-id.js';
import type { Descriptor } from '../../../src/manifest/index.js';
import { type PullEvent, pull } from '../../../src/pull/index.js';
import type { ImageSource } from '../../../src/source/index.js';
import { openOciLayout } from '../../../src/source/oci-layout.js';
import { gz, type LayerBlob, type Layout, tarOf, writeImage } from '../../attacks/layers.js';
import { makeTempDir, removeDir } from '../../harness/processes.js';

let dir: string;
let n = 0;
let layers: LayerBlob[];

before(async () => {
  dir = await makeTempDir('pull-pipeline');
  // layer 0 is the largest (downloaded first when proofs may run in any order), layer 1 is the one held back
  layers = [
    gz(await tarOf([{ name: 'a.bin', body: randomBytes(3 * 1024 * 1024) }])),
    gz(await tarOf([{ name: 'b.txt', body: 'b\n' }])),
    gz(await tarOf([{ name: 'c.txt', body: 'c\n' }])),
  ];
});
after(async () => {
  setGzipInWorker(true);
  await removeDir(dir);
});

/** What the source saw of the blob it held back. */
interface Held {
  /** the pull's event arrived while the blob was held (false: the hold timed out) */
  released: boolean;
  /** the stream handed out for the held blob was destroyed by the pull */
  destroyed: boolean;
}

/**
 * A source that serves `heldDigest` only once `release(event)` is true for an event of the pull, or — with
 * `forever` — never (its stream stays open until the pull destroys it). A hold gives up after 5 s, so a pull
 * that waits for every download still finishes, and the test sees `released: false`.
 */
function holding(
  inner: ImageSource,
  heldDigest: string,
  release: (e: PullEvent) => boolean,
  forever = false,
): { src: ImageSource; onEvent: (e: PullEvent) => void; held: Held } {
  const held: Held = { released: false, destroyed: false };
  let open: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  let gaveUp = false;
  const timer = setTimeout(() => {
    gaveUp = true;
    open();
  }, 5000);
  timer.unref();
  const src: ImageSource = {
    transport: inner.transport,
    name: inner.name,
    resolve: (o) => inner.resolve(o),
    manifest: (d, o) => inner.manifest(d, o),
    close: () => inner.close(),
    blob: async (d: Descriptor, o) => {
      if (d.digest !== heldDigest) return inner.blob(d, o);
      if (forever) {
        const s = new PassThrough();
        s.once('close', () => {
          held.destroyed = true;
        });
        return s;
      }
      await gate;
      return inner.blob(d, o) as Promise<Readable>;
    },
  };
  const onEvent = (e: PullEvent) => {
    if (!gaveUp && !held.released && release(e)) {
      held.released = true;
      clearTimeout(timer);
      open();
    }
  };
  return { src, onEvent, held };
}

async function image(blobs: LayerBlob[]): Promise<Layout & { src: ImageSource }> {
  const img = await writeImage(join(dir, `src${++n}`), blobs);
  return { ...img, src: openOciLayout(img.ref.slice('oci:'.length)) };
}

for (const worker of [true, false]) {
  test(`layer 0 is proven while layer 1 still downloads (gzip proofs ${worker ? 'on a worker' : 'here'})`, async () => {
    setGzipInWorker(worker);
    const img = await image(layers);
    const first = img.layers[0]!.digest;
    const h = holding(img.src, img.layers[1]!.digest, (e) => e.type === 'layer' && e.digest === first);
    const dest = join(dir, `dest${n}`);
    const r = await pull(h.src, { dest, tag: 'x', onEvent: h.onEvent });
    assert.ok(h.held.released, 'layer 0 was proven before layer 1 was served');
    assert.deepEqual(
      r.images[0]!.layers.map((l) => l.diffId),
      layers.map((l) => l.diffId),
    );
    assert.match(await readFile(join(dest, 'index.json'), 'utf8'), /"x"/);
  });
}

test('--unpack: layer 0 is applied while layer 1 still downloads', async () => {
  const img = await image(layers);
  const first = img.layers[0]!.digest;
  const h = holding(
    img.src,
    img.layers[1]!.digest,
    (e) => e.type === 'layer' && e.digest === first && e.state === 'unpacked',
  );
  const dest = join(dir, `dest${n}`);
  const root = join(dir, `root${n}`);
  const r = await pull(h.src, { dest, tag: 'x', unpack: root, onEvent: h.onEvent });
  assert.ok(h.held.released, 'layer 0 was unpacked before layer 1 was served');
  assert.deepEqual((await readdir(root)).sort(), ['a.bin', 'b.txt', 'c.txt']);
  assert.equal(r.unpack?.layers, 3);
  assert.match(await readFile(join(dest, 'index.json'), 'utf8'), /"x"/);
});

for (const unpack of [false, true]) {
  test(`a wrong diff_id on layer 0 fails the pull at once, stops the download still running, tags nothing${unpack ? ' (--unpack)' : ''}`, async () => {
    const wrong = digestOf(Buffer.from('not the tar'));
    const img = await image([{ ...layers[0]!, diffId: wrong }, layers[1]!, layers[2]!]);
    const stuck = img.layers[1]!.digest;
    // the blob of layer 1 never finishes: only the failed proof can end this pull
    const h = holding(img.src, stuck, () => false, true);
    const dest = join(dir, `dest${n}`);
    const root = join(dir, `root${n}`);
    const t = performance.now();
    await assert.rejects(
      pull(h.src, { dest, tag: 'x', onEvent: h.onEvent, ...(unpack ? { unpack: root } : {}) }),
      (e) => isTrustpinError(e, 'DIGEST_MISMATCH') && e.expected === wrong && /layer 0/.test(e.message),
    );
    assert.ok(performance.now() - t < 4000, 'the pull did not wait for the stuck download');
    assert.ok(h.held.destroyed, 'the stuck download was stopped');
    assert.ok(!existsSync(join(dest, 'index.json')), 'nothing is tagged');
    assert.ok(!existsSync(join(dest, 'blobs', 'sha256', stuck.slice(7))), 'the stopped blob is not stored');
    if (unpack) assert.ok(!existsSync(root), 'the partial rootfs is removed');
  });
}
