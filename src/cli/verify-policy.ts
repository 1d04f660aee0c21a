// `verify --policy FILE REF…`: every REF judged by the policy file; the report as text, JSON, SARIF or HTML. Exit 1
// when an enforce-mode image fails (warn/audit failures are printed, not failing), 2 when one could not be decided.
import { TrustpinError } from '../errors/index.js';
import { evaluate, loadPolicy, type PolicyReport } from '../policy/index.js';
import { fullName, parseDockerReference } from '../reference/index.js';
import { renderPolicyReport } from '../report/index.js';
import { writeAtomic } from '../util/index.js';
import type { Outcome } from './command.js';
import { type Context, EXIT } from './common.js';
import type { VerifyFlags } from './trust-specs.js';
import { VERSION } from './version.js';

const FORMATS = ['text', 'json', 'sarif', 'html'] as const;
type Format = (typeof FORMATS)[number];

/** The exit code of a report: 0 nothing blocks; 1 an enforce-mode image failed; 2 one could not be decided. */
export function reportExit(r: PolicyReport): 0 | 1 | 2 {
  const blocked = r.verdicts.filter((v) => !v.ok);
  if (!blocked.length) return EXIT.ok;
  return blocked.some((v) => v.outcome === 'fail') ? EXIT.failed : EXIT.error;
}

/** The report in `format` (SARIF and HTML renderers load only when asked for). */
export async function renderReport(r: PolicyReport, format: Format, ctx: Context): Promise<string> {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  if (format === 'sarif') {
    const { policySarif } = await import('../report/index.js');
    return `${JSON.stringify(policySarif(r, { toolVersion: VERSION }), null, 2)}\n`;
  }
  if (format === 'html') return (await import('../report/index.js')).policyHtml(r);
  return renderPolicyReport(r, ctx.style);
}

export function formatOf(f: { format?: string }, json: boolean | undefined): Format {
  const format = f.format ?? (json ? 'json' : 'text');
  if (!(FORMATS as readonly string[]).includes(format))
    throw new TrustpinError('USAGE', `--format ${JSON.stringify(format)} is not a report format`, {
      expected: FORMATS.join(' | '),
      found: format,
    });
  return format as Format;
}

export async function verifyPolicy(refs: string[], f: VerifyFlags, ctx: Context): Promise<Outcome> {
  const chosen = (['dct', 'cosign', 'notation', 'mirrorOf'] as const).filter((s) => f[s]);
  if (chosen.length)
    throw new TrustpinError('USAGE', '--policy decides which signature systems apply', {
      expected: '--policy FILE alone',
      found: chosen.map((s) => (s === 'mirrorOf' ? '--mirror-of' : `--${s}`)).join(' '),
      hint: 'write the requirement (dct, cosign, notation) or the mirror in the policy file',
    });
  const format = formatOf(f, ctx.opts.json);
  const policy = loadPolicy(f.policy!);
  const report = await evaluate(policy, refs, { client: ctx.client });
  const exit = reportExit(report);
  const body = await renderReport(report, format, ctx);
  if (f.output !== undefined) {
    await writeAtomic(f.output, body);
    const text = `${renderPolicyReport(report, ctx.style)}\n\n${format} report written to ${f.output}`;
    return { exit, text, quiet: '', json: report };
  }
  if (format === 'text') return { exit, text: body, json: report, quiet: pinnedLines(report) };
  return { exit, raw: Buffer.from(body), quiet: '' };
}

function pinnedLines(r: PolicyReport): string {
  return r.verdicts
    .map((v) => v.pinned ?? '')
    .filter(Boolean)
    .join('\n');
}

/**
 * `pull --policy` / `compare --policy`: judge one registry reference. Passing, the digest to use (`REPO@DIGEST`);
 * otherwise the outcome to return (the report, exit 1 or 2), and nothing is written.
 */
export async function judgeOne(
  file: string,
  ref: string,
  ctx: Context,
): Promise<{ pinned?: string | undefined; refused: Outcome }> {
  if (/^(oci|oci-archive|docker-archive):/.test(ref))
    throw new TrustpinError('USAGE', '--policy judges registry references', {
      expected: 'REGISTRY/REPOSITORY[:TAG][@DIGEST]',
      found: ref,
    });
  const report = await evaluate(loadPolicy(file), [ref], { client: ctx.client });
  const v = report.verdicts[0]!;
  const text = renderPolicyReport(report, ctx.style);
  const refused: Outcome = { exit: reportExit(report), text, json: report, quiet: '' };
  if (!v.ok || !v.digest) return { refused: { ...refused, exit: refused.exit || EXIT.failed } };
  if (!ctx.opts.quiet && !ctx.opts.json) ctx.err(text);
  return { pinned: `${fullName(parseDockerReference(ref))}@${v.digest}`, refused };
}
