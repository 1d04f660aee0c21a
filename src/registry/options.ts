// Per-host configuration as data (regclient's idea): scheme, TLS trust, credentials, limits. Every request to a
// host goes through the one HostConfig built here, so no flag is threaded through call sites.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isLoopbackHost } from '../reference/index.js';

/** Static credentials for one registry host, as given on a command line (`--creds USER:PASS`). */
export interface StaticCredential {
  username: string;
  password: string;
}

/** A replacement for the whole credential lookup: the credential for `host`, or undefined for anonymous. */
export type CredentialLookup = (host: string) => Promise<import('./credentials.js').Credential | undefined>;

/** How a `RegistryClient` is configured; {@link RegistryClientOptions} is the same type. */
export interface RegistryOptions {
  /** hosts that may use plain HTTP / unverified TLS (loopback hosts always may) */
  insecureRegistries?: string[];
  /** directory in the layout of /etc/docker/certs.d (`<host>/ca.crt`, `*.crt`) */
  certsDir?: string;
  env?: NodeJS.ProcessEnv;
  /** time to wait for response headers, and the longest pause inside a body */
  timeoutMs?: number;
  /** attempts for a request that fails with 429/5xx/reset (1 = no retry) */
  attempts?: number;
  /** cap on the pause between attempts */
  maxBackoffMs?: number;
  userAgent?: string;
  /**
   * Credentials per registry host (`docker.io`, `ghcr.io`, `127.0.0.1:5000`), used before any config file for that
   * host; other hosts still use the lookup chain. A function instead replaces the lookup entirely (tests).
   */
  credentials?: Record<string, StaticCredential> | CredentialLookup;
  /**
   * Read only this docker/podman auth JSON file (`{"auths": {...}}`, like skopeo's `--authfile`) instead of
   * DOCKER_AUTH_CONFIG, docker's config.json, credential helpers and podman's auth.json.
   */
  authFile?: string;
  /**
   * Aborts every call of this client (a process shutting down); each call may also take its own `signal`. An
   * aborted call rejects, and an aborted blob stream errors, with ABORTED; its connection is closed.
   */
  signal?: AbortSignal;
  /** the clock for token expiry, in ms since the epoch (tests) */
  now?: () => number;
  /** extra CA certificates per host (e.g. --trust-ca for the notary server) */
  extraCa?: Record<string, Buffer[]>;
  /** called for every HTTP request made, for request counting and --verbose */
  onRequest?: (method: string, url: string, status: number) => void;
}

export type RegistryClientOptions = RegistryOptions;

export interface HostConfig {
  host: string;
  /** plain HTTP allowed, and TLS unverified unless a CA was given for the host */
  insecure: boolean;
  ca: Buffer[] | undefined;
}

function certsDirFor(opts: RegistryOptions): string {
  const env = opts.env ?? process.env;
  return opts.certsDir ?? env.TRUSTPIN_CERTS_D ?? '/etc/docker/certs.d';
}

export function hostConfig(host: string, opts: RegistryOptions): HostConfig {
  const env = opts.env ?? process.env;
  const insecure = isLoopbackHost(host) || (opts.insecureRegistries ?? []).includes(host);
  const ca: Buffer[] = [...(opts.extraCa?.[host] ?? [])];
  const dir = join(certsDirFor(opts), host);
  if (existsSync(dir)) {
    // docker reads every *.crt in the host's directory as a CA (client certs are *.cert + *.key)
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.crt'))) ca.push(readFileSync(join(dir, f)));
  }
  // docker's notary client reads $DOCKER_CONFIG/tls/<host:port>/ca.crt
  const tls = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'tls', host, 'ca.crt');
  if (existsSync(tls)) ca.push(readFileSync(tls));
  return { host, insecure, ca: ca.length ? ca : undefined };
}
