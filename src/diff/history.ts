// The config `history` compared on its own, as what it is: unproven metadata anyone who can push can write.
// When it matches while the files do not, that is seed 002's forged-history case, and it is said loudly.
import { isDeepStrictEqual } from 'node:util';
import type { ImageConfig } from '../manifest/index.js';
import type { DiffFinding } from './findings.js';

export interface HistoryComparison {
  /** the same recorded build steps (commands, comments, empty-layer flags, authors), timestamps aside */
  equal: boolean;
  /** the timestamps in the history (or the config's `created`) differ */
  timestampsDiffer: boolean;
  /** history equal while the content differs: the history was copied or rewritten */
  forged: boolean;
  /** the verdict on the history, coded: HISTORY_EQUAL, HISTORY_DIFFERS, FORGED_HISTORY, NO_HISTORY, … */
  finding: DiffFinding;
  a: string[];
  b: string[];
}

export const UNPROVEN =
  'History is unproven metadata: whoever pushes an image writes it, and nothing ties it to the layers.';

type Config = Pick<ImageConfig, 'history' | 'created'>;

function steps(c: Config): string[] {
  return (c.history ?? []).map(
    (h) =>
      `${h.created_by ?? ''}${h.comment ? ` # ${h.comment}` : ''}${h.empty_layer ? ' (no layer)' : ''}${h.author ? ` (by ${h.author})` : ''}`,
  );
}

/** `samePlatform` false: one Dockerfile legitimately gives other files on another architecture. */
export function compareHistory(
  a: Config,
  b: Config,
  contentDiffers: boolean,
  samePlatform = true,
): HistoryComparison {
  const sa = steps(a);
  const sb = steps(b);
  const equal = isDeepStrictEqual(sa, sb);
  const timestampsDiffer =
    a.created !== b.created ||
    !isDeepStrictEqual(
      (a.history ?? []).map((h) => h.created),
      (b.history ?? []).map((h) => h.created),
    );
  const forged = equal && contentDiffers && sa.length > 0 && samePlatform;
  const f = (code: DiffFinding['code'], message: string): DiffFinding => ({ code, message });
  let finding: DiffFinding;
  if (equal && contentDiffers && !samePlatform)
    finding = f(
      'HISTORY_EQUAL',
      `The same build steps for two platforms; other files are expected. ${UNPROVEN}`,
    );
  else if (forged)
    finding = f(
      'FORGED_HISTORY',
      'HISTORY EQUAL, CONTENT DIFFERS: both images record the same build steps, yet their files differ. ' +
        'A matching history proves nothing: it is editable metadata (a copied or rewritten history looks exactly ' +
        'like this), and a non-reproducible rebuild differs too. Trust the content comparison, not the history.',
    );
  else if (equal && sa.length === 0)
    finding = f('NO_HISTORY', `Neither image records a history. ${UNPROVEN}`);
  else if (equal)
    finding = f(
      'HISTORY_EQUAL',
      `The same ${sa.length} build steps are recorded. ${UNPROVEN} The content comparison is the proof.`,
    );
  else if (!contentDiffers)
    finding = f(
      'HISTORY_DIFFERS',
      `History differs while the content is the same. ${UNPROVEN} It proves nothing either way.`,
    );
  else finding = f('HISTORY_DIFFERS', `History differs. ${UNPROVEN} The content comparison is what counts.`);
  return { equal, timestampsDiffer, forged, finding, a: sa, b: sb };
}
