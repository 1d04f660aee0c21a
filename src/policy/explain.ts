// `policy explain`: which rule applies to a reference and what it requires — decided from the policy alone, with no
// registry contacted.
import { parseDockerReference } from '../reference/index.js';
import { summary } from './evaluate.js';
import { mirrorOf, normalized, scopeMatches, selectRule } from './select.js';
import type { Policy, Requirement, SourcePosition } from './types.js';

/** A requirement in words, in the shape of the policy's tree. */
export interface ExplainedRequirement {
  kind: Requirement['kind'];
  path: string;
  at: SourcePosition;
  summary: string;
  children?: ExplainedRequirement[] | undefined;
}

/** What {@link explain} answers. */
export interface PolicyExplanation {
  reference: string;
  normalized: string;
  /** when the reference is under a declared mirror: the origin it is judged as */
  mirror?: { prefix: string; origin: string; prove: string; signaturesFrom: string[] } | undefined;
  /** the rule that applies; absent when none matches (then `noMatch` decides) */
  rule?: { name: string; scope: string; mode: string; at: SourcePosition } | undefined;
  /** every rule whose scope matches, most specific first is not guaranteed: in file order */
  matching: { name: string; scope: string }[];
  /** rules exactly as specific as the one applied (the first in the file wins) */
  tied: string[];
  noMatch?: string | undefined;
  digest: string;
  requires: ExplainedRequirement[];
}

function explainRequirement(r: Requirement, p: Policy): ExplainedRequirement {
  return {
    kind: r.kind,
    path: r.path,
    at: r.at,
    summary: summary(r, p),
    ...(r.kind === 'anyOf' || r.kind === 'allOf'
      ? { children: r.of.map((c) => explainRequirement(c, p)) }
      : {}),
  };
}

/** Which rule of `policy` applies to `reference` and what it requires. */
export function explain(policy: Policy, reference: string): PolicyExplanation {
  const ref = parseDockerReference(reference);
  const m = mirrorOf(policy, ref);
  const judged = m?.origin ?? ref;
  const { rule, tied } = selectRule(policy, judged);
  return {
    reference,
    normalized: normalized(judged),
    ...(m
      ? {
          mirror: {
            prefix: m.prefix,
            origin: m.spec.origin,
            prove: m.spec.prove,
            signaturesFrom: m.spec.signaturesFrom,
          },
        }
      : {}),
    ...(rule ? { rule: { name: rule.name, scope: rule.scope, mode: rule.mode, at: rule.at } } : {}),
    matching: policy.rules
      .filter((r) => scopeMatches(r.scope, judged))
      .map((r) => ({ name: r.name, scope: r.scope })),
    tied: tied.map((r) => r.name),
    ...(rule ? {} : { noMatch: policy.defaults.noMatch }),
    digest: ref.digest
      ? 'pinned by the reference'
      : policy.defaults.digest === 'require'
        ? 'required, and missing'
        : 'the tag is resolved once',
    requires: rule ? rule.require.map((r) => explainRequirement(r, policy)) : [],
  };
}
