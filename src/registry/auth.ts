// Registry authentication: Basic, and Bearer tokens from the challenge's realm (anonymous, with Basic
// credentials, or an OAuth2 refresh token), cached per host+scope until expiry and renewed on 401.
import { readCapped } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { isLoopbackHost } from '../reference/index.js';
import type { Challenge } from './challenge.js';
import type { Credential } from './credentials.js';
import { errorBody, type Http } from './http.js';

interface CachedToken {
  header: string;
  expiresAt: number;
}

const MIN_TOKEN_LIFETIME_S = 60;

export class Authenticator {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly creds = new Map<string, Promise<Credential | undefined>>();

  constructor(
    private readonly http: Http,
    private readonly lookup: (host: string) => Promise<Credential | undefined>,
    private readonly isInsecure: (host: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** hosts whose credentials are another host's: a notary server authenticates with its registry's login */
  readonly credentialAliases = new Map<string, string>();

  credential(host: string): Promise<Credential | undefined> {
    let c = this.creds.get(host);
    if (!c) {
      c = this.lookup(this.credentialAliases.get(host) ?? host);
      this.creds.set(host, c);
    }
    return c;
  }

  cached(host: string, scope: string): string | undefined {
    const t = this.tokens.get(`${host} ${scope}`);
    return t && t.expiresAt > this.now() ? t.header : undefined;
  }

  invalidate(host: string, scope: string): void {
    this.tokens.delete(`${host} ${scope}`);
  }

  /** The Authorization header that answers `challenges` for `scope`, or undefined for anonymous access. */
  async authorize(host: string, scope: string, challenges: Challenge[]): Promise<string | undefined> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    const cred = await this.credential(host);
    if (bearer) {
      const header = await this.token(host, scope, bearer, cred);
      return header;
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
  ): Promise<string> {
    const realm = ch.params.realm;
    if (!realm)
      throw new TrustpinError('AUTH_TOKEN_FAILED', `${host} sent a Bearer challenge without a realm`);
    const realmUrl = new URL(realm);
    if (
      realmUrl.protocol !== 'https:' &&
      !(isLoopbackHost(realmUrl.host) || this.isInsecure(realmUrl.host))
    ) {
      throw new TrustpinError('INSECURE_REFUSED', `token realm ${realm} is not HTTPS`, {
        hint: `credentials are never sent in clear text; use --insecure-registry ${realmUrl.host} only if you must`,
      });
    }
    if (cred?.registryToken) return `Bearer ${cred.registryToken}`;
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
      });
    } else {
      if (service) realmUrl.searchParams.set('service', service);
      realmUrl.searchParams.append('scope', scope);
      let auth: string | undefined;
      if (cred?.username && cred.password !== undefined) {
        realmUrl.searchParams.set('account', cred.username);
        auth = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      }
      res = await this.http.send({ method: 'GET', url: realmUrl.toString() }, auth);
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
    const body = await readCapped(res.body, 1024 * 1024, 'token response');
    let j: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      j = JSON.parse(body.toString('utf8'));
    } catch {
      throw new TrustpinError(
        'AUTH_TOKEN_FAILED',
        `token server for ${host} returned something that is not JSON`,
      );
    }
    const tok = j.token || j.access_token;
    if (!tok) throw new TrustpinError('AUTH_TOKEN_FAILED', `token server for ${host} returned no token`);
    const lifetime = Math.max(MIN_TOKEN_LIFETIME_S, typeof j.expires_in === 'number' ? j.expires_in : 0);
    const issued =
      j.issued_at && !Number.isNaN(Date.parse(j.issued_at))
        ? Math.min(Date.parse(j.issued_at), started)
        : started;
    const header = `Bearer ${tok}`;
    // renew a little early so a token never expires between the check and the request
    this.tokens.set(`${host} ${scope}`, { header, expiresAt: issued + lifetime * 1000 - 5000 });
    return header;
  }
}
