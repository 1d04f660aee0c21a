// JSON member names that are also Object.prototype names (`__proto__`, `constructor`): valid docker tags and
// legal JSON keys, which plain-object lookups in the verifier must neither drop nor invent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrustpinError } from '../../src/errors/index.js';
import { DAY, Publisher } from '../../src/testing/index.js';
import { FileSet } from '../../src/trust/dct/source.js';
import { requireSigner, resolveTag } from '../../src/trust/dct/targets.js';
import { updateTrust } from '../../src/trust/dct/updater.js';

const GUN = 'registry.example.com/acme/app';
const T0 = Date.UTC(2026, 0, 1);
const MANIFEST = { digest: 'cd'.repeat(32), length: 321 };

// offline on purpose: these are parsing/lookup questions, the network adds nothing
const verify = (files: Map<string, Buffer>) =>
  updateTrust({ gun: GUN, source: new FileSet('published files', new Map([[GUN, files]])), now: T0 + DAY });

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof TrustpinError ? e.code : `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'passed';
}

describe('Object.prototype names in signed metadata', () => {
  it('a "__proto__" member injected into signed timestamp data is not ignored by the signature check', {}, async () => {
    const files = new Publisher(GUN, { now: T0 }).addTarget('targets', 'latest', MANIFEST).publish();
    const ts = files.get('timestamp.json')!.toString();
    // timestamp.json is the one file no other file hashes, so only the signature can catch this
    const evil = ts.replace('{"signed":{', '{"signed":{"__proto__":{"injected":true},');
    assert.notEqual(evil, ts);
    await assert.rejects(verify(new Map(files).set('timestamp.json', Buffer.from(evil))), (e) => {
      assert.ok(e instanceof TrustpinError);
      assert.ok(['TUF_METADATA_INVALID', 'TUF_SIGNATURE_INVALID'].includes(e.code), e.code);
      return true;
    });
  });

  it('a signed target named "__proto__" (a valid tag) is either resolvable or refused as invalid, never silently lost', {}, async () => {
    const files = new Publisher(GUN, { now: T0 }).addTarget('targets', '__proto__', MANIFEST).publish();
    let repo: Awaited<ReturnType<typeof verify>>;
    try {
      repo = await verify(files);
    } catch (e) {
      assert.equal((e as TrustpinError).code, 'TUF_METADATA_INVALID');
      return;
    }
    assert.equal(resolveTag(repo, '__proto__').digest, `sha256:${MANIFEST.digest}`);
  });

  it('tag "constructor", signed nowhere → TUF_TARGET_NOT_FOUND, not a delegation path violation', {}, async () => {
    const pub = new Publisher(GUN, { now: T0 });
    pub.addDelegation('targets/releases', { paths: ['v1'] });
    pub.addTarget('targets/releases', 'v1', MANIFEST);
    const repo = await verify(pub.publish());
    assert.equal(
      codeOf(() => resolveTag(repo, 'nothere')),
      'TUF_TARGET_NOT_FOUND',
    );
    assert.equal(
      codeOf(() => resolveTag(repo, 'constructor')),
      'TUF_TARGET_NOT_FOUND',
    );
  });

  it('--signer alice for tag "constructor" that alice did not sign → SIGNER_MISMATCH, not a TypeError', {}, async () => {
    const pub = new Publisher(GUN, { now: T0 });
    pub.addDelegation('targets/releases');
    pub.addDelegation('targets/alice');
    pub.addTarget('targets/releases', 'constructor', MANIFEST).addTarget('targets/releases', 'v2', MANIFEST);
    pub.addTarget('targets/alice', 'v1', MANIFEST);
    const repo = await verify(pub.publish());
    const check = (tag: string) =>
      codeOf(() => requireSigner(repo, resolveTag(repo, tag), { name: 'alice' }));
    assert.equal(check('v2'), 'SIGNER_MISMATCH');
    assert.equal(check('constructor'), 'SIGNER_MISMATCH');
  });
});
