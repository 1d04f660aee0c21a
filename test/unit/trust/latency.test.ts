// Issue 17 (in-process latency): the caches of parsed trust material are keyed on the exact bytes and keep only
// successes, and the signature search asks every place at once while reporting in a fixed order and failing as
// the one-after-another search did.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Digest } from '../../../src/digest/index.js';
import { isTrustpinError, TrustpinError } from '../../../src/errors/index.js';
import { buildCert, DctPublisher, p256 } from '../../../src/testing/index.js';
import type { AttachmentStore } from '../../../src/trust/attachments/index.js';
import { discoverArtifacts, loadPublicKey, loadTrustedRoot } from '../../../src/trust/cosign/index.js';
import { canonicalKeyId, keyId, type TufKey } from '../../../src/trust/dct/index.js';
import { certChain, publicKey, verifySignature } from '../../../src/trust/dct/keys.js';
import { parseEnvelope } from '../../../src/trust/dct/metadata.js';
import { TrustStore } from '../../../src/trust/dct/store.js';
import { createDctVerifier } from '../../../src/trust/index.js';
import { parseCertificate, validateChain } from '../../../src/trust/notation/x509.js';
import { notationPki } from '../../harness/notation.js';
import { makeTempDir, removeDir } from '../../harness/processes.js';
import { HostileNotary } from '../../hostile-notary/server.js';

const spki = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
  k.export({ type: 'spki', format: 'der' });
const pemOf = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
  k.export({ type: 'spki', format: 'pem' }) as string;

function trustedRoot(key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey) {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'https://rekor.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: spki(key).toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: '2021-01-01T00:00:00Z' },
        },
        logId: { keyId: Buffer.alloc(32, 1).toString('base64') },
      },
    ],
  };
}

describe('cosign trust material is loaded once per content', () => {
  test('the same bytes give the same loaded root; other bytes or another name give another', () => {
    const doc = trustedRoot();
    const bytes = Buffer.from(JSON.stringify(doc));
    const a = loadTrustedRoot(bytes, 'root.json');
    assert.equal(loadTrustedRoot(Buffer.from(bytes), 'root.json'), a, 'a copy of the same bytes');
    assert.equal(loadTrustedRoot(bytes.toString('utf8'), 'root.json'), a, 'the same text');
    const other = loadTrustedRoot(Buffer.from(JSON.stringify(trustedRoot())), 'root.json');
    assert.notEqual(other, a);
    assert.notEqual(other.material, a.material);
    const renamed = loadTrustedRoot(bytes, 'elsewhere.json');
    assert.notEqual(renamed, a);
    assert.equal(renamed.source, 'elsewhere.json');
  });

  test('a root refused once is refused again, even after a good root of the same name was loaded', () => {
    const good = trustedRoot();
    loadTrustedRoot(Buffer.from(JSON.stringify(good)), 'root.json');
    const bad = structuredClone(good) as { tlogs: { publicKey: { validFor?: unknown } }[] };
    delete bad.tlogs[0]!.publicKey.validFor;
    for (let i = 0; i < 2; i++)
      assert.throws(
        () => loadTrustedRoot(Buffer.from(JSON.stringify(bad)), 'root.json'),
        (e: unknown) => isTrustpinError(e) && e.code === 'TRUSTED_ROOT_INVALID',
      );
  });

  test('public keys: the same PEM gives the same key object, another PEM its own key ID; refusals repeat', () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const k2 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const a = loadPublicKey(pemOf(k1), 'a.pub');
    const again = loadPublicKey(pemOf(k1), 'b.pub');
    assert.equal(again.key, a.key);
    assert.equal(again.keyId, a.keyId);
    assert.equal(
      loadPublicKey(Buffer.from(pemOf(k1)), 'b.pub').keyId,
      a.keyId,
      'the file bytes of that text',
    );
    const b = loadPublicKey(pemOf(k2), 'a.pub');
    assert.notEqual(b.keyId, a.keyId);
    assert.ok(b.key.equals(k2) && a.key.equals(k1));
    // the caller's copy is its own: changing it does not change what the next caller gets
    (again as { keyId: string }).keyId = 'changed';
    assert.equal(loadPublicKey(pemOf(k1), 'a.pub').keyId, a.keyId);
    const broken = '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n';
    for (let i = 0; i < 2; i++)
      assert.throws(
        () => loadPublicKey(broken, 'x.pub'),
        (e: unknown) => isTrustpinError(e) && e.code === 'USAGE',
      );
  });
});

