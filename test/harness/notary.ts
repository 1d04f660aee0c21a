// Real notary-signer + notary-server 0.7 (Docker Content Trust, Notary v1) on random loopback ports, with mutual
// TLS between them from a fresh test CA and memory storage, so every start is an empty server.

import { createHash, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetchToken, parseChallenge } from './http.js';
import { freePort } from './ports.js';
import {
  type ManagedProcess,
  makeTempDir,
  removeDir,
  requireBinary,
  startProcess,
  waitForTcp,
} from './processes.js';
import { makeTestPki, type TestPki } from './tls.js';

/**
 * Registry-style bearer tokens on notary-server. The token server must grant the `*` action to the publishing
 * user: notary-server requires it for `key rotate … -r` (server-managed snapshot), push alone gets a 401.
 */
export interface NotaryTokenAuth {
  realm: string;
  service: string;
  issuer: string;
  /** PEM bundle of the token-signing certificate(s) */
  rootCertBundle: string;
}

export interface NotaryOptions {
  /** protect notary-server with registry-style bearer tokens (e.g. from startTokenServer) */
  tokenAuth?: NotaryTokenAuth;
  readyTimeoutMs?: number;
}

export interface RunningNotary {
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` (docker's `tls/<host>/ca.crt` directory name) */
  host: string;
  port: number;
  /** the CA that signed the server certificate */
  caFile: string;
  caPem: string;
  /** temp dir with certs, configs and logs; removed by stop() */
  dir: string;
  pki: TestPki;
  server(): ManagedProcess;
  signer(): ManagedProcess;
  /** stop both processes and delete `dir` */
  stop(): Promise<void>;
  /** stop both and start them again on the same ports: all trust data is gone (memory storage) */
  restart(): Promise<void>;
}

export interface NotaryGetOptions {
  headers?: Record<string, string>;
  /** on a 401 Bearer challenge fetch a token with these credentials (default: an anonymous token) */
  auth?: { username: string; password: string };
  /** return the 401 challenge instead of answering it */
  noToken?: boolean;
}

export interface NotaryResponse {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** HTTPS GET trusting only `caPem`; a token-auth server's challenge is answered like the notary client does. */
export async function notaryGet(
  notary: Pick<RunningNotary, 'url' | 'caPem'>,
  path: string,
  opts: NotaryGetOptions = {},
): Promise<NotaryResponse> {
  const res = await httpsGet(notary, path, opts.headers ?? {});
  const challenge = res.headers['www-authenticate'];
  if (res.status !== 401 || opts.noToken || typeof challenge !== 'string') return res;
  const basic = opts.auth
    ? `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`
    : undefined;
  const token = await fetchToken(parseChallenge(challenge), basic);
  return httpsGet(notary, path, { ...opts.headers, authorization: `Bearer ${token}` });
}

// fetch cannot be given a private CA (short of a dispatcher per call); node:https can.
function httpsGet(
  notary: Pick<RunningNotary, 'url' | 'caPem'>,
  path: string,
  headers: Record<string, string>,
): Promise<NotaryResponse> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, notary.url), { ca: notary.caPem, headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export interface RootKeyInfo {
  /** the ID as written in root.json (`ecdsa-x509` key): docker's "Root Key" */
  keyId: string;
  /** sha256 of the canonical `ecdsa` form of the same public key: the private key's file name */
  canonicalId: string;
}

/** sha256 of notary's canonical key JSON for a PEM public key (armour and `role:` headers stripped). */
export function canonicalKeyIdOfPem(pem: string): string {
  const b64 = pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----') && !l.includes(':'))
    .join('');
  return createHash('sha256')
    .update(JSON.stringify({ keytype: 'ecdsa', keyval: { private: null, public: b64 } }))
    .digest('hex');
}

/** The (first) root key of a GUN's root.json on the server: x509 key ID as written, and its canonical ID. */
export async function fetchRootKey(
  notary: Pick<RunningNotary, 'url' | 'caPem'>,
  gun: string,
  version?: number,
): Promise<RootKeyInfo> {
  const res = await notaryGet(
    notary,
    `/v2/${gun}/_trust/tuf/${version === undefined ? '' : `${version}.`}root.json`,
  );
  if (res.status !== 200) throw new Error(`root.json of ${gun}: HTTP ${res.status}`);
  const root = JSON.parse(res.body.toString('utf8')) as {
    signed: { keys: Record<string, { keyval: { public: string } }>; roles: { root: { keyids: string[] } } };
  };
  const keyId = root.signed.roles.root.keyids[0]!;
  const certPem = Buffer.from(root.signed.keys[keyId]!.keyval.public, 'base64').toString('utf8');
  const spki = new X509Certificate(certPem).publicKey
    .export({ type: 'spki', format: 'der' })
    .toString('base64');
  return { keyId, canonicalId: canonicalKeyIdOfPem(spki) };
}

export async function startNotary(opts: NotaryOptions = {}): Promise<RunningNotary> {
  const serverBin = requireBinary('notary-server', 'notary');
  const signerBin = requireBinary('notary-signer', 'notary');
  const dir = await makeTempDir('notary');
  const timeoutMs = opts.readyTimeoutMs ?? 15_000;
  try {
    const pki = await makeTestPki(dir, ['notary-server', 'notary-signer']);
    let signerPort = await freePort();
    let serverPort = await freePort();
    let procs: { signer: ManagedProcess; server: ManagedProcess } | undefined;
    let generation = 0;

    const launch = async (allowNewPorts: boolean) => {
      for (let attempt = 1; ; attempt++) {
        generation++;
        await writeConfigs(dir, pki, signerPort, serverPort, opts.tokenAuth);
        const signer = startProcess({
          name: 'notary-signer',
          command: signerBin,
          args: ['-config', join(dir, 'signer.json')],
          cwd: dir,
          logFile: join(dir, `signer-${generation}.log`),
        });
        let server: ManagedProcess | undefined;
        try {
          // notary-server dials the signer lazily, but the first publish fails if the signer is not up yet.
          await waitForTcp('127.0.0.1', signerPort, { proc: signer, timeoutMs });
          server = startProcess({
            name: 'notary-server',
            command: serverBin,
            args: ['-config', join(dir, 'server.json')],
            cwd: dir,
            logFile: join(dir, `server-${generation}.log`),
          });
          await waitHealthy(`https://127.0.0.1:${serverPort}`, pki.caPem, server, timeoutMs);
          procs = { signer, server };
          return;
        } catch (err) {
          await server?.stop();
          await signer.stop();
          const logs = `${signer.logTail()}\n${server?.logTail() ?? ''}`;
          if (allowNewPorts && attempt < 3 && /address already in use/.test(logs)) {
            signerPort = await freePort();
            serverPort = await freePort();
            continue;
          }
          throw err;
        }
      }
    };
    const halt = async () => {
      // The server first: it holds the gRPC connection to the signer.
      await procs?.server.stop();
      await procs?.signer.stop();
      procs = undefined;
    };

    await launch(true);
    const url = `https://127.0.0.1:${serverPort}`;
    const running = () => {
      if (!procs) throw new Error('notary is not running');
      return procs;
    };
    return {
      url,
      host: `127.0.0.1:${serverPort}`,
      port: serverPort,
      caFile: pki.caFile,
      caPem: pki.caPem,
      dir,
      pki,
      server: () => running().server,
      signer: () => running().signer,
      stop: async () => {
        await halt();
        await removeDir(dir);
      },
      restart: async () => {
        await halt();
        // Same ports: clients keep their URL, and the only thing that changed is the (now empty) trust data.
        await launch(false);
      },
    };
  } catch (err) {
    await removeDir(dir);
    throw err;
  }
}

