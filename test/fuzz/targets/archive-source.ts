// Image archives a user hands trustpin (`oci-archive:`, `docker-archive:`): data, not trust. Inputs are a valid
// archive of a small image with one member replaced by mutated JSON (oci-layout, index.json, manifest.json, the
// manifest or config blob), or the whole tar mutated at the byte level. Oracle: the source resolves, reads the
// manifest, the config and every layer — or refuses with a code; whatever it accepts hashes to the digest it was
// asked for and is one of the archive's own blobs.
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import fc from 'fast-check';
import { allBlobs, buildImage } from '../../../src/demo/build.js';
import { digestOf } from '../../../src/digest/index.js';
import {
  blobPath,
  INDEX_MEDIA_TYPE,
  indexEntry,
  markerText,
  openArchiveSource,
  readConfig,
} from '../../../src/source/index.js';
import { check, coded, defineTarget, type JsonValue, mutatedBytes, mutatedJson } from '../harness.js';

const image = await buildImage({
  platform: { os: 'linux', architecture: 'amd64' },
  layers: [[{ path: 'etc/hello', content: 'hello\n' }]],
});
const blobs = allBlobs(image);
const OWN = new Set(blobs.map((b) => b.digest));

/** One ustar header + body, padded: enough tar for the archive readers (names under 100 bytes). */
function member(name: string, body: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad]);
}

type Members = [string, Buffer][];
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const members: Members = [
  ['oci-layout', Buffer.from(markerText())],
  [
    'index.json',
    json({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [indexEntry(image.manifest, '1.0')] }),
  ],
  [
    'manifest.json',
    json([
      {
        Config: blobPath(image.config.digest),
        RepoTags: ['demo/app:1.0'],
        Layers: image.layers.map((l) => blobPath(l.digest)),
      },
    ]),
  ],
  ...blobs.map((b): [string, Buffer] => [blobPath(b.digest), b.bytes]),
];
const tarOf = (ms: Members) => Buffer.concat([...ms.map(([n, b]) => member(n, b)), Buffer.alloc(1024)]);
const VALID = tarOf(members);

/** The JSON members worth mutating: the layout's own files and the manifest and config blobs. */
const JSON_MEMBERS = members
  .map(([name, body], i) => ({ name, body, i }))
  .filter(({ name, body }) => {
    if (!name.startsWith('blobs/')) return true;
    return body[0] === 0x7b; // the manifest and the config (layers are gzip)
  });

type Input = { transport: 'oci-archive' | 'docker-archive'; tar: Buffer };
const transport = fc.constantFrom('oci-archive' as const, 'docker-archive' as const);
const replaced = fc.oneof(
  ...JSON_MEMBERS.map(({ body, i }) =>
    mutatedJson([JSON.parse(body.toString()) as JsonValue]).map((content) => {
      const ms = members.slice();
      ms[i] = [ms[i]![0], content];
      return tarOf(ms);
    }),
  ),
);
const dropped = fc.nat(members.length - 1).map((i) => tarOf(members.filter((_, j) => j !== i)));

export default defineTarget<Input>({
  name: 'archive-source',
  description:
    'oci-archive/docker-archive sources over mutated archives; oracle: what is accepted hashes to its descriptor and is the archive’s own blob',
  arbitrary: fc.record({
    transport,
    tar: fc.oneof(
      { arbitrary: replaced, weight: 6 },
      { arbitrary: dropped, weight: 1 },
      { arbitrary: mutatedBytes([VALID]), weight: 3 },
      { arbitrary: fc.constant(VALID), weight: 1 },
    ),
  }),
  async run({ transport, tar }) {
    const file = join(tmpdir(), `trustpin-fuzz-archive-${process.pid}-${threadId}.tar`);
    writeFileSync(file, tar);
    const src = openArchiveSource(
      transport,
      transport === 'oci-archive' ? `${file}:1.0` : `${file}:demo/app:1.0`,
    );
    try {
      const ok = await coded(async () => {
        const d = await src.resolve();
        const m = await src.manifest(d);
        check(digestOf(m.bytes, 'sha256') === d.digest, 'manifest bytes do not hash to their descriptor');
        if (m.value.kind !== 'image') return true;
        const c = await readConfig(src, m.value.config);
        check(c.digest === m.value.config.digest, 'config digest');
        for (const l of m.value.layers) {
          const s = await src.blob(l);
          for await (const _ of s);
        }
        if (tar.equals(VALID))
          check(d.digest === image.manifest.digest, 'the valid archive resolved elsewhere');
        // a legacy `docker save` archive has no manifest blob: the source writes one over the config and layers
        // it names, and those must then be the archive's own verified blobs
        else if (!OWN.has(d.digest) && !tarHolds(tar, m.bytes))
          check(
            transport === 'docker-archive' &&
              OWN.has(m.value.config.digest) &&
              m.value.layers.every((l) => OWN.has(l.digest)),
            'accepted a manifest the archive does not hold',
          );
        return true;
      });
      if (tar.equals(VALID)) check(ok === true, 'the valid archive was refused');
    } finally {
      await src.close().catch(() => undefined);
      rmSync(file, { force: true });
    }
  },
  encode: (i) => Buffer.concat([Buffer.from(i.transport === 'oci-archive' ? 'O' : 'D'), i.tar]),
  decode: (b) => ({ transport: b[0] === 0x4f ? 'oci-archive' : 'docker-archive', tar: b.subarray(1) }),
});

function tarHolds(tar: Buffer, bytes: Buffer): boolean {
  return tar.includes(bytes);
}
