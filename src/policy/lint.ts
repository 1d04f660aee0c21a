// `policy check`: the loader's errors plus what a valid policy may still get wrong — a trust root nothing uses, two
// rules with one scope (the second can never apply), a scope written for a reference that is never normalised so.
import { type PolicyFinding, parsePolicy, readPolicySource } from './load.js';
import { leafRequirements } from './select.js';
import type { Policy, Requirement } from './types.js';

function usedRoots(reqs: Requirement[], out: Set<string>): Set<string> {
  for (const q of leafRequirements(reqs)) {
    if (q.kind === 'dct' || q.kind === 'notation') out.add(q.trustRoot);
    else if (q.kind === 'cosign') for (const n of q.trustRoots) out.add(n);
  }
  return out;
}

/** Whether the first path segment of a scope can be a registry host of a normalised reference. */
function hostLike(scope: string): boolean {
  const first = scope.split('/')[0]!;
  if (!scope.includes('/')) return first.includes('*') && !/[:@]/.test(scope.replace(/^\*+/, ''));
  return first.includes('*') || first.includes('.') || first.includes(':') || first === 'localhost';
}

/** The loader's findings and the linter's, for a policy file (or text, with `inline`). */
export function checkPolicy(
  pathOrText: string,
  o: { baseDir?: string; inline?: boolean } = {},
): { policy?: Policy; findings: PolicyFinding[] } {
  const { text, file } = readPolicySource(pathOrText, o);
  const r = parsePolicy(text, file, o);
  if (!r.policy) return r;
  const p = r.policy;
  const findings: PolicyFinding[] = [...r.findings];
  const used = new Set<string>();
  for (const rule of p.rules) usedRoots(rule.require, used);
  for (const [name, root] of p.trustRoots)
    if (!used.has(name))
      findings.push({
        severity: 'warning',
        code: 'unused-trust-root',
        message: `trust root ${name} is not used by any requirement`,
        at: root.at,
      });
  const scopes = new Map<string, string>();
  for (const rule of p.rules) {
    const prev = scopes.get(rule.scope);
    if (prev !== undefined)
      findings.push({
        severity: 'error',
        code: 'duplicate-scope',
        message: `rule ${rule.name} has the same scope ${rule.scope} as rule ${prev}, so it can never apply`,
        at: rule.at,
        hint: 'merge the two rules, or make one scope more specific',
      });
    else scopes.set(rule.scope, rule.name);
    if (!hostLike(rule.scope))
      findings.push({
        severity: 'warning',
        code: 'unmatchable-scope',
        message: `rule ${rule.name}: scope ${rule.scope} has no registry host, so it never matches: scopes are matched against normalised references like docker.io/library/x`,
        at: rule.at,
      });
  }
  for (const m of p.mirrors)
    for (const prefix of [m.origin, ...m.mirrors])
      if (!hostLike(prefix.includes('/') ? prefix : `${prefix}/x`))
        findings.push({
          severity: 'warning',
          code: 'unmatchable-mirror',
          message: `mirror prefix ${prefix} has no registry host: prefixes are matched against normalised references like docker.io/library/x`,
          at: m.at,
        });
  return findings.some((f) => f.severity === 'error') ? { findings } : { policy: p, findings };
}
