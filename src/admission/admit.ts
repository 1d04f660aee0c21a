// One AdmissionReview answered: the images the object adds or changes, each judged by the policy (through the
// verdict cache), within the API server's deadline. /validate and /mutate judge alike — an enforce-mode failure is
// denied at either, so a mutator alone also fails closed — and /mutate writes each verified tag as TAG@DIGEST.
import { pinnedText } from '../pin/index.js';
import type { Policy, PolicyVerdict } from '../policy/index.js';
import { parseDockerReference } from '../reference/index.js';
import { type AdmissionRequest, type PodImage, podImages } from './review.js';

/** The AdmissionReview the webhook answers with. */
export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason?: string; message: string } | undefined;
    warnings?: string[] | undefined;
    auditAnnotations?: Record<string, string> | undefined;
    patchType?: 'JSONPatch' | undefined;
    /** base64 of the JSON Patch */
    patch?: string | undefined;
  };
}

/** Options of {@link admit}. */
export interface AdmitOptions {
  policy: Policy;
  /** the verdict for one image reference (the webhook passes its cache's `judge`) */
  judge: (ref: string) => Promise<PolicyVerdict>;
  /** write TAG@DIGEST patches (the /mutate endpoint) */
  mutate: boolean;
  /** the answer must be ready within this many milliseconds (the request's `?timeout=` less a margin) */
  budgetMs: number;
}

/** What was decided, for logs and metrics, beside the response itself. */
export interface AdmissionDecision {
  review: AdmissionReviewResponse;
  /** images judged (added or changed ones) */
  judged: number;
  /** the codes of the denials (empty when allowed) */
  codes: string[];
  /** the codes of failures that did not block (warn and audit rules, an audit-mode timeout) */
  noted: string[];
  timedOut: boolean;
}

const MAX_MESSAGE = 4096;
const MAX_WARNING = 256;

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

function ruleOf(v: PolicyVerdict): string {
  return v.rule ? `rule ${v.rule.name} (${v.rule.at.file}:${v.rule.at.line})` : 'no rule';
}

/** The images of the request's object that must be judged: on UPDATE, only those added or changed. */
export function imagesToJudge(req: AdmissionRequest): PodImage[] {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return [];
  const now = podImages(req.object, req.kind.kind);
  if (req.operation !== 'UPDATE' || req.oldObject === undefined || req.oldObject === null) return now;
  const before = new Set(
    podImages(req.oldObject, req.kind.kind).map((i) => `${i.field}\0${i.container}\0${i.image}`),
  );
  return now.filter((i) => !before.has(`${i.field}\0${i.container}\0${i.image}`));
}

/**
 * The verdict on one image. At /mutate a tag that fails only for not being pinned (a `digestPinned` rule) is judged
 * again as the `TAG@DIGEST` it would be patched to — the object the API server stores, and the validating webhook
 * then sees, names that digest.
 */
async function judgeForAdmission(ref: string, o: AdmitOptions): Promise<PolicyVerdict> {
  const v = await o.judge(ref);
  if (!o.mutate || v.ok || !v.digest || !v.problems.length || v.problems.some((p) => p.code !== 'NOT_PINNED'))
    return v;
  return o.judge(pinnedText(ref, v.digest));
}

