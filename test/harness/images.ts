// Seeds a running registry with the demo images (demo/app, demo/liar) and two "mirrors" of demo/app whose
// index digests differ while the configs are the same; returns the digests a test should expect for each ref.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allBlobs, type BuiltImage, type BuiltIndex, buildIndex } from '../../src/demo/build.js';
import { type DemoSet, demoImages } from '../../src/demo/images.js';
import { type Digest, digestOf } from '../../src/digest/index.js';
import type { Platform } from '../../src/manifest/index.js';
import { writeOciLayout } from './oci-layout-writer.js';
import { requireBinary, run } from './processes.js';
import type { RunningRegistry } from './registry.js';

/** Tags inside the demo OCI layout, for `oci:DIR:TAG`. */
export const LAYOUT_TAGS = {
  app: 'app',
  amd64: 'amd64',
  arm64: 'arm64',
  liar: 'liar',
  /** the same index as `app`, pretty-printed: other bytes, other digest */
  appPretty: 'app-pretty',
} as const;

export interface ExpectedManifest {
  repository: string;
  tag: string;
  /** `127.0.0.1:PORT/repository:tag` */
  ref: string;
  digest: Digest;
  size: number;
  mediaType: string;
  /** the exact bytes the registry serves by digest */
  bytes: Buffer;
}

export interface ExpectedPlatformManifest {
  platform: Platform;
  digest: Digest;
  size: number;
  mediaType: string;
  config: Digest;
  layers: Digest[];
}

export interface ExpectedImage
  extends ExpectedManifest,
    Omit<ExpectedPlatformManifest, keyof ExpectedManifest> {}

export interface ExpectedIndex extends ExpectedManifest {
  /** keyed by architecture (`amd64`, `arm64`) */
  platforms: Record<string, ExpectedPlatformManifest>;
}

export interface DemoLayout {
  dir: string;
  tags: typeof LAYOUT_TAGS;
  built: DemoSet;
  /** demo/app's index re-encoded with indent 2 */
  pretty: BuiltIndex;
}

export interface SeededImages {
  host: string;
  layout: DemoLayout;
  demoApp: ExpectedIndex;
  demoAppAmd64: ExpectedImage;
  demoAppArm64: ExpectedImage;
  demoLiar: ExpectedImage;
  /** `skopeo --format v2s2` copy: list and platform digests differ, config digests match demo/app */
  mirrorApp: ExpectedIndex;
  /** pretty-printed index: only the index digest differs from demo/app */
  mirror2App: ExpectedIndex;
}

/** Build the demo images and write them as an OCI layout at `dir` (tags in LAYOUT_TAGS). */
export async function writeDemoLayout(dir: string): Promise<DemoLayout> {
  const built = await demoImages();
  const pretty = buildIndex(built.app.images, { indent: 2 });
  const blobs = [...allBlobs(built.app), ...allBlobs(built.liar), pretty.index];
  const [amd64, arm64] = imagesByArch(built.app);
  await writeOciLayout(dir, blobs, [
    { name: LAYOUT_TAGS.app, target: built.app.index },
    { name: LAYOUT_TAGS.amd64, target: amd64.manifest },
    { name: LAYOUT_TAGS.arm64, target: arm64.manifest },
    { name: LAYOUT_TAGS.liar, target: built.liar.manifest },
    { name: LAYOUT_TAGS.appPretty, target: pretty.index },
  ]);
  return { dir, tags: LAYOUT_TAGS, built, pretty };
}

/** Push the demo set into `reg` (with its first user's credentials when it has auth) and describe it. */
export async function seedRegistry(reg: RunningRegistry): Promise<SeededImages> {
  const layout = await writeDemoLayout(join(reg.dir, 'oci-layout'));
  const sk = skopeoFor(reg);
  const oci = (tag: string) => `oci:${layout.dir}:${tag}`;
  const docker = (repoTag: string) => `docker://${reg.host}/${repoTag}`;
  // --preserve-digests makes skopeo fail rather than silently re-encode a manifest we computed a digest for.
  const push = (src: string, dest: string, all = false) =>
    sk.run(['copy', '--preserve-digests', ...(all ? ['--all'] : []), ...sk.dest, src, docker(dest)]);

  // The index first: its children then exist in demo/app, and the per-arch tags only add tags.
  await push(oci(LAYOUT_TAGS.app), 'demo/app:1.0', true);
  await Promise.all([
    push(oci(LAYOUT_TAGS.amd64), 'demo/app:1.0-amd64'),
    push(oci(LAYOUT_TAGS.arm64), 'demo/app:1.0-arm64'),
    push(oci(LAYOUT_TAGS.liar), 'demo/liar:1.0'),
    push(oci(LAYOUT_TAGS.appPretty), 'mirror2/app:1.0', true),
    sk.run([
      'copy',
      '--all',
      '--format',
      'v2s2',
      ...sk.src,
      ...sk.dest,
      docker('demo/app:1.0'),
      docker('mirror/app:1.0'),
    ]),
  ]);

  const [amd64, arm64] = imagesByArch(layout.built.app);
  const fromBuilt = (repository: string, tag: string, idx: BuiltIndex): ExpectedIndex => ({
    ...manifestOf(reg.host, repository, tag, idx.index.bytes, idx.index.mediaType),
    platforms: Object.fromEntries(idx.images.map((i) => [i.platform.architecture, platformOf(i)])),
  });
  const image = (repository: string, tag: string, i: BuiltImage): ExpectedImage => ({
    ...platformOf(i),
    ...manifestOf(reg.host, repository, tag, i.manifest.bytes, i.manifest.mediaType),
  });
  return {
    host: reg.host,
    layout,
    demoApp: fromBuilt('demo/app', '1.0', layout.built.app),
    demoAppAmd64: image('demo/app', '1.0-amd64', amd64),
    demoAppArm64: image('demo/app', '1.0-arm64', arm64),
    demoLiar: image('demo/liar', '1.0', layout.built.liar),
    mirrorApp: await readBackIndex(sk, reg.host, 'mirror/app', '1.0'),
    mirror2App: fromBuilt('mirror2/app', '1.0', layout.pretty),
  };
}

