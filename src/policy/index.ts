// The policy face: one trust policy file for DCT, cosign, Notation, digest pins and mirrors — loaded, linted,
// explained and evaluated. The CLI (`verify --policy`, `policy …`), the pin command and the webhook all call it.
export {
  DEFAULT_POLICY_CONCURRENCY,
  type EvaluateOptions,
  evaluate,
  preloadVerifiers,
  summary,
} from './evaluate.js';
export { type ExplainedRequirement, explain, type PolicyExplanation } from './explain.js';
export { checkPolicy } from './lint.js';
export {
  loadPolicy,
  MAX_POLICY_BYTES,
  MAX_POLICY_RULES,
  MAX_REQUIREMENT_DEPTH,
  type PolicyFinding,
  parsePolicy,
} from './load.js';
export { policyJsonSchema } from './schema.js';
export { type MirrorMatch, mirrorOf, scopeMatches, selectRule, specificity } from './select.js';
export * from './types.js';
