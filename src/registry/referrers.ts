// `GET /v2/<repo>/referrers/<digest>` (OCI distribution 1.1): the registry's list of manifests whose `subject`
// names a digest. The answer is an unauthenticated hint — an index nobody's digest names — so it is parsed with
// the bounded manifest parser and every entry is only a claim the caller re-verifies (fetch by digest, check the
// subject). A registry without the API (404, 405), one that sends the request elsewhere (GHCR's 303 to
// github.com) or rate-limits it (429) is "unsupported": the caller falls back to the tag schema `sha256-<hex>`.
import { readCapped, selfDigested } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { type Descriptor, MT, parseManifest } from '../manifest/index.js';
import { apiHost } from '../reference/index.js';
import type { CallOptions, RegistryClient } from './client.js';
import { failedAnswer, type HttpResponse, header, headerAll, networkError } from './http.js';
import { nextPagePath } from './link.js';

/** Most pages of one referrers list followed through `Link: <…>; rel="next"` (default; then the list is truncated). */
export const MAX_REFERRERS_PAGES = 16;
/** Largest referrers page read (the manifest cap: the page is an OCI index). */
export const MAX_REFERRERS_PAGE_BYTES = 4 * 1024 * 1024;
/** Most referrer descriptors kept from one list, all pages together (default; then the list is truncated). */
export const MAX_REFERRERS_LISTED = 4096;

/** Statuses that mean "this registry has no (usable) referrers API": fall back to the tag schema. */
const UNSUPPORTED = new Set([404, 405, 406, 429, 501]);
/** The referrers request is retried on a failing server, never on 429. */
const NO_RETRY_ON_429: ReadonlySet<number> = new Set([500, 502, 503, 504]);

export interface ReferrersOptions extends CallOptions {
  /**
   * keep only referrers of these artifact types (the index entry's `artifactType`). With exactly one, it is sent
   * as `?artifactType=`; the list is filtered here whether or not the registry says it filtered
   * (`OCI-Filters-Applied`), so a registry that ignores the filter changes nothing.
   */
  artifactTypes?: readonly string[] | undefined;
  /** most pages followed (default {@link MAX_REFERRERS_PAGES}) */
  maxPages?: number | undefined;
  /** largest page in bytes (default {@link MAX_REFERRERS_PAGE_BYTES}) */
  maxPageBytes?: number | undefined;
  /** most descriptors kept (default {@link MAX_REFERRERS_LISTED}) */
  maxListed?: number | undefined;
}

/** What the referrers API answered. Descriptors are hints: fetch each by digest and check its `subject`. */
export type ReferrersAnswer =
  | {
      supported: true;
      descriptors: Descriptor[];
      /** more pages or entries than the bounds allowed: the list is cut short */
      truncated: boolean;
      /** the registry said it applied the artifactType filter (`OCI-Filters-Applied: artifactType`) */
      serverFiltered: boolean;
      pages: number;
    }
  | {
      supported: false;
      /** why, for the caller's note: `HTTP 404`, `HTTP 429`, `redirected to github.com` */
      reason: string;
    };

