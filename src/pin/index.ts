// The pin face: find image references in the files people deploy from (Dockerfiles, compose, Kubernetes, Helm
// values, GitHub Actions workflows), resolve them by verified digest, judge them by the policy, write them back.
export { composeExtendsFiles, extractCompose, readCompose } from './compose.js';
export { detectFormat } from './detect.js';
export { extractDockerfile } from './dockerfile.js';
export { type FindOptions, findPinFiles, MAX_PIN_FILE_BYTES, MAX_PIN_FILES, type PinFile } from './files.js';
export { extractHelmValues } from './helm.js';
export { extractKubernetes } from './kubernetes.js';
export {
  DEFAULT_PIN_CONCURRENCY,
  type PinFileReport,
  type PinMode,
  type PinOptions,
  type PinReport,
  type PinSiteResult,
  type PinSiteStatus,
  pinFiles,
} from './pin.js';
export { applyEdits, pinnedText, siteEdit, type TextEdit } from './rewrite.js';
export * from './types.js';
export { extractWorkflow } from './workflow.js';
export { MAX_PIN_YAML_DEPTH, MAX_PIN_YAML_MERGE_DEPTH } from './yaml.js';
