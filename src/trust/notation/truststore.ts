// Notation's trust store as notation stores it: `{config}/truststore/x509/<type>/<name>/` holding PEM or DER
// certificate files. The rules are notation-go's `verifier/truststore/truststore.go` `GetCertificates`, plus bounds.
import type { X509Certificate } from 'node:crypto';
import {
  closeSync,
  constants,
  type Dirent,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TrustpinError } from '../../errors/index.js';
import type { NamedTrustStore, TrustStoreCertificate, TrustStoreType } from './types.js';
import { type Certificate, parseCertificate } from './x509.js';

/** Most files accepted in one named store (default 256; a real store holds a handful of roots). */
export const MAX_TRUST_STORE_FILES = 256;
/** Largest certificate file accepted (default 1 MiB); a larger file is refused before it is read whole. */
export const MAX_TRUST_STORE_FILE_BYTES = 1024 * 1024;
/** Most certificates accepted in one named store, over all its files (default 256). */
export const MAX_TRUST_STORE_CERTIFICATES = 256;

/** The trust store types notation-go knows (`truststore.Types`). */
export const TRUST_STORE_TYPES: readonly TrustStoreType[] = ['ca', 'signingAuthority', 'tsa'];
/** notation-go `internal/file.IsValidFileName`: the names a named store (and its directory) may have. */
export const TRUST_STORE_NAME = /^[a-zA-Z0-9_.-]+$/;

const ADD_HINT = (type: string, name: string) =>
  `add the root certificate with \`notation cert add --type ${type} --store ${name} <cert file>\``;

/**
 * `{NOTATION_CONFIG}`: Go's `os.UserConfigDir()` + `/notation` (notation-go `dir/path.go`). Linux and other Unix:
 * `$XDG_CONFIG_HOME/notation` when it is set and absolute, else `$HOME/.config/notation`; macOS
 * `$HOME/Library/Application Support/notation`; Windows `%AppData%\notation`. Where Go's call fails (a relative
 * `$XDG_CONFIG_HOME`) notation falls back to `.notation` in the working directory, and so does this.
 */
export function notationConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = () => env.HOME || homedir();
  if (process.platform === 'darwin') return join(home(), 'Library', 'Application Support', 'notation');
  if (process.platform === 'win32')
    return join(env.AppData || join(home(), 'AppData', 'Roaming'), 'notation');
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg) return xdg.startsWith('/') ? join(xdg, 'notation') : '.notation';
  return join(home(), '.config', 'notation');
}

/** `{NOTATION_CONFIG}/truststore` (notation-go `dir.TrustStoreDir`). */
export function defaultTrustStoreDir(env?: NodeJS.ProcessEnv): string {
  return join(notationConfigDir(env), 'truststore');
}

/**
 * The OCI trust policy file: `trustpolicy.oci.json` when it exists, else the older `trustpolicy.json` (notation-go
 * `verifier/trustpolicy/oci.go` `LoadOCIDocument`). The second path is returned even when neither exists.
 */
export function defaultTrustPolicyPath(env?: NodeJS.ProcessEnv): string {
  const dir = notationConfigDir(env);
  const oci = join(dir, 'trustpolicy.oci.json');
  // notation-go lstats it: a symlink counts as present (and is then refused when read)
  try {
    lstatSync(oci);
    return oci;
  } catch {
    return join(dir, 'trustpolicy.json');
  }
}

function invalid(
  message: string,
  details: { expected?: string; found?: string; hint?: string; cause?: unknown },
) {
  return new TrustpinError('TRUST_STORE_INVALID', message, details);
}

/**
 * Read the named stores `refs` under `root` (the `truststore` directory): `<root>/x509/<type>/<name>/*`. Each must
 * be a real directory (not a symlink) of regular certificate files, each file PEM (one or more blocks, every block
 * a certificate) or DER (one or more concatenated certificates); every certificate a CA or self-signed, and in a
 * `tsa` store a self-issued, self-signed root CA (notation-go `GetCertificates`, `ValidateCertificates`,
 * `isRootCACertificate`). Files are read in name order. Any breach → TRUST_STORE_INVALID (also for a file
 * over {@link MAX_TRUST_STORE_FILE_BYTES}).
 */
export function loadNamedTrustStores(
  root: string,
  refs: { type: TrustStoreType; name: string }[],
): NamedTrustStore[] {
  return refs.map((ref) => loadNamedTrustStore(root, ref.type, ref.name));
}

