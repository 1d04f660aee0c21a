// A root.json claiming a version far past the trusted one is refused before any intermediate version is fetched:
// the walk fetched every version in between, so a version of 2^53 was a loop of requests that never ended (a
// hostile notary needs no valid signature to send it; issue 11).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Publisher } from '../../../src/testing/publisher.js';
import { FileSet, type TrustSource } from '../../../src/trust/dct/source.js';
import { MAX_ROOT_ROTATIONS, updateTrust } from '../../../src/trust/dct/updater.js';

const GUN = 'registry.example/org/app';
const NOW = Date.UTC(2026, 0, 1);

test('a root version far past the trusted one → TUF_ROOT_ROTATION_FAILED, with a bounded number of fetches', async () => {
  const pub = new Publisher(GUN, { now: NOW });
  pub.addTarget('targets', '1.0', { digest: 'a'.repeat(64), length: 1 });
  const files = pub.publish();
  const cached = new Map(files);
  const root = JSON.parse(files.get('root.json')!.toString()) as { signed: { version: number } };
  root.signed.version = 2 ** 53 - 1;
  const hostile = new Map(files);
  hostile.set('root.json', Buffer.from(JSON.stringify(root)));
  const set = new FileSet('hostile', new Map([[GUN, hostile]]));
  let fetches = 0;
  const counting: TrustSource = Object.assign(Object.create(set) as TrustSource, {
    fetch: (gun: string, name: string, max: number) => {
      fetches++;
      return set.fetch(gun, name, max);
    },
  });
  const t = performance.now();
  await assert.rejects(updateTrust({ gun: GUN, source: counting, cached, now: NOW + 3_600_000 }), {
    code: 'TUF_ROOT_ROTATION_FAILED',
    expected: `at most ${MAX_ROOT_ROTATIONS} root rotations in one update`,
  });
  assert.ok(performance.now() - t < 2000, 'refused at once');
  assert.ok(fetches < 10, `${fetches} fetches`);
});
