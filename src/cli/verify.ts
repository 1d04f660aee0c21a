// `trustpin verify REF --dct`: trust decided by Docker Content Trust, then the image verified by the signed
// digest; prints the chain of trust and exits 0 only when every link holds. With `--mirror-of ORIGIN`, trust is
// decided on ORIGIN and REF (any transport) must be proven the same image.
import type { Command } from 'commander';
import { TrustpinError } from '../errors/index.js';
import { parsePlatform } from '../manifest/index.js';
import { compareImages } from '../mirror/compare.js';
import { parseReference, withDigest } from '../reference/index.js';
import { renderChain } from '../report/chain.js';
import { comparisonGraph, renderComparison } from '../report/mirror.js';
import { openSource } from '../source/open.js';
import { RegistrySource } from '../source/registry.js';
import { verifyDct } from '../trust/dct/verify.js';
import { type Context, collect, EXIT, type GlobalOptions, makeContext } from './common.js';
import { addTrustFlags, dctOptions, type TrustFlags, trustCa } from './trust-flags.js';

interface VerifyFlags extends TrustFlags {
  dct?: boolean;
  mirrorOf?: string;
  platform?: string[];
  deep?: boolean;
}

export function registerVerify(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  addTrustFlags(
    program
      .command('verify')
      .description(
        'verify an image by signature (Docker Content Trust) and by digest, and print the chain of trust',
      )
      .argument('<ref>', 'image reference with a tag (or, with --mirror-of, the mirror in any transport)')
      .option('--dct', 'use Docker Content Trust (Notary v1)')
      .option(
        '--signer <name[:keyid]>',
        'require this signer (delegation) to have signed the tag (repeatable)',
        collect,
      )
      .option('--mirror-of <origin>', 'decide trust on ORIGIN, then prove REF is the same image')
      .option(
        '--platform <os/arch[/variant]>',
        'with --mirror-of: compare only this platform (repeatable)',
        collect,
      )
      .option('--deep', 'with --mirror-of: compare layer contents when configs differ'),
  ).action((refArg: string, f: VerifyFlags) =>
    run(async () => {
      const g = program.opts<GlobalOptions>();
      if (!f.dct) {
        throw new TrustpinError('USAGE', 'choose a signature system', {
          expected: '--dct',
          hint: 'cosign and Notation come in a later release',
        });
      }
      const signedRef = parseReference((f.mirrorOf ?? refArg).replace(/^docker:\/\//, ''));
      const ctx = makeContext(g, trustCa(f, [signedRef.registry]));
      try {
        const v = await verifyDct(signedRef, dctOptions(f, ctx));
        const { repo: _repo, ...verdict } = v;
        if (!f.mirrorOf) {
          if (g.json) ctx.out(JSON.stringify({ ...verdict, pinned: `${v.gun}@${v.subject}` }, null, 2));
          else printVerdict(ctx, v);
          return EXIT.ok;
        }
        const origin = new RegistrySource(
          withDigest({ ...signedRef, tag: undefined }, v.subject as never),
          ctx.client,
        );
        const mirror = await openSource(refArg, ctx.client);
        try {
          const c = await compareImages(origin, mirror, {
            platforms: (f.platform ?? []).map(parsePlatform),
            deep: f.deep,
          });
          const anchor = {
            system: 'Docker Content Trust',
            tag: signedRef.tag ?? 'latest',
            digest: v.subject,
            signers: v.signers.map((s) => s.name),
          };
          if (g.json) {
            ctx.out(
              JSON.stringify(
                { ok: c.equivalent, origin: verdict, mirror: c, graph: comparisonGraph(c, anchor) },
                null,
                2,
              ),
            );
          } else {
            printVerdict(ctx, v);
            ctx.out('');
            ctx.out(renderComparison(c, ctx.style, anchor));
            ctx.out(
              c.equivalent
                ? `${ctx.style.ok('trusted')}: ${mirror.name} is ${v.gun}@${v.subject} as signed (${[...new Set(c.platforms.map((p) => `${p.platform} at ${p.level}`))].join(', ')})`
                : `${ctx.style.bad('NOT trusted')}: ${mirror.name} is not proven to be the signed image`,
            );
          }
          return c.equivalent ? EXIT.ok : EXIT.failed;
        } finally {
          await mirror.close();
        }
      } finally {
        await ctx.client.close();
      }
    }),
  );
}

function printVerdict(ctx: Context, v: Awaited<ReturnType<typeof verifyDct>>): void {
  ctx.out(
    `${ctx.style.bold('chain of trust')} for ${v.reference} ${ctx.style.dim(`(Docker Content Trust, ${v.server})`)}`,
  );
  ctx.out(renderChain(v.chain, ctx.style));
  for (const w of v.warnings) ctx.err(ctx.style.warn(`⚠ ${w}`));
  ctx.out(`${ctx.style.ok('verified')}: ${v.gun}@${v.subject}`);
}