/** The referrers index's tag-schema fallback tag: `<alg>-<hex>`, truncated and sanitised as the spec says. */
export function referrersTag(digest: string): string {
  const i = digest.indexOf(':');
  const alg = digest.slice(0, i).slice(0, 32);
  const enc = digest.slice(i + 1).slice(0, 64);
  return `${alg}-${enc}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

/**
 * The entries of one referrers page (or a tag-schema index), from bytes nobody's digest names: bounded JSON
 * depth and entry count (the manifest parser), an OCI image index, each entry a well-formed descriptor.
 * @throws TrustpinError MANIFEST_INVALID (not JSON, not an index, a malformed descriptor)
 */
export function parseReferrersIndex(bytes: Buffer, where: string): Descriptor[] {
  let m: ReturnType<typeof parseManifest>;
  try {
    m = parseManifest(selfDigested(bytes), { descriptorMediaType: MT.ociIndex });
  } catch (e) {
    if (e instanceof TrustpinError)
      throw new TrustpinError('MANIFEST_INVALID', `${where} is not a valid referrers index: ${e.message}`, {
        expected: `an OCI image index (${MT.ociIndex})`,
        found: e.found ?? e.code,
        hint: 'the registry answered the referrers API with something else; nothing from it was used',
        cause: e,
      });
    throw e;
  }
  if (m.value.kind !== 'index')
    throw new TrustpinError('MANIFEST_INVALID', `${where} is not an image index`, {
      expected: MT.ociIndex,
      found: m.value.mediaType,
    });
  return m.value.manifests;
}

/** True when a descriptor's artifactType is one of `types` (exact; `undefined` types = all). */
export function hasArtifactType(d: Descriptor, types: readonly string[] | undefined): boolean {
  return types === undefined || (d.artifactType !== undefined && types.includes(d.artifactType));
}

/**
 * The referrers of `digest` in `registry/repository`, all pages joined within the bounds, filtered by
 * `artifactTypes`. "Unsupported" (fall back to the tag schema) on 404, 405, 406, 429, 501, or when the request
 * was redirected to another host (no credentials are sent there; the redirect target's answer is not used).
 * @throws TrustpinError AUTH_REQUIRED/AUTH_DENIED, REGISTRY_ERROR (5xx, a non-index answer, a next link that
 *   leaves the referrers endpoint), SIZE_EXCEEDED (a page over the bound), NETWORK_ERROR, TIMEOUT, ABORTED
 */
export async function listReferrers(
  client: RegistryClient,
  registry: string,
  repository: string,
  digest: string,
  opts: ReferrersOptions = {},
): Promise<ReferrersAnswer> {
  const maxPages = opts.maxPages ?? MAX_REFERRERS_PAGES;
  const maxBytes = opts.maxPageBytes ?? MAX_REFERRERS_PAGE_BYTES;
  const maxListed = opts.maxListed ?? MAX_REFERRERS_LISTED;
  const types = opts.artifactTypes;
  const where = `referrers of ${registry}/${repository}@${digest}`;
  const endpoint = `referrers/${digest}`;
  let path: string | undefined =
    types?.length === 1 ? `${endpoint}?artifactType=${encodeURIComponent(types[0]!)}` : endpoint;
  const descriptors: Descriptor[] = [];
  const seenPages = new Set<string>();
  let serverFiltered = false;
  let truncated = false;
  let pages = 0;
  while (path !== undefined) {
    if (pages >= maxPages || seenPages.has(path)) {
      truncated = true;
      break;
    }
    seenPages.add(path);
    // a 429 is not waited out: it means "fall back to the tag schema" (GHCR's rate-limited redirect target)
    const res = await client.request(
      registry,
      repository,
      'GET',
      path,
      { accept: MT.ociIndex },
      { signal: opts.signal, retryStatuses: NO_RETRY_ON_429 },
    );
    // the client follows redirects itself; a final URL on another host means the registry sent us elsewhere
    // (GHCR: a 303 to a rate-limited github.com page): no credentials went there, and its answer is not used
    const final = new URL(res.url);
    if (!sameHost(final, registry)) {
      await res.body.dump().catch(() => undefined);
      if (pages === 0) return { supported: false, reason: `redirected to ${final.host}` };
      throw new TrustpinError(
        'REGISTRY_ERROR',
        `${where}: page ${pages + 1} was redirected to ${final.host}`,
        {
          expected: `an answer from ${apiHost(registry)}`,
          found: final.host,
        },
      );
    }
    if (res.status !== 200) {
      if (pages === 0 && UNSUPPORTED.has(res.status)) {
        await res.body.dump().catch(() => undefined);
        return { supported: false, reason: `HTTP ${res.status}` };
      }
      throw await failure(res, where, pages);
    }
    const ct = header(res.headers, 'content-type')?.split(';')[0]?.trim();
    // the spec says an OCI index; a plain JSON type is tolerated (the body is checked either way), anything else is
    // an error page or a proxy's answer
    if (ct !== undefined && ct !== MT.ociIndex && ct !== 'application/json') {
      await res.body.dump().catch(() => undefined);
      throw new TrustpinError('REGISTRY_ERROR', `${where}: the registry answered with ${ct}`, {
        expected: MT.ociIndex,
        found: ct,
        hint: 'the referrers API must answer with an OCI image index; retry, or report the registry',
      });
    }
    const len = Number(header(res.headers, 'content-length') ?? Number.NaN);
    if (len > maxBytes) {
      await res.body.dump().catch(() => undefined);
      throw pageTooLarge(where, maxBytes, `${len} bytes (Content-Length)`);
    }
    let body: Buffer;
    try {
      body = await readCapped(res.body, maxBytes, `${where} page ${pages + 1}`);
    } catch (e) {
      throw e instanceof TrustpinError ? e : networkError(res.url, e);
    }
    pages++;
    let page: Descriptor[];
    try {
      page = parseReferrersIndex(body, `${where} page ${pages}`);
    } catch (e) {
      // an answer that is not an index is the registry failing, not content that failed a check
      const t = e as TrustpinError;
      throw new TrustpinError('REGISTRY_ERROR', t.message, {
        expected: t.expected,
        found: t.found,
        hint: 'the registry answered the referrers API with something that is not an OCI index; retry, or report the registry',
      });
    }
    if (
      headerAll(res.headers, 'oci-filters-applied').some((v) =>
        v.split(',').some((f) => f.trim() === 'artifactType'),
      )
    )
      serverFiltered = true;
    for (const d of page) {
      if (!hasArtifactType(d, types)) continue;
      if (descriptors.length >= maxListed) {
        truncated = true;
        break;
      }
      descriptors.push(d);
    }
    if (truncated) break;
    path = nextPagePath(
      header(res.headers, 'link'),
      res.url,
      { repository, endpoint: `referrers/${digest}`, list: 'referrers list' },
      where,
    );
  }
  return { supported: true, descriptors, truncated, serverFiltered, pages };
}

/** The URL is on the registry's own API host (with or without the default port). */
function sameHost(u: URL, registry: string): boolean {
  const host = apiHost(registry);
  return u.host === host || (u.port === '' && u.hostname === host.replace(/:(443|80)$/, ''));
}

function pageTooLarge(where: string, cap: number, found: string): TrustpinError {
  return new TrustpinError('SIZE_EXCEEDED', `${where}: a page is over the ${cap}-byte limit`, {
    expected: `at most ${cap} bytes per page`,
    found,
    hint: 'a referrers page this large is not plausible; the registry may be hostile',
  });
}

async function failure(res: HttpResponse, where: string, pages: number): Promise<TrustpinError> {
  const { code, detail } = await failedAnswer(res);
  return new TrustpinError(code, `${where}${pages > 0 ? ` page ${pages + 1}` : ''}: ${detail}`, {
    found: `HTTP ${res.status}`,
    hint:
      res.status === 401
        ? 'log in to the registry (`docker login`), or check the credentials in your docker config'
        : res.status === 403
          ? 'the credentials do not grant pull on this repository'
          : 'the registry is failing; retry later',
  });
}
