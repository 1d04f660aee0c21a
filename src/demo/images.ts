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

export interface DemoSet {
  app: BuiltIndex;
  liar: BuiltImage;
}

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
  return { app: buildIndex([amd64, arm64]), liar };
}
