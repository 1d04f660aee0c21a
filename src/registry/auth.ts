// Registry authentication: Basic, and Bearer tokens from the challenge's realm (anonymous, with Basic
// credentials, or an OAuth2 refresh token), cached per host+scope until expiry and renewed on 401.
import { readCapped } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { isLoopbackHost } from '../reference/index.js';
import { Lru } from '../util/index.js';
import type { Challenge } from './challenge.js';
import type { Credential } from './credentials.js';
import { errorBody, type Http } from './http.js';

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** The distribution spec's default (and minimum) token lifetime, when `expires_in` is absent or smaller. */
export const MIN_TOKEN_LIFETIME_S = 60;
/** A token is renewed this long before it expires, so it cannot expire between the check and the request. */
export const TOKEN_EXPIRY_MARGIN_MS = 5000;
/** Token cache bound (host + scope pairs); the least recently used token is dropped, and simply re-fetched. */
export const MAX_TOKENS = 1024;
/** Credential lookups remembered (one per host). */
export const MAX_CREDENTIAL_HOSTS = 256;

export class Authenticator {
  readonly tokens = new Lru<string, CachedToken>(MAX_TOKENS);
  private readonly creds = new Lru<string, Promise<Credential | undefined>>(MAX_CREDENTIAL_HOSTS);

  constructor(
    private readonly http: Http,
    private readonly lookup: (host: string) => Promise<Credential | undefined>,
    private readonly isInsecure: (host: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** hosts whose credentials are another host's: a notary server authenticates with its registry's login */
  readonly credentialAliases = new Lru<string, string>(MAX_CREDENTIAL_HOSTS);

  credential(host: string): Promise<Credential | undefined> {
    let c = this.creds.get(host);
    if (!c) {
      c = this.lookup(this.credentialAliases.get(host) ?? host);
      this.creds.set(host, c);
    }
    return c;
  }

  cached(host: string, scope: string): string | undefined {
    const key = `${host} ${scope}`;
    const t = this.tokens.get(key);
    if (!t) return undefined;
    if (t.expiresAt > this.now()) return t.header;
    this.tokens.delete(key);
    return undefined;
  }

  invalidate(host: string, scope: string): void {
    this.tokens.delete(`${host} ${scope}`);
  }

  /** The Authorization header that answers `challenges` for `scope`, or undefined for anonymous access. */
  async authorize(
    host: string,
    scope: string,
    challenges: Challenge[],
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    const cred = await this.credential(host);
    if (bearer) {
      return this.token(host, scope, bearer, cred, signal);
    }
    if (basic) {
      if (!cred?.username || cred.password === undefined) {
        throw new TrustpinError('AUTH_REQUIRED', `${host} requires a username and password`, {
          expected: 'credentials for this registry',
          found: 'none in docker config.json, credential helpers or containers auth.json',
          hint: `run \`docker login ${host}\` (or set DOCKER_CONFIG / REGISTRY_AUTH_FILE)`,
        });
      }
      return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    }
    return undefined;
  }

  private async token(
    host: string,
    scope: string,
    ch: Challenge,
    cred: Credential | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const realm = ch.params.realm;
    if (!realm)
      throw new TrustpinError('AUTH_TOKEN_FAILED', `${host} sent a Bearer challenge without a realm`);
    if (!URL.canParse(realm))
      throw new TrustpinError(
        'AUTH_TOKEN_FAILED',
        `${host} sent a Bearer challenge whose realm is not a URL`,
        {
          expected: 'realm="https://auth.example/token"',
          found: realm.slice(0, 200),
        },
      );
    const realmUrl = new URL(realm);
    if (
      realmUrl.protocol !== 'https:' &&
      !(isLoopbackHost(realmUrl.host) || this.isInsecure(realmUrl.host))
    ) {
      throw new TrustpinError('INSECURE_REFUSED', `token realm ${realm} is not HTTPS`, {
        hint: `credentials are never sent in clear text; mark ${realmUrl.host} insecure (option insecureRegistries) only if you must`,
      });
    }
    if (cred?.registryToken)
      return `Bearer ${checkToken(cred.registryToken, `the registry token for ${host}`)}`;
    const service = ch.params.service;
    const started = this.now();
    let res: Awaited<ReturnType<Http['send']>>;
    if (cred?.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: cred.identityToken,
        client_id: 'trustpin',
        scope,
      });
      if (service) form.set('service', service);
      res = await this.http.send({
        method: 'POST',
        url: realmUrl.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal,
      });
    } else {
      if (service) realmUrl.searchParams.set('service', service);
      realmUrl.searchParams.append('scope', scope);
      let auth: string | undefined;
      if (cred?.username && cred.password !== undefined) {
        realmUrl.searchParams.set('account', cred.username);
        auth = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      }
      res = await this.http.send({ method: 'GET', url: realmUrl.toString(), signal }, auth);
    }
    if (res.status !== 200) {
      const e = await errorBody(res);
      throw new TrustpinError(
        res.status === 401 ? 'AUTH_DENIED' : 'AUTH_TOKEN_FAILED',
        `token server for ${host} answered ${res.status}${e.message ? `: ${e.message}` : ''}`,
        {
          expected: `a token for ${scope}`,
          found: `HTTP ${res.status}`,
          hint: cred ? `check the credentials from ${cred.source}` : `log in with \`docker login ${host}\``,
        },
      );
    }
    const body = await readCapped(res.body, MAX_TOKEN_RESPONSE, 'token response');
    const t = parseTokenResponse(body, host);
    const header = `Bearer ${t.token}`;
    this.tokens.set(`${host} ${scope}`, { header, expiresAt: expiry(t, started) });
    return header;
  }
}

