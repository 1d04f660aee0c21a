// A trust policy's verdicts as text: per image the rule that applied, each requirement as a tree with ✔/✘ and the
// reason, the mirror proof, and what to deploy.
import type { PolicyReport, PolicyVerdict, RequirementResult } from '../policy/index.js';
import { printable, type Style } from './style.js';

const MARK = { pass: '✔', fail: '✘', error: '!', skipped: '·' } as const;

function requirementLines(r: RequirementResult, s: Style, depth: number): string[] {
  const pad = '  '.repeat(depth);
  const paint =
    r.status === 'pass' ? s.ok : r.status === 'skipped' ? s.dim : r.status === 'fail' ? s.bad : s.warn;
  const where = r.from ? s.dim(` (signatures from the ${r.from})`) : '';
  const lines = [`${pad}${paint(MARK[r.status])} ${printable(r.summary)}${where}`];
  if (r.status === 'skipped') lines[0] += s.dim(' — not needed, an earlier alternative held');
  const shown = r.children ? r.problems : r.problems.slice(0, 4);
  for (const p of shown) lines.push(`${pad}    ${s.dim(`${p.code}:`)} ${printable(p.message)}`);
  if (!r.children && r.problems.length > shown.length)
    lines.push(`${pad}    ${s.dim(`… ${r.problems.length - shown.length} more in --format json`)}`);
  for (const c of r.children ?? []) lines.push(...requirementLines(c, s, depth + 1));
  return lines;
}

/** One image's verdict in a few lines. */
export function renderPolicyVerdict(v: PolicyVerdict, s: Style): string {
  const head =
    v.outcome === 'pass'
      ? s.ok('✔ pass')
      : v.ok
        ? s.warn(`${MARK[v.outcome]} ${v.outcome} (${v.mode}: not blocking)`)
        : s.bad(`${MARK[v.outcome]} ${v.outcome === 'fail' ? 'FAIL' : 'ERROR'}`);
  const lines = [`${head} ${s.bold(printable(v.normalized))}`];
  if (v.rule)
    lines.push(
      `  ${s.dim('rule')} ${printable(v.rule.name)} ${s.dim(`(scope ${printable(v.rule.scope)}, ${v.mode}, ${v.rule.at.file}:${v.rule.at.line})`)}`,
    );
  if (v.digest) lines.push(`  ${s.dim('digest')} ${v.digest}`);
  if (v.mirror) {
    const m = v.mirror;
    const proof =
      m.prove === 'none'
        ? 'accepted as a declared mirror (prove: none)'
        : `${m.ok ? s.ok('proven') : s.bad('NOT proven')} equal to ${printable(m.originPinned ?? m.origin)} at ${m.level ?? 'none'} (policy requires ${m.prove})`;
    lines.push(`  ${s.dim('mirror of')} ${printable(m.origin)}: ${proof}`);
  }
  for (const r of v.requirements) lines.push(...requirementLines(r, s, 1));
  if (!v.requirements.length && v.rule && v.outcome === 'pass')
    lines.push(`  ${s.dim('the rule requires nothing')}`);
  // problems no requirement carries: no rule, the mirror proof, a failure before the requirements ran
  const own = v.requirements.length
    ? v.problems.filter((p) => p.code === 'NO_MATCHING_RULE' || p.code === 'MIRROR_NOT_PROVEN')
    : v.problems;
  for (const p of own) lines.push(`  ${s.bad(`${p.code}:`)} ${printable(p.message)}`);
  for (const w of v.warnings) lines.push(`  ${s.warn('⚠')} ${printable(w.message)}`);
  if (v.pinned) lines.push(`  ${s.dim('deploy')} ${printable(v.pinned)}`);
  return lines.join('\n');
}

/** Every verdict, then a one-line tally. */
export function renderPolicyReport(r: PolicyReport, s: Style): string {
  const count = (f: (v: PolicyVerdict) => boolean) => r.verdicts.filter(f).length;
  const passed = count((v) => v.outcome === 'pass');
  const blocked = count((v) => !v.ok);
  const tolerated = r.verdicts.length - passed - blocked;
  const tally = `${r.verdicts.length} image${r.verdicts.length === 1 ? '' : 's'}: ${passed} passed, ${blocked} blocked${tolerated ? `, ${tolerated} failed in warn/audit mode` : ''} (policy ${r.policy.source}, judged at ${r.at})`;
  return [...r.verdicts.map((v) => renderPolicyVerdict(v, s)), '', r.ok ? s.ok(tally) : s.bad(tally)]
    .join('\n\n')
    .replace(/\n\n\n/g, '\n\n');
}
