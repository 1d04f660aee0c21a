// `GET /v2/<repo>/tags/list` with the distribution spec's `Link: <…>; rel="next"` pagination: every page is
// capped in size, the number of pages is capped, and a next link may only point back at the same endpoint.
import { readCapped } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import type { CallOptions, RegistryClient } from './client.js';
import { failedAnswer, type HttpResponse, header, networkError } from './http.js';
import { nextPagePath } from './link.js';

/** Bounds on what `listTags` reads from a registry that may never stop paginating. */
export interface ListTagsOptions extends CallOptions {
  /** most pages followed (default 100) */
  maxPages?: number;
  /** largest page body in bytes (default 4 MiB) */
  maxPageBytes?: number;
}

const DEFAULT_MAX_PAGES = 100;
const DEFAULT_MAX_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * The tags of `repository` on `registry`, in the order the registry lists them, all pages joined.
 * @throws TrustpinError NAME_UNKNOWN (no such repository), AUTH_REQUIRED/AUTH_DENIED, REGISTRY_ERROR (a malformed
 *   page, a next link to another endpoint, more than `maxPages` pages), SIZE_EXCEEDED (a page over `maxPageBytes`)
 */
export async function listTags(
  client: RegistryClient,
  registry: string,
  repository: string,
  opts: ListTagsOptions = {},
): Promise<string[]> {
  const maxPages = opts.maxPages ?? DEFAULT_MAX_PAGES;
  const maxBytes = opts.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES;
  const where = `${registry}/${repository}`;
  const tags: string[] = [];
  let path: string | undefined = 'tags/list';
  for (let page = 1; path !== undefined; page++) {
    if (page > maxPages)
      throw new TrustpinError('REGISTRY_ERROR', `tags of ${where}: more than ${maxPages} pages`, {
        expected: `at most ${maxPages} pages`,
        found: 'a next link after the last page allowed',
        hint: 'raise the maxPages option, or the registry is looping',
      });
    const res = await client.request(registry, repository, 'GET', path, { accept: 'application/json' }, opts);
    if (res.status !== 200) throw await failure(res, where);
    let body: Buffer;
    try {
      body = await readCapped(res.body, maxBytes, `tags page ${page} of ${where}`);
    } catch (e) {
      throw e instanceof TrustpinError ? e : networkError(res.url, e);
    }
    tags.push(...parsePage(body, where));
    path = nextPagePath(
      header(res.headers, 'link'),
      res.url,
      { repository, endpoint: 'tags/list', list: 'tag list' },
      `tags of ${where}`,
    );
  }
  return tags;
}

function parsePage(body: Buffer, where: string): string[] {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    j = undefined;
  }
  const t = (j as { tags?: unknown } | undefined)?.tags;
  // `"tags": null` is what distribution answers for a repository whose tags were all deleted
  if (t === null) return [];
  if (!Array.isArray(t) || !t.every((x) => typeof x === 'string'))
    throw new TrustpinError('REGISTRY_ERROR', `tags of ${where}: not a tag list`, {
      expected: '{"name": …, "tags": [strings]}',
      found: body.subarray(0, 80).toString('utf8'),
    });
  return t;
}

async function failure(res: HttpResponse, where: string): Promise<TrustpinError> {
  const answer = await failedAnswer(res);
  const code = res.status === 404 ? 'NAME_UNKNOWN' : answer.code;
  return new TrustpinError(code, `tags of ${where}: ${answer.detail}`, {
    found: `HTTP ${res.status}`,
    hint: res.status === 404 ? 'check the repository name (registry host, then the path)' : undefined,
  });
}
