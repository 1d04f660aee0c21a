// X.509 certificates for tests, written with the DER writer and signed with node:crypto: notary root
// certificates (CN = GUN, codeSigning) and a loopback TLS CA + leaf for HTTPS servers the client verifies.
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import {
  bitStringBytes,
  boolean,
  type Der,
  explicit,
  implicit,
  namedBits,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der.js';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const CN = '2.5.4.3';
const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const EXT_KEY_USAGE = '2.5.29.37';
const SUBJECT_ALT_NAME = '2.5.29.17';

/** Extended key usage OIDs used by notary and TLS. */
export const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', codeSigning: '1.3.6.1.5.5.7.3.3' } as const;

/** Key usage bits (RFC 5280 §4.2.1.3): bit i is `1 << i`. */
export const KeyUsage = {
  digitalSignature: 1,
  keyEncipherment: 4,
  keyCertSign: 32,
  cRLSign: 64,
} as const;

/** What a test certificate says and who signs it. */
export interface CertOptions {
  subjectCn: string;
  /** the subject's public key */
  publicKey: KeyObject;
  /** who signs: defaults to the subject (self-signed) */
  issuer?: { cn: string; key: KeyObject };
  /** the subject's private key, for self-signed certificates */
  selfKey?: KeyObject;
  /** validity, in ms since the epoch */
  notBefore: number;
  notAfter: number;
  ca?: boolean;
  /** OR of {@link KeyUsage} bits */
  keyUsage?: number;
  extKeyUsage?: string[];
  /** IPv4 addresses for the subjectAltName */
  sanIps?: string[];
  sanDns?: string[];
}

/** A certificate as DER and as PEM. */
export interface BuiltCert {
  der: Buffer;
  /** PEM exactly as Go's pem.Encode writes it — notary re-encodes root certificates that way to compute IDs */
  pem: string;
}

/** PEM the way Go's pem.Encode writes it (64-column base64, trailing newline). */
export function goPem(der: Buffer, label = 'CERTIFICATE'): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const name = (cn: string): Der => sequence(set(sequence(oid(CN), utf8String(cn))));

const extension = (id: string, critical: boolean, value: Der): Der =>
  critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));

function ipBytes(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255)))
    throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(parts);
}

/** Build and sign one certificate (ECDSA P-256 with SHA-256). */
export function buildCert(o: CertOptions): BuiltCert {
  const signer = o.issuer?.key ?? o.selfKey;
  if (!signer) throw new Error('buildCert: a self-signed certificate needs selfKey');
  // a positive 128-bit serial, as notary's NewCertificate draws one
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  // cA FALSE is the DEFAULT, so DER leaves it out: an empty SEQUENCE
  const exts = [extension(BASIC_CONSTRAINTS, true, o.ca ? sequence(boolean(true)) : sequence())];
  if (o.keyUsage !== undefined) exts.push(extension(KEY_USAGE, true, namedBits(o.keyUsage)));
  if (o.extKeyUsage?.length) exts.push(extension(EXT_KEY_USAGE, false, sequence(...o.extKeyUsage.map(oid))));
  const san = [
    ...(o.sanDns ?? []).map((d) => implicit(2, Buffer.from(d, 'ascii'))),
    ...(o.sanIps ?? []).map((ip) => implicit(7, ipBytes(ip))),
  ];
  if (san.length) exts.push(extension(SUBJECT_ALT_NAME, false, sequence(...san)));
  const alg = sequence(oid(ECDSA_WITH_SHA256));
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    alg,
    name(o.issuer?.cn ?? o.subjectCn),
    sequence(time(o.notBefore), time(o.notAfter)),
    name(o.subjectCn),
    o.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...exts)),
  );
  // X.509 carries ECDSA signatures DER-encoded (node's default), unlike notary metadata's raw r||s
  const der = sequence(tbs, alg, bitStringBytes(sign('sha256', tbs, signer)));
  return { der, pem: goPem(der) };
}

/** A fresh ECDSA P-256 key pair. */
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
    keyUsage: KeyUsage.keyEncipherment | KeyUsage.digitalSignature,
    extKeyUsage: [EKU.codeSigning],
  });
}

/** A TLS CA and a server certificate signed by it, all PEM. */
export interface LoopbackPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A CA and a server certificate for 127.0.0.1 (and `localhost`), for a TLS server the client verifies for real. */
export function loopbackPki(now = Date.now()): LoopbackPki {
  const ca = p256();
  const leaf = p256();
  const notBefore = now - 3_600_000;
  const notAfter = now + 86_400_000;
  const caName = 'trustpin test CA';
  const caCert = buildCert({
    subjectCn: caName,
    publicKey: ca.publicKey,
    selfKey: ca.privateKey,
    notBefore,
    notAfter,
    ca: true,
    keyUsage: KeyUsage.keyCertSign | KeyUsage.cRLSign,
  });
  const leafCert = buildCert({
    subjectCn: '127.0.0.1',
    publicKey: leaf.publicKey,
    issuer: { cn: caName, key: ca.privateKey },
    notBefore,
    notAfter,
    keyUsage: KeyUsage.digitalSignature,
    extKeyUsage: [EKU.serverAuth],
    sanIps: ['127.0.0.1'],
    sanDns: ['localhost'],
  });
  return {
    caPem: caCert.pem,
    certPem: leafCert.pem,
    keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
