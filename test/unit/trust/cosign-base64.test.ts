// Base64 in signature material is checked in one linear pass: the regular expression it replaced,
// /^(?:[A-Za-z0-9+/]{4})*…$/, threw "Maximum call stack size exceeded" on a few megabytes of valid base64 — a DSSE
// envelope with a 4 MB statement (found by the cosign-intoto fuzz target) — instead of decoding it or refusing it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { decodeBase64 } from '../../../src/trust/cosign/check-util.js';

test('megabytes of base64 decode (standard, padded, line-wrapped, URL-safe) without a stack overflow', () => {
  for (const n of [4_000_000, 4_000_001, 4_000_002]) {
    const bytes = randomBytes(n);
    assert.deepEqual(decodeBase64(bytes.toString('base64'), 'payload', 'PAYLOAD_INVALID'), bytes);
    assert.deepEqual(decodeBase64(bytes.toString('base64url'), 'payload', 'PAYLOAD_INVALID'), bytes);
  }
  const wrapped = randomBytes(300);
  const text = wrapped.toString('base64').replace(/.{76}/g, '$&\n');
  assert.deepEqual(decodeBase64(text, 'payload', 'PAYLOAD_INVALID'), wrapped);
});

test('what is not base64 is the coded problem, however long', () => {
  const long = `${randomBytes(3_000_000).toString('base64')}!`;
  for (const s of [long, 'abcde', 'ab=c', 'a===', 'YQ=a', 'YQ==YQ==']) {
    assert.throws(
      () => decodeBase64(s, 'the signature', 'SIGNATURE_INVALID'),
      (e: unknown) =>
        isTrustpinError(e, 'SIGNATURE_INVALID') && /the signature is not base64/.test(e.message),
      s.slice(0, 10),
    );
  }
});
