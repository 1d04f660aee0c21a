// Keys and certificates from a hostile notary server (before any signature check) or a damaged key file: a
// certificate whose public key does not decode, garbage inside the PEM armour — coded errors, never raw OpenSSL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCert, p256 } from '../../../src/testing/index.js';
import { verifyRootSelf } from '../../../src/trust/dct/root.js';
import { canonicalKeyId, readKeyFile, type TufKey } from '../../../src/trust/index.js';

const pem = (label: string, der: Buffer) =>
  `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END ${label}-----\n`;

function brokenKeyCert(): string {
  const { privateKey, publicKey } = p256();
  const now = Date.now();
  const c = buildCert({
    subjectCn: 'a/b',
    publicKey,
    selfKey: privateKey,
    notBefore: now - 1000,
    notAfter: now + 1e9,
  });
  const point = publicKey.export({ type: 'spki', format: 'der' }).subarray(-65);
  const der = Buffer.from(c.der);
  der[der.indexOf(point) + 5]! ^= 0xff; // the point is no longer on the curve; the certificate still parses
  return pem('CERTIFICATE', der);
}

test('a root certificate whose public key does not decode is a coded error, and the key is unusable', () => {
  const k: TufKey = {
    keytype: 'ecdsa-x509',
    keyval: { public: Buffer.from(brokenKeyCert()).toString('base64'), private: null },
  };
  assert.throws(
    () => canonicalKeyId(k),
    (e: { code?: string }) => e.code === 'TUF_METADATA_INVALID',
  );
  const root = {
    role: 'root',
    signed: { roles: { root: { keyids: ['x'], threshold: 1 } }, keys: { x: k }, version: 1 },
    signatures: [],
  };
  assert.throws(
    () => verifyRootSelf(root as never, { gun: 'a/b', now: Date.now() }),
    (e: { code?: string; found?: string }) =>
      e.code === 'TUF_CERT_INVALID' && /does not decode/.test(e.found ?? ''),
  );
});

test('key files with garbage inside the armour are USAGE errors naming what did not decode', () => {
  for (const label of ['CERTIFICATE', 'PUBLIC KEY']) {
    assert.throws(
      () => readKeyFile(pem(label, Buffer.from('not a key at all, just some bytes'))),
      (e: { code?: string }) => e.code === 'USAGE',
      label,
    );
  }
  assert.throws(
    () => readKeyFile(brokenKeyCert()),
    (e: { code?: string }) => e.code === 'USAGE',
  );
});