function loadNamedTrustStore(root: string, type: TrustStoreType, name: string): NamedTrustStore {
  const label = `${type}:${name}`;
  if (!TRUST_STORE_TYPES.includes(type))
    throw invalid(`unsupported trust store type ${JSON.stringify(type)}`, {
      expected: TRUST_STORE_TYPES.join(' | '),
      found: String(type),
    });
  if (!TRUST_STORE_NAME.test(name))
    throw invalid(`trust store name ${JSON.stringify(name)} is invalid`, {
      expected: `a name matching ${TRUST_STORE_NAME.source}`,
      found: name,
      hint: 'store names are directory names made of letters, digits, "_", "." and "-"',
    });
  const dir = join(root, 'x509', type, name);
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dir);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw invalid(`the trust store ${label} ${missing ? 'does not exist' : 'cannot be read'}: ${dir}`, {
      expected: `a directory ${dir} holding the store's root certificates`,
      found: missing ? 'no such directory' : (e as Error).message,
      hint: ADD_HINT(type, name),
      cause: e,
    });
  }
  if (st.isSymbolicLink() || !st.isDirectory())
    throw invalid(
      `the trust store ${label} is not a regular directory (symlinks are not supported): ${dir}`,
      {
        expected: 'a real directory',
        found: st.isSymbolicLink() ? 'a symbolic link' : 'not a directory',
        hint: 'replace the link with a directory holding copies of the certificates',
      },
    );
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw invalid(`the trust store ${label} cannot be read: ${dir}`, {
      found: (e as Error).message,
      cause: e,
    });
  }
  if (entries.length > MAX_TRUST_STORE_FILES)
    throw invalid(
      `the trust store ${label} holds ${entries.length} entries, more than ${MAX_TRUST_STORE_FILES}`,
      {
        expected: `at most ${MAX_TRUST_STORE_FILES} certificate files`,
        found: `${entries.length}`,
        hint: 'a named store holds a handful of root certificates; split it or remove stray files',
      },
    );
  // os.ReadDir's order: by name, bytewise
  const names = entries.map((e) => e.name).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const certificates: TrustStoreCertificate[] = [];
  for (const file of names) {
    const path = join(dir, file);
    const ders = certificatesOfFile(readBounded(path, label), path, label);
    for (const der of ders) checkStoreCertificate(der, type, label, path);
    if (certificates.length + ders.length > MAX_TRUST_STORE_CERTIFICATES)
      throw invalid(`the trust store ${label} holds more than ${MAX_TRUST_STORE_CERTIFICATES} certificates`, {
        expected: `at most ${MAX_TRUST_STORE_CERTIFICATES}`,
        found: `more, by ${path}`,
      });
    for (const der of ders) certificates.push({ file: path, der });
  }
  if (certificates.length === 0)
    throw invalid(`no x509 certificates were found in the trust store ${label}: ${dir}`, {
      expected: 'at least one certificate file',
      found: 'an empty directory',
      hint: ADD_HINT(type, name),
    });
  return { type, name, dir, certificates };
}

/**
 * A named store from certificate files already read (a trustpin policy's `notation` trust root): the same rules as
 * a store directory — PEM or DER, every certificate a CA or self-signed, a `tsa` store only root CAs.
 */
export function trustStoreFromFiles(
  type: TrustStoreType,
  name: string,
  files: { path: string; bytes: Buffer }[],
): NamedTrustStore {
  const label = `${type}:${name}`;
  const certificates: TrustStoreCertificate[] = [];
  for (const f of files) {
    if (f.bytes.length > MAX_TRUST_STORE_FILE_BYTES)
      throw invalid(
        `${f.path} is ${f.bytes.length} bytes, more than the ${MAX_TRUST_STORE_FILE_BYTES} accepted`,
        {
          expected: `a certificate file of at most ${MAX_TRUST_STORE_FILE_BYTES} bytes`,
          found: `${f.bytes.length} bytes`,
        },
      );
    const ders = certificatesOfFile(f.bytes, f.path, label);
    for (const der of ders) checkStoreCertificate(der, type, label, f.path);
    for (const der of ders) certificates.push({ file: f.path, der });
    if (certificates.length > MAX_TRUST_STORE_CERTIFICATES)
      throw invalid(`the trust store ${label} holds more than ${MAX_TRUST_STORE_CERTIFICATES} certificates`, {
        expected: `at most ${MAX_TRUST_STORE_CERTIFICATES}`,
        found: `more, by ${f.path}`,
      });
  }
  return { type, name, dir: '(files)', certificates };
}

