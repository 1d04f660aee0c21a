// Issue 17 (in-process latency): what the cosign and Notation verifiers ask at once, seen from a registry that
// records when each request arrived and was answered, and slows the answer named. The image's config is fetched
// while the signatures are searched for, the tag-schema fallback beside the referrers API, and a policy
// evaluation hands its verified manifest to the verifier instead of a second GET. The overlap changes nothing but
// time: an unsigned or wrongly signed image is refused with the same problem codes, a broken config of an
// unsigned image is never what is reported, and manifest bytes handed in are verified like a registry's. DCT asks
// the tag beside its trust update and uses the tag's bytes as the signed manifest when they are it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildImage } from '../../../src/demo/build.js';
import { MemoryRegistry } from '../../../src/demo/index.js';
import type { Digest } from '../../../src/digest/index.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { walkImage } from '../../../src/image/index.js';
import { evaluate, loadPolicy } from '../../../src/policy/index.js';
import { RegistryClient } from '../../../src/registry/index.js';
import { RegistrySource } from '../../../src/source/index.js';
import { DctPublisher } from '../../../src/testing/index.js';
import { createCosignVerifier } from '../../../src/trust/cosign/index.js';
import { createDctVerifier } from '../../../src/trust/index.js';
import { createNotationVerifier, trustStoreFromFiles } from '../../../src/trust/notation/index.js';
import { cosignKey, signImage } from '../../harness/cosign.js';
import { NOTATION_JWS_MEDIA_TYPE, notationPki, pemOf, signJws } from '../../harness/notation.js';
import type { PushSet } from '../../harness/push.js';
import { HostileNotary } from '../../hostile-notary/server.js';

const DELAY = 150;

const blobOf = (bytes: Buffer, mediaType = 'application/octet-stream') => ({
  mediaType,
  digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest,
  size: bytes.length,
  bytes,
});

interface Seen {
  path: string;
  arrived: number;
  answered: number;
}

