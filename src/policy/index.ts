// The policy face: one trust policy file for DCT, cosign, Notation, digest pins and mirrors — loaded, linted,
// explained and evaluated. The CLI (`verify --policy`, `policy …`), the pin command and the webhook all call it.
export {
  blocks,
  DEFAULT_POLICY_CONCURRENCY,
  type EvaluateOptions,
  evaluate,
  summary,
} from './evaluate.js';
export { explain, type PolicyExplanation } from './explain.js';
export { type MirrorMatch, mirrorOf, scopeMatches, selectRule, specificity } from './select.js';
export * from './types.js';
