// RegistrySource.resolve() is memoised: verify asks for the top-level manifest, then walks the image (which asks
// again); the registry must see one manifest request, counted with the client's onRequest hook.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demoImages } from '../../../src/demo/images.js';
import { MemoryRegistry } from '../../../src/demo/registry-server.js';
import { walkImage } from '../../../src/image/walk.js';
import { parseReference } from '../../../src/reference/index.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { RegistrySource } from '../../../src/source/registry.js';

async function fixture(fn: (host: string, client: RegistryClient, urls: string[]) => Promise<void>) {
  const images = await demoImages();
  const reg = new MemoryRegistry();
  reg.push('demo/app', images.app, '1.0');
  const host = await reg.listen();
  const urls: string[] = [];
  const client = new RegistryClient({
    attempts: 1,
    credentials: async () => undefined,
    onRequest: (_m, url) => urls.push(new URL(url).pathname),
  });
  try {
    await fn(host, client, urls);
  } finally {
    await client.close();
    await reg.close();
  }
}

for (const by of ['tag', 'digest'] as const) {
  test(`resolve() by ${by} twice, then a walk: one request for the top-level manifest`, () =>
    fixture(async (host, client, urls) => {
      const images = await demoImages();
      const ref = by === 'tag' ? ':1.0' : `@${images.app.index.digest}`;
      const src = new RegistrySource(parseReference(`${host}/demo/app${ref}`), client);
      const a = await src.resolve();
      const b = await src.resolve();
      assert.deepEqual(a, b);
      await walkImage(src);
      const top = `/v2/demo/app/manifests/${by === 'tag' ? '1.0' : images.app.index.digest}`;
      assert.equal(urls.filter((u) => u === top).length, 1, urls.join('\n'));
    }));
}

test('a failed resolve() is not memoised: the next call asks again', () =>
  fixture(async (host, client, urls) => {
    const src = new RegistrySource(parseReference(`${host}/demo/app:missing`), client);
    await assert.rejects(src.resolve());
    await assert.rejects(src.resolve());
    assert.equal(urls.filter((u) => u.endsWith('/manifests/missing')).length, 2);
  }));
