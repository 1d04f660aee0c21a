// `trustpin verify REF --dct`: the DCT verifier's verdict as the chain of trust; exit 0 only when every link holds.
// With `--mirror-of ORIGIN`, trust is decided on ORIGIN and REF (any transport) must be proven the same image.
import { TrustpinError } from '../errors/index.js';
import { parsePlatform } from '../manifest/index.js';
import { type ComparisonJson, comparisonJson, renderChain, renderComparison } from '../report/index.js';
import { createDctVerifier, type DctVerdict, verifyMirrorOf } from '../trust/index.js';
import type { Action } from './command.js';
import { type Context, cliText, EXIT } from './common.js';
import { cliHint, verifierOptions } from './trust-flags.js';
import type { VerifyFlags } from './trust-specs.js';

/** `verify --dct --json` prints this: the verdict, its problems' hints in CLI terms. */
export type VerifyJson = DctVerdict;

/** `verify --dct --mirror-of --json` prints this. */
export interface VerifyMirrorJson {
  ok: boolean;
  origin: DctVerdict;
  /** the comparison of the signed origin (A) and the mirror (B), with its graph anchored at the signature */
  mirror?: ComparisonJson | undefined;
  problems: DctVerdict['problems'];
}

export const action: Action<VerifyFlags> = async ([refArg], f, ctx) => {
  if (!f.dct) {
    throw new TrustpinError('USAGE', 'choose a signature system', {
      expected: '--dct',
      hint: 'cosign and Notation come in a later release',
    });
  }
  const verifier = createDctVerifier(verifierOptions(f, ctx));
  if (!f.mirrorOf) {
    const v = cliVerdict(await verifier.verify(refArg!));
    return {
      exit: v.ok ? EXIT.ok : EXIT.failed,
      json: v satisfies VerifyJson,
      text: verdictText(ctx, v),
      quiet: v.ok ? v.pinned : '',
      problems: problems(v.problems),
    };
  }
  const mirror = await ctx.open(refArg!);
  const m = await verifyMirrorOf(verifier, f.mirrorOf, mirror, {
    client: ctx.client,
    platforms: (f.platform ?? []).map(parsePlatform),
    deep: f.deep,
  });
  const origin = cliVerdict(m.origin);
  const lines = [verdictText(ctx, origin)];
  if (m.comparison) {
    const c = m.comparison;
    const anchor = {
      system: 'Docker Content Trust',
      tag: origin.subject.reference.slice(origin.subject.reference.lastIndexOf(':') + 1),
      digest: origin.subject.digest!,
      signers: origin.claims.map((s) => ('name' in s ? s.name : '')),
    };
    lines.push('', renderComparison(c, ctx.style, anchor));
    lines.push(
      m.ok
        ? `${ctx.style.ok('trusted')}: ${mirror.name} is ${origin.pinned} as signed (${[...new Set(c.platforms.map((p) => `${p.platform} at ${p.level}`))].join(', ')})`
        : `${ctx.style.bad('NOT trusted')}: ${mirror.name} is not proven to be the signed image`,
    );
  }
  return {
    exit: m.ok ? EXIT.ok : EXIT.failed,
    json: {
      ok: m.ok,
      origin,
      mirror: m.comparison && {
        ...comparisonJson(m.comparison),
        graph: m.graph ?? comparisonJson(m.comparison).graph,
      },
      problems: m.problems,
    } satisfies VerifyMirrorJson,
    text: lines.join('\n'),
    quiet: m.ok ? origin.pinned : '',
    problems: problems(m.problems.map((p) => ({ ...p, hint: cliHint(p.hint) }))),
  };
};

function problems(list: DctVerdict['problems']): { subject: string; error: TrustpinError }[] {
  return list.map((p) => ({ subject: '', error: new TrustpinError(p.code, p.message, p) }));
}

function cliVerdict(v: DctVerdict): DctVerdict {
  return {
    ...v,
    problems: v.problems.map((p) => ({ ...p, hint: cliHint(p.hint) })),
    warnings: v.warnings.map((w) => ({ ...w, message: cliText(w.message) })),
  };
}

function verdictText(ctx: Context, v: DctVerdict): string {
  const lines = [
    `${ctx.style.bold('chain of trust')} for ${v.subject.reference} ${ctx.style.dim(`(Docker Content Trust${v.server ? `, ${v.server}` : ''})`)}`,
    renderChain(v.chain, ctx.style),
  ];
  for (const w of v.warnings) ctx.err(ctx.style.warn(`⚠ ${w.message}`));
  if (v.ok) lines.push(`${ctx.style.ok('verified')}: ${v.pinned}`);
  else lines.push(`${ctx.style.bad('NOT verified')}: ${v.subject.reference}`);
  return lines.join('\n');
}
