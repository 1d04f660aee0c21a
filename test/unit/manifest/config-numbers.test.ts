// Numbers in an image config's free-form members (ExposedPorts, Volumes) are values JSON can carry back: a
// negative zero reads as 0, and a number beyond the double range is MANIFEST_INVALID rather than an Infinity
// that prints as null and equals every other overflowing number (found by the image-config fuzz target).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { selfDigested } from '../../../src/digest/index.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { parseImageConfig } from '../../../src/manifest/index.js';
import { configDifferences } from '../../../src/mirror/index.js';

const config = (volume: string) =>
  Buffer.from(
    `{"os":"linux","architecture":"amd64","config":{"Volumes":{"/data":${volume}}},"rootfs":{"type":"layers","diff_ids":[]}}`,
  );
const parse = (volume: string) => parseImageConfig(selfDigested(config(volume)));

test('a config holding a number beyond the double range is MANIFEST_INVALID and names where it is', () => {
  for (const n of ['1e400', '-1e400', '1E9990', '2.5e+309', '9'.repeat(309), `1${'0'.repeat(400)}`]) {
    assert.throws(
      () => parse(`{"k0":0,"k59":[1,{"x":${n}}]}`),
      (e: unknown) =>
        isTrustpinError(e, 'MANIFEST_INVALID') &&
        /config\.Volumes\.\/data\.k59\.1\.x/.test(e.message) &&
        /Infinity at config\.Volumes/.test(e.found ?? '') &&
        e.hint !== undefined,
      n,
    );
  }
  // the largest double and a number that merely loses precision or underflows are ordinary numbers
  const ok = parse('{"a":1.7976931348623157e308,"b":0.1000000000000000000000001,"c":1e-400}');
  assert.deepEqual(ok.value.config?.Volumes, { '/data': { a: 1.7976931348623157e308, b: 0.1, c: 0 } });
});

test('a negative zero in a config is 0: it re-serialises to the same value and compares equal to 0', () => {
  for (const z of ['-0', '-0.0', '-0e5', '-1e-400']) {
    const a = parse(`{"x":${z},"y":[${z}]}`);
    const b = parse('{"x":0,"y":[0]}');
    assert.ok(isDeepStrictEqual(a.value.config?.Volumes, { '/data': { x: 0, y: [0] } }), `${z} reads as 0`);
    // what a report prints is what was compared: no "Volumes differ" between values that print the same
    assert.deepEqual(configDifferences(a.value, b.value), [], z);
    const { diffIds: _d, ...rest } = a.value;
    const again = parseImageConfig(selfDigested(Buffer.from(JSON.stringify(rest))));
    assert.ok(isDeepStrictEqual(again.value, a.value), z);
  }
});

test('numbers are checked everywhere a config keeps free-form JSON, at any width', () => {
  // ExposedPorts too, and the check is not limited to the first members of a wide record
  const ports: string[] = [];
  for (let i = 0; i < 5000; i++) ports.push(`"${i}/tcp":{}`);
  ports.push('"9/udp":{"x":-1e999}');
  const text = `{"config":{"ExposedPorts":{${ports.join(',')}}},"rootfs":{"type":"layers","diff_ids":[]}}`;
  assert.throws(
    () => parseImageConfig(selfDigested(Buffer.from(text))),
    (e: unknown) => isTrustpinError(e, 'MANIFEST_INVALID') && /ExposedPorts\.9\/udp\.x/.test(e.message),
  );
});

test('a manifest descriptor size of -0 reads as 0: the parsed manifest prints and compares as what it says', async () => {
  const { parseManifest } = await import('../../../src/manifest/index.js');
  const bytes = Buffer.from(
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":-0},"layers":[]}',
  );
  const m = parseManifest(selfDigested(bytes)).value;
  assert.ok(m.kind === 'image');
  assert.ok(Object.is(m.config.size, 0), 'size is +0');
  assert.ok(isDeepStrictEqual(JSON.parse(JSON.stringify(m)), JSON.parse(JSON.stringify(m))));
});
