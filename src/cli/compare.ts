// `trustpin compare A B`: the equivalence ladder per platform; exit 0 when every compared platform matches at
// config or better (diff_ids only with --deep), 1 otherwise.
import { parsePlatform } from '../manifest/index.js';
import { compareImages } from '../mirror/index.js';
import { comparisonJson, renderComparison } from '../report/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';
import type { CompareFlags } from './specs.js';

export const action: Action<CompareFlags> = async ([a, b], o, ctx) => {
  let first = a!;
  if (o.policy !== undefined) {
    const j = await (await import('./verify-policy.js')).judgeOne(o.policy, first, ctx);
    if (!j.pinned) return j.refused;
    first = j.pinned;
  }
  const [sa, sb] = await Promise.all([ctx.open(first), ctx.open(b!)]);
  const c = await compareImages(sa, sb, { platforms: (o.platform ?? []).map(parsePlatform), deep: o.deep });
  return {
    exit: c.equivalent ? EXIT.ok : EXIT.failed,
    json: comparisonJson(c),
    text: renderComparison(c, ctx.style),
    quiet: '',
  };
};