async function writeConfigs(
  dir: string,
  pki: TestPki,
  signerPort: number,
  serverPort: number,
  tokenAuth: NotaryTokenAuth | undefined,
): Promise<void> {
  const signerLeaf = pki.leaves['notary-signer']!;
  const serverLeaf = pki.leaves['notary-server']!;
  const signer = {
    server: {
      grpc_addr: `127.0.0.1:${signerPort}`,
      tls_cert_file: signerLeaf.certFile,
      tls_key_file: signerLeaf.keyFile,
      // only clients with a cert from our CA (notary-server) may ask the signer to sign
      client_ca_file: pki.caFile,
    },
    logging: { level: 'info' },
    // memory needs no default_alias / NOTARY_SIGNER_<ALIAS> passphrase (mysql/postgres would)
    storage: { backend: 'memory' },
  };
  const server = {
    server: {
      http_addr: `127.0.0.1:${serverPort}`,
      tls_cert_file: serverLeaf.certFile,
      tls_key_file: serverLeaf.keyFile,
    },
    trust_service: {
      type: 'remote',
      // checked against the signer cert's SAN, hence IP:127.0.0.1 in it
      hostname: '127.0.0.1',
      port: String(signerPort),
      key_algorithm: 'ecdsa',
      tls_ca_file: pki.caFile,
      tls_client_cert: serverLeaf.certFile,
      tls_client_key: serverLeaf.keyFile,
    },
    logging: { level: 'info' },
    storage: { backend: 'memory' },
    ...(tokenAuth
      ? {
          auth: {
            type: 'token',
            options: {
              realm: tokenAuth.realm,
              service: tokenAuth.service,
              issuer: tokenAuth.issuer,
              rootcertbundle: tokenAuth.rootCertBundle,
            },
          },
        }
      : {}),
  };
  await writeFile(join(dir, 'signer.json'), JSON.stringify(signer, null, 2));
  await writeFile(join(dir, 'server.json'), JSON.stringify(server, null, 2));
}

// waitForUrl uses fetch, which cannot be given a private CA; poll with node:https instead.
async function waitHealthy(
  url: string,
  caPem: string,
  proc: ManagedProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'never tried';
  for (;;) {
    const st = proc.exitStatus();
    if (st) {
      throw new Error(
        `notary-server exited (code ${st.code}, signal ${st.signal}) before it was healthy\n` +
          `--- ${proc.logFile} ---\n${proc.logTail()}`,
      );
    }
    try {
      // The health endpoint is never behind token auth, so this works in both modes.
      const res = await httpsGet({ url, caPem }, '/_notary_server/health', {});
      if (res.status === 200) return;
      last = `status ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `notary-server at ${url} not healthy within ${timeoutMs} ms (last: ${last})\n` +
          `--- ${proc.logFile} ---\n${proc.logTail()}`,
      );
    }
    await sleep(25);
  }
}
