// What `diff` found, as data: warnings, the history verdict and every difference that made two images unequal
// carry a code from one closed list; `equal` is decided from the differences, never from message text.
import type { Finding } from '../mirror/index.js';

/**
 * Every code `diffImages` emits, closed. `warnings` hold the first group, `history.finding` the second, and
 * `differences` (what makes the images unequal under the chosen mode) the third, plus `HISTORY_DIFFERS` (strict
 * mode), `DIFF_ID_MISMATCH` and `DIFF_ID_COUNT_MISMATCH` (a config that lies is never equal).
 */
export const DIFF_FINDING_CODES = [
  // warnings
  /** one side is a single image: its platform was taken from the index on the other side */
  'PLATFORM_CHOSEN',
  /** a side is not the platform the caller asked for (`side`) */
  'PLATFORM_MISMATCH',
  /** a config lists another number of diff_ids than its manifest has layers (`side`) */
  'DIFF_ID_COUNT_MISMATCH',
  /** a layer does not decompress to the diff_id its config claims (`side`, `detail.layer`) */
  'DIFF_ID_MISMATCH',
  /** an entry was written through a symlink an earlier entry made; resolved inside the root (`side`) */
  'SYMLINK_TRAVERSAL',
  // history
  /** the same bytes on both sides: history was not read */
  'HISTORY_NOT_READ',
  /** neither image records a history */
  'NO_HISTORY',
  /** the same build steps are recorded (timestamps aside); proves nothing */
  'HISTORY_EQUAL',
  /** the recorded build steps differ */
  'HISTORY_DIFFERS',
  /** the same build steps over other files on the same platform: a copied or rewritten history */
  'FORGED_HISTORY',
  // differences
  /** files were added, removed or changed (`detail` has the counts) */
  'FILES_DIFFER',
  /** strict mode: the same files, but other layer boundaries or tar order (`detail.layers`) */
  'LAYERS_DIFFER',
  /** the config differs in how the container runs or in its platform (`detail.fields`) */
  'CONFIG_DIFFERS',
  /** strict mode: the config's `created` differs */
  'CREATED_DIFFERS',
  /** strict mode: the config's `author` differs */
  'AUTHOR_DIFFERS',
] as const;

/** A code of {@link DIFF_FINDING_CODES}. */
export type DiffFindingCode = (typeof DIFF_FINDING_CODES)[number];

/** A warning, history verdict or difference of {@link diffImages}. */
export type DiffFinding = Finding<DiffFindingCode>;
