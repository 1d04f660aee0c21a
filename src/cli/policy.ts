// `policy check|explain|schema`: the policy file on its own, no registry contacted.
import { checkPolicy, explain, loadPolicy, type PolicyExplanation } from '../policy/index.js';
import { printable } from '../report/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';

/** `policy check FILE`: exit 0 clean or warnings only, 1 with an error finding. */
export const check: Action<Record<string, never>> = async ([file], _f, ctx) => {
  const r = checkPolicy(file!);
  const errors = r.findings.filter((x) => x.severity === 'error');
  const lines = r.findings.map(
    (x) =>
      `${x.at.file}:${x.at.line}:${x.at.column}: ${x.severity === 'error' ? ctx.style.bad('error') : ctx.style.warn('warning')}[${x.code}] ${printable(x.message)}`,
  );
  if (!errors.length && r.policy)
    lines.push(
      ctx.style.ok(
        `${file}: ${r.policy.rules.length} rule${r.policy.rules.length === 1 ? '' : 's'}, ${r.policy.trustRoots.size} trust root${r.policy.trustRoots.size === 1 ? '' : 's'}, ${r.policy.mirrors.length} mirror declaration${r.policy.mirrors.length === 1 ? '' : 's'}: ${r.findings.length ? `${r.findings.length} warning${r.findings.length === 1 ? '' : 's'}` : 'no findings'}`,
      ),
    );
  return {
    exit: errors.length ? EXIT.failed : EXIT.ok,
    text: lines.join('\n'),
    json: { ok: !errors.length, findings: r.findings },
    quiet: errors.length ? lines.join('\n') : '',
  };
};

function explainText(e: PolicyExplanation): string {
  const lines = [
    `${printable(e.reference)}${e.normalized !== e.reference ? ` (judged as ${printable(e.normalized)})` : ''}`,
  ];
  if (e.mirror)
    lines.push(
      `  mirror of ${printable(e.mirror.origin)} (prefix ${printable(e.mirror.prefix)}): proven equal at ${e.mirror.prove} or better, signatures read from ${e.mirror.signaturesFrom.join(' then ')}`,
    );
  if (e.rule) {
    lines.push(
      `  rule ${printable(e.rule.name)} (scope ${printable(e.rule.scope)}, ${e.rule.mode}, ${e.rule.at.file}:${e.rule.at.line})`,
    );
    const others = e.matching.filter((m) => m.name !== e.rule!.name);
    if (others.length)
      lines.push(
        `  also in scope, less specific: ${others.map((m) => `${printable(m.name)} (${printable(m.scope)})`).join(', ')}`,
      );
    if (e.tied.length)
      lines.push(`  equally specific (the first in the file wins): ${e.tied.map(printable).join(', ')}`);
  } else lines.push(`  no rule applies: defaults.noMatch is ${e.noMatch}`);
  lines.push(`  digest: ${e.digest}`);
  const walk = (r: PolicyExplanation['requires'][number], d: number): void => {
    lines.push(`${'  '.repeat(d)}- ${printable(r.summary)} ${`(${r.path})`}`);
    for (const c of r.children ?? []) walk(c, d + 1);
  };
  if (e.rule) {
    if (!e.requires.length) lines.push('  requires nothing');
    else lines.push('  requires:');
    for (const r of e.requires) walk(r, 2);
  }
  return lines.join('\n');
}

/** `policy explain FILE REF…` */
export const explainAction: Action<Record<string, never>> = async ([file, ...refs], _f) => {
  const policy = loadPolicy(file!);
  const out = refs.map((r) => explain(policy, r));
  return {
    exit: EXIT.ok,
    text: out.map(explainText).join('\n\n'),
    json: out.length === 1 ? out[0] : out,
  };
};

/** `policy schema` (the JSON Schema is built with zod, which only this subcommand loads) */
export const schema: Action<Record<string, never>> = async () => {
  const { policyJsonSchema } = await import('../policy/index.js');
  return { exit: EXIT.ok, raw: Buffer.from(`${JSON.stringify(policyJsonSchema(), null, 2)}\n`) };
};
