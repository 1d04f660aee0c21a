// Offline revocation from the CRLs a user gives: a revoked signing certificate fails (CERTIFICATE_REVOKED) where
// the policy enforces revocation and is only logged where it logs it; a CRL counts only when current and signed by
// the certificate's issuer in the chain; without a covering CRL the verdict says "not checked", never "passed".
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { buildImage } from '../../../src/demo/build.js';
import { checkRevocation, loadCrls } from '../../../src/trust/notation/revocation.js';
import { createNotationVerifier } from '../../../src/trust/notation/verifier.js';
import { parseCertificate } from '../../../src/trust/notation/x509.js';
import {
  defaultPolicy,
  NOTATION_JWS_MEDIA_TYPE,
  type NotationCert,
  notationPki,
  signJws,
  writeNotationToLayout,
  writeTrustStore,
} from '../../harness/notation.js';
import { writeOciLayout } from '../../harness/oci-layout-writer.js';

const DAY = 86_400_000;
const NOW = Date.now();
const pki = notationPki({ rootKey: 'rsa-2048', intermediateKey: 'rsa-2048', leafKey: 'rsa-2048' });
const other = notationPki({ rootKey: 'rsa-2048', intermediateKey: 'rsa-2048', leafKey: 'rsa-2048' });
const ab = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;

/** A CRL issued by `issuer` (its certificate and key) listing `revoked` (certificates), valid thisUpdate … nextUpdate. */
async function makeCrl(
  issuer: NotationCert,
  revoked: NotationCert[],
  thisUpdate: Date,
  nextUpdate: Date,
): Promise<Buffer> {
  pkijs.setEngine(
    'trustpin-test',
    new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto }),
  );
  const issuerCert = new pkijs.Certificate({ schema: asn1js.fromBER(ab(issuer.der)).result });
  const crl = new pkijs.CertificateRevocationList();
  crl.version = 1;
  crl.issuer = issuerCert.subject;
  crl.thisUpdate = new pkijs.Time({ type: 0, value: thisUpdate });
  crl.nextUpdate = new pkijs.Time({ type: 0, value: nextUpdate });
  crl.revokedCertificates = revoked.map(
    (r) =>
      new pkijs.RevokedCertificate({
        userCertificate: new pkijs.Certificate({ schema: asn1js.fromBER(ab(r.der)).result }).serialNumber,
        revocationDate: new pkijs.Time({ type: 0, value: new Date(NOW - DAY) }),
      }),
  );
  const key = await webcrypto.subtle.importKey(
    'pkcs8',
    issuer.key.export({ format: 'der', type: 'pkcs8' }),
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  await crl.sign(key as unknown as CryptoKey, 'SHA-256');
  return Buffer.from(crl.toSchema(true).toBER());
}

const chainOf = (p: typeof pki) => p.chain.map((d, i) => parseCertificate(d, `cert ${i}`));
const fresh = [new Date(NOW - DAY), new Date(NOW + 7 * DAY)] as const;

