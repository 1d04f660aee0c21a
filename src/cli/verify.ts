// `trustpin verify REF --dct`: trust decided by Docker Content Trust, then the image verified by the signed
// digest; prints the chain of trust and exits 0 only when every link holds.
import type { Command } from 'commander';
import { TrustpinError } from '../errors/index.js';
import { parseReference } from '../reference/index.js';
import { renderChain } from '../report/chain.js';
import { verifyDct } from '../trust/dct/verify.js';
import { collect, EXIT, type GlobalOptions, makeContext } from './common.js';
import { addTrustFlags, dctOptions, type TrustFlags, trustCa } from './trust-flags.js';

export function registerVerify(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  addTrustFlags(
    program
      .command('verify')
      .description(
        'verify an image by signature (Docker Content Trust) and by digest, and print the chain of trust',
      )
      .argument('<ref>', 'image reference with a tag, e.g. nicolas/webdis:0.1.19')
      .option('--dct', 'use Docker Content Trust (Notary v1)')
      .option(
        '--signer <name[:keyid]>',
        'require this signer (delegation) to have signed the tag (repeatable)',
        collect,
      ),
  ).action((refArg: string, f: TrustFlags & { dct?: boolean }) =>
    run(async () => {
      const g = program.opts<GlobalOptions>();
      if (!f.dct) {
        throw new TrustpinError('USAGE', 'choose a signature system', {
          expected: '--dct',
          hint: 'cosign and Notation come in a later release',
        });
      }
      const ref = parseReference(refArg.replace(/^docker:\/\//, ''));
      const ctx = makeContext(g, trustCa(f, [ref.registry]));
      try {
        const v = await verifyDct(ref, dctOptions(f, ctx));
        if (g.json) {
          const { repo: _repo, ...rest } = v;
          ctx.out(JSON.stringify({ ...rest, pinned: `${v.gun}@${v.subject}` }, null, 2));
        } else {
          ctx.out(
            `${ctx.style.bold('chain of trust')} for ${v.reference} ${ctx.style.dim(`(Docker Content Trust, ${v.server})`)}`,
          );
          ctx.out(renderChain(v.chain, ctx.style));
          for (const w of v.warnings) ctx.err(ctx.style.warn(`⚠ ${w}`));
          ctx.out(`${ctx.style.ok('verified')}: ${v.gun}@${v.subject}`);
        }
        return EXIT.ok;
      } finally {
        await ctx.client.close();
      }
    }),
  );
}
