// RFC 3161 timestamp countersignatures, as Notation uses them (notation-go verifier.go `verifyTimestamp`,
// tspclient-go): the token is a CMS SignedData whose content is a TSTInfo; its messageImprint must be the hash of
// the envelope's signature bytes, its CMS signature must verify under the TSA certificate it carries, and that
// certificate's chain must be a timestamping chain (x509.ts) ending in a root of the policy's `tsa` stores, valid
// at the time stamped. The result is the time range [genTime − accuracy, genTime + accuracy].
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import type * as Pkijs from 'pkijs';
import { TrustpinError } from '../../errors/index.js';
import {
  arrayBufferOf,
  type Certificate,
  invalidAt,
  MAX_NOTATION_CERT_CHAIN,
  parseCertificate,
  validateChain,
} from './x509.js';

/** Largest timestamp token read (DER bytes). */
export const MAX_TIMESTAMP_TOKEN_BYTES = 256 * 1024;

const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const HASHES: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** A verified timestamp. */
export interface VerifiedTimestamp {
  genTime: Date;
  /** genTime − accuracy … genTime + accuracy */
  earliest: Date;
  latest: Date;
  /** the TSA chain, leaf first, ending at the trusted root */
  chain: Certificate[];
}

function tsInvalid(
  message: string,
  details: { expected?: string; found?: string; hint?: string } = {},
): TrustpinError {
  return new TrustpinError('TIMESTAMP_INVALID', message, details);
}

/**
 * Verify `token` as a timestamp of `signature` by a TSA chaining to one of `tsaRoots`.
 * @throws TrustpinError TIMESTAMP_INVALID (malformed, wrong content type, imprint of other bytes, signature,
 *   chain or root), CERTIFICATE_INVALID (the TSA chain breaks the timestamping profile)
 */
