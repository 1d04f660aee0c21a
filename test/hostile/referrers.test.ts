// Hostile registries and the attachment discovery: a registry that implements the referrers API (paginated,
// unfiltered, listing lies), one that answers it with a redirect elsewhere or 429, GitLab's tag-schema quirk,
// oversized and lying layers, endless pagination. Every listing is a hint: what is used was fetched by digest,
// checked, and names the image as its subject.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import type { Blob } from '../../src/demo/build.js';
import type { Digest } from '../../src/digest/index.js';
import {
  listReferrers,
  MAX_REFERRERS_PAGES,
  type ReferrersAnswer,
  referrersTag,
} from '../../src/registry/index.js';
import {
  discoverArtifacts,
  listAttachments,
  registryAttachments,
  SIGSTORE_BUNDLE_ARTIFACT_TYPES,
} from '../../src/trust/cosign/index.js';
import {
  type BuiltBlob,
  built,
  cosignLegacyManifest,
  descriptorJson,
  digestTag,
  EMPTY_CONFIG,
  ociIndex,
  referrerManifest,
} from '../harness/push.js';
import { flood, type Liar, REPO, rejectsWith, serve, startStorage, withLiar } from './liar.js';

const BUNDLE = SIGSTORE_BUNDLE_ARTIFACT_TYPES[0]!;
const NOTATION = 'application/vnd.cncf.notary.signature';
const IDX = 'application/vnd.oci.image.index.v1+json';
const REFERRERS = `/v2/${REPO}/referrers/`;

const asBlob = (b: BuiltBlob): Blob => b as Blob;

/** A bundle referrer of `subject` (its layer bytes made unique by `name`), stored in the liar registry. */
function bundleOf(l: Liar, subject: BuiltBlob, name: string, type = BUNDLE) {
  const layer = built(Buffer.from(`{"mediaType":"${type}","name":"${name}"}`), type);
  const manifest = referrerManifest({ artifactType: type, subject, layers: [layer] });
  l.registry.putBlob(REPO, asBlob(layer));
  l.registry.putBlob(REPO, asBlob(EMPTY_CONFIG));
  l.registry.putManifest(REPO, asBlob(manifest));
  return { layer, manifest };
}

function subjectOf(l: Liar): BuiltBlob {
  return l.images.app.index;
}

function store(l: Liar) {
  return registryAttachments(l.client, l.host, REPO);
}

/** Answer `GET /v2/<repo>/referrers/<digest>` with pages of descriptors (no OCI-Filters-Applied). */
function referrersApi(
  l: Liar,
  pages: ReturnType<typeof descriptorJson>[][],
  opts: { filtersApplied?: boolean; queries?: string[] } = {},
): void {
  const prev = l.registry.hook;
  l.registry.hook = (req, res, url) => {
    if (!url.pathname.startsWith(REFERRERS)) return prev ? prev(req, res, url) : false;
    opts.queries?.push(url.search);
    const n = Number(url.searchParams.get('page') ?? '0');
    const headers: Record<string, string> = {};
    if (n + 1 < pages.length) headers.Link = `<${url.pathname}?page=${n + 1}>; rel="next"`;
    if (opts.filtersApplied) headers['OCI-Filters-Applied'] = 'artifactType';
    sendIndex(res, ociIndex(pages[n] ?? []).bytes, headers);
    return true;
  };
}

function sendIndex(res: ServerResponse, bytes: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'Content-Type': IDX, 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}

const manifestGets = (l: Liar, digest: string) =>
  l.registry.requests.filter((r) => r.path === `/v2/${REPO}/manifests/${digest}`).length;
const blobGets = (l: Liar, digest: string) =>
  l.registry.requests.filter((r) => r.path === `/v2/${REPO}/blobs/${digest}`).length;

