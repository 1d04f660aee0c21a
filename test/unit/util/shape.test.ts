import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf, verifyBytes } from '../../../src/digest/index.js';
import { parseImageConfig, parseManifest } from '../../../src/manifest/index.js';
import {
  array,
  literal,
  nullish,
  object,
  optional,
  record,
  ShapeError,
  size,
  str,
} from '../../../src/util/index.js';

const verified = (doc: unknown) => {
  const bytes = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
  return verifyBytes(bytes, { digest: digestOf(bytes) });
};
const D = `sha256:${'a'.repeat(64)}`;

test('a shape keeps only the members it names, and leaves absent ones out', () => {
  const c = object({ a: str(), b: optional(size), n: nullish(str()) });
  assert.deepEqual(c({ a: 'x', extra: 1, n: null }, ''), { a: 'x', n: null });
  assert.equal(Object.hasOwn(c({ a: 'x' }, ''), 'b'), false);
});

test('a mismatch names the dotted path and what was expected', () => {
  const c = object({ layers: array(object({ size }), 2) });
  const why = (v: unknown) => {
    try {
      c(v, '');
    } catch (e) {
      assert.ok(e instanceof ShapeError);
      return e.message;
    }
    return 'accepted';
  };
  assert.equal(
    why({ layers: [{ size: 1 }, { size: -1 }] }),
    'layers.1.size: expected a non-negative integer, found -1',
  );
  assert.equal(why({ layers: [{ size: 1.5 }] }), 'layers.0.size: expected a non-negative integer, found 1.5');
  assert.equal(why({ layers: [{ size: '1' }] }), 'layers.0.size: expected a number, found string');
  assert.equal(why({ layers: [{}, {}, {}] }), 'layers: expected at most 2 items, found 3');
  assert.equal(why([]), '(root): expected an object, found array');
  assert.equal(why({ layers: null }), 'layers: expected an array, found null');
  assert.equal(literal(2)(2, ''), 2);
  assert.throws(() => literal(2)('2', 'schemaVersion'), /schemaVersion: expected 2, found "2"/);
  assert.throws(() => str(1)('', 'mediaType'), /mediaType: expected at least 1 character/);
});

test('a record member named __proto__ stays data, never the prototype', () => {
  const out = record(str())(JSON.parse('{"__proto__": "x", "a": "b"}'), '');
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['__proto__', 'a']);
  assert.equal(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, 'x');
});

test('manifests and configs: wrong shapes are MANIFEST_INVALID with the path; unknown members are dropped', () => {
  const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D, size: 3 };
  const m = parseManifest(
    verified({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: desc,
      layers: [desc],
      junk: 1,
    }),
  );
  assert.equal(m.value.kind, 'image');
  assert.equal(Object.hasOwn(m.value, 'junk'), false);
  assert.throws(
    () =>
      parseManifest(
        verified({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: desc,
          layers: [{ ...desc, size: -3 }],
        }),
      ),
    (e: Error & { code?: string }) => e.code === 'MANIFEST_INVALID' && /layers\.0\.size/.test(e.message),
  );
  assert.throws(
    () =>
      parseManifest(
        verified({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [{ ...desc, digest: 'sha256:zz' }],
        }),
      ),
    (e: Error & { code?: string }) => e.code === 'MANIFEST_INVALID' && /manifests\.0\.digest/.test(e.message),
  );
  const cfg = parseImageConfig(
    verified({ rootfs: { type: 'layers', diff_ids: [D] }, config: { Env: null, Labels: { a: 'b' } }, x: 1 }),
  );
  assert.deepEqual(cfg.value.diffIds, [D]);
  assert.equal(cfg.value.config?.Env, null);
  assert.throws(
    () => parseImageConfig(verified({ rootfs: { type: 'layers', diff_ids: [1] } })),
    (e: Error & { code?: string }) =>
      e.code === 'MANIFEST_INVALID' && /rootfs\.diff_ids\.0: expected a string/.test(e.message),
  );
});
