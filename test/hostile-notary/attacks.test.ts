// Attacks on the Notary v1 client by a hostile server: each serves well-formed, validly encoded metadata that
// must still be refused with a named error code (TUF threat model: freeze, rollback, mix-and-match, endless data…).
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TrustpinError } from '../../src/errors/index.js';
import { canonical, DAY, ecdsaKey, flipSignature, Publisher } from '../../src/testing/index.js';
import { FileSet } from '../../src/trust/dct/source.js';
import { resolveTag } from '../../src/trust/dct/targets.js';
import { type TrustedRepo, type UpdateOptions, updateTrust } from '../../src/trust/dct/updater.js';
import { endless, HostileNotary, type Streamed } from './server.js';

const GUN = 'registry.example.com/acme/app';
const T0 = Date.UTC(2026, 0, 1);
const MANIFEST = { digest: 'ab'.repeat(32), length: 1234 };

function publisher(o: ConstructorParameters<typeof Publisher>[1] = { now: T0 }): Publisher {
  return new Publisher(GUN, o).addTarget('targets', 'latest', MANIFEST);
}

async function rejects(p: Promise<unknown> | (() => unknown), code: string): Promise<TrustpinError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof TrustpinError, `expected a TrustpinError, got ${String(e)}`);
    assert.equal(e.code, code, `${e.code}: ${e.message} | found: ${e.found}`);
    return e;
  }
  return assert.fail(`expected ${code}, but it passed`);
}

