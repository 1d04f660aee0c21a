// Notary v1 models on external vectors: canonical JSON, key IDs, every signature method, the notary
// compatibility repositories (one of them time-dependent), and the docker trust samples.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { canonicalJson, parseStrictJson } from '../../../src/trust/dct/canonical.js';
import {
  canonicalKeyId,
  keyId,
  readKeyFile,
  type TufKey,
  verifySignature,
} from '../../../src/trust/dct/keys.js';
import { FileSet } from '../../../src/trust/dct/source.js';
import { updateTrust } from '../../../src/trust/dct/updater.js';
import { skipNoVectors, vector, vectorPath } from '../../vectors.js';

const COMPAT = 'notary/fixtures/compatibility/';

test('canonical JSON: bytewise key order, only \\ and " escaped, integers only', () => {
  const v = parseStrictJson(
    Buffer.from('{"b":1,"a":{"\\u00e9":"x\\ny","\\ud83d\\ude00":true,"\\ufb01":null},"c":[1,"\\"\\\\"]}'),
  );
  assert.equal(canonicalJson(v).toString(), '{"a":{"é":"x\ny","ﬁ":null,"😀":true},"b":1,"c":[1,"\\"\\\\"]}');
  assert.throws(
    () => canonicalJson({ a: 1.5 }),
    (e: unknown) => isTrustpinError(e, 'TUF_METADATA_INVALID'),
  );
});

test('strict parser rejects duplicate keys, invalid UTF-8, unsafe integers and trailing data', () => {
  for (const bad of ['{"a":1,"a":2}', '{"a":9007199254740993}', '{"a":1} x', '{"a":"\u0001"}']) {
    assert.throws(
      () => parseStrictJson(Buffer.from(bad)),
      (e: unknown) => isTrustpinError(e, 'TUF_METADATA_INVALID'),
      bad,
    );
  }
  assert.throws(
    () => parseStrictJson(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])),
    (e: unknown) => isTrustpinError(e, 'TUF_METADATA_INVALID'),
  );
});

test('webdis: nicolasff.pub (docker PEM with a role header) has key ID dd0768b9…', {
  skip: skipNoVectors,
}, () => {
  const k = readKeyFile(vector('webdis/nicolasff.pub').toString());
  assert.equal(keyId(k), 'dd0768b9d35d344bbd1681418d27052c4c896a59be214352448daa2b6925b95b');
});

test('notary verifier vectors: each method gives the expected result', { skip: skipNoVectors }, () => {
  const doc = JSON.parse(vector('notary/_derived/tuf-signed-verifier-vectors.json').toString()) as {
    vectors: {
      upstream_test: string;
      key: { keytype: string; keyval: { public?: string; public_pem?: string } };
      method: string;
      message_utf8: string;
      signature_hex: string;
      expected: string;
    }[];
  };
  for (const v of doc.vectors) {
    const pub = v.key.keyval.public ?? Buffer.from(v.key.keyval.public_pem!).toString('base64');
    const key: TufKey = { keytype: v.key.keytype, keyval: { public: pub, private: null } };
    let ok: boolean;
    try {
      ok = verifySignature(
        key,
        v.method,
        Buffer.from(v.message_utf8),
        Buffer.from(v.signature_hex, 'hex').toString('base64'),
      );
    } catch {
      ok = false;
    }
    assert.equal(ok, v.expected === 'pass', v.upstream_test);
  }
});

function fixture(dir: string, gun: string): FileSet {
  const files = new Map<string, Buffer>();
  for (const f of ['root.json', 'timestamp.json', 'snapshot.json', 'targets.json', 'targets/releases.json']) {
    try {
      files.set(f, readFileSync(vectorPath(`${dir}/${f}`)));
    } catch {}
  }
  return new FileSet(dir, new Map([[gun, files]]));
}

test('notary 0.1 compatibility repository verifies (TOFU), LICENSE target as expected', {
  skip: skipNoVectors,
}, async () => {
  const gun = 'docker.com/notary0.1/samplerepo';
  const repo = await updateTrust({
    gun,
    source: fixture(`${COMPAT}notary0.1/tuf/${gun}/metadata`, gun),
    now: Date.parse('2026-11-23T00:00:00Z'),
  });
  const lic = repo.targets.signed.targets.LICENSE!;
  assert.equal(
    Buffer.from(lic.hashes.sha256!, 'base64').toString('hex'),
    '9395bac6fccb26bcb55efb083d1b4b0fe72a1c25f959f056c016120b3bb56a62',
  );
  assert.equal(lic.length, 11309);
  assert.deepEqual(repo.root.signed.roles.root.keyids, [
    '4ff57dc987163053a12c066f2dd36b1ae6037a92f5416d381fe311a3db1868d8',
  ]);
  assert.equal(
    canonicalKeyId(repo.root.signed.keys[repo.root.signed.roles.root.keyids[0]!]!),
    'd0c623c8e70c70d42a8a8125c44a8598588b3f6e31d5c21a83cbc338dfde8a68',
  );
  assert.equal(repo.firstUse, true);
});

