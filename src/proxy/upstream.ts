// Where an origin registry is reached: `--upstream HOST=URL` entries parsed, and a registry client that sends an
// origin's requests to its upstream while every policy decision still names the origin.
import { TrustpinError } from '../errors/index.js';
import { apiHost, isLoopbackHost } from '../reference/index.js';
import {
  type HttpResponse,
  RegistryClient,
  type RegistryOptions,
  type RequestOptions,
} from '../registry/index.js';
import { looksLikeHost } from './route.js';

/** One origin reached elsewhere: `host` (as clients name it) → `target` (`HOST:PORT` spoken to) over `scheme`. */
export interface Upstream {
  host: string;
  target: string;
  scheme: 'http' | 'https';
}

/** Parse `HOST=URL` (`docker.io=https://mirror.gcr.io`, `origin.test=http://127.0.0.1:5000`). */
export function parseUpstream(entry: string): Upstream {
  const eq = entry.indexOf('=');
  const host = entry.slice(0, eq).trim().toLowerCase();
  const raw = entry.slice(eq + 1).trim();
  const bad = (found: string) =>
    new TrustpinError('USAGE', `--upstream ${JSON.stringify(entry)} is not HOST=URL`, {
      expected: 'HOST=http(s)://HOST[:PORT], e.g. docker.io=https://registry-1.docker.io',
      found,
    });
  if (eq <= 0 || !looksLikeHost(host.includes('.') || host.includes(':') ? host : `${host}.`))
    throw bad('no registry host before "="');
  if (!URL.canParse(raw)) throw bad('no URL after "="');
  const u = new URL(raw);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad(`scheme ${u.protocol}`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.username || u.password)
    throw bad('a URL with a path, query or credentials (only scheme, host and port are used)');
  return { host, target: u.host, scheme: u.protocol === 'http:' ? 'http' : 'https' };
}

/** A RegistryClient whose requests for an origin go to its upstream; names and scopes stay the origin's. */
export class UpstreamClient extends RegistryClient {
  private readonly routes: ReadonlyMap<string, string>;

  constructor(upstreams: readonly Upstream[], opts: RegistryOptions = {}) {
    // plain HTTP to a non-loopback upstream only because the operator wrote http:// for it
    const insecure = upstreams
      .filter((u) => u.scheme === 'http' && !isLoopbackHost(u.target))
      .map((u) => u.target);
    super({ ...opts, insecureRegistries: [...(opts.insecureRegistries ?? []), ...insecure] });
    const routes = new Map<string, string>();
    for (const u of upstreams) {
      routes.set(u.host, u.target);
      routes.set(apiHost(u.host), u.target);
    }
    this.routes = routes;
  }

  /** The host an origin's requests are sent to. */
  route(registry: string): string {
    return this.routes.get(registry) ?? this.routes.get(apiHost(registry)) ?? registry;
  }

  override request(
    registry: string,
    repo: string,
    method: 'GET' | 'HEAD',
    path: string,
    headers: Record<string, string> = {},
    o: RequestOptions = {},
  ): Promise<HttpResponse> {
    return super.request(this.route(registry), repo, method, path, headers, o);
  }
}
