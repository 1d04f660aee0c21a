// An in-process Docker token server (distribution's "token" auth) for a real registry: ES256 JWTs whose
// `x5c` header carries a self-signed cert that the registry trusts through its `rootcertbundle` file.
import { generateKeyPairSync, type KeyObject, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { requireBinary, run } from './processes.js';

export interface TokenServerOptions {
  /** where the key and `token-signing.crt` are written */
  dir: string;
  /** must equal the registry's `auth.token.service`; becomes the JWT `aud` */
  service?: string;
  /** must equal the registry's `auth.token.issuer` */
  issuer?: string;
  /** Basic-auth accounts; a wrong password gets a 401 */
  users?: Record<string, string>;
  /** actions granted to anonymous callers (default: pull) */
  anonymousActions?: string[];
  /** actions granted to an authenticated user (default: pull, push, delete) */
  userActions?: string[];
  /** token lifetime in seconds (default 300) */
  expiresIn?: number;
}

export interface TokenRequestRecord {
  method: string;
  path: string;
  query: Record<string, string[]>;
  /** whether an Authorization header was sent at all */
  authorization: boolean;
  /** the Basic-auth user that was accepted, if any */
  user?: string;
  status: number;
}

export interface ResourceAccess {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenServer {
  /** http://127.0.0.1:PORT/token — the registry's `realm` */
  realm: string;
  url: string;
  service: string;
  issuer: string;
  /** PEM file for the registry's `rootcertbundle` */
  certFile: string;
  requests: TokenRequestRecord[];
  /** mint a token directly, without HTTP (e.g. for tests that need a forged or expired one) */
  issue(sub: string, access: ResourceAccess[], opts?: { now?: number; expiresIn?: number }): string;
  stop(): Promise<void>;
}

/** Split `type:name:actions`; the name may itself contain ':' (notary asks for `repository:host:port/x:pull`). */
export function parseScope(scope: string): ResourceAccess | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter((a) => a !== '');
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const service = opts.service ?? 'trustpin-test-registry';
  const issuer = opts.issuer ?? 'trustpin-test-issuer';
  const users = opts.users ?? {};
  const anonymous = opts.anonymousActions ?? ['pull'];
  const granted = opts.userActions ?? ['pull', 'push', 'delete'];
  const lifetime = opts.expiresIn ?? 300;
  const { key, certDer, certFile } = await makeSigningCert(opts.dir);
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] }));

  const issue: TokenServer['issue'] = (sub, access, o = {}) => {
    const now = Math.floor((o.now ?? Date.now()) / 1000);
    const claims = {
      iss: issuer,
      sub,
      aud: service,
      exp: now + (o.expiresIn ?? lifetime),
      // nbf a little in the past: the registry allows 60 s of skew, but only if we do not need it
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${header}.${b64url(JSON.stringify(claims))}`;
    // JWS ES256 wants the raw r||s form, not DER.
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
  };

  const requests: TokenRequestRecord[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://token.invalid');
    const query: Record<string, string[]> = {};
    for (const k of new Set(u.searchParams.keys())) query[k] = u.searchParams.getAll(k);
    const rec: TokenRequestRecord = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query,
      authorization: req.headers.authorization !== undefined,
      status: 0,
    };
    requests.push(rec);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (u.pathname !== '/token' || rec.method !== 'GET')
      return reply(404, { errors: [{ code: 'NOT_FOUND' }] });
    let user: string | undefined;
    if (req.headers.authorization !== undefined) {
      user = checkBasic(req.headers.authorization, users);
      if (user === undefined) {
        return reply(
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] },
          {
            'www-authenticate': 'Basic realm="trustpin-test-token"',
          },
        );
      }
      rec.user = user;
    }
    const allowed = user === undefined ? anonymous : granted;
    const access: ResourceAccess[] = [];
    for (const scope of u.searchParams.getAll('scope')) {
      // A scope may also be several space-separated scopes in one parameter.
      for (const one of scope.split(' ').filter(Boolean)) {
        const ra = parseScope(one);
        if (!ra) continue;
        const actions = ra.actions.filter((a) => allowed.includes(a) || (a === '*' && allowed.includes('*')));
        access.push({ ...ra, actions });
      }
    }
    const token = issue(user ?? '', access);
    reply(200, { token, access_token: token, expires_in: lifetime, issued_at: new Date().toISOString() });
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // keep-alive sockets from the registry would hold close() open
      server.closeAllConnections();
    });
  return { realm: `${url}/token`, url, service, issuer, certFile, requests, issue, stop };
}

function checkBasic(header: string, users: Record<string, string>): string | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  const user = decoded.slice(0, i);
  const pass = decoded.slice(i + 1);
  return Object.hasOwn(users, user) && users[user] === pass ? user : undefined;
}

/** P-256 key from Node, self-signed cert from openssl (Node cannot issue certificates). */
async function makeSigningCert(dir: string): Promise<{ key: KeyObject; certDer: Buffer; certFile: string }> {
  const openssl = requireBinary('openssl', 'openssl');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = join(dir, 'token-signing.key');
  const certFile = join(dir, 'token-signing.crt');
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  // -config /dev/null keeps the host's openssl.cnf out of it; the extensions are the ones Go's verifier needs.
  await run(openssl, [
    'req',
    '-x509',
    '-new',
    '-config',
    '/dev/null',
    '-key',
    keyFile,
    '-sha256',
    '-days',
    '30',
    '-subj',
    '/CN=trustpin-test-token-signer',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyCertSign',
    '-out',
    certFile,
  ]);
  const pem = await readFile(certFile, 'utf8');
  const certDer = new X509Certificate(pem).raw;
  return { key: privateKey, certDer, certFile };
}
