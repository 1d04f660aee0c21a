// Verified pull into an OCI layout (and optional safe unpack): the library entry point the CLI wraps.
// Everything here works on any ImageSource: a registry, an OCI layout, or an archive.
export { isTarLayer, type LayerProof } from './diff-ids.js';
export { type PlannedImage, type PullPlan, planPull } from './plan.js';
export {
  type LayerProgress,
  type LayerState,
  ProgressLines,
  type ProgressOptions,
  type ProgressState,
  type ProgressStream,
  renderProgress,
} from './progress.js';
export {
  type BlobRole,
  type PullEvent,
  type PulledLayer,
  type PullOptions,
  type PullResult,
  pull,
} from './pull.js';
export { OciStore } from './store.js';
