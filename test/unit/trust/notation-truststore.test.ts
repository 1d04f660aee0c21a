// Notation trust stores as notation-go reads them (verifier/truststore GetCertificates): the upstream fixtures give
// the upstream outcome, and hostile directories (links, empty, oversized, stray sub-directories) are refused.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import {
  defaultTrustPolicyPath,
  defaultTrustStoreDir,
  loadNamedTrustStores,
  MAX_TRUST_STORE_FILE_BYTES,
  MAX_TRUST_STORE_FILES,
  notationConfigDir,
} from '../../../src/trust/notation/truststore.js';
import type { TrustStoreType } from '../../../src/trust/notation/types.js';
import { skipNoVectors, vectorPath } from '../../vectors.js';

const ROOT = vectorPath('notation-go/verifier/testdata/truststore');
const load = (type: TrustStoreType, name: string, root = ROOT) =>
  loadNamedTrustStores(root, [{ type, name }])[0]!;
const throwsCode = (fn: () => unknown, code: string, re?: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(isTrustpinError(e), `not a TrustpinError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
const fixture = (type: string, name: string, file: string) => join(ROOT, 'x509', type, name, file);

function tmpStore(type = 'ca', name = 'acme'): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'trustpin-ts-'));
  const dir = join(root, 'x509', type, name);
  mkdirSync(dir, { recursive: true });
  return { root, dir };
}

describe('notation trust store: notation-go fixtures', { skip: skipNoVectors }, () => {
  test('valid-trust-store: every file, in name order, PEM and DER', () => {
    const s = load('ca', 'valid-trust-store');
    assert.equal(s.type, 'ca');
    assert.equal(s.name, 'valid-trust-store');
    assert.deepEqual(
      s.certificates.map((c) => c.file.split('/').pop()),
      [
        'GlobalSign.der',
        'GlobalSignRootCA.crt',
        'NotationTestRoot.pem',
        'TestTimestamp.crt',
        'TestTimestampNotYetValid.crt',
        'wabbit-networks.io.crt',
      ],
    );
    // the DER file is returned as it is
    assert.deepEqual(
      s.certificates[0]!.der,
      readFileSync(fixture('ca', 'valid-trust-store', 'GlobalSign.der')),
    );
  });
  test('a self-signed signing certificate is accepted (TestLoadValidTrustStoreWithSelfSignedSigningCertificate)', () => {
    assert.equal(load('ca', 'valid-trust-store-self-signed').certificates.length, 1);
  });
  test('signingAuthority and tsa stores load', () => {
    assert.equal(load('signingAuthority', 'valid-trust-store').certificates.length, 3);
    assert.equal(load('tsa', 'test-timestamp').certificates.length, 1);
  });
  test('a file that is not a certificate is refused, naming it', () => {
    throwsCode(
      () => load('ca', 'trust-store-with-invalid-certs'),
      'TRUST_STORE_INVALID',
      /failed to read the trusted certificate .*\/invalid /,
    );
  });
  test('a leaf (not CA, not self-signed) is refused, alone or in a bundle', () => {
    throwsCode(
      () => load('ca', 'trust-store-with-leaf-certs'),
      'TRUST_STORE_INVALID',
      /non-ca\.crt .* not a CA certificate or self-signed/,
    );
    throwsCode(
      () => load('ca', 'trust-store-with-leaf-certs-in-single-file'),
      'TRUST_STORE_INVALID',
      /RootAndLeafCerts\.crt .* not a CA/,
    );
  });
  test('tsa: a self-signed non-CA and a non-self-issued CA are refused', () => {
    throwsCode(
      () => load('tsa', 'test-nonCA'),
      'TRUST_STORE_INVALID',
      /wabbit-networks\.io\.crt .* not a root CA certificate/,
    );
    throwsCode(
      () => load('tsa', 'test-nonSelfIssued'),
      'TRUST_STORE_INVALID',
      /nonSelfIssued\.crt .* not a root CA/,
    );
  });
  test('the same self-signed non-CA certificate is fine in a ca store (only tsa requires a root CA)', () => {
    const { root, dir } = tmpStore('ca', 'x');
    copyFileSync(fixture('tsa', 'test-nonCA', 'wabbit-networks.io.crt'), join(dir, 'w.crt'));
    assert.equal(load('ca', 'x', root).certificates.length, 1);
  });
  test('a sub-directory in a store is refused (notation-go: "directories or symlinks are not supported")', () => {
    const { root, dir } = tmpStore();
    copyFileSync(
      join(ROOT, 'x509', 'trust-store-with-directories', 'GlobalSignRootCA.crt'),
      join(dir, 'root.crt'),
    );
    mkdirSync(join(dir, 'sub-dir'));
    throwsCode(() => load('ca', 'acme', root), 'TRUST_STORE_INVALID', /sub-dir .*not a regular file/);
  });
  test('several stores in one call, in order', () => {
    const out = loadNamedTrustStores(ROOT, [
      { type: 'ca', name: 'valid-trust-store-2' },
      { type: 'tsa', name: 'test-timestamp' },
    ]);
    assert.deepEqual(
      out.map((s) => `${s.type}:${s.name}:${s.certificates.length}`),
      ['ca:valid-trust-store-2:2', 'tsa:test-timestamp:1'],
    );
  });
});

describe('notation trust store: hostile and broken directories', { skip: skipNoVectors }, () => {
  const rootCrt = () => readFileSync(fixture('ca', 'valid-trust-store', 'GlobalSignRootCA.crt'));
  const rootDer = () => readFileSync(fixture('ca', 'valid-trust-store', 'GlobalSign.der'));
  test('a missing store → TRUST_STORE_INVALID naming the path, hint notation cert add', () => {
    const { root } = tmpStore();
    assert.throws(
      () => load('ca', 'absent', root),
      (e: unknown) =>
        isTrustpinError(e, 'TRUST_STORE_INVALID') &&
        e.message.includes(join(root, 'x509', 'ca', 'absent')) &&
        /notation cert add/.test(e.hint ?? ''),
    );
  });
  test('an empty store is refused', () => {
    const { root } = tmpStore();
    throwsCode(() => load('ca', 'acme', root), 'TRUST_STORE_INVALID', /no x509 certificates/);
  });
  test('an empty file is refused', () => {
    const { root, dir } = tmpStore();
    writeFileSync(join(dir, 'empty.pem'), '');
    throwsCode(() => load('ca', 'acme', root), 'TRUST_STORE_INVALID', /empty\.pem/);
  });
  test('a PEM file with two certificates yields both; DER concatenated yields both', () => {
    const { root, dir } = tmpStore();
    const pem = rootCrt().toString('latin1');
    writeFileSync(
      join(dir, 'two.pem'),
      `${pem}\n${readFileSync(fixture('ca', 'valid-trust-store', 'NotationTestRoot.pem'), 'latin1')}`,
    );
    writeFileSync(join(dir, 'two.der'), Buffer.concat([rootDer(), rootDer()]));
    const s = load('ca', 'acme', root);
    assert.deepEqual(
      s.certificates.map((c) => c.file.split('/').pop()),
      ['two.der', 'two.der', 'two.pem', 'two.pem'],
    );
  });
  test('DER with trailing garbage is refused', () => {
    const { root, dir } = tmpStore();
    writeFileSync(join(dir, 'x.der'), Buffer.concat([rootDer(), Buffer.from([0x30, 0x05, 1])]));
    throwsCode(() => load('ca', 'acme', root), 'TRUST_STORE_INVALID', /x\.der/);
  });
  test('a PEM block that is not a certificate is refused', () => {
    const { root, dir } = tmpStore();
    writeFileSync(
      join(dir, 'k.pem'),
      `${rootCrt().toString('latin1')}\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`,
    );
    throwsCode(() => load('ca', 'acme', root), 'TRUST_STORE_INVALID', /k\.pem/);
  });
  test('an oversized file → TRUST_STORE_INVALID', () => {
    const { root, dir } = tmpStore();
    writeFileSync(join(dir, 'big.pem'), Buffer.alloc(MAX_TRUST_STORE_FILE_BYTES + 1, 0x41));
    throwsCode(() => load('ca', 'acme', root), 'TRUST_STORE_INVALID', /big\.pem is \d+ bytes, more than/);
  });
  test('too many files is refused', () => {
    const { root, dir } = tmpStore();
    for (let i = 0; i <= MAX_TRUST_STORE_FILES; i++) writeFileSync(join(dir, `c${i}.der`), rootDer());
    throwsCode(() => load('ca', 'acme', root), 'TRUST_STORE_INVALID', /more than/);
  });
  test('a symlinked store directory is refused', () => {
    const { root, dir } = tmpStore('ca', 'real');
    writeFileSync(join(dir, 'r.crt'), rootCrt());
    symlinkSync(dir, join(root, 'x509', 'ca', 'linked'));
    assert.equal(load('ca', 'real', root).certificates.length, 1);
    throwsCode(() => load('ca', 'linked', root), 'TRUST_STORE_INVALID', /symlinks are not supported/);
  });
  test('a symlinked certificate file is refused', () => {
    const { root, dir } = tmpStore();
    const elsewhere = join(root, 'r.crt');
    writeFileSync(elsewhere, rootCrt());
    symlinkSync(elsewhere, join(dir, 'r.crt'));
    throwsCode(() => load('ca', 'acme', root), 'TRUST_STORE_INVALID', /not a regular file/);
  });
  test('store names and types are validated before any path is built', () => {
    const { root } = tmpStore();
    throwsCode(() => load('ca', '../../etc', root), 'TRUST_STORE_INVALID', /name/);
    throwsCode(() => load('ca', '', root), 'TRUST_STORE_INVALID', /name/);
    throwsCode(
      () => load('x509' as TrustStoreType, 'acme', root),
      'TRUST_STORE_INVALID',
      /unsupported trust store type/,
    );
  });
});

describe('notation config paths', () => {
  test('XDG_CONFIG_HOME, HOME, relative XDG (Go error → .notation)', {
    skip: process.platform !== 'linux',
  }, () => {
    assert.equal(notationConfigDir({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/u' }), '/x/cfg/notation');
    assert.equal(notationConfigDir({ HOME: '/home/u' }), '/home/u/.config/notation');
    assert.equal(notationConfigDir({ XDG_CONFIG_HOME: 'rel', HOME: '/home/u' }), '.notation');
    assert.equal(defaultTrustStoreDir({ XDG_CONFIG_HOME: '/x' }), '/x/notation/truststore');
  });
  test('trustpolicy.oci.json when present, else trustpolicy.json', {
    skip: process.platform !== 'linux',
  }, () => {
    const cfg = mkdtempSync(join(tmpdir(), 'trustpin-cfg-'));
    const env = { XDG_CONFIG_HOME: cfg };
    assert.equal(defaultTrustPolicyPath(env), join(cfg, 'notation', 'trustpolicy.json'));
    mkdirSync(join(cfg, 'notation'));
    writeFileSync(join(cfg, 'notation', 'trustpolicy.json'), '{}');
    assert.equal(defaultTrustPolicyPath(env), join(cfg, 'notation', 'trustpolicy.json'));
    writeFileSync(join(cfg, 'notation', 'trustpolicy.oci.json'), '{}');
    assert.equal(defaultTrustPolicyPath(env), join(cfg, 'notation', 'trustpolicy.oci.json'));
  });
});
