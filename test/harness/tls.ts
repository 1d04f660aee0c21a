// Test PKI made with the real openssl: a P-256 root CA and leaf certificates for loopback servers (notary-server,
// notary-signer), each usable as server and client certificate for mutual TLS.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinary, run } from './processes.js';

export interface LeafCert {
  name: string;
  certFile: string;
  /** unencrypted PKCS#8 PEM */
  keyFile: string;
}

export interface TestPki {
  dir: string;
  caFile: string;
  caKeyFile: string;
  /** the CA certificate as PEM, for Node's `https` `ca` option */
  caPem: string;
  leaves: Record<string, LeafCert>;
}

// Our own config file: openssl 3's default config adds extensions of its own to `req -x509`, and a second
// basicConstraints from -addext is rejected as a duplicate, so nothing is left to the system config.
function opensslConfig(names: string[]): string {
  const lines = [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    'CN = trustpin-test',
    '[ca]',
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ];
  for (const name of names) {
    lines.push(
      `[leaf_${name.replace(/[^A-Za-z0-9]/g, '_')}]`,
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      // One cert per server serves both directions of mTLS (notary-server uses its own as the client cert).
      'extendedKeyUsage = serverAuth, clientAuth',
      // Go >= 1.15 ignores the CN: without the SAN (incl. the IP) the handshake to 127.0.0.1 fails.
      `subjectAltName = DNS:${name}, DNS:localhost, IP:127.0.0.1`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Create a CA and one leaf per name in `dir`: `root-ca.crt`, `<name>.crt`, `<name>.key`. */
export async function makeTestPki(dir: string, names: string[]): Promise<TestPki> {
  const openssl = requireBinary('openssl', 'openssl');
  const cnf = join(dir, 'openssl.cnf');
  await writeFile(cnf, opensslConfig(names));
  // genpkey writes PKCS#8 ("BEGIN PRIVATE KEY") directly, which is what notary's key loader wants.
  const genKey = (out: string) =>
    run(openssl, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out]);
  const caKeyFile = join(dir, 'root-ca.key');
  const caFile = join(dir, 'root-ca.crt');
  await genKey(caKeyFile);
  await run(openssl, [
    ...['req', '-x509', '-new', '-config', cnf, '-extensions', 'ca', '-key', caKeyFile],
    ...['-subj', '/CN=trustpin test root CA', '-days', '3650', '-sha256', '-out', caFile],
  ]);
  const leaves: Record<string, LeafCert> = {};
  await Promise.all(
    names.map(async (name) => {
      const keyFile = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const certFile = join(dir, `${name}.crt`);
      await genKey(keyFile);
      await run(openssl, [
        'req',
        '-new',
        '-config',
        cnf,
        '-key',
        keyFile,
        '-subj',
        `/CN=${name}`,
        '-out',
        csr,
      ]);
      await run(openssl, [
        ...['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKeyFile, '-set_serial', randomSerial()],
        ...[
          '-days',
          '825',
          '-sha256',
          '-extfile',
          cnf,
          '-extensions',
          `leaf_${name.replace(/[^A-Za-z0-9]/g, '_')}`,
        ],
        ...['-out', certFile],
      ]);
      leaves[name] = { name, certFile, keyFile };
    }),
  );
  return { dir, caFile, caKeyFile, caPem: await readFile(caFile, 'utf8'), leaves };
}

// Unique serials, so a client never sees two different certs with the same issuer+serial across restarts.
function randomSerial(): string {
  return `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffffff).toString(16)}`;
}
