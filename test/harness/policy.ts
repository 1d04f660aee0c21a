// Helpers for the trust-policy end-to-end tests: a policy file written from YAML text, and an image copied between
// repositories of a real registry by its exact bytes (so a "mirror" can hold other content under the same tag).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushArtifacts } from './push.js';

/** Write `yaml` to `dir/name` and return the path. */
export async function writePolicyFile(dir: string, name: string, yaml: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, yaml);
  return path;
}

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

async function get(url: string, accept?: string): Promise<{ bytes: Buffer; type: string }> {
  const res = await fetch(url, { headers: accept ? { accept } : {}, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return { bytes: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') ?? '' };
}

/**
 * Copy the single-platform image `from` (`repo:tag` or `repo@digest`) of the plain-HTTP registry at `host` to
 * `toRepo:toTag`, manifest and blobs byte for byte. Returns the manifest digest.
 */
export async function copyImage(host: string, from: string, toRepo: string, toTag: string): Promise<string> {
  const sep = from.includes('@') ? '@' : ':';
  const [repo, ref] = [from.slice(0, from.lastIndexOf(sep)), from.slice(from.lastIndexOf(sep) + 1)];
  const m = await get(`http://${host}/v2/${repo}/manifests/${ref}`, ACCEPT);
  const doc = JSON.parse(m.bytes.toString()) as { config: { digest: string }; layers: { digest: string }[] };
  const blobs = await Promise.all(
    [doc.config, ...doc.layers].map(
      async (d) => (await get(`http://${host}/v2/${repo}/blobs/${d.digest}`)).bytes,
    ),
  );
  const r = await pushArtifacts(host, toRepo, {
    blobs,
    manifests: [{ bytes: m.bytes, mediaType: m.type, tag: toTag }],
  });
  return r.manifests[0]!;
}