test('referrers API: both pages followed, other artifact types filtered here when the registry did not', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    const a = bundleOf(l, subject, 'a');
    const b = bundleOf(l, subject, 'b', SIGSTORE_BUNDLE_ARTIFACT_TYPES[3]);
    const n = bundleOf(l, subject, 'n', NOTATION);
    referrersApi(l, [
      [
        descriptorJson(a.manifest, { artifactType: BUNDLE }),
        descriptorJson(n.manifest, { artifactType: NOTATION }),
      ],
      [descriptorJson(b.manifest, { artifactType: SIGSTORE_BUNDLE_ARTIFACT_TYPES[3]! })],
    ]);
    const found = await discoverArtifacts(store(l), subject.digest as Digest, { legacy: false });
    assert.deepEqual(
      found.artifacts.map((x) => x.layerDigest).sort(),
      [a.layer.digest, b.layer.digest].sort(),
    );
    assert.ok(found.artifacts.every((x) => x.format === 'bundle' && /\(referrers API\)$/.test(x.origin)));
    assert.equal(manifestGets(l, n.manifest.digest), 0, 'the Notation signature is never fetched for cosign');
    assert.equal(l.hits('/referrers/').length, 2);
    // listAttachments asks for everything: the Notation signature is there
    const listing = await listAttachments(store(l), subject.digest as Digest, { legacy: false, maxDepth: 1 });
    assert.deepEqual(listing.attachments.map((x) => x.kind).sort(), [
      'notation-signature',
      'sigstore-bundle',
      'sigstore-bundle',
    ]);
  }));

test('one artifact type is sent as ?artifactType=, and still filtered here', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    const a = bundleOf(l, subject, 'a');
    const n = bundleOf(l, subject, 'n', NOTATION);
    const queries: string[] = [];
    // the registry claims it filtered, and lies
    referrersApi(
      l,
      [
        [
          descriptorJson(a.manifest, { artifactType: BUNDLE }),
          descriptorJson(n.manifest, { artifactType: NOTATION }),
        ],
      ],
      { filtersApplied: true, queries },
    );
    const r = await listReferrers(l.client, l.host, REPO, subject.digest, { artifactTypes: [NOTATION] });
    assert.ok(r.supported);
    assert.equal(r.serverFiltered, true);
    assert.deepEqual(
      r.descriptors.map((d) => d.digest),
      [n.manifest.digest],
    );
    assert.deepEqual(queries, [`?artifactType=${encodeURIComponent(NOTATION)}`]);
  }));

test('listed referrers that name another subject, or the image itself, are not used', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    const other = l.images.liar.manifest;
    const good = bundleOf(l, subject, 'good');
    const stray = bundleOf(l, other, 'stray');
    referrersApi(l, [
      [
        descriptorJson(stray.manifest, { artifactType: BUNDLE }),
        descriptorJson(subject, { artifactType: BUNDLE }),
        descriptorJson(good.manifest, { artifactType: BUNDLE }),
      ],
    ]);
    const found = await discoverArtifacts(store(l), subject.digest as Digest, { legacy: false });
    assert.deepEqual(
      found.artifacts.map((x) => x.layerDigest),
      [good.layer.digest],
    );
    assert.equal(blobGets(l, stray.layer.digest), 0, 'the stray referrer’s layer is never downloaded');
    const note = found.searched[0]!.note ?? '';
    assert.match(note, /1 whose subject is another image/);
    assert.match(note, /1 listing the image itself/);
  }));

test('GitLab: the tag sha256-<hex> resolves to the (multi-arch) subject itself — ignored, its children unused', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    const tag = referrersTag(subject.digest);
    l.registry.hook = (_req, res, url) => {
      if (url.pathname === `/v2/${REPO}/manifests/${tag}`) return serve(res, subject.bytes, { type: IDX });
      return false;
    };
    const found = await discoverArtifacts(store(l), subject.digest as Digest, { legacy: false });
    assert.deepEqual(found.artifacts, []);
    assert.deepEqual(found.refused, []);
    assert.match(found.searched[0]!.note ?? '', /names the image itself/);
    for (const child of l.images.app.images) assert.equal(manifestGets(l, child.manifest.digest), 0);
  }));

