// The tar walker (walkTar over tar-stream) on hostile archives: hand-written headers with any bytes in number
// fields, bad base-256 markers, unknown types, GNU and PAX long names, sizes that disagree with the body,
// truncation; and byte mutations of valid archives. Oracle: it ends (the watchdog catches a body that never
// does), every accepted entry has a clean relative path, a body of exactly its size, and sane numbers.
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { walkTar } from '../../../src/layer/index.js';
import { bufferCodec, check, coded, defineTarget, mutatedBytes } from '../harness.js';
import { fixSums, rawTar, rawTars, SEED_TARS } from './tar-gen.js';

const safe = (n: number) => Number.isSafeInteger(n) && n >= 0;

export default defineTarget<Buffer>({
  name: 'tar',
  description:
    'walkTar on hostile tar headers; oracle: ends, clean relative paths, body length = size, sane fields',
  arbitrary: fc.oneof(
    { arbitrary: rawTars.map(rawTar), weight: 3 },
    { arbitrary: mutatedBytes(SEED_TARS, { maxOps: 4 }), weight: 1 },
    { arbitrary: mutatedBytes(SEED_TARS, { maxOps: 4 }).map(fixSums), weight: 2 },
  ),
  async run(tar) {
    await coded(async () => {
      for await (const { entry, body } of walkTar(Readable.from([tar]), 'fuzz')) {
        let got = 0;
        for await (const c of body) got += (c as Buffer).length;
        const p = entry.path;
        check(
          p !== '' && !p.startsWith('/') && !p.endsWith('/') && !p.includes('\0'),
          () => `unclean path ${JSON.stringify(p)}`,
        );
        check(
          p.split('/').every((c) => c !== '' && c !== '.' && c !== '..'),
          () => `path with an empty, . or .. component: ${JSON.stringify(p)}`,
        );
        check(entry.type !== 'file' || got === entry.size, () => `body ${got} bytes, size ${entry.size}`);
        check(
          safe(entry.size) && safe(entry.uid) && safe(entry.gid) && entry.mode <= 0o7777,
          () => `bad numbers ${JSON.stringify(entry)}`,
        );
        check(Number.isFinite(entry.mtime), 'non-finite mtime');
        if (entry.type === 'symlink')
          check(!!entry.linkname && !entry.linkname.includes('\0'), 'bad symlink target');
        if (entry.type === 'hardlink')
          check(
            !!entry.linkname && !entry.linkname.split('/').includes('..'),
            'hard link target not normalised',
          );
      }
    });
  },
  ...bufferCodec,
});