describe('DCT keys are parsed once per content', () => {
  const ecKey = (): TufKey => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    return { keytype: 'ecdsa', keyval: { public: spki(k).toString('base64') } };
  };

  test('the same key content gives the same key object; other content its own', () => {
    const k = ecKey();
    const a = publicKey(k);
    assert.equal(publicKey({ keytype: k.keytype, keyval: { ...k.keyval } }), a);
    const o = ecKey();
    const b = publicKey(o);
    assert.notEqual(b, a);
    assert.ok(!a.equals(b));
    // the same bytes under another key type are another key (and here not a usable one)
    assert.throws(
      () => publicKey({ keytype: 'ed25519', keyval: k.keyval }),
      (e: unknown) => e instanceof TrustpinError && e.code === 'TUF_METADATA_INVALID',
    );
  });

  test('a signature that verified once vouches for exactly that key, method, signature and message', () => {
    const { publicKey: pub, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const k: TufKey = { keytype: 'ecdsa', keyval: { public: spki(pub).toString('base64') } };
    const msg = Buffer.from('{"signed":"canonical bytes"}');
    const sig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64');
    assert.equal(verifySignature(k, 'ecdsa', msg, sig), true);
    assert.equal(verifySignature(k, 'ecdsa', Buffer.from(msg), sig), true);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const flipped = Buffer.from(sig, 'base64');
    flipped[5]! ^= 1;
    for (let i = 0; i < 2; i++) {
      assert.equal(verifySignature(k, 'ecdsa', Buffer.from('{"signed":"other bytes"}'), sig), false);
      assert.equal(verifySignature(k, 'ecdsa', msg, flipped.toString('base64')), false);
      assert.equal(verifySignature(k, 'rsapss', msg, sig), false, 'the method is part of the answer');
      assert.equal(
        verifySignature(
          { keytype: 'ecdsa', keyval: { public: spki(other).toString('base64') } },
          'ecdsa',
          msg,
          sig,
        ),
        false,
      );
    }
  });

  test('a key that does not parse is refused every time, and a good one after it still parses', () => {
    const bad: TufKey = { keytype: 'ed25519', keyval: { public: Buffer.alloc(31).toString('base64') } };
    for (let i = 0; i < 2; i++)
      assert.throws(
        () => publicKey(bad),
        (e: unknown) => e instanceof TrustpinError && e.code === 'TUF_METADATA_INVALID',
      );
    const good: TufKey = { keytype: 'ed25519', keyval: { public: Buffer.alloc(32, 7).toString('base64') } };
    assert.equal(publicKey(good).asymmetricKeyType, 'ed25519');
  });

  test('x509 keys: the canonical ID is the bare key’s ID, per certificate; the chain handed out is a copy', () => {
    const certKey = (): TufKey => {
      const { privateKey, publicKey: pub } = p256();
      const now = Date.now();
      const c = buildCert({
        subjectCn: 'a/b',
        publicKey: pub,
        selfKey: privateKey,
        notBefore: now - 1000,
        notAfter: now + 1e9,
      });
      const b64 = c.der
        .toString('base64')
        .match(/.{1,64}/g)!
        .join('\n');
      const pem = `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
      return { keytype: 'ecdsa-x509', keyval: { public: Buffer.from(pem).toString('base64') } };
    };
    const x1 = certKey();
    const x2 = certKey();
    const bare = (x: TufKey) =>
      keyId({
        keytype: 'ecdsa',
        keyval: {
          public: certChain(x)[0]!.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        },
      });
    assert.equal(canonicalKeyId(x1), bare(x1));
    assert.equal(canonicalKeyId(x1), canonicalKeyId({ keytype: x1.keytype, keyval: { ...x1.keyval } }));
    assert.equal(canonicalKeyId(x2), bare(x2));
    assert.notEqual(canonicalKeyId(x1), canonicalKeyId(x2));
    const chain = certChain(x1);
    chain.length = 0;
    assert.equal(certChain(x1).length, 1);
  });
});

describe('DCT documents are parsed once per content', () => {
  const timestamp = (version: number, extra = '') =>
    Buffer.from(
      `{"signed":{"_type":"Timestamp","version":${version},"expires":"2099-01-01T00:00:00Z","meta":{"snapshot":{"length":10,"hashes":{"sha256":"${'a'.repeat(64)}"}}}${extra}},"signatures":[{"keyid":"k","method":"ecdsa","sig":"c2ln"}]}`,
    );

  test('the same bytes give the same frozen document, with the caller’s own bytes as raw', () => {
    const a = timestamp(3);
    const first = parseEnvelope<{ version: number }>('timestamp', a);
    const copy = Buffer.from(a);
    const again = parseEnvelope<{ version: number }>('timestamp', copy);
    assert.equal(again.signed, first.signed);
    assert.equal(again.raw, copy);
    assert.ok(Object.isFrozen(again.signed) && Object.isFrozen(again.signatures));
    assert.throws(() => {
      (again.signed as { version: number }).version = 99;
    }, TypeError);
    assert.equal(parseEnvelope<{ version: number }>('timestamp', a).signed.version, 3);
  });

  test('other bytes are parsed anew; the role is part of the key; refusals repeat', () => {
    assert.equal(parseEnvelope<{ version: number }>('timestamp', timestamp(4)).signed.version, 4);
    assert.notEqual(
      parseEnvelope('timestamp', timestamp(4)).canonical.toString(),
      parseEnvelope('timestamp', timestamp(5)).canonical.toString(),
    );
    // the same bytes for another role are judged for that role: a timestamp is no snapshot
    parseEnvelope('timestamp', timestamp(6));
    for (let i = 0; i < 2; i++)
      assert.throws(
        () => parseEnvelope('snapshot', timestamp(6)),
        (e: unknown) => isTrustpinError(e) && e.code === 'TUF_METADATA_INVALID',
      );
    // a duplicate key (strict JSON) is refused every time
    for (let i = 0; i < 2; i++)
      assert.throws(
        () => parseEnvelope('timestamp', timestamp(7, ',"version":8')),
        (e: unknown) => isTrustpinError(e),
      );
  });
});

describe('the DCT trust store lock, taken by many callers of one process', () => {
  test('they take turns without polling: each gets it as soon as the one before let go, errors included', async () => {
    const home = await makeTempDir('tp-lock-queue');
    try {
      const spans: { gun: string; start: number; end: number }[] = [];
      const hold =
        (gun: string, ms: number, fail = false) =>
        async () => {
          const start = performance.now();
          await new Promise((r) => setTimeout(r, ms));
          spans.push({ gun, start, end: performance.now() });
          if (fail) throw new Error('the first holder failed');
        };
      // two stores over one home, as two verifiers made by two evaluations are
      const [a, b] = [new TrustStore(home), new TrustStore(home)];
      const app = 'r.example/app';
      const got = await Promise.allSettled([
        a.withLock(app, hold(app, 20, true)),
        b.withLock(app, hold(app, 20)),
        a.withLock(app, hold(app, 20)),
        b.withLock('r.example/other', hold('other', 20)),
      ]);
      assert.deepEqual(
        got.map((g) => g.status),
        ['rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
      );
      const queued = spans.filter((x) => x.gun === app).sort((x, y) => x.start - y.start);
      const other = spans.find((x) => x.gun === 'other')!;
      assert.ok(other.start < queued[0]!.end, 'another repository waited for this one');
      // the holders of one lock never overlap, and each follows the last within a few milliseconds (the file
      // lock's waiter polls every 50 ms: a queue left to the file lock would wait about that long)
      for (let k = 1; k < queued.length; k++) {
        assert.ok(queued[k]!.start >= queued[k - 1]!.end - 0.5, 'two holders of one lock overlapped');
        assert.ok(
          queued[k]!.start - queued[k - 1]!.end < 30,
          `waited ${(queued[k]!.start - queued[k - 1]!.end).toFixed(1)} ms for a lock let go`,
        );
      }
    } finally {
      await removeDir(home);
    }
  });
});

describe('DCT updates outside the store lock', () => {
  /** A store whose next load() answers what it held earlier: the caller read it before another one saved. */
  class StaleOnce extends TrustStore {
    stale: Map<string, Buffer> | undefined;
    locks = 0;
    override load(gun: string): Map<string, Buffer> {
      const s = this.stale;
      this.stale = undefined;
      return s ?? super.load(gun);
    }
    override withLock<T>(gun: string, fn: () => Promise<T>): Promise<T> {
      this.locks++;
      return super.withLock(gun, fn);
    }
  }

  test('an unchanged update takes no lock; one judged against a stale cache never overwrites newer trust', async () => {
    const gun = '127.0.0.1:5999/demo/lockfree';
    const pub = new DctPublisher(gun).sign('1.0', `sha256:${'1'.repeat(64)}`, 100);
    pub.publisher.publish();
    const v2 = pub.publisher.bump('targets').publish();
    const v3 = pub.publisher.bump('targets').publish();
    const srv = await HostileNotary.start(gun, v2);
    const [home, home2] = [await makeTempDir('tp-lockfree'), await makeTempDir('tp-lockfree')];
    try {
      const verifier = (store: TrustStore) =>
        createDctVerifier({ store, trustServer: srv.url, trustCa: srv.caPem, fetchImage: false, env: {} });
      const ok = (v: { ok: boolean; problems: unknown[] }) => assert.ok(v.ok, JSON.stringify(v.problems));
      // what a caller that read the store at v2 holds
      const older = new TrustStore(home2);
      ok(await verifier(older).verify(`${gun}:1.0`));
      const atV2 = older.load(gun);
      srv.files = v3;
      const store = new StaleOnce(home);
      const v = verifier(store);
      ok(await v.verify(`${gun}:1.0`));
      assert.equal(store.locks, 1, 'the first use saved under the lock');
      const atV3 = store.load(gun);
      ok(await v.verify(`${gun}:1.0`));
      ok(await v.verify(`${gun}:1.0`));
      assert.equal(store.locks, 1, 'a verification whose documents did not change took the lock');
      // the server rolls back to v2; a caller whose read of the store predates the save of v3 judges v2 fine —
      // and must not save it over v3: under the lock the store is seen to have changed and v2 judged again
      srv.files = v2;
      store.stale = atV2;
      const rolled = await v.verify(`${gun}:1.0`);
      assert.equal(rolled.ok, false, 'a rollback passed against a stale cache');
      assert.equal(rolled.problems[0]?.code, 'TUF_ROLLBACK');
      const now = store.load(gun);
      assert.equal(now.size, atV3.size);
      for (const [n, b] of atV3) assert.ok(now.get(n)?.equals(b), `${n} was replaced by an older one`);
    } finally {
      await srv.close();
      await Promise.all([removeDir(home), removeDir(home2)]);
    }
  });
});

describe('Notation chain links are verified once per pair of certificates', () => {
  test('a chain that validated does not vouch for a forged one with the same names', () => {
    const good = notationPki();
    const other = notationPki(); // the same subject names, other keys
    const parse = (ders: Buffer[]) => ders.map((d, i) => parseCertificate(d, `cert ${i}`));
    const chain = parse(good.chain);
    const verify = X509Certificate.prototype.verify;
    let calls = 0;
    X509Certificate.prototype.verify = function (this: X509Certificate, k) {
      calls++;
      return verify.call(this, k);
    };
    try {
      validateChain(chain, 'codeSigning');
      assert.ok(calls > 0);
      calls = 0;
      validateChain(chain, 'codeSigning');
      assert.equal(calls, 0, 'the links of a chain that validated were verified again');
    } finally {
      X509Certificate.prototype.verify = verify;
    }
    // the other leaf names the good intermediate as its issuer but was signed by another key
    const forged = parse([other.chain[0]!, ...good.chain.slice(1)]);
    assert.equal(forged[0]!.issuer, chain[0]!.issuer);
    for (let i = 0; i < 2; i++)
      assert.throws(
        () => validateChain(forged, 'codeSigning'),
        (e: unknown) =>
          isTrustpinError(e) && e.code === 'CERTIFICATE_INVALID' && /not issued by/.test(e.message),
      );
    validateChain(parse(other.chain), 'codeSigning');
  });
});

describe('the cosign signature search asks every place at once', () => {
  const digest = `sha256:${'ab'.repeat(32)}` as Digest;

  /** A store with nothing attached whose every answer takes `ms`; counts calls in flight; `fail` names a tag. */
  function slowStore(ms: number, fail?: { tag: string; error: Error; afterMs?: number }) {
    let inFlight = 0;
    const seen = { maxInFlight: 0, settled: 0 };
    const wait = (t: number) => new Promise((r) => setTimeout(r, t));
    const call = async <T>(f: () => T, t = ms): Promise<T> => {
      inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, inFlight);
      try {
        await wait(t);
        return f();
      } finally {
        inFlight--;
        seen.settled++;
      }
    };
    const store: AttachmentStore = {
      where: 'fake/repo',
      resolveTag: (tag) =>
        call(
          () => {
            if (fail && tag === fail.tag) throw fail.error;
            return undefined;
          },
          fail && tag === fail.tag ? (fail.afterMs ?? ms) : ms,
        ),
      referrers: () =>
        call(() => ({
          supported: true as const,
          descriptors: [],
          truncated: false,
          serverFiltered: true,
          pages: 1,
        })),
      manifest: () => Promise.reject(new Error('not called')),
      blob: () => Promise.reject(new Error('not called')),
    };
    return { store, seen };
  }

  test('referrers, .sig and .att are asked at once; the record keeps that order', async () => {
    const { store, seen } = slowStore(40);
    const t = performance.now();
    const found = await discoverArtifacts(store, digest, { kinds: ['signatures', 'attestations'] });
    const ms = performance.now() - t;
    assert.equal(seen.maxInFlight, 3, 'the three places in flight together');
    assert.ok(ms < 3 * 40, `took ${ms.toFixed(0)} ms: the searches ran one after another`);
    assert.deepEqual(
      found.searched.map((r) => r.where),
      [
        'fake/repo referrers API',
        `fake/repo:${digest.replace(':', '-')}.sig`,
        `fake/repo:${digest.replace(':', '-')}.att`,
      ],
    );
    assert.deepEqual(found.artifacts, []);
  });

  test('a failing place fails the search with its error, after every other search ended', async () => {
    const tag = `${digest.replace(':', '-')}.sig`;
    const error = new TrustpinError('NETWORK_ERROR', 'the registry went away');
    const { store, seen } = slowStore(60, { tag, error, afterMs: 5 });
    await assert.rejects(discoverArtifacts(store, digest), (e: unknown) => e === error);
    assert.equal(seen.settled, 2, 'the referrers search had ended too: nothing left running');
  });

  test('the first failure in the fixed order is the one thrown, whichever came first', async () => {
    const first = new TrustpinError('NETWORK_ERROR', 'referrers failed (slowly)');
    const second = new TrustpinError('NETWORK_ERROR', 'sig failed (fast)');
    const store: AttachmentStore = {
      where: 'fake/repo',
      resolveTag: () => Promise.reject(second),
      referrers: () => new Promise((_, rej) => setTimeout(() => rej(first), 30)),
      manifest: () => Promise.reject(new Error('not called')),
      blob: () => Promise.reject(new Error('not called')),
    };
    await assert.rejects(discoverArtifacts(store, digest), (e: unknown) => e === first);
  });
});