test('notary 0.3 repository: passes as of 2026-01-01, fails today naming the expired root certificate', {
  skip: skipNoVectors,
}, async () => {
  const gun = 'docker.com/notary0.3/tst';
  const src = fixture(`${COMPAT}notary0.3/tuf/${gun}/metadata`, gun);
  const then = await updateTrust({ gun, source: src, now: Date.parse('2026-01-01T00:00:00Z') });
  assert.deepEqual(Object.keys(then.targets.signed.targets).sort(), ['LICENSE', 'change']);
  assert.deepEqual(
    then.delegations.map((d) => d.role.name),
    ['targets/releases'],
  );
  assert.ok(then.delegations[0]!.doc.signed.targets.hello);
  assert.equal(
    canonicalKeyId(then.targets.signed.delegations!.keys[then.delegations[0]!.role.keyids[0]!]!).slice(0, 8),
    'fa842f66',
  );
  await assert.rejects(
    updateTrust({ gun, source: src, now: Date.parse('2026-11-23T00:00:00Z') }),
    (e: unknown) =>
      isTrustpinError(e, 'TUF_CERT_INVALID') &&
      /expired on 2026-07-25/.test(e.found ?? '') &&
      /CN=docker.com\/notary0.3\/tst/.test(e.found ?? ''),
  );
});

const SAMPLES = new URL('../../../../shared/docs/samples/tuf/demo_app/', import.meta.url);
const skipNoSamples = existsSync(new URL('1.root.json', SAMPLES))
  ? false
  : `the testbed's TUF samples are not at ${SAMPLES.pathname} (they sit beside the project, not in a clone)`;

test('the testbed samples: rotation 1→4 verifies, delegations load, root pin by either ID', {
  skip: skipNoSamples,
}, async () => {
  const r = (n: string) => readFileSync(new URL(n, SAMPLES));
  // a sample missing while the directory exists is a failure, not a skip
  const files = new Map([
    ['1.root.json', r('1.root.json')],
    ['2.root.json', r('2.root.json')],
    ['3.root.json', r('3.root.json')],
    ['4.root.json', r('4.root.json')],
    ['root.json', r('root.json')],
    ['timestamp.json', r('timestamp.json')],
    ['snapshot.json', r('snapshot.json')],
    ['targets.json', r('targets.json')],
    ['targets/releases.json', r('targets_releases.json')],
    ['targets/alice.json', r('targets_alice.json')],
  ]);
  const gun = '127.0.0.1:5000/demo/app';
  const src = new FileSet('samples', new Map([[gun, files]]));
  const now = Date.parse('2026-11-24T00:00:00Z');
  const repo = await updateTrust({ gun, source: src, now });
  assert.equal(repo.root.signed.version, 4);
  assert.equal(repo.rootRotatedFrom, 1);
  assert.deepEqual(repo.delegations.map((d) => d.role.name).sort(), ['targets/alice', 'targets/releases']);
  const rootId = repo.root.signed.roles.root.keyids[0]!;
  const canon = canonicalKeyId(repo.root.signed.keys[rootId]!);
  const v1 = JSON.parse(files.get('1.root.json')!.toString()).signed.roles.root.keyids[0] as string;
  assert.notEqual(v1, rootId, 'the samples rotate the root key');
  // pins replace TOFU history: the newest root must be signed by the pinned key, in either ID form
  const single = new FileSet(
    'samples',
    new Map([[gun, new Map([...files].filter(([k]) => !/^\d\.root/.test(k)))]]),
  );
  for (const pin of [rootId, canon, canon.slice(0, 12)]) {
    assert.equal((await updateTrust({ gun, source: src, now, pinnedRootKeys: [pin] })).pinnedBy, 'pinned');
    assert.equal((await updateTrust({ gun, source: single, now, pinnedRootKeys: [pin] })).pinnedBy, 'pinned');
  }
  // a pin of the retired key: the current root is not signed by a pinned root key
  await assert.rejects(updateTrust({ gun, source: src, now, pinnedRootKeys: [v1] }), (e: unknown) =>
    isTrustpinError(e, 'ROOT_KEY_MISMATCH'),
  );
  await assert.rejects(
    updateTrust({ gun, source: single, now, pinnedRootKeys: ['0'.repeat(64)] }),
    (e: unknown) =>
      isTrustpinError(e, 'ROOT_KEY_MISMATCH') &&
      (e.found ?? '').includes(rootId) &&
      (e.found ?? '').includes(canon),
  );
});