describe('what the verifiers ask at once (a recording registry)', () => {
  let reg: MemoryRegistry;
  let host: string;
  let client: RegistryClient;
  const log: Seen[] = [];
  /** answers to paths matching this are held back DELAY ms */
  let slow: RegExp | undefined;
  /** paths matching this are answered with other bytes than asked for */
  let corrupt: RegExp | undefined;
  const keyA = cosignKey('p256');
  const keyB = cosignKey('p256');
  const pki = notationPki();
  const images: Record<string, Awaited<ReturnType<typeof buildImage>>> = {};

  const put = (repo: string, set: PushSet) => {
    for (const b of set.blobs) reg.putBlob(repo, blobOf(b));
    for (const m of set.manifests) reg.putManifest(repo, blobOf(m.bytes, m.mediaType), m.tag);
  };
  const at = (re: RegExp): Seen => {
    const s = log.find((x) => re.test(x.path));
    assert.ok(s, `no request matched ${re}: ${log.map((x) => x.path).join(', ')}`);
    return s;
  };

  before(async () => {
    reg = new MemoryRegistry();
    host = await reg.listen();
    reg.hook = async (_req, res, url) => {
      const s: Seen = { path: url.pathname, arrived: performance.now(), answered: Number.NaN };
      log.push(s);
      res.on('finish', () => {
        s.answered = performance.now();
      });
      if (corrupt?.test(url.pathname)) {
        const bytes = Buffer.from('{"not":"the config"}');
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
        res.end(bytes);
        return true;
      }
      if (slow?.test(url.pathname)) await new Promise((r) => setTimeout(r, DELAY));
      return false;
    };
    client = new RegistryClient({ credentials: async () => undefined });
    for (const name of ['signed', 'unsigned', 'other-key', 'notation']) {
      const img = await buildImage({
        platform: { os: 'linux', architecture: 'amd64' },
        layers: [[{ path: `app/${name}.txt`, content: `${name}\n` }]],
      });
      images[name] = img;
      const repo = `o/${name}`;
      reg.putBlob(repo, img.config);
      for (const l of img.layers) reg.putBlob(repo, l);
      reg.putManifest(repo, img.manifest, 'v1');
      const subject = {
        digest: img.manifest.digest,
        bytes: img.manifest.bytes,
        mediaType: img.manifest.mediaType,
      };
      if (name === 'signed' || name === 'other-key')
        put(
          repo,
          signImage({
            image: subject,
            dockerReference: `${host}/${repo}`,
            signer: name === 'signed' ? keyA : keyB,
            format: 'legacy',
          }).push,
        );
      if (name === 'notation') {
        // the tag-schema index (docker-registry 2.x has no referrers API; neither has this registry)
        const desc = {
          mediaType: img.manifest.mediaType,
          digest: img.manifest.digest,
          size: img.manifest.bytes.length,
        };
        const envelope = blobOf(
          signJws({ target: desc, signer: { key: pki.leaf.key, chain: pki.chain } }),
          NOTATION_JWS_MEDIA_TYPE,
        );
        const emptyConfig = blobOf(Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
        reg.putBlob(repo, envelope);
        reg.putBlob(repo, emptyConfig);
        const sig = blobOf(
          Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              artifactType: 'application/vnd.cncf.notary.signature',
              config: {
                mediaType: emptyConfig.mediaType,
                digest: emptyConfig.digest,
                size: emptyConfig.size,
              },
              layers: [{ mediaType: NOTATION_JWS_MEDIA_TYPE, digest: envelope.digest, size: envelope.size }],
              subject: desc,
            }),
          ),
          'application/vnd.oci.image.manifest.v1+json',
        );
        reg.putManifest(repo, sig);
        const index = blobOf(
          Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: 'application/vnd.oci.image.index.v1+json',
              manifests: [
                {
                  mediaType: sig.mediaType,
                  digest: sig.digest,
                  size: sig.size,
                  artifactType: 'application/vnd.cncf.notary.signature',
                },
              ],
            }),
          ),
          'application/vnd.oci.image.index.v1+json',
        );
        reg.putManifest(repo, index, img.manifest.digest.replace(':', '-'));
      }
    }
  });
  after(async () => {
    await client?.close();
    await reg?.close();
  });

  const cosign = (fetchImage = true) =>
    createCosignVerifier({ client, keys: [keyA.pem], requireTlog: false, fetchImage });
  const reset = (o: { slow?: RegExp; corrupt?: RegExp } = {}) => {
    log.length = 0;
    slow = o.slow;
    corrupt = o.corrupt;
  };
  const codes = (v: { problems: { code: string }[] }) => v.problems.map((p) => p.code);

  test('cosign: the config is asked for while the signature layer is still on its way', async () => {
    const img = images.signed!;
    const sigTag = `${img.manifest.digest.replace(':', '-')}.sig`;
    reset();
    assert.ok((await cosign().verify(`${host}/o/signed:v1`)).ok);
    // the .sig manifest's one layer: its digest is the one blob of the repository that is not the image's
    const sigManifest = at(new RegExp(`/manifests/${sigTag}$`));
    assert.ok(sigManifest);
    const own = new Set([img.config.digest, ...img.layers.map((l) => l.digest)]);
    const layer = log.find((s) => /\/blobs\//.test(s.path) && !own.has(s.path.split('/').pop() as Digest));
    assert.ok(layer, 'the signature layer was fetched');
    const layerPath = layer.path;
    reset({ slow: new RegExp(`${layerPath}$`) });
    const v = await cosign().verify(`${host}/o/signed:v1`);
    assert.ok(v.ok, JSON.stringify(v.problems));
    const config = at(new RegExp(`/blobs/${img.config.digest}$`));
    const sig = at(new RegExp(`${layerPath}$`));
    assert.ok(
      config.arrived < sig.answered - DELAY / 2,
      `the config was asked for ${(config.arrived - sig.answered).toFixed(0)} ms after the signature layer came: not overlapped`,
    );
  });

  test('the tag-schema fallback is asked beside the referrers API, not after its 404', async () => {
    const img = images.signed!;
    const schemaTag = img.manifest.digest.replace(':', '-');
    reset({ slow: /\/referrers\// });
    assert.ok((await cosign().verify(`${host}/o/signed:v1`)).ok);
    const api = at(/\/referrers\//);
    const fallback = at(new RegExp(`/manifests/${schemaTag}$`));
    assert.ok(
      fallback.arrived < api.answered - DELAY / 2,
      `the tag-schema index was asked ${(fallback.arrived - api.answered).toFixed(0)} ms after the referrers answer`,
    );
  });

  test('Notation: found through the tag-schema index, its config asked beside the search', async () => {
    const img = images.notation!;
    const v = createNotationVerifier({
      client,
      trustPolicy: {
        version: '1.0',
        trustPolicies: [
          {
            name: 't',
            registryScopes: ['*'],
            signatureVerification: { level: 'strict' },
            trustStores: ['ca:t'],
            trustedIdentities: ['*'],
          },
        ],
      },
      trustStores: [
        trustStoreFromFiles('ca', 't', [{ path: 'ca.pem', bytes: Buffer.from(pemOf(pki.root.der)) }]),
      ],
    });
    reset({ slow: /\/referrers\// });
    const ok = await v.verify(`${host}/o/notation:v1`);
    assert.ok(ok.ok, JSON.stringify(ok.problems));
    const api = at(/\/referrers\//);
    const config = at(new RegExp(`/blobs/${img.config.digest}$`));
    const fallback = at(new RegExp(`/manifests/${img.manifest.digest.replace(':', '-')}$`));
    assert.ok(fallback.arrived < api.answered - DELAY / 2, 'the fallback waited for the referrers 404');
    assert.ok(config.arrived < api.answered - DELAY / 2, 'the config waited for the signature search');
  });

  test('an unsigned image is SIGNATURE_NOT_FOUND, even when its config (fetched early) is broken', async () => {
    const img = images.unsigned!;
    reset();
    const plain = await cosign().verify(`${host}/o/unsigned:v1`);
    assert.deepEqual(codes(plain), ['SIGNATURE_NOT_FOUND']);
    reset({ corrupt: new RegExp(`/blobs/${img.config.digest}$`) });
    const broken = await cosign().verify(`${host}/o/unsigned:v1`);
    assert.deepEqual(codes(broken), ['SIGNATURE_NOT_FOUND'], 'the early walk spoke for an unsigned image');
    assert.equal(broken.ok, false);
    // the refusal does not wait for the walk: a config held back is cancelled, not awaited
    reset({ slow: new RegExp(`/blobs/${img.config.digest}$`) });
    const t = performance.now();
    const slowly = await cosign().verify(`${host}/o/unsigned:v1`);
    const ms = performance.now() - t;
    assert.deepEqual(codes(slowly), ['SIGNATURE_NOT_FOUND']);
    assert.ok(ms < DELAY * 0.8, `the refusal took ${ms.toFixed(0)} ms: it waited for the config`);
  });

  test('a wrongly signed image fails as it does without the image fetch; a signed one with a bad config fails as the walk does', async () => {
    const wrong = await cosign().verify(`${host}/o/other-key:v1`);
    const wrongNoFetch = await cosign(false).verify(`${host}/o/other-key:v1`);
    assert.equal(wrong.ok, false);
    assert.deepEqual(codes(wrong), codes(wrongNoFetch));
    assert.ok(!codes(wrong).includes('DIGEST_MISMATCH'));
    // a good signature over an image whose config the registry corrupts: the walk's own failure, as before
    const img = images.signed!;
    reset({ corrupt: new RegExp(`/blobs/${img.config.digest}$`) });
    const v = await cosign().verify(`${host}/o/signed:v1`);
    assert.equal(v.ok, false, 'a corrupt config passed');
    const walkCode = await walkImage(
      new RegistrySource({ registry: host, repository: 'o/signed', tag: 'v1' }, client),
      {
        configs: true,
      },
    ).then(
      () => 'none',
      (e: unknown) => (isTrustpinError(e) ? e.code : String(e)),
    );
    assert.notEqual(walkCode, 'none');
    assert.deepEqual(codes(v), [walkCode]);
  });

  test('a policy evaluation reads the image manifest once; bytes handed to a verifier are checked', async () => {
    const img = images.signed!;
    const dir = mkdtempSync(join(tmpdir(), 'tp-overlap-'));
    writeFileSync(join(dir, 'a.pub'), keyA.pem);
    writeFileSync(
      join(dir, 'p.yaml'),
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny }
trustRoots:
  team: { publicKey: ${JSON.stringify(join(dir, 'a.pub'))} }
rules:
  - name: signed
    scope: ${JSON.stringify(`${host}/o/**`)}
    require: [ { cosign: { trustRoot: team, tlog: optional } } ]
`,
    );
    reset();
    const r = await evaluate(loadPolicy(join(dir, 'p.yaml')), [`${host}/o/signed:v1`], { client, home: dir });
    assert.equal(r.verdicts[0]!.outcome, 'pass', JSON.stringify(r.verdicts[0]!.problems));
    const top = log.filter(
      (s) => s.path === '/v2/o/signed/manifests/v1' || s.path.endsWith(`/manifests/${img.manifest.digest}`),
    );
    assert.deepEqual(
      top.map((s) => s.path),
      ['/v2/o/signed/manifests/v1'],
      'the image manifest was fetched again by digest',
    );
    // the round trips of one new digest, each needed once: the tag, the config, the referrers API and its
    // tag-schema fallback (no API here), the .sig manifest and its layer — no HEAD first, no token, no repeat
    const hex = img.manifest.digest.slice('sha256:'.length);
    const paths = log.map((s) => s.path.replace(/\/blobs\/sha256:[0-9a-f]{64}$/, '/blobs/*'));
    assert.deepEqual([...paths].sort(), [
      '/v2/o/signed/blobs/*',
      '/v2/o/signed/blobs/*',
      '/v2/o/signed/manifests/sha256-' + hex,
      `/v2/o/signed/manifests/sha256-${hex}.sig`,
      '/v2/o/signed/manifests/v1',
      `/v2/o/signed/referrers/sha256:${hex}`,
    ]);
    // handed bytes are not trusted: another image's manifest under this digest is refused as the registry's would be
    const other = images.unsigned!;
    const v = await cosign().verify(`${host}/o/signed@${img.manifest.digest}`, {
      manifest: { bytes: other.manifest.bytes, contentType: other.manifest.mediaType },
    });
    assert.equal(v.ok, false, 'foreign manifest bytes were accepted');
    assert.deepEqual(codes(v), ['DIGEST_MISMATCH']);
  });

  test('a policy evaluation of a reference by digest searches for signatures while the manifest is on its way', async () => {
    const img = images.signed!;
    const dir = mkdtempSync(join(tmpdir(), 'tp-overlap-'));
    writeFileSync(join(dir, 'a.pub'), keyA.pem);
    writeFileSync(
      join(dir, 'p.yaml'),
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny }
trustRoots:
  team: { publicKey: ${JSON.stringify(join(dir, 'a.pub'))} }
rules:
  - name: signed
    scope: ${JSON.stringify(`${host}/o/**`)}
    require: [ { cosign: { trustRoot: team, tlog: optional } } ]
`,
    );
    const policy = loadPolicy(join(dir, 'p.yaml'));
    const judge = async (ref: string) => (await evaluate(policy, [ref], { client, home: dir })).verdicts[0]!;
    const top = new RegExp(`/manifests/${img.manifest.digest}$`);
    reset({ slow: top });
    const ok = await judge(`${host}/o/signed@${img.manifest.digest}`);
    assert.equal(ok.outcome, 'pass', JSON.stringify(ok.problems));
    const manifest = at(top);
    const sig = at(new RegExp(`/manifests/${img.manifest.digest.replace(':', '-')}\\.sig$`));
    assert.ok(sig.arrived < manifest.answered - DELAY / 2, 'the signature search waited for the manifest');
    assert.equal(log.filter((s) => top.test(s.path)).length, 1, 'the manifest was fetched twice');
    // the registry serves other bytes for the digest, or lacks it: the resolution's failure is the verdict, as a
    // reference by tag's would be — the signature found meanwhile counts for nothing
    for (const [corruptIt, ref] of [
      [true, `${host}/o/signed@${img.manifest.digest}`],
      [false, `${host}/o/signed@sha256:${'0'.repeat(64)}`],
    ] as const) {
      reset({ corrupt: corruptIt ? top : undefined });
      const resolved = await new RegistrySource(
        { registry: host, repository: 'o/signed', digest: ref.split('@')[1] as Digest },
        client,
      )
        .resolve()
        .then(
          () => 'resolved',
          (e: unknown) => (isTrustpinError(e) ? e.code : String(e)),
        );
      assert.notEqual(resolved, 'resolved');
      const v = await judge(ref);
      assert.equal(v.ok, false, `${ref} passed`);
      assert.deepEqual(codes(v), [resolved]);
      assert.deepEqual(v.requirements, [], 'requirement results of an unresolved image were reported');
    }
  });
});

describe('DCT: the tag is asked beside the trust update, and its bytes stand for the signed manifest', () => {
  test('one manifest request when the tag serves the signed digest; TAG_MOVED still when it does not', async () => {
    const reg = new MemoryRegistry();
    const host = await reg.listen();
    const gun = `${host}/o/dct`;
    const [signed, moved] = await Promise.all(
      ['dct-signed', 'dct-moved'].map((seed) =>
        buildImage({
          platform: { os: 'linux', architecture: 'amd64' },
          layers: [[{ path: `app/${seed}.txt`, content: `${seed}\n` }]],
        }),
      ),
    );
    for (const img of [signed!, moved!]) {
      reg.putBlob('o/dct', img.config);
      for (const l of img.layers) reg.putBlob('o/dct', l);
      reg.putManifest('o/dct', img.manifest);
    }
    reg.putManifest('o/dct', signed!.manifest, '1.0');
    const pub = new DctPublisher(gun).sign('1.0', signed!.manifest.digest, signed!.manifest.size);
    const srv = await HostileNotary.start(gun, pub.publisher.publish());
    const home = mkdtempSync(join(tmpdir(), 'tp-dct-overlap-'));
    const log: { path: string; arrived: number }[] = [];
    reg.hook = (_req, _res, url) => {
      log.push({ path: url.pathname, arrived: performance.now() });
      return false;
    };
    try {
      const v = createDctVerifier({ home, trustServer: srv.url, trustCa: srv.caPem, env: {} });
      const first = await v.verify(`${gun}:1.0`);
      assert.ok(first.ok, JSON.stringify(first.problems));
      log.length = 0;
      const again = await v.verify(`${gun}:1.0`);
      assert.ok(again.ok, JSON.stringify(again.problems));
      const manifests = log.filter((s) => s.path.includes('/manifests/')).map((s) => s.path);
      assert.deepEqual(
        manifests,
        ['/v2/o/dct/manifests/1.0'],
        'the signed manifest was fetched again by digest',
      );
      assert.ok(
        log.some((s) => s.path === `/v2/o/dct/blobs/${signed!.config.digest}`),
        'the config was verified',
      );
      // the tag moved: its bytes are not the signed manifest, which is fetched by digest and verified, then TAG_MOVED
      reg.putManifest('o/dct', moved!.manifest, '1.0');
      log.length = 0;
      const m = await v.verify(`${gun}:1.0`);
      assert.equal(m.ok, false);
      assert.deepEqual(
        m.problems.map((p) => p.code),
        ['TAG_MOVED'],
      );
      assert.ok(log.some((s) => s.path === `/v2/o/dct/manifests/${signed!.manifest.digest}`));
    } finally {
      await srv.close();
      await reg.close();
    }
  });
});