/** One regular file, read through a descriptor that refuses symlinks, under the byte cap. */
function readBounded(path: string, label: string): Buffer {
  const st = lstatSync(path);
  if (!st.isFile())
    throw invalid(
      `${path} in the trust store ${label} is not a regular file (directories or symlinks are not supported)`,
      {
        expected: 'a regular certificate file',
        found: st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a directory' : 'a special file',
        hint: 'keep only certificate files in a named store (copies, not links)',
      },
    );
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    throw new TrustpinError('IO_ERROR', `cannot read ${path}`, { found: (e as Error).message, cause: e });
  }
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_TRUST_STORE_FILE_BYTES)
      throw new TrustpinError(
        'TRUST_STORE_INVALID',
        `${path} is ${size} bytes, more than the ${MAX_TRUST_STORE_FILE_BYTES} accepted`,
        {
          expected: `a certificate file of at most ${MAX_TRUST_STORE_FILE_BYTES} bytes`,
          found: `${size} bytes`,
          hint: 'a trust store file holds a few root certificates; this one is not that',
        },
      );
    const buf = Buffer.alloc(Math.min(size, MAX_TRUST_STORE_FILE_BYTES) + 1);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > MAX_TRUST_STORE_FILE_BYTES)
      throw new TrustpinError(
        'TRUST_STORE_INVALID',
        `${path} grew past ${MAX_TRUST_STORE_FILE_BYTES} bytes while read`,
        {
          expected: `at most ${MAX_TRUST_STORE_FILE_BYTES} bytes`,
        },
      );
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const PEM_BLOCK = /-----BEGIN ([^\r\n-]*)-----\r?\n([\s\S]*?)-----END \1-----/g;

/**
 * notation-core-go `x509.ReadCertificateFile`: PEM when the file holds a PEM block (then every block must be a
 * certificate), else DER (one or more concatenated certificates). Each piece must parse as an X.509 certificate.
 */
function certificatesOfFile(bytes: Buffer, path: string, label: string): Buffer[] {
  const bad = (why: string) =>
    invalid(`failed to read the trusted certificate ${path} in the trust store ${label}: ${why}`, {
      expected: 'PEM CERTIFICATE blocks or DER X.509 certificates',
      found: why,
      hint: 'replace the file with the store’s root certificate (PEM or DER)',
    });
  const text = bytes.toString('latin1');
  const blocks = [...text.matchAll(PEM_BLOCK)];
  let ders: Buffer[];
  if (blocks.length > 0) {
    ders = blocks.map((m) => {
      const body = m[2]!
        .split(/\r?\n/)
        .filter((line) => !line.includes(':'))
        .join('')
        .replace(/\s/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0)
        throw bad(`a ${m[1]} block is not base64`);
      return Buffer.from(body, 'base64');
    });
  } else {
    ders = splitDer(bytes, bad);
  }
  if (ders.length === 0) throw bad('no certificate in the file');
  if (ders.length > MAX_TRUST_STORE_CERTIFICATES)
    throw bad(`more than ${MAX_TRUST_STORE_CERTIFICATES} certificates`);
  for (const der of ders) parsedCert(der, bad);
  return ders;
}

/** Concatenated DER SEQUENCEs (Go `x509.ParseCertificates`); trailing bytes are an error. */
function splitDer(bytes: Buffer, bad: (why: string) => TrustpinError): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] !== 0x30 || i + 2 > bytes.length) throw bad('not a PEM or DER certificate');
    let len = bytes[i + 1]!;
    let hdr = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || i + 2 + n > bytes.length) throw bad('not a DER certificate (bad length)');
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + bytes[i + 2 + k]!;
      hdr = 2 + n;
    }
    if (i + hdr + len > bytes.length) throw bad('a truncated DER certificate');
    out.push(bytes.subarray(i, i + hdr + len));
    i += hdr + len;
  }
  return out;
}

interface Parsed {
  node: X509Certificate;
  pki: Certificate;
}

