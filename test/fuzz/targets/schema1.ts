// Signed schema1 (libtrust pretty JWS), read before any digest check: the payload is rebuilt from formatLength and
// formatTail. Oracle: for the valid seed, the payload is the original unsigned document; for every input, a coded
// rejection or undefined or a payload no longer than the document plus its tail, which then parses or is refused.
import fc from 'fast-check';
import { selfDigested } from '../../../src/digest/index.js';
import { parseManifest, schema1Payload } from '../../../src/manifest/index.js';
import { check, codedSync, defineTarget, type JsonValue, mutatedBytes, mutatedJson } from '../harness.js';

const unsigned = {
  schemaVersion: 1,
  name: 'library/app',
  tag: '1.0',
  architecture: 'amd64',
  fsLayers: [{ blobSum: `sha256:${'a'.repeat(64)}` }],
  history: [{ v1Compatibility: '{"id":"1"}' }],
};

/** libtrust's layout: the payload is the pretty JSON; the signed form inserts `signatures` before its last `}`. */
function signed(doc: JsonValue, sigs = 1): Buffer {
  const payload = JSON.stringify(doc, null, 3);
  const formatLength = payload.lastIndexOf('\n}');
  const tail = payload.slice(formatLength);
  const protectedHeader = Buffer.from(
    JSON.stringify({
      formatLength,
      formatTail: Buffer.from(tail).toString('base64url'),
      time: '2016-01-01T00:00:00Z',
    }),
  ).toString('base64url');
  const signatures = Array.from({ length: sigs }, () => ({
    header: { jwk: { crv: 'P-256', kty: 'EC', x: 'x', y: 'y' }, alg: 'ES256' },
    signature: 'c2ln',
    protected: protectedHeader,
  }));
  const sigText = JSON.stringify(signatures, null, 3).replace(/\n/g, '\n   ');
  return Buffer.from(`${payload.slice(0, formatLength)},\n   "signatures": ${sigText}${tail}`);
}

const SEED = signed(unsigned);
const SEED2 = signed({ ...unsigned, tag: 'two' }, 2);
const PAYLOAD = Buffer.from(JSON.stringify(unsigned, null, 3));

export default defineTarget<Buffer>({
  name: 'schema1',
  description:
    'schema1Payload (signed schema1 JWS) and parseManifest on its payload digest; oracle: the valid seed gives its unsigned payload, coded rejection only',
  arbitrary: fc.oneof(
    mutatedBytes([SEED, SEED2]),
    mutatedJson([JSON.parse(SEED.toString()) as JsonValue, JSON.parse(SEED2.toString()) as JsonValue], {
      serialize: (v) => Buffer.from(JSON.stringify(v, null, 3)),
    }),
  ),
  run(raw) {
    const payload = codedSync(() => schema1Payload(raw));
    if (raw.equals(SEED)) check(payload?.equals(PAYLOAD) === true, 'the valid seed lost its payload');
    if (!payload) return;
    check(payload.length <= 2 * raw.length, 'the payload is longer than its document allows');
    codedSync(() => parseManifest(selfDigested(raw, 'sha256', payload)));
  },
  encode: (b) => Buffer.from(b),
  decode: (b) => Buffer.from(b),
});
