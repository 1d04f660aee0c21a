// The notary server holds the timestamp key: a length it signs for the snapshot is not a reason to read that much.
// A snapshot, targets or delegation longer than MAX_METADATA_LENGTH is SIZE_EXCEEDED before anything is fetched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { fileMeta, type J, Publisher, serialize, signEnvelope } from '../../../src/testing/index.js';
import { FileSet, type TrustSource, updateTrust } from '../../../src/trust/dct/index.js';
import { MAX_METADATA_LENGTH } from '../../../src/trust/dct/updater.js';

const GUN = 'example.com/org/app';
const NOW = Date.UTC(2026, 0, 1);

test('a timestamp signing a snapshot of 1 TiB is SIZE_EXCEEDED, and no fetch is asked for more than the cap', async () => {
  const pub = new Publisher(GUN, { now: NOW });
  pub.addTarget('targets', '1.0', { digest: 'a'.repeat(64), length: 3 });
  const files = pub.publish();
  const ts = JSON.parse(files.get('timestamp.json')!.toString()) as { signed: Record<string, J> };
  const snap = fileMeta(files.get('snapshot.json')!);
  ts.signed.meta = { snapshot: { ...snap, length: 2 ** 40 } };
  files.set('timestamp.json', serialize(signEnvelope(ts.signed, pub.keys.timestamp!)));
  const set = new FileSet('test', new Map([[GUN, files]]));
  const asked: number[] = [];
  const source: TrustSource = {
    describe: 'a server that signs any length',
    network: true,
    fetch: (gun, name, max) => {
      asked.push(max);
      return set.fetch(gun, name, max);
    },
  };
  await assert.rejects(
    updateTrust({ gun: GUN, source, now: NOW + 3_600_000 }),
    (e: unknown) => isTrustpinError(e, 'SIZE_EXCEEDED') && /snapshot/.test(e.message),
  );
  assert.ok(
    asked.every((m) => m <= MAX_METADATA_LENGTH),
    `fetches asked for ${asked.join(', ')} bytes`,
  );
});
