// The admission face: AdmissionReview v1 read strictly, the pod images of every pod-bearing kind, one answer per
// review judged by the policy (deny, warn, audit, TAG@DIGEST patches) within the API server's deadline, a verdict
// cache, and the webhook server with its probes, metrics and reloads.
export {
  type AdmissionDecision,
  type AdmissionReviewResponse,
  type AdmitOptions,
  admit,
  budgetOf,
  imagesToJudge,
} from './admit.js';
export {
  type CacheStats,
  DEFAULT_VERDICT_CACHE_ENTRIES,
  VerdictCache,
  type VerdictCacheOptions,
} from './cache.js';
export { Metrics } from './metrics.js';
export {
  type AdmissionRequest,
  MAX_ADMISSION_BODY_BYTES,
  POD_KINDS,
  type PodImage,
  parseAdmissionReview,
  podImages,
} from './review.js';
export { WebhookServer, type WebhookServerOptions } from './server.js';
