// `trustpin diff A B`: compare two images by content (digest, layer blobs, or file by file), with config and
// history beside it; exit 0 when equal under the chosen mode, 1 when different, 2 when it could not compare.
import type { Command } from 'commander';
import { diffImages, limitEntries } from '../diff/diff.js';
import { diffJson, renderDiff } from '../diff/render.js';
import { TrustpinError } from '../errors/index.js';
import { parsePlatform } from '../manifest/index.js';
import { openSource } from '../source/open.js';
import { EXIT, type GlobalOptions, makeContext } from './common.js';

interface DiffFlags {
  platform?: string;
  semantic?: boolean;
  maxEntries: string;
  benign?: boolean;
  concurrency: string;
}

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new TrustpinError('USAGE', `${flag} must be a positive integer`, {
      expected: 'e.g. 100',
      found: v,
    });
  return n;
}

export function registerDiff(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('diff')
    .description(
      'compare two images by content, file by file (history shown apart, as the unproven metadata it is)',
    )
    .argument('<a>', 'first image (any transport)')
    .argument('<b>', 'second image (any transport)')
    .option('--platform <os/arch[/variant]>', 'the platform to compare when a side is a multi-platform index')
    .option('--semantic', 'ignore mtimes, tar order, layer boundaries and history/created/author')
    .option('--benign', 'group the differences into known benign-looking classes (mtime only, same size, …)')
    .option('--max-entries <n>', 'list at most N paths per section (counts stay complete)', '200')
    .option('--concurrency <n>', 'layers read at once', '3')
    .action((a: string, b: string, o: DiffFlags) =>
      run(async () => {
        const g = program.opts<GlobalOptions>();
        const max = positive('--max-entries', o.maxEntries);
        const concurrency = positive('--concurrency', o.concurrency);
        const platform = o.platform ? parsePlatform(o.platform) : undefined;
        const ctx = makeContext(g);
        const [sa, sb] = await Promise.all([openSource(a, ctx.client), openSource(b, ctx.client)]);
        try {
          const d = limitEntries(
            await diffImages(sa, sb, { mode: o.semantic ? 'semantic' : 'strict', platform, concurrency }),
            max,
          );
          const benign = o.benign === true;
          if (g.json) ctx.out(JSON.stringify(diffJson(d, { benign }), null, 2));
          else ctx.out(renderDiff(d, ctx.style, { benign }));
          return d.equal ? EXIT.ok : EXIT.failed;
        } finally {
          await Promise.all([sa.close(), sb.close()]);
          await ctx.client.close();
        }
      }),
    );
}
