// The embedded demo content: a two-platform `demo/app:1.0` and a "liar" image whose config history is the
// same as demo/app's amd64 image while its file differs (seed 002's forged-history case).
import { type BuiltImage, type BuiltIndex, buildImage, buildIndex, EPOCH, type FileSpec } from './build.js';

const HISTORY = ['/bin/sh -c #(nop) COPY file:hello.txt in /app/hello.txt'];

function appLayer(arch: string, text?: string): FileSpec[] {
  return [
    { path: 'app', type: 'directory' },
    { path: 'app/hello.txt', content: text ?? `hello from trustpin demo (${arch})\n`, mtime: EPOCH },
  ];
}

/** The demo images. */
export interface DemoSet {
  app: BuiltIndex;
  liar: BuiltImage;
  /** the same images with Docker media types, as `skopeo copy --format v2s2` makes them: other digests, same configs */
  mirror: BuiltIndex;
}

/** Build the demo images (deterministic). */
export async function demoImages(): Promise<DemoSet> {
  const common = {
    cmd: ['/app/hello.txt'],
    labels: { 'org.opencontainers.image.title': 'demo-app' },
    history: HISTORY,
  };
  const amd64 = await buildImage({
    ...common,
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [appLayer('amd64')],
  });
  const arm64 = await buildImage({
    ...common,
    platform: { os: 'linux', architecture: 'arm64' },
    layers: [appLayer('arm64')],
  });
  const liar = await buildImage({
    ...common,
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [appLayer('amd64', 'hello from trustpin demo (amd64) -- and something else\n')],
  });
  const dockerAmd = await buildImage({
    ...common,
    format: 'docker',
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [appLayer('amd64')],
  });
  const dockerArm = await buildImage({
    ...common,
    format: 'docker',
    platform: { os: 'linux', architecture: 'arm64' },
    layers: [appLayer('arm64')],
  });
  return {
    app: buildIndex([amd64, arm64]),
    liar,
    mirror: buildIndex([dockerAmd, dockerArm], { format: 'docker' }),
  };
}
