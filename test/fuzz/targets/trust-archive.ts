// Trust archives (`--trust-archive FILE`): a JSON file of base64 documents per GUN, read from a file someone handed
// over, then verified offline. Oracle: the unmodified archive opens and verifies; any input is a coded rejection.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Publisher } from '../../../src/testing/index.js';
import { ARCHIVE_FORMAT, openTrustArchive, updateTrust } from '../../../src/trust/dct/index.js';
import {
  bufferCodec,
  check,
  coded,
  codedSync,
  defineTarget,
  type JsonValue,
  mutatedJson,
} from '../harness.js';

const GUN = 'fuzz.example/org/app';
const NOW = Date.UTC(2026, 0, 1);
const pub = new Publisher(GUN, { now: NOW });
pub.addTarget('targets', '1.0', { digest: 'a'.repeat(64), length: 3 });
const files = pub.publish();

const ARCHIVE: JsonValue = {
  format: ARCHIVE_FORMAT,
  createdAt: new Date(NOW).toISOString(),
  server: 'https://notary.fuzz.example',
  repositories: [
    {
      gun: GUN,
      fetchedAt: new Date(NOW).toISOString(),
      files: Object.fromEntries(
        [...files]
          .filter(([k]) => !/\.[0-9a-f]{64}\.json$/.test(k))
          .map(([k, v]) => [k, v.toString('base64')]),
      ),
    },
    { gun: 'other/repo', fetchedAt: '', files: {} },
  ],
};
const SEED = Buffer.from(JSON.stringify(ARCHIVE, null, 1));
const dir = mkdtempSync(join(tmpdir(), 'trustpin-fuzz-archive-'));
const path = join(dir, 'archive.json');

export default defineTarget<Buffer>({
  name: 'trust-archive',
  description:
    'openTrustArchive on a mutated archive file, then updateTrust from it; oracle: the seed verifies, coded rejection only',
  arbitrary: mutatedJson([ARCHIVE], { serialize: (v) => Buffer.from(JSON.stringify(v, null, 1)) }),
  async run(bytes) {
    writeFileSync(path, bytes);
    const set = codedSync(() => openTrustArchive(path, GUN));
    if (bytes.equals(SEED)) check(set !== undefined, 'the unmodified archive does not open');
    if (!set) return;
    for (const gun of [...set.guns(), GUN]) {
      const repo = await coded(() => updateTrust({ gun, source: set, now: NOW + 3_600_000 }));
      if (bytes.equals(SEED) && gun === GUN)
        check(repo !== undefined, 'the unmodified archive does not verify');
    }
  },
  ...bufferCodec,
});
