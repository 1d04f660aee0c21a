// Certificates for the hostile-notary tests, built with @peculiar/asn1-x509 and signed with node:crypto:
// notary root certificates (CN = GUN, codeSigning) and a loopback TLS CA + leaf for the HTTPS server.
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_kp_codeSigning,
  id_kp_serverAuth,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const CN = '2.5.4.3';

export interface CertOptions {
  subjectCn: string;
  /** the subject's public key */
  publicKey: KeyObject;
  /** who signs: defaults to the subject (self-signed) */
  issuer?: { cn: string; key: KeyObject };
  /** the subject's private key, for self-signed certificates */
  selfKey?: KeyObject;
  notBefore: number;
  notAfter: number;
  ca?: boolean;
  keyUsage?: number;
  extKeyUsage?: string[];
  sanIps?: string[];
}

export interface BuiltCert {
  der: Buffer;
  /** PEM exactly as Go's pem.Encode writes it — notary re-encodes root certificates that way to compute IDs */
  pem: string;
}

export function goPem(der: Buffer, label = 'CERTIFICATE'): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const name = (cn: string) =>
  new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: CN, value: new AttributeValue({ utf8String: cn }) }),
    ]),
  ]);

const ext = (id: string, critical: boolean, value: unknown) =>
  new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

export function buildCert(o: CertOptions): BuiltCert {
  const signer = o.issuer?.key ?? o.selfKey;
  if (!signer) throw new Error('buildCert: a self-signed certificate needs selfKey');
  // a positive 128-bit serial, as notary's NewCertificate draws one
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const exts = [ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: Boolean(o.ca) }))];
  if (o.keyUsage !== undefined) exts.push(ext(id_ce_keyUsage, true, new KeyUsage(o.keyUsage)));
  if (o.extKeyUsage?.length) exts.push(ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage(o.extKeyUsage)));
  if (o.sanIps?.length) {
    const san = new SubjectAlternativeName(o.sanIps.map((ip) => new GeneralName({ iPAddress: ip })));
    exts.push(ext(id_ce_subjectAltName, false, san));
  }
  const alg = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: alg,
    issuer: name(o.issuer?.cn ?? o.subjectCn),
    validity: new Validity({ notBefore: new Date(o.notBefore), notAfter: new Date(o.notAfter) }),
    subject: name(o.subjectCn),
    subjectPublicKeyInfo: AsnConvert.parse(
      o.publicKey.export({ type: 'spki', format: 'der' }),
      SubjectPublicKeyInfo,
    ),
    extensions: new Extensions(exts),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  // X.509 carries ECDSA signatures DER-encoded (node's default), unlike notary metadata's raw r||s
  const sig = sign('sha256', tbsDer, signer);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: alg,
    signatureValue: new Uint8Array(sig).buffer,
  });
  const der = Buffer.from(AsnConvert.serialize(cert));
  return { der, pem: goPem(der) };
}

export function p256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** notary's root certificate: self-signed, CN = GUN, KeyEncipherment|DigitalSignature, EKU codeSigning. */
export function rootCert(gun: string, key: KeyObject, notBefore: number, notAfter: number): BuiltCert {
  return buildCert({
    subjectCn: gun,
    publicKey: createPublicKey(key),
    selfKey: key,
    notBefore,
    notAfter,
    keyUsage: KeyUsageFlags.keyEncipherment | KeyUsageFlags.digitalSignature,
    extKeyUsage: [id_kp_codeSigning],
  });
}

export interface LoopbackPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A CA and a server certificate for 127.0.0.1, for a TLS server the client verifies for real. */
export function loopbackPki(now = Date.now()): LoopbackPki {
  const ca = p256();
  const leaf = p256();
  const notBefore = now - 3_600_000;
  const notAfter = now + 86_400_000;
  const caCert = buildCert({
    subjectCn: 'hostile-notary test CA',
    publicKey: ca.publicKey,
    selfKey: ca.privateKey,
    notBefore,
    notAfter,
    ca: true,
    keyUsage: KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign,
  });
  const leafCert = buildCert({
    subjectCn: '127.0.0.1',
    publicKey: leaf.publicKey,
    issuer: { cn: 'hostile-notary test CA', key: ca.privateKey },
    notBefore,
    notAfter,
    keyUsage: KeyUsageFlags.digitalSignature,
    extKeyUsage: [id_kp_serverAuth],
    sanIps: ['127.0.0.1'],
  });
  return {
    caPem: caCert.pem,
    certPem: leafCert.pem,
    keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