describe('notation revocation from CRL files', () => {
  test('the leaf listed in a current CRL of its issuer is revoked; the others are checked', async () => {
    const crl = loadCrls([
      { source: 'i.crl', bytes: await makeCrl(pki.intermediate!, [pki.leaf], ...fresh) },
    ]);
    const r = await checkRevocation(chainOf(pki), crl, new Date(NOW));
    assert.equal(r.revoked?.certificate.subject, chainOf(pki)[0]!.subject);
    assert.equal(r.revoked?.crl, 'i.crl');
  });

  test('a CRL not listing the leaf: checked, not revoked; the intermediate needs the root CRL', async () => {
    const crl = loadCrls([{ source: 'i.crl', bytes: await makeCrl(pki.intermediate!, [], ...fresh) }]);
    const r = await checkRevocation(chainOf(pki), crl, new Date(NOW));
    assert.equal(r.revoked, undefined);
    assert.deepEqual(
      r.checked.map((c) => c.subject),
      [chainOf(pki)[0]!.subject],
    );
    assert.deepEqual(
      r.unchecked.map((c) => c.subject),
      [chainOf(pki)[1]!.subject],
    );
  });

  test('a CRL signed by another key, or out of date, counts for nothing', async () => {
    // same issuer name, another key: the signature does not verify under the chain's intermediate
    const forged = loadCrls([
      {
        source: 'forged.crl',
        bytes: await makeCrl({ ...other.intermediate!, der: pki.intermediate!.der }, [pki.leaf], ...fresh),
      },
    ]);
    const f = await checkRevocation(chainOf(pki), forged, new Date(NOW));
    assert.equal(f.revoked, undefined);
    assert.equal(f.checked.length, 0);
    const stale = loadCrls([
      {
        source: 'stale.crl',
        bytes: await makeCrl(
          pki.intermediate!,
          [pki.leaf],
          new Date(NOW - 30 * DAY),
          new Date(NOW - 20 * DAY),
        ),
      },
    ]);
    const s = await checkRevocation(chainOf(pki), stale, new Date(NOW));
    assert.equal(s.revoked, undefined);
    assert.equal(s.checked.length, 0);
  });

  test('a file that is not a CRL is a usage error', () => {
    assert.throws(() => loadCrls([{ source: 'x.crl', bytes: Buffer.from('not a crl') }]), { code: 'USAGE' });
  });

  describe('through the verifier', () => {
    let ref = '';
    let store = '';
    let revokedCrl: Buffer;
    before(async () => {
      const work = mkdtempSync(join(tmpdir(), 'trustpin-crl-'));
      const img = await buildImage({
        platform: { architecture: 'amd64', os: 'linux' },
        layers: [[{ path: 'a.txt', content: 'a\n' }]],
      });
      const dir = join(work, 'layout');
      await writeOciLayout(
        dir,
        [img.manifest, img.config, ...img.layers],
        [{ name: 'v1', target: img.manifest }],
      );
      const subject = {
        mediaType: img.manifest.mediaType,
        digest: img.manifest.digest,
        size: img.manifest.size,
      };
      const env = signJws({ target: subject, signer: { key: pki.leaf.key, chain: pki.chain } });
      await writeNotationToLayout(dir, subject, env, NOTATION_JWS_MEDIA_TYPE, pki.chain);
      store = join(work, 'truststore');
      await writeTrustStore(store, 'ca', 'test', [pki.root.der]);
      ref = `oci:${dir}:v1`;
      revokedCrl = await makeCrl(pki.intermediate!, [pki.leaf], ...fresh);
    });
    const run = (level: string, crls: Buffer[]) =>
      createNotationVerifier({
        trustPolicy: Buffer.from(
          JSON.stringify({ version: '1.0', trustPolicies: [defaultPolicy({ level } as never)] }),
        ),
        trustStore: store,
        offline: true,
        crls,
      }).verify(ref);

    test('strict: a revoked signing certificate fails CERTIFICATE_REVOKED', async () => {
      const v = await run('strict', [revokedCrl]);
      assert.equal(v.ok, false);
      assert.equal(v.problems[0]?.code, 'CERTIFICATE_REVOKED');
    });
    test('permissive: the revocation is logged, the verdict passes with CHECK_LOGGED', async () => {
      const v = await run('permissive', [revokedCrl]);
      assert.equal(v.ok, true, JSON.stringify(v.problems));
      assert.ok(v.warnings.some((w) => w.code === 'CHECK_LOGGED' && /revoked/.test(w.message)));
    });
    test('no CRL: passes, and says revocation was not checked', async () => {
      const v = await run('strict', []);
      assert.equal(v.ok, true, JSON.stringify(v.problems));
      assert.ok(v.warnings.some((w) => w.code === 'REVOCATION_NOT_CHECKED'));
    });
  });
});
