// `trustpin verify REF... --dct|--cosign`: the verifier's verdict as the chain of trust; exit 0 only when every link
// of every REF holds. With `--mirror-of ORIGIN`, trust is decided on ORIGIN and REF (any transport) must be proven
// the same image.
import { TrustpinError } from '../errors/index.js';
import { parsePlatform } from '../manifest/index.js';
import {
  type ComparisonJson,
  comparisonJson,
  printable,
  renderChain,
  renderComparison,
} from '../report/index.js';
// the trust folder's face holds DCT and the mirror proof; cosign (and Sigstore's libraries) is its own face,
// loaded with --cosign alone
import type { CosignVerdict } from '../trust/cosign/index.js';
import {
  createDctVerifier,
  type DctVerdict,
  type TrustVerdict,
  type TrustVerifier,
  verifyMirrorOf,
} from '../trust/index.js';
import type { NotationVerdict } from '../trust/notation/index.js';
import { mapLimit } from '../util/index.js';
import type { Action, Outcome } from './command.js';
import { type Context, cliText, EXIT } from './common.js';
import { cliHint, verifierOptions } from './trust-flags.js';
import type { VerifyFlags } from './trust-specs.js';

/** `verify --dct|--cosign --json` prints this for one REF: the verdict, its problems' hints in CLI terms. */
export type VerifyJson = DctVerdict | CosignVerdict | NotationVerdict;

/** `verify --json` with several REFs prints this. */
export interface VerifyManyJson {
  ok: boolean;
  verdicts: VerifyJson[];
}

type AnyVerdict = DctVerdict | CosignVerdict | NotationVerdict;

/** `verify --dct --mirror-of --json` prints this. */
export interface VerifyMirrorJson {
  ok: boolean;
  origin: AnyVerdict;
  /** the comparison of the signed origin (A) and the mirror (B), with its graph anchored at the signature */
  mirror?: ComparisonJson | undefined;
  problems: DctVerdict['problems'];
}

export const action: Action<VerifyFlags> = async (refs, f, ctx) => {
  if (f.policy !== undefined) return (await import('./verify-policy.js')).verifyPolicy(refs, f, ctx);
  if (f.format !== undefined || f.output !== undefined)
    throw new TrustpinError('USAGE', '--format and --output go with --policy', {
      expected: '--policy FILE',
      hint: 'without a policy, --json prints the verdicts as JSON',
    });
  const chosen = (['dct', 'cosign', 'notation'] as const).filter((s) => f[s]);
  if (chosen.length !== 1) {
    throw new TrustpinError('USAGE', 'choose one signature system', {
      expected: '--dct, --cosign or --notation',
      found: chosen.length ? chosen.map((s) => `--${s}`).join(' and ') : 'none',
    });
  }
  // each system's libraries load only when it is chosen
  const verifier: TrustVerifier<AnyVerdict> = f.cosign
    ? (await import('./verify-cosign.js')).cosignVerifier(f, ctx)
    : f.notation
      ? (await import('./verify-notation.js')).notationVerifier(f, ctx)
      : createDctVerifier(verifierOptions(f, ctx));
  if (f.mirrorOf) {
    if (refs.length !== 1)
      throw new TrustpinError('USAGE', '--mirror-of proves one mirror at a time', {
        expected: 'one REF (the mirror)',
        found: `${refs.length} references`,
      });
    return mirrorOf(verifier, refs[0]!, f, ctx);
  }
  // several images are verified concurrently (in order in the output); an operational failure of one stops all
  const verdicts = (await mapLimit(refs, VERIFY_CONCURRENCY, (r) => verifier.verify(r))).map(cliVerdict);
  const ok = verdicts.every((v) => v.ok);
  return {
    exit: ok ? EXIT.ok : EXIT.failed,
    json:
      verdicts.length === 1
        ? (verdicts[0]! satisfies VerifyJson)
        : ({ ok, verdicts } satisfies VerifyManyJson),
    text: verdicts.map((v) => verdictText(ctx, v)).join('\n\n'),
    quiet: verdicts
      .map((v) => (v.ok ? v.pinned : ''))
      .filter(Boolean)
      .join('\n'),
    problems: verdicts.flatMap((v) => problems(v.problems, verdicts.length > 1 ? v.subject.reference : '')),
  };
};

/** Images verified at once by `verify REF…`. */
const VERIFY_CONCURRENCY = 4;

