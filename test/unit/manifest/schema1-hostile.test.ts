// Signed schema1 is read before any digest check (its digest covers the JWS payload), so every member of a hostile
// document — null signatures, a null protected header, non-integer lengths — must be MANIFEST_INVALID, never a TypeError.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schema1Payload } from '../../../src/manifest/index.js';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const doc = (signatures: unknown) =>
  Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'a/b', tag: 't', signatures }, null, 3));

test('hostile signed schema1 members are MANIFEST_INVALID, not a crash', () => {
  const cases: Record<string, unknown> = {
    'null signatures entry': [null],
    'a number as a signature': [7],
    'null protected header': [{ protected: b64url(null) }],
    'an array as protected header': [{ protected: b64url([1]) }],
    'fractional formatLength': [{ protected: b64url({ formatLength: 1.5, formatTail: 'fQ' }) }],
    'huge formatLength': [{ protected: b64url({ formatLength: 1e12, formatTail: 'fQ' }) }],
    'protected is null': [{ protected: null }],
  };
  for (const [name, sigs] of Object.entries(cases)) {
    assert.throws(
      () => schema1Payload(doc(sigs)),
      (e: { code?: string }) => e.code === 'MANIFEST_INVALID',
      name,
    );
  }
});
