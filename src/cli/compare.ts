// `trustpin compare A B`: the equivalence ladder per platform; exit 0 when every compared platform matches at
// config or better (diff_ids only with --deep), 1 otherwise.
import type { Command } from 'commander';
import { parsePlatform } from '../manifest/index.js';
import { compareImages } from '../mirror/compare.js';
import { comparisonGraph, renderComparison } from '../report/mirror.js';
import { openSource } from '../source/open.js';
import { collect, EXIT, type GlobalOptions, makeContext } from './common.js';

export function registerCompare(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('compare')
    .description(
      'prove two images are the same (index › manifest › config › diff_ids), per platform, and say why levels differ',
    )
    .argument('<a>', 'first image (any transport)')
    .argument('<b>', 'second image (any transport)')
    .option('--platform <os/arch[/variant]>', 'compare only this platform (repeatable)', collect)
    .option('--deep', 'download the layers and compare their uncompressed digests when the configs differ')
    .action((a: string, b: string, o: { platform?: string[]; deep?: boolean }) =>
      run(async () => {
        const g = program.opts<GlobalOptions>();
        const ctx = makeContext(g);
        const [sa, sb] = await Promise.all([openSource(a, ctx.client), openSource(b, ctx.client)]);
        try {
          const c = await compareImages(sa, sb, {
            platforms: (o.platform ?? []).map(parsePlatform),
            deep: o.deep,
          });
          if (g.json) ctx.out(JSON.stringify({ ...c, graph: comparisonGraph(c) }, null, 2));
          else ctx.out(renderComparison(c, ctx.style));
          return c.equivalent ? EXIT.ok : EXIT.failed;
        } finally {
          await Promise.all([sa.close(), sb.close()]);
          await ctx.client.close();
        }
      }),
    );
}
