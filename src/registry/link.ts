// The distribution spec's pagination, `Link: <url>; rel="next"`, for every paginated list (tags, referrers): a next
// link is followed only back to the same endpoint on the same origin, so a registry cannot send the client elsewhere.
import { TrustpinError } from '../errors/index.js';

/**
 * The next page's path under `/v2/<repository>/` (`endpoint?query`), or undefined on the last page.
 * `endpoint` is the list's path under `/v2/<repository>/` (`tags/list`, `referrers/<digest>`), `list` names it in
 * messages ("tag list"), `where` starts them.
 * @throws TrustpinError REGISTRY_ERROR (a next link that is not a URL, or that leaves the endpoint)
 */
export function nextPagePath(
  link: string | undefined,
  base: string,
  page: { repository: string; endpoint: string; list: string },
  where: string,
): string | undefined {
  if (!link) return undefined;
  const m = /<([^>]*)>\s*;[^,]*\brel="?next"?/i.exec(link);
  if (!m) return undefined;
  const path = `/v2/${page.repository}/${page.endpoint}`;
  if (!URL.canParse(m[1]!, base))
    throw new TrustpinError('REGISTRY_ERROR', `${where}: the next page link is not a URL`, {
      expected: `Link: <${path}?…>; rel="next"`,
      found: link.slice(0, 200),
    });
  const next = new URL(m[1]!, base);
  const here = new URL(base);
  if (next.origin !== here.origin || next.pathname !== path)
    throw new TrustpinError('REGISTRY_ERROR', `${where}: the next page link leaves the ${page.list}`, {
      expected: `${here.origin}${path}?…`,
      found: next.href.slice(0, 200),
    });
  return `${page.endpoint}${next.search}`;
}
