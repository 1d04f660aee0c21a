import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import {
  DigestVerifier,
  digestOf,
  explainMismatch,
  parseDigest,
  readCapped,
  verifyBytes,
} from '../../src/digest/index.js';
import { isTrustpinError } from '../../src/errors/index.js';
import { skipNoVectors, vector } from '../vectors.js';

test('strict digest grammar: lowercase hex of the exact length, known algorithms only', () => {
  assert.equal(parseDigest(`sha256:${'0'.repeat(64)}`), `sha256:${'0'.repeat(64)}`);
  assert.ok(parseDigest(`sha512:${'f'.repeat(128)}`));
  for (const bad of [
    `sha256:${'A'.repeat(64)}`,
    `sha256:${'0'.repeat(63)}`,
    'sha256:',
    `SHA256:${'0'.repeat(64)}`,
    `sha256:${'0'.repeat(64)}\n`,
  ]) {
    assert.throws(
      () => parseDigest(bad),
      (e: unknown) => isTrustpinError(e, 'DIGEST_INVALID'),
      bad,
    );
  }
  assert.throws(
    () => parseDigest(`md5:${'0'.repeat(32)}`),
    (e: unknown) => isTrustpinError(e, 'DIGEST_UNVERIFIABLE'),
  );
});

test('the OCI empty descriptor digest', () => {
  assert.equal(
    digestOf(Buffer.from('{}')),
    'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  );
});

test('webdis 0.1.19 manifest list: the DCT-signed digest covers exactly 772 bytes, no newline', {
  skip: skipNoVectors,
}, () => {
  const b = vector('webdis/_derived/nicolas-webdis-0.1.19.manifest-list.json');
  assert.equal(b.length, 772);
  const want = parseDigest('sha256:5de58646bae3ee52e05a65672532120b094682b79823291031ccb41533c21667');
  assert.equal(verifyBytes(b, { digest: want, size: 772 }).digest, want);
  const withNewline = Buffer.concat([b, Buffer.from('\n')]);
  assert.throws(
    () => verifyBytes(withNewline, { digest: want }),
    (e: unknown) => isTrustpinError(e, 'DIGEST_MISMATCH'),
  );
  assert.match(explainMismatch(withNewline, want) ?? '', /ends with a newline/);
});

test('verifyBytes names size and digest failures', () => {
  const d = digestOf(Buffer.from('hello'));
  assert.throws(
    () => verifyBytes(Buffer.from('hello!'), { digest: d, size: 5 }),
    (e: unknown) => isTrustpinError(e, 'SIZE_MISMATCH'),
  );
  assert.throws(
    () => verifyBytes(Buffer.from('hellO'), { digest: d, size: 5 }),
    (e: unknown) => isTrustpinError(e, 'DIGEST_MISMATCH'),
  );
});

async function run(chunks: string[], exp: { digest: ReturnType<typeof digestOf>; size?: number }) {
  const v = new DigestVerifier(exp);
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), v, async (s: AsyncIterable<Buffer>) => {
    for await (const c of s) out.push(c);
  });
  return Buffer.concat(out).toString();
}

test('streaming verifier: passes exact bytes, fails early when longer, at the end when shorter or different', async () => {
  const d = digestOf(Buffer.from('abcdef'));
  assert.equal(await run(['abc', 'def'], { digest: d, size: 6 }), 'abcdef');
  await assert.rejects(run(['abc', 'defg'], { digest: d, size: 6 }), (e: unknown) =>
    isTrustpinError(e, 'SIZE_EXCEEDED'),
  );
  await assert.rejects(run(['abc', 'de'], { digest: d, size: 6 }), (e: unknown) =>
    isTrustpinError(e, 'SIZE_MISMATCH'),
  );
  await assert.rejects(run(['abc', 'deF'], { digest: d, size: 6 }), (e: unknown) =>
    isTrustpinError(e, 'DIGEST_MISMATCH'),
  );
});

test('readCapped refuses more than the cap instead of truncating', async () => {
  await assert.rejects(readCapped(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), 15), (e: unknown) =>
    isTrustpinError(e, 'SIZE_EXCEEDED'),
  );
  assert.equal((await readCapped(Readable.from([Buffer.alloc(10)]), 10)).length, 10);
});

test('explainMismatch: CRLF and BOM accidents are named', () => {
  const orig = Buffer.from('{"a":1,\n"b":2}');
  const d = digestOf(orig);
  assert.match(explainMismatch(Buffer.from('{"a":1,\r\n"b":2}'), d) ?? '', /CRLF/);
  assert.match(
    explainMismatch(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), orig]), d) ?? '',
    /byte-order mark/,
  );
  assert.equal(explainMismatch(Buffer.from('other'), d), undefined);
});