export async function verifyTimestampToken(
  token: Buffer,
  signature: Buffer,
  tsaRoots: Certificate[],
): Promise<VerifiedTimestamp> {
  if (token.length > MAX_TIMESTAMP_TOKEN_BYTES)
    throw tsInvalid(`the timestamp token is ${token.length} bytes`, {
      expected: `at most ${MAX_TIMESTAMP_TOKEN_BYTES}`,
    });
  // pkijs (CMS) is loaded only when a timestamp is checked
  const pkijs = await import('pkijs');
  let sd: Pkijs.SignedData;
  let tst: Pkijs.TSTInfo;
  try {
    const asn = asn1js.fromBER(arrayBufferOf(token));
    if (asn.offset === -1 || asn.offset !== token.length) throw new Error('not one DER value');
    const ci = new pkijs.ContentInfo({ schema: asn.result });
    if (ci.contentType !== ID_SIGNED_DATA) throw new Error(`content type ${ci.contentType}, not SignedData`);
    sd = new pkijs.SignedData({ schema: ci.content });
  } catch (e) {
    throw tsInvalid(`the timestamp countersignature does not parse: ${(e as Error).message}`, {
      expected: 'an RFC 3161 TimeStampToken (CMS SignedData)',
    });
  }
  const eType = sd.encapContentInfo.eContentType;
  if (eType !== ID_CT_TSTINFO)
    throw tsInvalid('the timestamp token does not hold a TSTInfo', {
      expected: `eContentType ${ID_CT_TSTINFO}`,
      found: eType,
    });
  try {
    const content = sd.encapContentInfo.eContent;
    if (!content) throw new Error('no content');
    const raw = content.getValue();
    const asn = asn1js.fromBER(raw);
    if (asn.offset === -1) throw new Error('TSTInfo is not DER');
    tst = new pkijs.TSTInfo({ schema: asn.result });
  } catch (e) {
    throw tsInvalid(`the timestamp's TSTInfo does not parse: ${(e as Error).message}`);
  }
  // the imprint must be the hash of the signature bytes (what Notation timestamps)
  const hashOid = tst.messageImprint.hashAlgorithm.algorithmId;
  const hash = HASHES[hashOid];
  if (!hash)
    throw tsInvalid('the timestamp hashes with an algorithm Notation does not accept', {
      expected: 'SHA-256/384/512',
      found: hashOid,
    });
  const imprint = Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (!imprint.equals(createHash(hash).update(signature).digest()))
    throw tsInvalid('the timestamp is for other bytes than this signature', {
      expected: `messageImprint = ${hash}(signature)`,
      found: imprint.toString('hex').slice(0, 32),
      hint: 'a countersignature copied from another signature is refused',
    });
  if (sd.signerInfos.length !== 1)
    throw tsInvalid(`the timestamp token has ${sd.signerInfos.length} signers`, { expected: 'exactly one' });
  const included = (sd.certificates ?? []).filter(
    (c): c is Pkijs.Certificate => c instanceof pkijs.Certificate,
  );
  if (included.length === 0)
    throw tsInvalid('the timestamp token carries no TSA certificate', {
      expected: 'the signing certificate in the token',
    });
  let signerCert: Pkijs.Certificate | null | undefined;
  try {
    const r = await sd.verify({
      signer: 0,
      checkChain: false,
      extendedMode: true,
      data: arrayBufferOf(signature),
    });
    if (!r.signatureVerified) throw new Error(r.message || 'signature does not verify');
    signerCert = r.signerCertificate;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String((e as { message?: string })?.message ?? e);
    throw tsInvalid(`the timestamp's signature does not verify: ${msg}`, {
      hint: 'the token was altered, or is not from the TSA it names',
    });
  }
  if (!signerCert) throw tsInvalid('the timestamp names no signing certificate it carries');
  // the TSA chain: the signer, then issuers from the token and the trust store, up to a self-signed root
  const pool = included.map((c, i) =>
    parseCertificate(Buffer.from(c.toSchema().toBER()), `certificate ${i + 1} of the timestamp`),
  );
  const leafDer = Buffer.from(signerCert.toSchema().toBER());
  const leaf = pool.find((c) => c.der.equals(leafDer)) ?? parseCertificate(leafDer, 'the TSA certificate');
  // the first path to a trusted TSA root, trying the trust store's certificates before the token's at each step:
  // a token may carry cross-signed copies of roots (GlobalSign R6 cross-signed by R3) that lead elsewhere
  const trusted = (c: Certificate) => tsaRoots.some((r) => r.der.equals(c.der));
  const issuersOf = (c: Certificate) =>
    [...tsaRoots, ...pool].filter((x) => x.rawSubject.equals(c.rawIssuer) && safeVerify(c, x));
  const search = (path: Certificate[]): Certificate[] | undefined => {
    const top = path[path.length - 1]!;
    if (trusted(top)) return path;
    if (path.length >= MAX_NOTATION_CERT_CHAIN || top.rawIssuer.equals(top.rawSubject)) return undefined;
    for (const next of issuersOf(top)) {
      if (path.some((p) => p.der.equals(next.der))) continue;
      const found = search([...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  const chain = search([leaf]);
  if (!chain)
    throw new TrustpinError(
      'CERTIFICATE_UNTRUSTED',
      `the timestamp authority ${leaf.subject} does not chain to a trusted TSA root`,
      {
        expected: "a chain ending in a certificate of the policy's tsa trust store",
        found: `issued by ${leaf.issuer}`,
        hint: "add the TSA's root to a tsa:<name> store and name it in trustStores",
      },
    );
  validateChain(chain, 'timeStamping');
  const genTime = tst.genTime;
  const acc = tst.accuracy;
  const accMs = acc ? (acc.seconds ?? 0) * 1000 + (acc.millis ?? 0) + (acc.micros ?? 0) / 1000 : 0;
  const stale = invalidAt(chain, genTime);
  if (stale)
    throw tsInvalid(`the TSA certificate ${stale.subject} was not valid at the time it stamped`, {
      expected: `valid at ${genTime.toISOString()}`,
      found: `${stale.notBefore.toISOString()} … ${stale.notAfter.toISOString()}`,
    });
  return {
    genTime,
    earliest: new Date(genTime.getTime() - accMs),
    latest: new Date(genTime.getTime() + accMs),
    chain,
  };
}

function safeVerify(child: Certificate, parent: Certificate): boolean {
  try {
    return child.x509.verify(parent.publicKey);
  } catch {
    return false;
  }
}