function parsedCert(der: Buffer, bad: (why: string) => TrustpinError): Parsed {
  try {
    const pki = parseCertificate(der, 'the certificate');
    return { node: pki.x509, pki };
  } catch (e) {
    throw bad(`not an X.509 certificate (${(e as Error).message})`);
  }
}

/**
 * Signature algorithms Go's `checkSignature` refuses outright: MD2/MD5 with RSA (insecure) and DSA (unsupported
 * since Go 1.16); SHA-1 ones it refuses for a parent (`CheckSignatureFrom`).
 */
const INSECURE_SIG = new Set([
  '1.2.840.113549.1.1.2',
  '1.2.840.113549.1.1.4',
  '1.2.840.10040.4.3',
  '2.16.840.1.101.3.4.3.1',
  '2.16.840.1.101.3.4.3.2',
]);
const SHA1_SIG = new Set(['1.2.840.113549.1.1.5', '1.2.840.10045.4.1', '1.3.14.3.2.29', '1.2.840.10040.4.3']);

/** Go's `Certificate.IsCA`: basicConstraints present with cA TRUE. */
function isCA(cert: Certificate): { present: boolean; ca: boolean } {
  return { present: cert.basicConstraints !== undefined, ca: cert.basicConstraints?.ca === true };
}

/** Go's `KeyUsage` bits (bit 0 = digitalSignature … bit 5 = keyCertSign); 0 when absent. */
function keyUsage(cert: Certificate): number {
  return cert.keyUsage?.bits ?? 0;
}

function selfSignatureVerifies(c: Parsed, allowSha1: boolean): boolean {
  const alg = c.pki.signatureAlgorithm;
  if (INSECURE_SIG.has(alg) || (!allowSha1 && SHA1_SIG.has(alg))) return false;
  try {
    return c.node.verify(c.node.publicKey);
  } catch {
    return false;
  }
}

/**
 * notation-go `ValidateCertificates`: every certificate is a CA (`IsCA`) or else its signature verifies under its
 * own key (`CheckSignature`, SHA-1 allowed). In a `tsa` store, `isRootCACertificate` as well:
 * `CheckSignatureFrom(itself)` (a v3 certificate needs basicConstraints cA, keyUsage — when present — keyCertSign,
 * and no SHA-1) and raw subject equal to raw issuer.
 */
function checkStoreCertificate(der: Buffer, type: TrustStoreType, label: string, path: string): void {
  const c = parsedCert(der, (why) => invalid(why, {}));
  const subject = c.node.subject.replace(/\n/g, ', ');
  const bc = isCA(c.pki);
  if (!bc.ca && !selfSignatureVerifies(c, true))
    throw invalid(
      `the trusted certificate ${path} in the trust store ${label} is not a CA certificate or self-signed`,
      {
        expected: 'CA certificates (basicConstraints cA) or self-signed signing certificates',
        found: `a certificate with subject ${JSON.stringify(subject)}`,
        hint: 'a trust store holds roots; remove the leaf (or intermediate-less leaf) certificate from it',
      },
    );
  if (type !== 'tsa') return;
  const v3 = c.pki.version === 2;
  const ku = keyUsage(c.pki);
  const canSign = !((v3 && !bc.present) || (bc.present && !bc.ca)) && (ku === 0 || (ku & (1 << 5)) !== 0);
  if (!canSign || !selfSignatureVerifies(c, false))
    throw invalid(
      `the trusted certificate ${path} in the trust store ${label} is not a root CA certificate`,
      {
        expected: 'a self-signed root CA certificate (basicConstraints cA, keyCertSign, no SHA-1 signature)',
        found: `a certificate with subject ${JSON.stringify(subject)}`,
        hint: 'a tsa store holds the timestamping authority’s root CA certificate',
      },
    );
  const rawSubject = c.pki.rawSubject;
  const rawIssuer = c.pki.rawIssuer;
  if (!rawSubject.equals(rawIssuer))
    throw invalid(
      `the trusted certificate ${path} in the trust store ${label} is not a root CA certificate`,
      {
        expected: 'issuer equal to subject (a self-issued root)',
        found: `subject ${JSON.stringify(subject)}, issuer ${JSON.stringify(c.node.issuer.replace(/\n/g, ', '))}`,
        hint: 'a tsa store holds the timestamping authority’s root CA certificate, not an intermediate',
      },
    );
}