test('a tag-schema index entry lying about its digest: DIGEST_MISMATCH, refused, the honest one still found', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    const honest = bundleOf(l, subject, 'honest');
    const forged = bundleOf(l, subject, 'forged');
    const claimed = bundleOf(l, subject, 'claimed');
    // the index names `claimed`, the registry serves `forged`'s bytes under that digest
    l.registry.hook = (_req, res, url) =>
      url.pathname === `/v2/${REPO}/manifests/${claimed.manifest.digest}` &&
      serve(res, forged.manifest.bytes, { type: forged.manifest.mediaType, digest: claimed.manifest.digest });
    const index = ociIndex([
      descriptorJson(claimed.manifest, { artifactType: BUNDLE }),
      descriptorJson(honest.manifest, { artifactType: BUNDLE }),
    ]);
    l.registry.putManifest(REPO, asBlob(index), referrersTag(subject.digest));
    const found = await discoverArtifacts(store(l), subject.digest as Digest, { legacy: false });
    assert.deepEqual(
      found.artifacts.map((x) => x.layerDigest),
      [honest.layer.digest],
    );
    assert.equal(found.refused.length, 1);
    assert.equal(found.refused[0]!.error.code, 'DIGEST_MISMATCH');
    assert.match(found.refused[0]!.origin, new RegExp(claimed.manifest.digest));
    assert.equal(blobGets(l, forged.layer.digest), 0);
  }));

test('a 100 MiB "signature" layer is refused with SIZE_EXCEEDED and not one byte of it is sent', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    const payload = built(Buffer.from('{"critical":{}}'), 'application/vnd.dev.cosign.simplesigning.v1+json');
    const huge: BuiltBlob = { ...payload, digest: `sha256:${'e'.repeat(64)}`, size: 100 * 1024 * 1024 };
    const sig = cosignLegacyManifest([
      { blob: huge, annotations: { 'dev.cosignproject.cosign/signature': 'x' } },
      { blob: payload, annotations: { 'dev.cosignproject.cosign/signature': 'y' } },
    ]);
    l.registry.putBlob(REPO, asBlob(payload));
    l.registry.putManifest(REPO, asBlob(sig.manifest), digestTag(subject.digest, 'sig'));
    let sent = 0;
    l.registry.hook = (_req, res, url) => {
      if (url.pathname !== `/v2/${REPO}/blobs/${huge.digest}`) return false;
      const f = flood(res, { 'Content-Length': huge.size }, huge.size);
      void f.closed.then(() => {
        sent = f.written;
      });
      sent = 1;
      return true;
    };
    const found = await discoverArtifacts(store(l), subject.digest as Digest);
    assert.equal(found.refused.length, 1);
    assert.equal(found.refused[0]!.error.code, 'SIZE_EXCEEDED');
    assert.match(found.refused[0]!.origin, /\.sig layer 1$/);
    assert.equal(sent, 0, 'no byte of the huge layer was sent');
    assert.equal(blobGets(l, huge.digest), 0);
    // the second, honest layer is still found
    assert.deepEqual(
      found.artifacts.map((a) => a.bytes),
      [payload.bytes],
    );
  }));