interface Skopeo {
  run(args: string[]): Promise<Buffer>;
  src: string[];
  dest: string[];
  inspect: string[];
}

function skopeoFor(reg: RunningRegistry): Skopeo {
  const bin = requireBinary('skopeo', 'skopeo');
  const creds = (flag: string) => (reg.creds ? [flag, reg.creds] : []);
  // An empty auth file keeps the machine's docker/podman logins out of the harness.
  const authFile = join(reg.dir, 'skopeo-auth.json');
  const env = { ...process.env, REGISTRY_AUTH_FILE: authFile };
  let ready: Promise<void> | undefined;
  return {
    // --insecure-policy: the host's /etc/containers/policy.json is not the harness's business.
    run: async (args) => {
      ready ??= writeFile(authFile, '{"auths":{}}');
      await ready;
      const [cmd, ...rest] = args;
      // docker-registry 2.8 occasionally answers a push with a 500 on a loaded machine; a copy is idempotent
      for (let attempt = 1; ; attempt++) {
        try {
          const r = await run(bin, ['--insecure-policy', '--tmpdir', reg.dir, cmd ?? '', ...rest], { env });
          return r.stdout;
        } catch (e) {
          if (attempt >= 3 || !/500|Internal Server Error|unexpected EOF|connection reset/i.test(String(e)))
            throw e;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    },
    src: ['--src-tls-verify=false', ...creds('--src-creds')],
    dest: ['--dest-tls-verify=false', ...creds('--dest-creds')],
    inspect: ['--tls-verify=false', ...creds('--creds')],
  };
}

/** What the registry holds for a ref skopeo converted: digests of the bytes `skopeo inspect --raw` returns. */
async function readBackIndex(
  sk: Skopeo,
  host: string,
  repository: string,
  tag: string,
): Promise<ExpectedIndex> {
  const raw = (at: string) =>
    sk.run(['inspect', '--raw', ...sk.inspect, `docker://${host}/${repository}${at}`]);
  const indexBytes = await raw(`:${tag}`);
  const index = JSON.parse(indexBytes.toString('utf8')) as {
    mediaType: string;
    manifests: { digest: string; platform: Platform }[];
  };
  const platforms: Record<string, ExpectedPlatformManifest> = {};
  await Promise.all(
    index.manifests.map(async (d) => {
      const bytes = await raw(`@${d.digest}`);
      const digest = digestOf(bytes);
      if (digest !== d.digest)
        throw new Error(`${repository}@${d.digest}: skopeo returned bytes hashing to ${digest}`);
      const m = JSON.parse(bytes.toString('utf8')) as {
        mediaType: string;
        config: { digest: Digest };
        layers: { digest: Digest }[];
      };
      platforms[d.platform.architecture] = {
        platform: d.platform,
        digest,
        size: bytes.length,
        mediaType: m.mediaType,
        config: m.config.digest,
        layers: m.layers.map((l) => l.digest),
      };
    }),
  );
  return { ...manifestOf(host, repository, tag, indexBytes, index.mediaType), platforms };
}

function manifestOf(
  host: string,
  repository: string,
  tag: string,
  bytes: Buffer,
  mediaType: string,
): ExpectedManifest {
  return {
    repository,
    tag,
    ref: `${host}/${repository}:${tag}`,
    digest: digestOf(bytes),
    size: bytes.length,
    mediaType,
    bytes,
  };
}

function platformOf(i: BuiltImage): ExpectedPlatformManifest {
  return {
    platform: i.platform,
    digest: i.manifest.digest,
    size: i.manifest.size,
    mediaType: i.manifest.mediaType,
    config: i.config.digest,
    layers: i.layers.map((l) => l.digest),
  };
}

function imagesByArch(idx: BuiltIndex): [BuiltImage, BuiltImage] {
  const find = (arch: string) => {
    const i = idx.images.find((x) => x.platform.architecture === arch);
    if (!i) throw new Error(`demo index has no ${arch} image`);
    return i;
  };
  return [find('amd64'), find('arm64')];
}
