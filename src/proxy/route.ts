// The request line of a registry client, parsed: which origin registry it means (containerd's `?ns=`, else the
// c/image path prefix, else the default origin), which repository, and a manifest or blob by tag or digest.
import { type Digest, isDigest } from '../digest/index.js';
import { parseDockerReference } from '../reference/index.js';

/** Longest request target read (path and query); longer is refused before any work. */
export const MAX_REQUEST_TARGET = 2048;
/** Longest repository path (as distribution). */
export const MAX_REPOSITORY_LENGTH = 255;

/** A manifest or blob request: the origin it names, the repository and the reference. */
export interface ContentRoute {
  kind: 'manifest' | 'blob';
  /** the origin registry host (`docker.io`, `127.0.0.1:5000`) */
  origin: string;
  repository: string;
  /** a tag, or (always for blobs) a digest */
  ref: { tag: string; digest?: undefined } | { digest: Digest; tag?: undefined };
}

/** A parsed request of the read side of the distribution API. */
export type Route =
  | { kind: 'ping' }
  | ContentRoute
  | { kind: 'refused'; status: 400 | 404 | 405 | 414; code: string; message: string };

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

/** True for a path component that names a registry host, as docker decides it: a dot, a port, or localhost. */
export function looksLikeHost(component: string): boolean {
  return (
    (component.includes('.') || component.includes(':') || component === 'localhost') && HOST.test(component)
  );
}

function refused(status: 400 | 404 | 405 | 414, code: string, message: string): Route {
  return { kind: 'refused', status, code, message };
}

/**
 * Parse `method` and `target` (the request's path and query). Only GET and HEAD of `/v2/`, manifests and blobs
 * are routes; everything else is refused with the status and OCI error code to answer.
 */
export function parseRoute(method: string, target: string, defaultOrigin: string): Route {
  if (target.length > MAX_REQUEST_TARGET)
    return refused(414, 'NAME_INVALID', `request target longer than ${MAX_REQUEST_TARGET} characters`);
  if (method !== 'GET' && method !== 'HEAD')
    return refused(405, 'UNSUPPORTED', `${method.slice(0, 16)} is not served: this mirror is read-only`);
  let url: URL;
  try {
    url = new URL(target, 'http://mirror.invalid');
  } catch {
    return refused(400, 'NAME_INVALID', 'the request target is not a URL path');
  }
  const path = url.pathname;
  if (path === '/v2/' || path === '/v2') return { kind: 'ping' };
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  if (!m) return refused(404, 'UNSUPPORTED', 'only /v2/, manifests and blobs are served (read-only mirror)');
  let name = m[1]!;
  const kind = m[2] === 'manifests' ? 'manifest' : 'blob';
  const ref = m[3]!;
  const ns = url.searchParams.get('ns');
  let origin: string;
  if (ns !== null) {
    if (!HOST.test(ns)) return refused(400, 'NAME_INVALID', 'the ns parameter is not a registry host');
    origin = ns;
  } else {
    const first = name.split('/', 1)[0]!;
    if (looksLikeHost(first) && name.length > first.length + 1) {
      origin = first;
      name = name.slice(first.length + 1);
    } else origin = defaultOrigin;
  }
  if (name.length > MAX_REPOSITORY_LENGTH || !name.split('/').every((c) => COMPONENT.test(c)))
    return refused(400, 'NAME_INVALID', 'the repository name is not valid');
  // named as docker names it, so the policy, the cache keys and the origin all see one name
  // (docker.io/alpine is docker.io/library/alpine; index.docker.io is docker.io)
  let judged: { registry: string; repository: string };
  try {
    judged = parseDockerReference(`${origin.toLowerCase()}/${name}`);
  } catch {
    return refused(400, 'NAME_INVALID', 'the origin and repository do not form an image name');
  }
  const at = { kind, origin: judged.registry, repository: judged.repository } as const;
  if (ref.includes(':')) {
    if (!isDigest(ref)) return refused(400, 'DIGEST_INVALID', 'the digest is not valid');
    return { ...at, ref: { digest: ref as Digest } };
  }
  if (kind === 'blob') return refused(400, 'DIGEST_INVALID', 'a blob is asked for by digest');
  if (!TAG.test(ref)) return refused(400, 'NAME_INVALID', 'the tag is not valid');
  return { ...at, ref: { tag: ref } };
}