/** Largest token-server answer read (a JWT is a few KiB; a hostile server may send an endless body). */
export const MAX_TOKEN_RESPONSE = 1024 * 1024;

/** A bearer token goes into an HTTP header as-is: visible ASCII only (JWTs and opaque tokens are). */
const TOKEN_SYNTAX = /^[\x21-\x7e]+$/;

function checkToken(tok: string, what: string): string {
  if (!TOKEN_SYNTAX.test(tok))
    throw new TrustpinError('AUTH_TOKEN_FAILED', `${what} is not a usable bearer token`, {
      expected: 'visible ASCII characters only (a JWT or an opaque token)',
      found: `${tok.length} characters, including a space, control or non-ASCII character`,
      hint: 'the token server or the credential store returned something else; it was not sent',
    });
  return tok;
}

/**
 * A token server's answer: a JSON object with `token` (or the OAuth2 `access_token`), a string, and optionally
 * `expires_in` and `issued_at`. Anything else is AUTH_TOKEN_FAILED, never a TypeError or a header Node refuses.
 */
export function parseTokenResponse(
  body: Buffer,
  host: string,
): { token: string; expires_in?: unknown; issued_at?: unknown } {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    throw new TrustpinError(
      'AUTH_TOKEN_FAILED',
      `token server for ${host} returned something that is not JSON`,
    );
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw new TrustpinError(
      'AUTH_TOKEN_FAILED',
      `token server for ${host} returned JSON that is not an object`,
      {
        expected: '{"token": "…", "expires_in": 300}',
      },
    );
  const o = j as Record<string, unknown>;
  const tok = o.token || o.access_token;
  if (!tok) throw new TrustpinError('AUTH_TOKEN_FAILED', `token server for ${host} returned no token`);
  if (typeof tok !== 'string')
    throw new TrustpinError(
      'AUTH_TOKEN_FAILED',
      `token server for ${host} returned a token that is not a string`,
      {
        found: typeof tok,
      },
    );
  return {
    token: checkToken(tok, `the token from ${host}`),
    expires_in: o.expires_in,
    issued_at: o.issued_at,
  };
}

/**
 * When a token stops being used: `issued_at` (or the time we asked) plus `expires_in` (60 s when absent or
 * smaller, as the distribution spec says), minus a margin. An `issued_at` after we asked is our clock lagging
 * and is ignored; one so far back that the token would already be dead is the server's clock lagging — then the
 * time we asked counts, or every request would fetch a new token.
 */
export function expiry(j: { expires_in?: unknown; issued_at?: unknown }, started: number): number {
  const lifetimeMs =
    Math.max(MIN_TOKEN_LIFETIME_S, typeof j.expires_in === 'number' && j.expires_in > 0 ? j.expires_in : 0) *
    1000;
  const at = typeof j.issued_at === 'string' ? Date.parse(j.issued_at) : Number.NaN;
  const issued = !Number.isNaN(at) && at <= started && at + lifetimeMs > started ? at : started;
  return issued + lifetimeMs - Math.min(TOKEN_EXPIRY_MARGIN_MS, lifetimeMs / 10);
}
