// `trustpin inspect REF`: the verified tree, as text, JSON, or the exact manifest bytes.
import type { Command } from 'commander';
import { inspectJson, renderInspect } from '../image/inspect.js';
import { selectPlatform, walkImage } from '../image/walk.js';
import { parsePlatform } from '../manifest/index.js';
import { openSource } from '../source/open.js';
import { EXIT, type GlobalOptions, makeContext } from './common.js';

export function registerInspect(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('inspect')
    .description('show an image as a verified tree: index → platform manifests → config + layers')
    .argument('<ref>', 'image: REF, docker://REF, oci:DIR[:TAG], docker-archive:FILE, oci-archive:FILE')
    .option('--platform <os/arch[/variant]>', 'show only this platform')
    .option('--raw', 'write the exact (verified) manifest bytes to stdout')
    .action((ref: string, o: { platform?: string; raw?: boolean }) =>
      run(async () => {
        const g = program.opts<GlobalOptions>();
        const ctx = makeContext(g);
        const src = await openSource(ref, ctx.client);
        try {
          const platform = o.platform ? parsePlatform(o.platform) : undefined;
          const tree = await walkImage(src, { configs: !o.raw, platform, attestations: !o.raw && !platform });
          const selected = platform ? selectPlatform(tree, platform) : undefined;
          if (o.raw) {
            process.stdout.write((selected ?? tree.root).manifest.bytes);
            return EXIT.ok;
          }
          const j = inspectJson(tree, src.name, selected);
          ctx.out(g.json ? JSON.stringify(j, null, 2) : renderInspect(j, ctx.style));
          return EXIT.ok;
        } finally {
          await src.close();
          await ctx.client.close();
        }
      }),
    );
}