async function mirrorOf(
  verifier: TrustVerifier<AnyVerdict>,
  refArg: string,
  f: VerifyFlags,
  ctx: Context,
): Promise<Outcome> {
  const mirror = await ctx.open(refArg);
  const m = await verifyMirrorOf(verifier, f.mirrorOf!, mirror, {
    client: ctx.client,
    platforms: (f.platform ?? []).map(parsePlatform),
    deep: f.deep,
  });
  const origin = cliVerdict(m.origin);
  const lines = [verdictText(ctx, origin)];
  if (m.comparison) {
    const c = m.comparison;
    const anchor = {
      system: SYSTEM_NAME[origin.system],
      tag: origin.subject.reference.slice(origin.subject.reference.lastIndexOf(':') + 1),
      digest: origin.subject.digest!,
      signers: origin.claims.map((s) =>
        'name' in s ? s.name : 'subject' in s ? s.subject : 'keyId' in s ? `key ${s.keyId.slice(0, 12)}` : '',
      ),
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
}

function problems(list: TrustVerdict['problems'], subject = ''): { subject: string; error: TrustpinError }[] {
  return list.map((p) => ({ subject, error: new TrustpinError(p.code, p.message, p) }));
}

function cliVerdict<V extends AnyVerdict>(v: V): V {
  return {
    ...v,
    problems: v.problems.map((p) => ({ ...p, hint: cliHint(p.hint) })),
    warnings: v.warnings.map((w) => ({ ...w, message: cliText(w.message) })),
  };
}

/** What a verified attestation says, in a few lines (SLSA provenance: builder, source, commit); `--json` has all. */
function statementLines(ctx: Context, type: string, predicate: unknown): string[] {
  const at = (o: unknown, ...path: string[]): unknown =>
    path.reduce<unknown>(
      (x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined),
      o,
    );
  const str = (x: unknown) => (typeof x === 'string' ? x : undefined);
  const facts: [string, string | undefined][] = type.startsWith('https://slsa.dev/provenance/v1')
    ? [
        ['builder', str(at(predicate, 'runDetails', 'builder', 'id'))],
        ['build type', str(at(predicate, 'buildDefinition', 'buildType'))],
        ['source', str(at(predicate, 'buildDefinition', 'externalParameters', 'workflow', 'repository'))],
        [
          'commit',
          str(
            at(
              (at(predicate, 'buildDefinition', 'resolvedDependencies') as unknown[] | undefined)?.[0],
              'digest',
              'gitCommit',
            ),
          ),
        ],
      ]
    : type.startsWith('https://slsa.dev/provenance/v0.2')
      ? [
          ['builder', str(at(predicate, 'builder', 'id'))],
          ['build type', str(at(predicate, 'buildType'))],
          ['source', str(at(predicate, 'invocation', 'configSource', 'uri'))],
          ['commit', str(at(predicate, 'invocation', 'configSource', 'digest', 'sha1'))],
        ]
      : [];
  return [
    `${ctx.style.bold('attestation')} ${printable(type)} ${ctx.style.dim('(verified; the whole statement is in --json)')}`,
    ...facts.filter((f) => f[1] !== undefined).map(([k, val]) => `  ${k}: ${printable(val!)}`),
  ];
}

const SYSTEM_NAME = { dct: 'Docker Content Trust', cosign: 'cosign', notation: 'Notation' } as const;

function verdictText(ctx: Context, v: AnyVerdict): string {
  const how =
    v.system === 'dct'
      ? `Docker Content Trust${v.server ? `, ${v.server}` : ''}`
      : v.system === 'notation'
        ? `Notation${v.policy ? `, trust policy ${v.policy.name} (${v.policy.level})` : ''}${v.signatures.length ? `, ${v.signatures.length} signature${v.signatures.length > 1 ? 's' : ''} checked, ${v.signatures.some((s) => s.ok) ? 'one verified' : 'none verified'}` : ''}`
        : `cosign${v.signatures.length ? `, ${v.signatures.filter((s) => s.ok).length} of ${v.signatures.length} signatures verified` : ''}`;
  const lines = [
    `${ctx.style.bold('chain of trust')} for ${v.subject.reference} ${ctx.style.dim(`(${how})`)}`,
    renderChain(v.chain, ctx.style),
  ];
  for (const w of v.warnings) ctx.err(ctx.style.warn(`⚠ ${w.message}`));
  if (v.system === 'cosign')
    for (const a of v.attestations ?? []) lines.push(...statementLines(ctx, a.predicateType, a.predicate));
  if (v.ok) lines.push(`${ctx.style.ok('verified')}: ${v.pinned}`);
  else lines.push(`${ctx.style.bad('NOT verified')}: ${v.subject.reference}`);
  return lines.join('\n');
}
