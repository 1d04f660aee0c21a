// `trustpin diff A B`: compare two images by content (digest, layer blobs, or file by file), with config and
// history beside it; exit 0 when equal under the chosen mode, 1 when different, 2 when it could not compare.
import { diffImages, diffJson, limitEntries, renderDiff } from '../diff/index.js';
import { TrustpinError } from '../errors/index.js';
import { parsePlatform } from '../manifest/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';
import type { DiffFlags } from './specs.js';

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new TrustpinError('USAGE', `${flag} must be a positive integer`, {
      expected: 'e.g. 100',
      found: v,
    });
  return n;
}

export const action: Action<DiffFlags> = async ([a, b], o, ctx) => {
  const max = positive('--max-entries', o.maxEntries);
  const concurrency = positive('--concurrency', o.concurrency);
  const platform = o.platform ? parsePlatform(o.platform) : undefined;
  let first = a!;
  if (o.policy !== undefined) {
    const j = await (await import('./verify-policy.js')).judgeOne(o.policy, first, ctx);
    if (!j.pinned) return j.refused;
    first = j.pinned;
  }
  const [sa, sb] = await Promise.all([ctx.open(first), ctx.open(b!)]);
  const d = limitEntries(
    await diffImages(sa, sb, { mode: o.semantic ? 'semantic' : 'strict', platform, concurrency }),
    max,
  );
  const benign = o.benign === true;
  return {
    exit: d.equal ? EXIT.ok : EXIT.failed,
    json: diffJson(d, { benign }),
    text: renderDiff(d, ctx.style, { benign }),
    quiet: '',
  };
};
