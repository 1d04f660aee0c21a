// A small registry client for pulls: ping (scheme and challenge discovery), authenticated requests with a
// retry on 401, manifests capped and hashed, blobs streamed through the digest verifier with Range resume.
import { pipeline, Readable } from 'node:stream';
import { type Digest, DigestVerifier, readCapped } from '../digest/index.js';
import { type ErrorCode, TrustpinError } from '../errors/index.js';
import { MANIFEST_ACCEPT } from '../manifest/index.js';
import { apiHost } from '../reference/index.js';
import { Authenticator } from './auth.js';
import { type Challenge, parseChallenges } from './challenge.js';
import { lookupCredential } from './credentials.js';
import { errorBody, Http, type HttpResponse, header, headerAll, networkError } from './http.js';
import { type HostConfig, hostConfig, type RegistryOptions } from './options.js';

interface HostState {
  base: string;
  challenges: Challenge[];
}

export interface ManifestResponse {
  bytes: Buffer;
  contentType: string | undefined;
  /** the registry's claim; a hint only, never trusted */
  headerDigest: string | undefined;
}

export class RegistryClient {
  readonly http: Http;
  private readonly auth: Authenticator;
  private readonly hosts = new Map<string, Promise<HostState>>();
  private readonly configs = new Map<string, HostConfig>();

  constructor(readonly opts: RegistryOptions = {}) {
    this.http = new Http(opts, (h) => this.config(h));
    const env = opts.env ?? process.env;
    this.auth = new Authenticator(
      this.http,
      opts.credentials ?? ((h) => lookupCredential(h, { env })),
      (h) => this.config(h).insecure,
    );
  }

  config(host: string): HostConfig {
    let c = this.configs.get(host);
    if (!c) {
      c = hostConfig(host, this.opts);
      this.configs.set(host, c);
    }
    return c;
  }