describe('hostile notary server', () => {
  let srv: HostileNotary;
  const update = (o: Partial<UpdateOptions> = {}): Promise<TrustedRepo> =>
    updateTrust({ gun: GUN, source: srv.source(), now: T0 + DAY, ...o });

  before(async () => {
    srv = await HostileNotary.start(GUN);
  });
  after(() => srv.close());
  beforeEach(() => {
    srv.hook = undefined;
  });

  it('control: an honest repository verifies over HTTPS with a verified CA', async () => {
    srv.files = publisher().publish();
    const from = srv.requests.length;
    const repo = await update();
    assert.equal(repo.pinnedBy, 'first-use');
    assert.equal(resolveTag(repo, 'latest').digest, `sha256:${MANIFEST.digest}`);
    // timestamp, snapshot and targets are asked for at once, the latter two by name (checked against the hashes
    // their parents sign): the first-use update needs no by-hash round trip
    const asked = srv.requests.slice(from);
    assert.ok(asked.some((p) => /_trust\/tuf\/snapshot\.json$/.test(p)));
    assert.ok(
      !asked.some((p) => /_trust\/tuf\/(snapshot|targets)\.[0-9a-f]{64}\.json$/.test(p)),
      asked.join(' '),
    );
  });

  it('a current snapshot or targets by name that is not the one its parent signed is fetched again by hash', async () => {
    const pub = publisher();
    const files = pub.publish();
    const other = pub.bump('targets').publish().get('targets.json')!;
    srv.files = new Map(files).set('targets.json', other);
    const from = srv.requests.length;
    const repo = await update();
    assert.equal(resolveTag(repo, 'latest').digest, `sha256:${MANIFEST.digest}`);
    assert.ok(
      srv.requests.slice(from).some((p) => /_trust\/tuf\/targets\.[0-9a-f]{64}\.json$/.test(p)),
      'fetched by hash',
    );
  });

  it('a flipped signature byte → TUF_SIGNATURE_INVALID', async () => {
    const pub = publisher();
    pub.afterSign = (role, e) => role === 'targets' && flipSignature(e);
    srv.files = pub.publish();
    await rejects(update(), 'TUF_SIGNATURE_INVALID');
  });

  it('targets signed by a key root does not list → TUF_THRESHOLD_NOT_MET naming the key', async () => {
    const pub = publisher();
    const stranger = ecdsaKey();
    pub.signers.targets = [stranger];
    srv.files = pub.publish();
    const e = await rejects(update(), 'TUF_THRESHOLD_NOT_MET');
    assert.match(`${e.message} ${e.found}`, new RegExp(stranger.id.slice(0, 12)));
  });

  it('one signature where root demands two → TUF_THRESHOLD_NOT_MET', async () => {
    const pub = publisher();
    const [k1] = pub.keys.targets!;
    pub.keys.targets = [k1!, ecdsaKey()];
    pub.thresholds.targets = 2;
    pub.signers.targets = [k1!];
    srv.files = pub.publish();
    const e = await rejects(update(), 'TUF_THRESHOLD_NOT_MET');
    assert.match(e.expected ?? '', /^2 valid/);
    assert.match(e.found ?? '', /^1 valid/);
    // the same key twice is still one key
    pub.signers.targets = [k1!, k1!];
    srv.files = pub.bump('targets').publish();
    await rejects(update(), 'TUF_THRESHOLD_NOT_MET');
  });

  it('a DER-encoded ECDSA signature (valid in X.509, not in notary) → TUF_SIGNATURE_INVALID', async () => {
    const pub = publisher();
    pub.afterSign = (role, e) => {
      if (role !== 'timestamp') return;
      const der = sign('sha256', Buffer.from(canonical(e.signed)), pub.keys.timestamp![0]!.priv);
      e.signatures[0]!.sig = der.toString('base64');
    };
    srv.files = pub.publish();
    await rejects(update(), 'TUF_SIGNATURE_INVALID');
  });

  it("another repository's root (CN is not the GUN) → TUF_CERT_INVALID", async () => {
    srv.files = new Publisher('registry.example.com/acme/other', { now: T0 }).publish();
    const e = await rejects(update(), 'TUF_CERT_INVALID');
    assert.match(e.found ?? '', /CN is "registry\.example\.com\/acme\/other"/);
  });

  it('freeze: the server keeps serving an expired timestamp → TUF_EXPIRED', async () => {
    const pub = publisher();
    const frozen = pub.publish();
    pub.now = T0 + 20 * DAY;
    const fresh = pub.publish();
    assert.equal(pub.version('timestamp'), 2, 'the publisher re-signed its expired timestamp');
    srv.files = new Map(fresh).set('timestamp.json', frozen.get('timestamp.json')!);
    const e = await rejects(update({ now: T0 + 20 * DAY }), 'TUF_EXPIRED');
    assert.match(e.message, /^timestamp metadata v1 expired/);
    srv.files = fresh;
    await update({ now: T0 + 20 * DAY });
  });

  it('rollback: after caching v3, the server serves v2 → TUF_ROLLBACK', async () => {
    const pub = publisher();
    pub.publish();
    const v2 = pub.bump('targets').publish();
    const v3 = pub.bump('targets').publish();
    assert.deepEqual([pub.version('timestamp'), pub.version('snapshot'), pub.version('targets')], [3, 3, 3]);
    srv.files = v3;
    const first = await update();
    srv.files = v2;
    const e = await rejects(update({ cached: first.files }), 'TUF_ROLLBACK');
    assert.match(e.message, /from version 3 to 2/);
  });

  it('mix-and-match: another validly signed targets.json than the snapshot names → TUF_HASH_MISMATCH', async () => {
    const pub = publisher();
    const files = pub.publish();
    const signedHex = [...files.keys()].find((n) => /^targets\.[0-9a-f]{64}\.json$/.test(n))!;
    const other = pub.bump('targets').publish().get('targets.json')!;
    assert.equal(other.length, files.get('targets.json')!.length, 'same length: only the hash can tell');
    // by name and by hash: whichever trustpin asks for, it gets the other document
    srv.files = new Map(files).set(signedHex, other).set('targets.json', other);
    const e = await rejects(update(), 'TUF_HASH_MISMATCH');
    assert.match(e.message, /targets is not the file snapshot signed \(sha256\)/);
  });

  it('endless data: megabytes for an 890-byte-ish snapshot → SIZE_EXCEEDED, reading stops at once', async () => {
    const files = publisher().publish();
    srv.files = files;
    const total = 256 * 1024 * 1024;
    let stream: Streamed | undefined;
    srv.hook = (name, _req, res) => {
      if (!name.startsWith('snapshot.')) return false;
      stream = endless(res, total);
      return true;
    };
    const t = performance.now();
    const e = await rejects(update(), 'SIZE_EXCEEDED');
    const ms = performance.now() - t;
    assert.match(e.expected ?? '', new RegExp(`at most ${files.get('snapshot.json')!.length} bytes`));
    // the client must hang up rather than leave the stream stuck on backpressure
    await Promise.race([stream!.done, new Promise((r) => setTimeout(r, 2000))]);
    assert.ok(stream!.aborted, `the client did not close the connection (${stream!.sent} bytes sent)`);
    assert.ok(stream!.sent < total / 16, `the server got rid of ${stream!.sent} of ${total} bytes`);
    assert.ok(ms < 3000, `took ${ms} ms`);
  });

  it('endless data announced by Content-Length → SIZE_EXCEEDED before reading the body', async () => {
    srv.files = publisher().publish();
    srv.hook = (name, _req, res) => {
      if (!name.startsWith('snapshot.')) return false;
      res.writeHead(200, { 'content-length': 1 << 30 }).write(Buffer.alloc(1024));
      return true;
    };
    const e = await rejects(update(), 'SIZE_EXCEEDED');
    assert.match(e.found ?? '', /Content-Length/);
  });

  it('replaced root after first use (TOFU) → TUF_ROOT_CHANGED, also when the new root claims v2', async () => {
    srv.files = publisher().publish();
    const first = await update();
    const attacker = publisher();
    srv.files = attacker.publish();
    await rejects(update({ cached: first.files }), 'TUF_ROOT_CHANGED');
    srv.files = attacker.bump('root').publish();
    assert.equal(attacker.version('root'), 2);
    await rejects(update({ cached: first.files }), 'TUF_ROOT_CHANGED');
  });

  it('pinned root key of another key → ROOT_KEY_MISMATCH showing both IDs of the root key', async () => {
    const pub = publisher();
    srv.files = pub.publish();
    const e = await rejects(update({ pinnedRootKeys: [ecdsaKey().id] }), 'ROOT_KEY_MISMATCH');
    assert.notEqual(pub.rootKey.id, pub.rootKey.canonicalId);
    assert.ok(e.found?.includes(pub.rootKey.id), e.found);
    assert.ok(e.found?.includes(pub.rootKey.canonicalId), e.found);
    // both spellings of the right key are accepted as pins
    for (const pin of [pub.rootKey.id, pub.rootKey.canonicalId.slice(0, 12)]) {
      assert.equal((await update({ pinnedRootKeys: [pin] })).pinnedBy, 'pinned');
    }
  });

  it('valid root rotation (new root signed by old and new) passes, online and offline', async () => {
    const pub = publisher();
    srv.files = pub.publish();
    const first = await update();
    pub.rotateRoot();
    const rotated = pub.publish();
    assert.equal(pub.version('root'), 2);
    srv.files = rotated;
    const repo = await update({ cached: first.files });
    assert.equal(repo.rootRotatedFrom, 1);
    assert.equal(repo.root.signed.version, 2);
    assert.ok(repo.files.get('root.json')!.equals(rotated.get('2.root.json')!));
    const offline = await updateTrust({
      gun: GUN,
      source: new FileSet('rotated files', new Map([[GUN, rotated]])),
      now: T0 + DAY,
    });
    assert.equal(offline.rootRotatedFrom, 1);
  });

  it('a delegation signing a tag outside its paths → resolveTag throws TUF_DELEGATION_PATH', async () => {
    const pub = new Publisher(GUN, { now: T0 });
    pub.addDelegation('targets/releases', { paths: ['v1'] });
    pub.addTarget('targets/releases', 'latest', MANIFEST).addTarget('targets/releases', 'v1.2', MANIFEST);
    srv.files = pub.publish();
    const repo = await update();
    assert.equal(resolveTag(repo, 'v1.2').role, 'targets/releases');
    const e = await rejects(() => resolveTag(repo, 'latest'), 'TUF_DELEGATION_PATH');
    assert.match(e.message, /targets\/releases signed latest outside/);
  });

  it('expired root certificate → TUF_CERT_INVALID naming the expiry; fine as of a time before it', async () => {
    const notAfter = T0 + 30 * DAY;
    const pub = publisher({ now: T0, rootCert: { notAfter } });
    pub.expires.timestamp = T0 + 60 * DAY;
    srv.files = pub.publish();
    const e = await rejects(update({ now: T0 + 31 * DAY }), 'TUF_CERT_INVALID');
    assert.ok(e.found?.includes(`expired on ${new Date(notAfter).toISOString()}`), e.found);
    assert.match(e.hint ?? '', /option now/);
    await update({ now: T0 + DAY });
    await update({ now: T0 + 31 * DAY, allowExpiredRoot: true });
  });

  it('an expired delegation is skipped with a warning and its tag does not resolve', async () => {
    const pub = new Publisher(GUN, { now: T0 });
    pub.addDelegation('targets/releases');
    pub.addTarget('targets/releases', 'v2', MANIFEST);
    pub.expires['targets/releases'] = T0 + 2 * DAY;
    srv.files = pub.publish();
    assert.equal(resolveTag(await update(), 'v2').role, 'targets/releases');
    const repo = await update({ now: T0 + 3 * DAY });
    assert.equal(repo.delegations.length, 0);
    assert.match(repo.warnings.join('\n'), /skipped targets\/releases: .*expired/);
    await rejects(() => resolveTag(repo, 'v2'), 'TUF_TARGET_NOT_FOUND');
  });

  it('offline: a FileSet of the published files verifies with no connection to the server', async () => {
    const files = publisher().publish();
    const quiet = await HostileNotary.start(GUN, files);
    try {
      const repo = await updateTrust({
        gun: GUN,
        source: new FileSet('published files', new Map([[GUN, files]])),
        now: T0 + DAY,
      });
      assert.equal(resolveTag(repo, 'latest').digest, `sha256:${MANIFEST.digest}`);
      assert.equal(quiet.connections, 0);
      // the counter works: the same files over the network do connect
      await updateTrust({ gun: GUN, source: quiet.source(), now: T0 + DAY });
      assert.ok(quiet.connections > 0);
    } finally {
      await quiet.close();
    }
  });
});
