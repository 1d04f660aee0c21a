// Pushes exact bytes to a real docker-registry over plain HTTP: blobs by monolithic upload (POST
// /v2/<n>/blobs/uploads/ then PUT <location>?digest=), manifests by PUT with their Content-Type, optionally
// tagged. Tests use it to place signature artifacts (cosign `.sig`/`.att`, referrers, tag-schema indexes) next
// to an image; it is independent of trustpin's own client, which only reads.
import { createHash } from 'node:crypto';
import { fetchToken, parseChallenge } from './http.js';

export interface PushManifest {
  bytes: Buffer;
  mediaType: string;
  /** push under this tag; without one the manifest is pushed by its digest */
  tag?: string;
}

export interface PushSet {
  blobs: Buffer[];
  /** pushed in order (an index after the manifests it lists: the registry checks they exist) */
  manifests: PushManifest[];
}

export interface PushResult {
  /** sha256 digests of the blobs, in the order given */
  blobs: string[];
  /** sha256 digests of the manifests, in the order given */
  manifests: string[];
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/**
 * Push `a` to `http://host/v2/repository/…`. `auth` is `user:pass` (what RunningRegistry.creds holds): sent as
 * Basic to an htpasswd registry, or traded for a push token when the registry answers with a Bearer challenge.
 * Throws with the registry's answer on any failure.
 */
export async function pushArtifacts(
  host: string,
  repository: string,
  a: PushSet,
  auth?: string,
): Promise<PushResult> {
  const base = `http://${host}`;
  const basic = auth ? `Basic ${Buffer.from(auth).toString('base64')}` : undefined;
  let authorization: string | undefined;
  const send = async (
    method: string,
    url: string,
    headers: Record<string, string> = {},
    body?: Buffer,
  ): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const h: Record<string, string> = { ...headers };
      if (authorization) h.authorization = authorization;
      const res = await fetch(url, {
        method,
        headers: h,
        ...(body ? { body } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status !== 401 || attempt > 0) return res;
      await res.arrayBuffer();
      const challenge = res.headers.get('www-authenticate') ?? '';
      if (/^basic/i.test(challenge)) {
        if (!basic) return res;
        authorization = basic;
      } else {
        authorization = `Bearer ${await fetchToken(parseChallenge(challenge), basic)}`;
      }
    }
  };
  const fail = async (what: string, res: Response): Promise<never> => {
    const text = (await res.text()).slice(0, 500);
    throw new Error(`push ${what} to ${host}/${repository}: ${res.status} ${text}`);
  };

  const out: PushResult = { blobs: [], manifests: [] };
  for (const b of a.blobs) {
    const digest = sha256(b);
    out.blobs.push(digest);
    const have = await send('HEAD', `${base}/v2/${repository}/blobs/${digest}`);
    await have.arrayBuffer();
    if (have.status === 200) continue;
    const start = await send('POST', `${base}/v2/${repository}/blobs/uploads/`);
    await start.arrayBuffer();
    const loc = start.headers.get('location');
    if (start.status !== 202 || !loc) await fail(`blob ${digest} (start upload)`, start);
    const put = new URL(loc!, base);
    put.searchParams.set('digest', digest);
    const done = await send(
      'PUT',
      put.toString(),
      { 'content-type': 'application/octet-stream', 'content-length': String(b.length) },
      b,
    );
    if (done.status !== 201) await fail(`blob ${digest}`, done);
    await done.arrayBuffer();
  }
  for (const m of a.manifests) {
    const digest = sha256(m.bytes);
    out.manifests.push(digest);
    const res = await send(
      'PUT',
      `${base}/v2/${repository}/manifests/${m.tag ?? digest}`,
      { 'content-type': m.mediaType },
      m.bytes,
    );
    if (res.status !== 201) await fail(`manifest ${m.tag ?? digest}`, res);
    await res.arrayBuffer();
  }
  return out;
}