  /** Authenticate to `host` with the credentials stored for `as` (docker logs in to notary with the registry's). */
  useCredentialsOf(host: string, as: string): void {
    this.auth.credentialAliases.set(host, as);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  /** `/v2/` ping: finds the scheme (HTTPS first; plain HTTP only for insecure hosts) and the auth challenge. */
  private state(registry: string): Promise<HostState> {
    const host = apiHost(registry);
    let s = this.hosts.get(host);
    if (!s) {
      s = this.ping(host);
      this.hosts.set(host, s);
      s.catch(() => this.hosts.delete(host));
    }
    return s;
  }

  private async ping(host: string): Promise<HostState> {
    const insecure = this.config(host).insecure;
    const schemes = insecure ? ['https', 'http'] : ['https'];
    let lastErr: unknown;
    for (const scheme of schemes) {
      const base = `${scheme}://${host}`;
      try {
        const res = await this.http.send({ method: 'GET', url: `${base}/v2/` });
        await res.body.dump().catch(() => undefined);
        if (res.status === 200) return { base, challenges: [] };
        if (res.status === 401)
          return { base, challenges: parseChallenges(headerAll(res.headers, 'www-authenticate')) };
        throw new TrustpinError(
          'REGISTRY_ERROR',
          `${base}/v2/ answered ${res.status}: not a registry API v2 endpoint`,
          {
            expected: '200 or 401 from /v2/',
            found: String(res.status),
          },
        );
      } catch (e) {
        lastErr = e;
        if (e instanceof TrustpinError && !['NETWORK_ERROR', 'TLS_ERROR'].includes(e.code)) throw e;
      }
    }
    throw lastErr;
  }

  /** An authenticated request to `/v2/<repo>/<path>`, retried once with a fresh token after a 401. */
  async request(
    registry: string,
    repo: string,
    method: 'GET' | 'HEAD',
    path: string,
    headers: Record<string, string> = {},
  ): Promise<HttpResponse> {
    const st = await this.state(registry);
    const host = apiHost(registry);
    const scope = `repository:${repo}:pull`;
    const url = `${st.base}/v2/${repo}/${path}`;
    let challenges = st.challenges;
    for (let attempt = 0; ; attempt++) {
      const auth =
        this.auth.cached(host, scope) ??
        (challenges.length ? await this.auth.authorize(host, scope, challenges) : undefined);
      const res = await this.http.send({ method, url, headers }, auth);
      if (res.status !== 401 || attempt > 0) return res;
      await res.body.dump().catch(() => undefined);
      const fresh = parseChallenges(headerAll(res.headers, 'www-authenticate'));
      if (fresh.length === 0) return res;
      challenges = fresh;
      this.auth.invalidate(host, scope);
    }
  }

  async getManifest(registry: string, repo: string, ref: string, cap: number): Promise<ManifestResponse> {
    const res = await this.request(registry, repo, 'GET', `manifests/${ref}`, { accept: MANIFEST_ACCEPT });
    if (res.status !== 200) throw await this.failure(res, registry, repo, ref, 'manifest');
    const len = Number(header(res.headers, 'content-length') ?? Number.NaN);
    if (len > cap) {
      await res.body.dump().catch(() => undefined);
      throw new TrustpinError(
        'SIZE_EXCEEDED',
        `manifest ${repo}:${ref} is ${len} bytes, over the ${cap}-byte limit`,
        {
          expected: `at most ${cap} bytes`,
          found: `${len} bytes (Content-Length)`,
          hint: 'a manifest this large is not plausible; the registry may be hostile',
        },
      );
    }
    let bytes: Buffer;
    try {
      bytes = await readCapped(res.body, cap, `manifest ${repo}:${ref}`);
    } catch (e) {
      // a body that stalls or breaks is an operational failure with a name, not a raw transport error
      throw e instanceof TrustpinError ? e : networkError(res.url, e);
    }
    return {
      bytes,
      contentType: header(res.headers, 'content-type'),
      headerDigest: header(res.headers, 'docker-content-digest'),
    };
  }

  /** HEAD a manifest: the registry's claimed digest, without downloading (and, on Docker Hub, without a pull count). */
  async headManifest(
    registry: string,
    repo: string,
    ref: string,
  ): Promise<{ digest?: string; size?: number; contentType?: string }> {
    const res = await this.request(registry, repo, 'HEAD', `manifests/${ref}`, { accept: MANIFEST_ACCEPT });
    await res.body.dump().catch(() => undefined);
    if (res.status !== 200) throw await this.failure(res, registry, repo, ref, 'manifest');
    const len = header(res.headers, 'content-length');
    return {
      digest: header(res.headers, 'docker-content-digest'),
      size: len ? Number(len) : undefined,
      contentType: header(res.headers, 'content-type'),
    };
  }

  /**
   * A blob as a stream that is verified while read. A connection that breaks mid-body is resumed with
   * `Range`; the hash continues across resumes, so the whole blob is still checked end to end.
   */
  blob(registry: string, repo: string, d: { digest: Digest; size: number }, what = 'blob'): Readable {
    const verifier = new DigestVerifier({ digest: d.digest, size: d.size, what });
    const attempts = Math.max(1, this.opts.attempts ?? 3);
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      let have = 0;
      for (let attempt = 0; ; attempt++) {
        const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
        const res = await self.request(registry, repo, 'GET', `blobs/${d.digest}`, headers);
        if (have > 0 && res.status === 200) {
          // The server ignored Range: the stream cannot be restarted under the verifier, so fail clearly.
          await res.body.dump().catch(() => undefined);
          throw new TrustpinError(
            'NETWORK_ERROR',
            `blob ${d.digest} broke off at byte ${have} and the registry does not support resuming`,
            {
              hint: 'retry the command',
            },
          );
        }
        if (res.status !== 200 && res.status !== 206)
          throw await self.failure(res, registry, repo, d.digest, 'blob');
        const len = Number(header(res.headers, 'content-length') ?? Number.NaN);
        if (len > d.size - have) {
          await res.body.dump().catch(() => undefined);
          throw new TrustpinError(
            'SIZE_EXCEEDED',
            `blob ${d.digest} is served with ${len} bytes, more than its descriptor says`,
            {
              expected: `${d.size - have} bytes`,
              found: `${len} bytes (Content-Length)`,
              hint: 'the registry is serving other content; nothing was used',
            },
          );
        }
        try {
          for await (const c of res.body) {
            have += (c as Buffer).length;
            yield c as Buffer;
          }
          return;
        } catch (e) {
          const code = (e as { code?: string }).code ?? '';
          const resumable = ['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'].includes(code);
          if (!resumable || attempt >= attempts - 1 || have >= d.size) {
            throw e instanceof TrustpinError ? e : networkError(`blob ${d.digest}`, e);
          }
        }
      }
    }
    // pipeline, not pipe: a verifier that fails (or a consumer that stops) tears the response down too,
    // so no connection is left half-read
    return pipeline(Readable.from(chunks()), verifier, () => undefined);
  }

  private async failure(
    res: HttpResponse,
    registry: string,
    repo: string,
    ref: string,
    kind: 'manifest' | 'blob',
  ): Promise<TrustpinError> {
    const e = await errorBody(res);
    const where = `${registry}/${repo}${ref.includes(':') ? '@' : ':'}${ref}`;
    let code: ErrorCode = 'REGISTRY_ERROR';
    let hint: string | undefined;
    if (res.status === 401) {
      code = 'AUTH_REQUIRED';
      hint = `log in with \`docker login ${registry}\`, or check the credentials in your docker config`;
    } else if (res.status === 403) {
      code = 'AUTH_DENIED';
      hint = 'the credentials were accepted but do not grant pull on this repository';
    } else if (res.status === 404) {
      code =
        e.code === 'NAME_UNKNOWN'
          ? 'NAME_UNKNOWN'
          : kind === 'manifest'
            ? 'MANIFEST_UNKNOWN'
            : 'BLOB_UNKNOWN';
      hint =
        kind === 'manifest'
          ? 'check the repository name and tag (`trustpin inspect` lists what exists)'
          : undefined;
    } else if (res.status === 429) {
      code = 'RATE_LIMITED';
      hint = 'the registry is rate limiting this client; log in or wait';
    }
    return new TrustpinError(
      code,
      `${kind} ${where}: ${res.status}${e.code ? ` ${e.code}` : ''}${e.message ? ` (${e.message})` : ''}`,
      {
        found: `HTTP ${res.status}`,
        hint,
      },
    );
  }
}
