// The README's library example as a TypeScript user writes it (strict, NodeNext): the same steps as consumer.mjs,
// compiled against the installed package's declarations, so a type the API forgot to export fails here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDctVerifier,
  type DctVerdict,
  type DigestResult,
  formatPlatform,
  type ImageSource,
  type ImageTree,
  openSource,
  RegistryClient,
  resolveDigest,
  type TrustVerifier,
  walkImage,
} from 'trustpin';
import {
  DctPublisher,
  type DemoSet,
  demoImages,
  MemoryRegistry,
  startTestNotary,
  type TestNotary,
} from 'trustpin/testing';

// An image in a registry: the embedded one on 127.0.0.1, with a generated two-platform image.
const registry = new MemoryRegistry();
const host = await registry.listen();
const { app }: DemoSet = await demoImages();
registry.push('demo/app', app, '1.0');

// By digest: the tag resolves to the digest of the bytes, then the whole tree is walked and verified.
const client = new RegistryClient({ env: {}, credentials: async () => undefined });
const source: ImageSource = await openSource(`${host}/demo/app:1.0`, client);
const { digest, pinned }: DigestResult = await resolveDigest(source);
const tree: ImageTree = await walkImage(await openSource(pinned, client), { configs: true });
const platforms = tree.children
  .filter((n) => n.kind === 'platform')
  .map((n) => formatPlatform(n.descriptor.platform));

// By signature: the publisher signs tag 1.0 → that digest, the notary server serves it over HTTPS.
const notary: TestNotary = await startTestNotary();
const publisher = new DctPublisher(`${host}/demo/app`).sign('1.0', app.index.digest, app.index.size);
notary.serve(publisher);
const home = await mkdtemp(join(tmpdir(), 'trustpin-consumer-'));
const verifier: TrustVerifier<DctVerdict> = createDctVerifier({
  home,
  trustServer: notary.url,
  trustCa: notary.ca,
  rootKeyIds: [publisher.rootKeyId],
});
const verdict = await verifier.verify(`${host}/demo/app:1.0`);

console.log(JSON.stringify({ digest, pinned, platforms, dct: { ok: verdict.ok, pinned: verdict.pinned } }));
await Promise.all([
  client.close(),
  registry.close(),
  notary.close(),
  rm(home, { recursive: true, force: true }),
]);
