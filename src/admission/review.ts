// AdmissionReview v1 as the API server sends it, read strictly from bounded bytes, and the pod images of every
// pod-bearing kind with the JSON Pointer a patch would write them at.
import { TrustpinError } from '../errors/index.js';

/** The largest AdmissionReview body read (bytes): objects are at most ~1.5 MB in etcd; a review holds two. */
export const MAX_ADMISSION_BODY_BYTES = 4 * 1024 * 1024;

/** The request half of an AdmissionReview v1 (the fields the webhook uses). */
export interface AdmissionRequest {
  apiVersion: string;
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string } | undefined;
  subResource?: string | undefined;
  name?: string | undefined;
  namespace?: string | undefined;
  operation: string;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean | undefined;
}

function invalid(message: string, found?: string): TrustpinError {
  return new TrustpinError('ADMISSION_INVALID', message, {
    expected: 'an AdmissionReview of admission.k8s.io/v1 with request.uid, kind and operation',
    ...(found !== undefined ? { found } : {}),
    hint: 'the webhook configuration must say admissionReviewVersions: [v1]',
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parse an AdmissionReview request body.
 * @throws TrustpinError ADMISSION_INVALID (too large, not JSON, not admission.k8s.io/v1 AdmissionReview, no uid)
 */
export function parseAdmissionReview(body: Uint8Array): AdmissionRequest {
  if (body.length > MAX_ADMISSION_BODY_BYTES)
    throw invalid(`the AdmissionReview is ${body.length} bytes, over ${MAX_ADMISSION_BODY_BYTES}`);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw invalid('the AdmissionReview is not JSON', (e as Error).message);
  }
  if (!isObject(doc)) throw invalid('the AdmissionReview is not a JSON object');
  if (doc.apiVersion !== 'admission.k8s.io/v1' || doc.kind !== 'AdmissionReview')
    throw invalid(
      'not an AdmissionReview of admission.k8s.io/v1',
      `${String(doc.apiVersion)} ${String(doc.kind)}`,
    );
  const r = doc.request;
  if (!isObject(r) || typeof r.uid !== 'string' || r.uid === '')
    throw invalid('the AdmissionReview has no request.uid');
  const kind = r.kind;
  if (!isObject(kind) || typeof kind.kind !== 'string') throw invalid('request.kind is missing');
  if (typeof r.operation !== 'string') throw invalid('request.operation is missing');
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const resource = isObject(r.resource)
    ? {
        group: String(r.resource.group ?? ''),
        version: String(r.resource.version ?? ''),
        resource: String(r.resource.resource ?? ''),
      }
    : undefined;
  return {
    apiVersion: doc.apiVersion,
    uid: r.uid,
    kind: { group: String(kind.group ?? ''), version: String(kind.version ?? ''), kind: kind.kind },
    resource,
    subResource: str(r.subResource),
    name: str(r.name),
    namespace: str(r.namespace),
    operation: r.operation,
    object: r.object,
    oldObject: r.oldObject,
    dryRun: r.dryRun === true,
  };
}

/** One container image of an object, and where a JSON Patch writes it. */
export interface PodImage {
  /** JSON Pointer: `/spec/template/spec/containers/0/image` */
  path: string;
  image: string;
  /** `containers`, `initContainers` or `ephemeralContainers` */
  field: string;
  container: string;
}

/** Where each kind keeps its pod spec (JSON Pointer segments). */
const POD_SPEC: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  PodTemplate: ['template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const FIELDS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** The kinds whose objects hold pod specs. */
export const POD_KINDS: readonly string[] = Object.keys(POD_SPEC);

/** Every container image of `object` (of kind `kind`), with its patch path; [] for kinds without a pod spec. */
export function podImages(object: unknown, kind: string): PodImage[] {
  const at = POD_SPEC[kind];
  if (!at) return [];
  let spec: unknown = object;
  for (const k of at) spec = isObject(spec) ? spec[k] : undefined;
  if (!isObject(spec)) return [];
  const out: PodImage[] = [];
  const base = `/${at.join('/')}`;
  for (const field of FIELDS) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      if (isObject(c) && typeof c.image === 'string')
        out.push({
          path: `${base}/${field}/${i}/image`,
          image: c.image,
          field,
          container: String(c.name ?? i),
        });
    });
  }
  return out;
}