test('a layer that streams past its descriptor size is cut off (SIZE_EXCEEDED), and a lying one is DIGEST_MISMATCH', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    const endless = built(Buffer.alloc(1024, 0x61), 'application/vnd.dev.cosign.simplesigning.v1+json');
    const lying = built(Buffer.alloc(1024, 0x62), 'application/vnd.dev.cosign.simplesigning.v1+json');
    const sig = cosignLegacyManifest([
      { blob: endless, annotations: {} },
      { blob: lying, annotations: {} },
    ]);
    l.registry.putManifest(REPO, asBlob(sig.manifest), digestTag(subject.digest, 'sig'));
    let written = 0;
    l.registry.hook = (_req, res, url) => {
      if (url.pathname === `/v2/${REPO}/blobs/${endless.digest}`) {
        const f = flood(res, {}, 64 * 1024 * 1024);
        void f.closed.then(() => {
          written = f.written;
        });
        return true;
      }
      if (url.pathname === `/v2/${REPO}/blobs/${lying.digest}`) return serve(res, Buffer.alloc(1024, 0x63));
      return false;
    };
    const found = await discoverArtifacts(store(l), subject.digest as Digest);
    assert.deepEqual(found.artifacts, []);
    assert.deepEqual(
      found.refused.map((r) => r.error.code),
      ['SIZE_EXCEEDED', 'DIGEST_MISMATCH'],
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(written < 16 * 1024 * 1024, `the endless layer was cut off early (${written} bytes written)`);
  }));

test('the total budget and the layer count bound what is downloaded', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    const layers = [0, 1, 2].map((i) =>
      built(Buffer.alloc(1000, 0x30 + i), 'application/vnd.dev.cosign.simplesigning.v1+json'),
    );
    for (const b of layers) l.registry.putBlob(REPO, asBlob(b));
    const sig = cosignLegacyManifest(layers.map((blob) => ({ blob, annotations: {} })));
    l.registry.putManifest(REPO, asBlob(sig.manifest), digestTag(subject.digest, 'sig'));
    const found = await discoverArtifacts(store(l), subject.digest as Digest, { budget: 2500 });
    assert.equal(found.artifacts.length, 2);
    assert.equal(found.refused.length, 1);
    assert.equal(found.refused[0]!.error.code, 'SIZE_EXCEEDED');
    assert.equal(blobGets(l, layers[2]!.digest), 0);
    const capped = await discoverArtifacts(store(l), subject.digest as Digest, { maxLayers: 2 });
    assert.deepEqual(capped.artifacts, []);
    assert.match(capped.refused[0]!.error.message, /3 layers/);
  }));

test('GHCR: a 303 of the referrers API to another host falls back to the tags, no credentials sent there', () =>
  withLiar({ credentials: async () => ({ username: 'u', password: 'p', source: 'test' }) }, async (l) => {
    const subject = subjectOf(l);
    const storage = await startStorage([]);
    try {
      const good = bundleOf(l, subject, 'good');
      l.registry.putManifest(
        REPO,
        asBlob(ociIndex([descriptorJson(good.manifest, { artifactType: BUNDLE })])),
        referrersTag(subject.digest),
      );
      l.registry.hook = (req, res, url) => {
        // a registry that wants Basic credentials on every request
        if (!req.headers.authorization) {
          res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="liar"', 'Content-Length': 0 });
          res.end();
          return true;
        }
        if (!url.pathname.startsWith(REFERRERS)) return false;
        res.writeHead(303, { Location: `http://${storage.host}/storage/rate-limited` });
        res.end();
        return true;
      };
      const found = await discoverArtifacts(store(l), subject.digest as Digest, { legacy: false });
      assert.deepEqual(
        found.artifacts.map((a) => a.layerDigest),
        [good.layer.digest],
      );
      assert.match(found.searched[0]!.note ?? '', new RegExp(`redirected to ${storage.host}`));
      assert.equal(storage.requests.length, 1, 'the redirect was followed once, its answer not used');
      assert.ok(
        storage.requests.every((r) => r.authorization === undefined),
        'no credentials to the other host',
      );
      assert.ok(l.hits('/referrers/').every((r) => r.headers.authorization?.startsWith('Basic ')));
    } finally {
      await storage.close();
    }
  }));

