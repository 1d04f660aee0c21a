// Manifests, indexes and image configs, parsed from (self-digested) bytes. Oracle: only coded rejections; an
// accepted document re-serialised parses to the same value; a config compared with itself and with its
// re-serialisation has no difference; nothing nested deep (100,000 levels) overflows the stack anywhere a
// manifest or config is processed.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { digestOf, selfDigested } from '../../../src/digest/index.js';
import {
  artifactKind,
  classifyEntry,
  type ImageConfig,
  MT,
  parseImageConfig,
  parseManifest,
} from '../../../src/manifest/index.js';
import { configDifferences } from '../../../src/mirror/config-diff.js';
import { check, codedSync, deeplyNested, defineTarget, type JsonValue, mutatedJson } from '../harness.js';

const d = (s: string) => digestOf(Buffer.from(s));
const desc = (mediaType: string, s: string, extra: Record<string, JsonValue> = {}): JsonValue => ({
  mediaType,
  digest: d(s),
  size: s.length,
  ...extra,
});

const MANIFESTS: JsonValue[] = [
  {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: [
      desc(MT.ociManifest, 'a', { platform: { os: 'linux', architecture: 'amd64' } }),
      desc(MT.ociManifest, 'b', { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
      desc(MT.ociManifest, 'c', {
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: {
          'vnd.docker.reference.type': 'attestation-manifest',
          'vnd.docker.reference.digest': d('a'),
        },
      }),
    ],
    annotations: { 'org.opencontainers.image.ref.name': '1.0' },
  },
  {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    artifactType: 'application/vnd.example+json',
    config: desc(MT.ociConfig, 'cfg'),
    layers: [desc(MT.ociLayerGzip, 'l1', { urls: ['https://example.com/l1'] }), desc(MT.ociLayerZstd, 'l2')],
    subject: desc(MT.ociManifest, 'subject'),
    annotations: { a: 'b' },
  },
  {
    schemaVersion: 2,
    mediaType: MT.dockerManifest,
    config: desc(MT.dockerConfig, 'cfg'),
    layers: [desc(MT.dockerLayerGzip, 'l1'), desc(MT.dockerForeignLayerGzip, 'l2')],
  },
  {
    schemaVersion: 2,
    mediaType: MT.dockerList,
    manifests: [
      desc(MT.dockerManifest, 'x', {
        platform: {
          os: 'windows',
          architecture: 'amd64',
          'os.version': '10.0.20348.1',
          'os.features': ['win32k'],
        },
      }),
    ],
  },
  { schemaVersion: 2, config: desc(MT.ociConfig, 'c'), layers: [] },
  {
    schemaVersion: 1,
    name: 'a/b',
    tag: 't',
    architecture: 'amd64',
    fsLayers: [{ blobSum: d('l') }],
    history: [{ v1Compatibility: '{"id":"x"}' }],
  },
];

const CONFIGS: JsonValue[] = [
  {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: {
      User: '1000',
      Env: ['PATH=/usr/bin'],
      Entrypoint: ['/app'],
      Cmd: null,
      WorkingDir: '/',
      Labels: { a: 'b' },
      ExposedPorts: { '80/tcp': {} },
      Volumes: { '/data': {} },
      StopSignal: 'SIGTERM',
    },
    rootfs: { type: 'layers', diff_ids: [d('l1'), d('l2')] },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: 'RUN x', empty_layer: true }, { comment: 'c' }],
  },
  { architecture: 'arm64', variant: 'v8', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
];

/** A seed with a 1–100,000-deep value put where the schema keeps whatever it is given (or drops it). */
const deep = fc
  .tuple(fc.constantFrom(1000, 10_000, 100_000), fc.nat(3), fc.boolean())
  .map(([depth, where, asObject]) => {
    const v = deeplyNested(depth, '{}', asObject ? 'object' : 'array');
    const cfg = JSON.stringify(CONFIGS[0]);
    const text = [
      cfg.replace('"80/tcp":{}', `"80/tcp":${v}`),
      cfg.replace('"/data":{}', `"/data":${v}`),
      cfg.replace('{"architecture"', `{"x":${v},"architecture"`),
      JSON.stringify(MANIFESTS[1]).replace('{"schemaVersion"', `{"x":${v},"schemaVersion"`),
    ][where]!;
    return Buffer.from(text);
  });

interface Input {
  bytes: Buffer;
  /** 0: no hint; 1–3: the descriptor's media type; 4–5: a Content-Type */
  hint: number;
}
const HINTS = [
  {},
  { descriptorMediaType: MT.ociIndex },
  { descriptorMediaType: MT.ociManifest },
  { descriptorMediaType: MT.dockerManifest },
  { contentType: `${MT.schema1Signed}; charset=utf-8` },
  { contentType: MT.dockerList },
];

function roundTrip(value: Record<string, unknown>): Buffer {
  const { kind: _kind, diffIds: _diffIds, ...rest } = value;
  return Buffer.from(JSON.stringify(rest));
}

function runManifest(bytes: Buffer, hint: number): void {
  const m = codedSync(() => parseManifest(selfDigested(bytes), HINTS[hint % HINTS.length]));
  if (!m) return;
  const v = m.value;
  if (v.kind === 'index') for (const e of v.manifests) classifyEntry(e);
  if (v.kind === 'image') artifactKind(v);
  const again = codedSync(() =>
    parseManifest(selfDigested(roundTrip({ ...v })), { descriptorMediaType: v.mediaType }),
  );
  check(
    again !== undefined && isDeepStrictEqual(again.value, v),
    'a parsed manifest re-serialised parses to another value',
  );
}

function runConfig(bytes: Buffer): void {
  const c = codedSync(() => parseImageConfig(selfDigested(bytes)));
  if (!c) return;
  check(configDifferences(c.value, c.value).length === 0, 'a config differs from itself');
  const other = parseImageConfig(selfDigested(Buffer.from(JSON.stringify(CONFIGS[0]))));
  configDifferences(c.value, other.value);
  configDifferences(other.value, c.value);
  JSON.stringify(c.value);
  const again = codedSync(() => parseImageConfig(selfDigested(roundTrip({ ...c.value }))));
  check(
    again !== undefined && isDeepStrictEqual(again.value, c.value as ImageConfig),
    'a config re-serialised parses to another value',
  );
  // equal values that are not the same objects: the comparison walks them instead of stopping at identity
  check(configDifferences(c.value, again.value).length === 0, 'a config differs from its re-serialisation');
}

const encode = (x: Input) => Buffer.concat([Buffer.from([x.hint]), x.bytes]);
const decode = (b: Buffer): Input => ({ hint: b[0] ?? 0, bytes: b.subarray(1) });

export default [
  defineTarget<Input>({
    name: 'manifest',
    description:
      'parseManifest (OCI/Docker manifests and indexes, schema1) with descriptor/Content-Type hints; oracle: coded rejection only, re-serialised value parses the same',
    arbitrary: fc.record({
      bytes: fc.oneof({ arbitrary: mutatedJson(MANIFESTS), weight: 20 }, { arbitrary: deep, weight: 1 }),
      hint: fc.nat(HINTS.length - 1),
    }),
    run: (x) => runManifest(x.bytes, x.hint),
    encode,
    decode,
  }),
  defineTarget<Buffer>({
    name: 'image-config',
    description:
      'parseImageConfig and configDifferences; oracle: coded rejection only, a config has no difference with itself, no stack overflow at any depth',
    arbitrary: fc.oneof({ arbitrary: mutatedJson(CONFIGS), weight: 20 }, { arbitrary: deep, weight: 1 }),
    run: runConfig,
    encode: (b) => Buffer.from(b),
    decode: (b) => Buffer.from(b),
  }),
];
