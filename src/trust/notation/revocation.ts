// Revocation from CRL files the user gives (offline: nothing is fetched). A CRL counts for a certificate only when
// its issuer name is the certificate's issuer, its signature verifies under the issuing certificate of the chain,
// it is current (thisUpdate ≤ time < nextUpdate) and it is a complete CRL (not a delta). A certificate no such CRL
// covers is "not checked"; the root of a chain is never checked (as notation-core-go's revocation package).
import * as asn1js from 'asn1js';
import { TrustpinError } from '../../errors/index.js';
import { arrayBufferOf, type Certificate, kids } from './x509.js';

/** Largest CRL file read. */
export const MAX_CRL_BYTES = 16 * 1024 * 1024;

/** A CRL parsed once: its issuer's raw name, validity, and the revoked serial numbers. */
export interface LoadedCrl {
  source: string;
  rawIssuer: Buffer;
  thisUpdate: Date;
  nextUpdate?: Date | undefined;
  /** lower-case hex of each revoked serial, with its revocation date */
  revoked: Map<string, Date>;
  /** the CRL's DER; its signature is checked (pkijs, loaded only then) against the issuer in the chain */
  der: Buffer;
  delta: boolean;
}

function pemOrDer(bytes: Buffer): Buffer[] {
  const text = bytes.subarray(0, 64).toString('latin1');
  if (!text.includes('-----BEGIN')) return [bytes];
  const out: Buffer[] = [];
  for (const m of bytes
    .toString('latin1')
    .matchAll(/-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g))
    out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

/**
 * Parse CRL files (DER, or PEM with `X509 CRL` blocks). @throws TrustpinError USAGE when a file is not a CRL or is
 * over {@link MAX_CRL_BYTES} (a CRL file is configuration, not evidence)
 */
export function loadCrls(files: { source: string; bytes: Buffer }[]): LoadedCrl[] {
  const out: LoadedCrl[] = [];
  for (const f of files) {
    if (f.bytes.length > MAX_CRL_BYTES)
      throw new TrustpinError('USAGE', `the CRL ${f.source} is ${f.bytes.length} bytes`, {
        expected: `at most ${MAX_CRL_BYTES} bytes`,
      });
    const ders = pemOrDer(f.bytes);
    if (ders.length === 0) throw new TrustpinError('USAGE', `${f.source} holds no X509 CRL block`);
    for (const der of ders) {
      try {
        const asn = asn1js.fromBER(arrayBufferOf(der));
        if (asn.offset === -1 || asn.offset !== der.length) throw new Error('not one DER value');
        // CertificateList ::= SEQUENCE { tbsCertList SEQUENCE { version?, signature, issuer, thisUpdate,
        //   nextUpdate?, revokedCertificates?, [0] crlExtensions? }, signatureAlgorithm, signatureValue }
        const tbs = kids(kids(asn.result)[0]);
        const off = tbs[0] instanceof asn1js.Integer ? 1 : 0;
        const rest = tbs.slice(off + 3);
        const isTime = (v: asn1js.AsnType | undefined) =>
          v instanceof asn1js.UTCTime || v instanceof asn1js.GeneralizedTime;
        const thisUpdate = tbs[off + 2];
        if (!isTime(thisUpdate)) throw new Error('thisUpdate is not a time');
        const nextUpdate = isTime(rest[0]) ? rest.shift() : undefined;
        const revoked = new Map<string, Date>();
        const list = rest[0] instanceof asn1js.Sequence ? kids(rest.shift()) : [];
        for (const r of list) {
          const [serial, date] = kids(r);
          if (!(serial instanceof asn1js.Integer) || !isTime(date))
            throw new Error('a revoked entry is malformed');
          revoked.set(
            Buffer.from(serial.valueBlock.valueHexView)
              .toString('hex')
              .replace(/^(00)+(?=.)/, ''),
            (date as asn1js.UTCTime).toDate(),
          );
        }
        const exts = rest.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 0);
        const delta = exts
          ? kids(kids(exts)[0]).some((e) => {
              const id = kids(e)[0];
              return id instanceof asn1js.ObjectIdentifier && id.valueBlock.toString() === '2.5.29.27';
            })
          : false;
        out.push({
          source: f.source,
          rawIssuer: Buffer.from(tbs[off + 1]!.valueBeforeDecodeView),
          thisUpdate: (thisUpdate as asn1js.UTCTime).toDate(),
          nextUpdate: nextUpdate ? (nextUpdate as asn1js.UTCTime).toDate() : undefined,
          revoked,
          der,
          delta,
        });
      } catch (e) {
        throw new TrustpinError('USAGE', `${f.source} is not an X.509 CRL: ${(e as Error).message}`, {
          expected: 'a DER or PEM (X509 CRL) certificate revocation list',
        });
      }
    }
  }
  return out;
}

function serialHex(c: Certificate): string {
  return c.x509.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, '');
}

/** The revocation state of a chain: revoked (which), or which certificates no CRL covered. */
export interface RevocationResult {
  revoked?: { certificate: Certificate; at: Date; crl: string } | undefined;
  /** certificates (not the root) for which no current, verified CRL was given */
  unchecked: Certificate[];
  checked: Certificate[];
}

/** Check every certificate of `chain` but the root against `crls`, at `now`. */
export async function checkRevocation(
  chain: Certificate[],
  crls: LoadedCrl[],
  now: Date,
): Promise<RevocationResult> {
  const out: RevocationResult = { unchecked: [], checked: [] };
  const upTo = chain.length === 1 ? 0 : chain.length - 1;
  for (let i = 0; i < upTo; i++) {
    const cert = chain[i]!;
    const issuer = chain[i + 1]!;
    let covered = false;
    for (const c of crls) {
      if (c.delta || !c.rawIssuer.equals(cert.rawIssuer)) continue;
      if (now < c.thisUpdate || (c.nextUpdate && now >= c.nextUpdate)) continue;
      let ok = false;
      try {
        const pkijs = await import('pkijs');
        const issuerCert = new pkijs.Certificate({
          schema: asn1js.fromBER(arrayBufferOf(issuer.der)).result,
        });
        const crl = new pkijs.CertificateRevocationList({
          schema: asn1js.fromBER(arrayBufferOf(c.der)).result,
        });
        ok = await crl.verify({ issuerCertificate: issuerCert });
      } catch {
        ok = false;
      }
      if (!ok) continue;
      covered = true;
      const at = c.revoked.get(serialHex(cert));
      if (at && !out.revoked) out.revoked = { certificate: cert, at, crl: c.source };
    }
    (covered ? out.checked : out.unchecked).push(cert);
  }
  return out;
}
