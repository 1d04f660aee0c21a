// A manifest or config nested 100,000 deep is MANIFEST_INVALID before anything walks it (schema checks, mirror
// comparison, diff, JSON output would each overflow the stack); configs built in code compare without recursion.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selfDigested } from '../../../src/digest/index.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import {
  type ImageConfig,
  MAX_JSON_DEPTH,
  parseImageConfig,
  parseManifest,
} from '../../../src/manifest/index.js';
import { configDifferences } from '../../../src/mirror/index.js';

const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
const config = (ports: string) =>
  Buffer.from(
    `{"os":"linux","architecture":"amd64","config":{"ExposedPorts":{"80/tcp":${ports}}},"rootfs":{"type":"layers","diff_ids":[]}}`,
  );

test('a config nested 100,000 deep is MANIFEST_INVALID, and the limit is MAX_JSON_DEPTH', () => {
  assert.throws(
    () => parseImageConfig(selfDigested(config(nested(100_000)))),
    (e: unknown) => isTrustpinError(e, 'MANIFEST_INVALID') && /deeper than 100/.test(e.message),
  );
  // the document is 3 levels deep around the value
  const ok = parseImageConfig(selfDigested(config(nested(MAX_JSON_DEPTH - 3))));
  assert.deepEqual(configDifferences(ok.value, ok.value), []);
  assert.throws(
    () => parseImageConfig(selfDigested(config(nested(MAX_JSON_DEPTH - 2)))),
    (e: unknown) => isTrustpinError(e, 'MANIFEST_INVALID'),
  );
  // brackets inside strings are not nesting
  parseImageConfig(selfDigested(config(`{"x":"${'['.repeat(1000)}"}`)));
});

test('a manifest with a 100,000-deep unknown member is MANIFEST_INVALID (the mirror comparison re-reads it)', () => {
  const m = Buffer.from(
    `{"x":${nested(100_000)},"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
      `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:${'a'.repeat(64)}","size":1},"layers":[]}`,
  );
  assert.throws(
    () => parseManifest(selfDigested(m)),
    (e: unknown) => isTrustpinError(e, 'MANIFEST_INVALID'),
  );
});

test('configDifferences compares configs built in code at any depth without overflowing the stack', () => {
  const deep = () => {
    let v: unknown = {};
    for (let i = 0; i < 100_000; i++) v = { a: v };
    return v;
  };
  const c = (v: unknown) =>
    ({
      rootfs: { type: 'layers', diff_ids: [] },
      diffIds: [],
      config: { ExposedPorts: { p: v } },
    }) as unknown as ImageConfig;
  // two equal values that are not the same object: the comparison has to walk them
  assert.deepEqual(configDifferences(c(deep()), c(deep())), []);
  assert.equal(configDifferences(c(deep()), c({})).length, 1);
});
