// A deliberately small registry client for harness assertions: GET with the right Accept header and whatever
// auth the registry's mode needs. It is independent of trustpin's own client so it can check that one.
import type { RunningRegistry } from './registry.js';

/** Without this, distribution 2.8 404s OCI manifests by tag and down-converts Docker ones to schema1. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RawResponse {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

export interface GetOptions {
  accept?: string;
  /** send no credentials at all (token mode still fetches an anonymous token unless `noToken`) */
  anonymous?: boolean;
  /** token mode: do not answer the 401 challenge, return it */
  noToken?: boolean;
}

/** GET `${reg.url}${path}`, answering a Basic or Bearer challenge with the registry's first user. */
export async function registryGet(
  reg: RunningRegistry,
  path: string,
  opts: GetOptions = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { accept: opts.accept ?? MANIFEST_ACCEPT };
  const basic =
    !opts.anonymous && reg.creds ? `Basic ${Buffer.from(reg.creds).toString('base64')}` : undefined;
  if (reg.mode === 'htpasswd' && basic) headers.authorization = basic;
  let res = await get(`${reg.url}${path}`, headers);
  if (res.status === 401 && reg.mode === 'token' && !opts.noToken) {
    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
    const token = await fetchToken(challenge, basic);
    res = await get(`${reg.url}${path}`, { ...headers, authorization: `Bearer ${token}` });
  }
  return res;
}

/** Ask the realm named in a Bearer challenge for a token; Basic credentials are optional. */
export async function fetchToken(challenge: Record<string, string>, basic?: string): Promise<string> {
  const { realm, ...params } = challenge;
  if (!realm) throw new Error(`bearer challenge without realm: ${JSON.stringify(challenge)}`);
  const u = new URL(realm);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const res = await fetch(u, { headers: basic ? { authorization: basic } : {} });
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (res.status !== 200 || !token) throw new Error(`token request ${u} failed: ${res.status}`);
  return token;
}

/** `Bearer realm="…",service="…",scope="…"` → its parameters (values never contain quotes here). */
export function parseChallenge(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) if (m[1] && m[2] !== undefined) out[m[1]] = m[2];
  return out;
}

async function get(url: string, headers: Record<string, string>): Promise<RawResponse> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}
