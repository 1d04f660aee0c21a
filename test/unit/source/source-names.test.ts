// A printed source name opens the same image again: a layout directory (or OCI archive) whose last path segment
// holds `:` or `@` is printed with a trailing `/`, or `oci:/x/:o` would read back as directory /x with tag `o`
// (found by the source-spec fuzz target; issue 11).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegistryClient } from '../../../src/registry/index.js';
import { openSource } from '../../../src/source/index.js';

const client = new RegistryClient();
const D = 'ab'.repeat(16);

for (const spec of [
  'oci:/tmp/x/:o/',
  `oci:/tmp/{../layout@sha256/:${D}`,
  'oci:/tmp/a:b/:1.0',
  'oci-archive:/tmp/a.tar:late/',
  'oci:/tmp/plain:1.0',
]) {
  test(`${spec}: the printed name opens the same layout`, async () => {
    const a = await openSource(spec, client);
    const b = await openSource(a.name, client);
    assert.equal(b.name, a.name);
  });
}

test('the name keeps the directory and the tag apart', async () => {
  assert.equal((await openSource('oci:/tmp/x/:o/', client)).name, 'oci:/tmp/x/:o/');
  assert.equal((await openSource('oci:/tmp/a:b/:1.0', client)).name, 'oci:/tmp/a:b/:1.0');
  assert.equal((await openSource('oci:/tmp/plain:1.0', client)).name, 'oci:/tmp/plain:1.0');
  // the file /tmp/a.tar:late, not /tmp/a.tar with tag late
  assert.equal(
    (await openSource('oci-archive:/tmp/a.tar:late/', client)).name,
    'oci-archive:/tmp/a.tar:late/',
  );
});