test('429 (not waited out, even with Retry-After) and 405 on the referrers API fall back to the tags; a 503 is retried, then an error', () =>
  withLiar({ attempts: 3, maxBackoffMs: 10_000 }, async (l) => {
    const subject = subjectOf(l);
    let status = 429;
    l.registry.hook = (_req, res, url) => {
      if (!url.pathname.startsWith(REFERRERS)) return false;
      res.writeHead(status, { 'Content-Type': 'application/json', 'Retry-After': '5' });
      res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return true;
    };
    for (const s of [429, 405]) {
      status = s;
      const before = l.hits('/referrers/').length;
      const t0 = Date.now();
      const found = await discoverArtifacts(store(l), subject.digest as Digest, { legacy: false });
      assert.ok(Date.now() - t0 < 2000, `fell back at once (${Date.now() - t0} ms)`);
      assert.equal(l.hits('/referrers/').length - before, 1, 'asked once');
      assert.match(found.searched[0]!.where, /\(tag schema\)/);
      assert.match(found.searched[0]!.note ?? '', new RegExp(`HTTP ${s}`));
    }
    status = 503;
    const before = l.hits('/referrers/').length;
    l.registry.hook = ((h) => (req, res, url) => {
      if (url.pathname.startsWith(REFERRERS)) {
        res.writeHead(503, { 'Content-Type': 'application/json' });
        res.end('{}');
        return true;
      }
      return h!(req, res, url);
    })(l.registry.hook);
    await rejectsWith(discoverArtifacts(store(l), subject.digest as Digest), 'REGISTRY_ERROR');
    assert.equal(l.hits('/referrers/').length - before, 3, 'a failing server is retried');
  }));

test('endless Link pagination stops at MAX_REFERRERS_PAGES; a loop stops at once; a link elsewhere is refused', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    const good = bundleOf(l, subject, 'good');
    let mode: 'endless' | 'loop' | 'away' = 'endless';
    l.registry.hook = (_req, res, url) => {
      if (!url.pathname.startsWith(REFERRERS)) return false;
      const n = Number(url.searchParams.get('page') ?? '0');
      const next =
        mode === 'endless'
          ? `${url.pathname}?page=${n + 1}`
          : mode === 'loop'
            ? `${url.pathname}${url.search}`
            : `/v2/${REPO}/tags/list`;
      sendIndex(
        res,
        ociIndex(n === 0 ? [descriptorJson(good.manifest, { artifactType: BUNDLE })] : []).bytes,
        {
          Link: `<${next}>; rel="next"`,
        },
      );
      return true;
    };
    const r = (await listReferrers(l.client, l.host, REPO, subject.digest)) as Extract<
      ReferrersAnswer,
      { supported: true }
    >;
    assert.equal(r.pages, MAX_REFERRERS_PAGES);
    assert.equal(r.truncated, true);
    assert.equal(l.hits('/referrers/').length, MAX_REFERRERS_PAGES);
    const found = await discoverArtifacts(store(l), subject.digest as Digest, { legacy: false });
    assert.equal(found.artifacts.length, 1, 'what was read before the bound is used');
    assert.match(found.searched[0]!.note ?? '', /longer than the bounds/);
    mode = 'loop';
    const before = l.hits('/referrers/').length;
    const looped = await listReferrers(l.client, l.host, REPO, subject.digest);
    assert.ok(looped.supported && looped.truncated);
    assert.equal(l.hits('/referrers/').length - before, 1);
    mode = 'away';
    await rejectsWith(listReferrers(l.client, l.host, REPO, subject.digest), 'REGISTRY_ERROR');
  }));

test('a referrers answer that is not an index is a registry error; an aborted discovery is ABORTED', () =>
  withLiar({}, async (l) => {
    const subject = subjectOf(l);
    l.registry.hook = (_req, res, url) =>
      url.pathname.startsWith(REFERRERS) && serve(res, Buffer.from('{"manifests": 5}'), { type: IDX });
    await rejectsWith(discoverArtifacts(store(l), subject.digest as Digest), 'REGISTRY_ERROR');
    const ac = new AbortController();
    ac.abort();
    await rejectsWith(
      discoverArtifacts(store(l), subject.digest as Digest, { signal: ac.signal }),
      'ABORTED',
    );
  }));