/** Answer one admission request. Never throws for a verification outcome; a judge that throws counts as error. */
export async function admit(req: AdmissionRequest, o: AdmitOptions): Promise<AdmissionDecision> {
  const images = imagesToJudge(req);
  const review: AdmissionReviewResponse = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: req.uid, allowed: true },
  };
  if (!images.length) return { review, judged: 0, codes: [], noted: [], timedOut: false };

  const distinct = [...new Set(images.map((i) => i.image))];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), Math.max(0, o.budgetMs));
  });
  const work = Promise.all(
    distinct.map((ref) =>
      judgeForAdmission(ref, o).then(
        (v) => [ref, v] as const,
        (e: unknown) => [ref, e instanceof Error ? e : new Error(String(e))] as const,
      ),
    ),
  );
  const got = await Promise.race([work, deadline]);
  clearTimeout(timer);
  const r = review.response;
  if (got === 'timeout') {
    const seconds = (o.budgetMs / 1000).toFixed(1);
    if (o.policy.defaults.mode === 'audit') {
      r.auditAnnotations = { timeout: `verification did not finish within ${seconds}s; allowed (audit)` };
      return { review, judged: distinct.length, codes: [], noted: ['TIMEOUT'], timedOut: true };
    }
    r.allowed = false;
    r.status = {
      code: 403,
      reason: 'Forbidden',
      message: `trustpin: verification of ${distinct.join(', ')} did not finish within ${seconds}s; denied (fail closed). A retry is answered from the cache once it finishes.`,
    };
    return { review, judged: distinct.length, codes: ['TIMEOUT'], noted: [], timedOut: true };
  }

  const verdicts = new Map<string, PolicyVerdict | Error>(got);
  const denials: string[] = [];
  const codes = new Set<string>();
  const noted = new Set<string>();
  const warnings: string[] = [];
  const audit: Record<string, string> = {};
  const patch: { op: 'replace'; path: string; value: string }[] = [];
  for (const img of images) {
    const v = verdicts.get(img.image)!;
    const who = `${img.image} (${img.field.replace(/s$/, '')} ${img.container})`;
    if (v instanceof Error) {
      denials.push(`${who}: could not be judged: ${v.message}`);
      codes.add('INTERNAL');
      continue;
    }
    const why = v.problems.map((p) => `${p.code}: ${p.message}`).join('; ');
    if (!v.ok) {
      denials.push(`${who} refused by ${ruleOf(v)}: ${why || v.outcome}`);
      for (const p of v.problems) codes.add(p.code);
      continue;
    }
    if (v.outcome !== 'pass') {
      const line = `trustpin: ${who} fails ${ruleOf(v)} (${v.mode}): ${why}`;
      // the API server prefixes a key with the webhook's name (`validate.trustpin.dev/KEY`): KEY has no slash
      if (v.mode === 'audit') audit[auditKey(img.path)] = clip(line, MAX_MESSAGE);
      else warnings.push(clip(line, MAX_WARNING));
      for (const p of v.problems) noted.add(p.code);
      continue;
    }
    if (o.mutate && v.digest && parseDockerReference(img.image).digest === undefined) {
      const value = pinnedText(img.image, v.digest);
      patch.push({ op: 'replace', path: img.path, value });
      warnings.push(clip(`trustpin: ${img.image} pinned to ${v.digest}`, MAX_WARNING));
    }
  }
  if (denials.length) {
    r.allowed = false;
    r.status = {
      code: 403,
      reason: 'Forbidden',
      message: clip(`trustpin: ${denials.join(' | ')}`, MAX_MESSAGE),
    };
  } else if (patch.length) {
    r.patchType = 'JSONPatch';
    r.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (warnings.length) r.warnings = warnings;
  if (Object.keys(audit).length) r.auditAnnotations = audit;
  return { review, judged: distinct.length, codes: [...codes], noted: [...noted], timedOut: false };
}

/** An audit annotation key for an image path: `spec.containers.0.image`, at most 63 characters, no slash. */
function auditKey(path: string): string {
  const k = path
    .slice(1)
    .replaceAll('/', '.')
    .replace(/[^A-Za-z0-9._-]/g, '-');
  return k.length <= 63 ? k : k.slice(k.length - 63).replace(/^[^A-Za-z0-9]+/, '');
}

/**
 * The time budget of a request from the API server's `?timeout=Ns` (1–30 s; default 10 s, the API server's own
 * default): a little less, so the answer arrives before the API server gives up.
 */
export function budgetOf(timeoutQuery: string | null, fallbackSeconds = 10): number {
  const m = /^(\d+)s$/.exec(timeoutQuery ?? '');
  const seconds = m ? Math.min(30, Math.max(1, Number(m[1]))) : fallbackSeconds;
  // answer a little before the API server gives up: 10% and at least 300 ms for the response to travel
  return Math.max(200, seconds * 1000 - Math.max(300, seconds * 100));
}
