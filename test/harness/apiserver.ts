// A kube-apiserver emulator for the admission webhook's tests (no kube-apiserver runs here): it reads the real
// webhook configurations (deploy/kubernetes/webhook.yaml) and calls webhooks exactly as the API server does.
//
// Modelled on k8s.io/apiserver/pkg/admission/plugin/webhook: the rules and namespaceSelector/objectSelector
// decide which webhooks are called; mutating webhooks run first, one after another, each patch applied to the
// object the next one sees (reinvocationPolicy IfNeeded: once more when a later one changed it); then every
// validating webhook sees the final object. A response is checked like VerifyAdmissionResponse; a call that
// fails (connection, TLS, timeout, non-200, invalid response) is decided by the webhook's failurePolicy.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { checkServerIdentity } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'admission');

// ---------------------------------------------------------------------------------------------------------------
// Webhook configuration types (admissionregistration.k8s.io/v1, the fields the emulator reads)

/** One `rules[]` entry of a webhook. */
export interface RuleWithOperations {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
  scope?: 'Cluster' | 'Namespaced' | '*';
}

/** A metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

/** One entry of `webhooks[]` in a Validating/MutatingWebhookConfiguration. */
export interface WebhookSpec {
  name: string;
  admissionReviewVersions: string[];
  clientConfig: {
    service?: { name: string; namespace: string; path?: string; port?: number };
    url?: string;
    caBundle?: string;
  };
  rules?: RuleWithOperations[];
  failurePolicy?: 'Fail' | 'Ignore';
  matchPolicy?: 'Exact' | 'Equivalent';
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects: 'None' | 'NoneOnDryRun' | 'Some' | 'Unknown';
  timeoutSeconds?: number;
  /** mutating webhooks only */
  reinvocationPolicy?: 'Never' | 'IfNeeded';
}

/** A ValidatingWebhookConfiguration or MutatingWebhookConfiguration. */
export interface WebhookConfiguration<K extends string> {
  apiVersion: 'admissionregistration.k8s.io/v1';
  kind: K;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  webhooks: WebhookSpec[];
}

/** The webhook configurations of one file, by kind. */
export interface WebhookConfigs {
  validating: WebhookConfiguration<'ValidatingWebhookConfiguration'>[];
  mutating: WebhookConfiguration<'MutatingWebhookConfiguration'>[];
}

/**
 * Read the Validating/MutatingWebhookConfiguration documents of a (multi-document) YAML file; other kinds are
 * skipped. A relative path is taken from the repository root. Throws on YAML errors and on a configuration
 * without `webhooks`, a name, `sideEffects` or `admissionReviewVersions` (fields the v1 API requires).
 */
export function loadWebhookConfigs(path = 'deploy/kubernetes/webhook.yaml'): WebhookConfigs {
  const file = isAbsolute(path) ? path : join(REPO_ROOT, path);
  const out: WebhookConfigs = { validating: [], mutating: [] };
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const o = doc.toJS() as WebhookConfiguration<string> | null;
    if (!o || (o.kind !== 'ValidatingWebhookConfiguration' && o.kind !== 'MutatingWebhookConfiguration'))
      continue;
    if (o.apiVersion !== 'admissionregistration.k8s.io/v1') {
      throw new Error(
        `${file}: ${o.kind} has apiVersion ${o.apiVersion}, expected admissionregistration.k8s.io/v1`,
      );
    }
    if (!Array.isArray(o.webhooks) || o.webhooks.length === 0)
      throw new Error(`${file}: ${o.kind} has no webhooks`);
    for (const w of o.webhooks) {
      if (!w.name || !w.sideEffects || !Array.isArray(w.admissionReviewVersions)) {
        throw new Error(
          `${file}: webhook ${w.name ?? '?'} lacks name, sideEffects or admissionReviewVersions`,
        );
      }
    }
    if (o.kind === 'ValidatingWebhookConfiguration') {
      out.validating.push(o as WebhookConfiguration<'ValidatingWebhookConfiguration'>);
    } else out.mutating.push(o as WebhookConfiguration<'MutatingWebhookConfiguration'>);
  }
  return out;
}

/**
 * A Kubernetes object from test/fixtures/admission (`pod` or `pod.yaml`), with every `REGISTRY/` image host
 * placeholder replaced by `registryHost` (e.g. `127.0.0.1:5000`).
 */
// biome-ignore lint/suspicious/noExplicitAny: a test reads deep into the object (spec.template.spec.containers[0])
export function loadFixture(name: string, registryHost: string): any {
  const file = join(FIXTURES, name.endsWith('.yaml') ? name : `${name}.yaml`);
  return parseYaml(readFileSync(file, 'utf8').replace(/\bREGISTRY\//g, `${registryHost}/`));
}

// ---------------------------------------------------------------------------------------------------------------
// The emulator

/** Where the test's webhook server really listens: the configuration's service reference is mapped here. */
export interface WebhookTarget {
  /** `https://127.0.0.1:PORT` (no path: the configuration's `service.path` is appended) */
  url: string;
  /** PEM of the CA the server's certificate chains to (the caBundle the API server would hold) */
  caBundle: Buffer | string;
}

/** How the emulator is set up. */
export interface ApiServerEmulatorOptions {
  /** the server for the validating webhooks; without it, validating webhooks are not called */
  validating?: WebhookTarget;
  /** the server for the mutating webhooks; without it, mutating webhooks are not called */
  mutating?: WebhookTarget;
  /** usually `loadWebhookConfigs()` */
  configs: WebhookConfigs;
  /** TLS server name to verify; default `<service>.<namespace>.svc` as the API server does (127.0.0.1 works too) */
  servername?: string;
  /** overrides every webhook's timeoutSeconds for the deadline (the `?timeout=` query still says the config's) */
  timeoutMs?: number;
  /** labels of namespaces beyond `kubernetes.io/metadata.name`, which is always set, as the API server does */
  namespaceLabels?: Record<string, Record<string, string>>;
}

/** One admission request: what kubectl would do with the object. */
export interface AdmitOptions {
  /** default CREATE; UPDATE when `oldObject` or `subResource` is given */
  operation?: 'CREATE' | 'UPDATE';
  oldObject?: unknown;
  /** default `object.metadata.namespace`, else `default` */
  namespace?: string;
  dryRun?: boolean;
  /** e.g. `ephemeralcontainers` (kubectl debug: UPDATE pods/ephemeralcontainers) */
  subResource?: string;
  userInfo?: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
}

/** One webhook call as the emulator made it. */
export interface WebhookCall {
  webhook: string;
  ms: number;
  /** 0 when no HTTP response arrived (connection, TLS or timeout) */
  httpStatus: number;
  allowed?: boolean;
  /** the call failed (see failurePolicy); the text the API server would log */
  error?: string;
}

/** What the API server would answer and store. */
export interface AdmitResult {
  allowed: boolean;
  /** the object after every mutating webhook's patch (the one the validating webhooks judged) */
  // biome-ignore lint/suspicious/noExplicitAny: a test reads deep into the object
  object: any;
  warnings: string[];
  /** keys prefixed by the webhook's name (`validate.trustpin.dev/key`), as in the API server's audit log */
  auditAnnotations: Record<string, string>;
  /**
   * audit annotations the API server would drop (it only logs a warning): the prefixed key is not a qualified
   * name (`prefix/name`, exactly one `/`, name ≤ 63 characters), or a key already set to another value
   */
  droppedAuditAnnotations: { key: string; reason: string }[];
  /** when denied: the API server's status (403 from a webhook's denial unless it set a code; 500 on failure) */
  status?: { code?: number; message?: string; reason?: string };
  /** the decoded JSON Patch operations of every mutating call, in the order applied */
  patches: unknown[];
  calls: WebhookCall[];
  /** which webhook denied, or whose failure denied (failurePolicy Fail) */
  deniedBy?: string;
  /** the failure that decided the outcome (failurePolicy Fail, or a patch that could not be applied) */
  error?: string;
}

/** A call that failed before a valid verdict: failurePolicy decides (webhookutil.ErrCallingWebhook). */
class CallError extends Error {}

const KIND_RESOURCES: Record<string, string> = {
  Pod: 'pods',
  Deployment: 'deployments',
  ReplicaSet: 'replicasets',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  Job: 'jobs',
  CronJob: 'cronjobs',
  ReplicationController: 'replicationcontrollers',
};

interface Hook {
  spec: WebhookSpec;
  mutating: boolean;
  target: WebhookTarget;
}

interface RequestAttrs {
  gvk: { group: string; version: string; kind: string };
  gvr: { group: string; version: string; resource: string };
  subResource?: string;
  operation: 'CREATE' | 'UPDATE';
  namespace: string;
  name: string;
  oldObject: unknown;
  dryRun: boolean;
  userInfo: NonNullable<AdmitOptions['userInfo']>;
}

/**
 * Sends objects through the webhooks of `configs` the way kube-apiserver admission does. Each `admit()` is one
 * API request; nothing is stored.
 */
export class ApiServerEmulator {
  private readonly hooks: { mutating: Hook[]; validating: Hook[] };

  constructor(private readonly o: ApiServerEmulatorOptions) {
    // The API server orders configurations by name, webhooks by their order in the configuration.
    const byName = <T extends { metadata: { name: string } }>(a: T, b: T) =>
      a.metadata.name.localeCompare(b.metadata.name);
    const hooks = (cs: WebhookConfiguration<string>[], mutating: boolean, target?: WebhookTarget) =>
      target
        ? [...cs].sort(byName).flatMap((c) => c.webhooks.map((spec) => ({ spec, mutating, target })))
        : [];
    this.hooks = {
      mutating: hooks(o.configs.mutating, true, o.mutating),
      validating: hooks(o.configs.validating, false, o.validating),
    };
  }

  /** Admit `object` (a Pod, Deployment, …): mutate, then validate the final object. */
  async admit(object: unknown, opts: AdmitOptions = {}): Promise<AdmitResult> {
    const attrs = requestAttrs(object as KubeObject, opts);
    const own = (object as KubeObject)?.metadata?.namespace;
    if (opts.namespace !== undefined && own !== undefined && own !== opts.namespace) {
      // The API server answers 400 before admission; here it is a mistake in the test.
      throw new Error(
        `the namespace of the object (${own}) does not match the request namespace (${opts.namespace})`,
      );
    }
    let current = structuredClone(object) as KubeObject;
    current.metadata ??= {};
    current.metadata.namespace ??= attrs.namespace;
    const result: AdmitResult = {
      allowed: true,
      object: current,
      warnings: [],
      auditAnnotations: {},
      droppedAuditAnnotations: [],
      patches: [],
      calls: [],
    };
    const nsLabels = {
      ...this.o.namespaceLabels?.[attrs.namespace],
      'kubernetes.io/metadata.name': attrs.namespace,
    };
    const matching = (hs: Hook[]) => hs.filter((h) => matches(h.spec, attrs, nsLabels, current));

    // Mutating: in order; IfNeeded hooks run once more if a later hook changed the object after them.
    const mutators = matching(this.hooks.mutating);
    const after = new Map<Hook, unknown>();
    const runMutator = async (h: Hook, round: number, index: number): Promise<boolean> => {
      const out = await this.call(h, attrs, current, result, round, index);
      if (out === 'denied') return false;
      if (out !== 'skipped' && out.patch) {
        try {
          current = applyJsonPatch(current, out.patch);
        } catch (e) {
          // Not ErrCallingWebhook in the API server: a patch that does not apply is refused whatever failurePolicy.
          return this.deny(result, h, 500, `Internal error occurred: ${(e as Error).message}`, true);
        }
        result.patches.push(...out.patch);
      }
      after.set(h, structuredClone(current));
      return true;
    };
    const mutate = async (): Promise<boolean> => {
      for (const [i, h] of mutators.entries()) if (!(await runMutator(h, 0, i))) return false;
      const again = mutators.filter(
        (h) => h.spec.reinvocationPolicy === 'IfNeeded' && !isDeepStrictEqual(after.get(h), current),
      );
      for (const [i, h] of again.entries()) if (!(await runMutator(h, 1, i))) return false;
      return true;
    };
    const mutated = await mutate();
    result.object = current;
    if (!mutated) return result;

    // Validating: all at once, on the final object; any denial (or Fail-policy failure) denies.
    const validators = matching(this.hooks.validating);
    const outs = await Promise.all(
      validators.map((h, i) => this.call(h, attrs, current, result, 0, i).then((out) => ({ h, out }))),
    );
    const denied = outs.find((x) => x.out === 'denied');
    if (denied) result.allowed = false;
    return result;
  }

  /** One webhook call, its verdict folded into `result`; `denied` when it (or its failure) denies. */
  private async call(
    h: Hook,
    attrs: RequestAttrs,
    object: unknown,
    result: AdmitResult,
    round: number,
    index: number,
  ): Promise<'denied' | 'skipped' | { patch?: unknown[] }> {
    const started = performance.now();
    const call: WebhookCall = { webhook: h.spec.name, ms: 0, httpStatus: 0 };
    result.calls.push(call);
    try {
      if (attrs.dryRun && h.spec.sideEffects !== 'None' && h.spec.sideEffects !== 'NoneOnDryRun') {
        throw new CallError(`webhook does not support dry run (sideEffects ${h.spec.sideEffects})`);
      }
      if (!h.spec.admissionReviewVersions.includes('v1')) {
        throw new CallError('webhook does not accept admission.k8s.io/v1 AdmissionReview');
      }
      const uid = randomUUID();
      const review = buildReview(uid, attrs, object);
      const { status, body } = await this.post(h, review, call);
      call.httpStatus = status;
      const response = verifyAdmissionResponse(uid, h.mutating, status, body);
      call.allowed = response.allowed;
      for (const w of response.warnings ?? []) result.warnings.push(w);
      for (const [k, v] of Object.entries(response.auditAnnotations ?? {})) {
        addAuditAnnotation(result, `${h.spec.name}/${k}`, v);
      }
      if (!response.allowed) {
        const msg = response.status?.message;
        const text = msg
          ? `admission webhook "${h.spec.name}" denied the request: ${msg}`
          : `admission webhook "${h.spec.name}" denied the request without explanation`;
        this.deny(result, h, response.status?.code ?? 403, text, false);
        return 'denied';
      }
      return response.patch ? { patch: response.patch } : {};
    } catch (e) {
      const reason = (e as Error).message;
      call.error = reason;
      if (!(e instanceof CallError)) throw e;
      if ((h.spec.failurePolicy ?? 'Fail') === 'Ignore') {
        // The API server records a fail-open call in the audit log under this key.
        const kind = h.mutating ? 'mutating' : 'validating';
        result.auditAnnotations[
          `failed-open.${kind}.webhook.admission.k8s.io/round_${round}_index_${index}`
        ] = h.spec.name;
        return 'skipped';
      }
      this.deny(
        result,
        h,
        500,
        `Internal error occurred: failed calling webhook "${h.spec.name}": ${reason}`,
        true,
      );
      return 'denied';
    } finally {
      call.ms = Math.round(performance.now() - started);
    }
  }

  private deny(result: AdmitResult, h: Hook, code: number, message: string, isError: boolean): false {
    result.allowed = false;
    if (result.deniedBy !== undefined) return false; // the first denial is the one the client sees
    result.deniedBy = h.spec.name;
    result.status = { code, message, reason: code === 500 ? 'InternalError' : 'Forbidden' };
    if (isError) result.error = message;
    return false;
  }

  /** POST the review as the API server's webhook client does; any failure is a CallError. */
  private post(h: Hook, review: unknown, call: WebhookCall): Promise<{ status: number; body: Buffer }> {
    const cc = h.spec.clientConfig;
    const path = cc.service ? (cc.service.path ?? '/') : new URL(cc.url ?? 'https://invalid/').pathname;
    const seconds = h.spec.timeoutSeconds ?? 10;
    const url = new URL(`${h.target.url.replace(/\/$/, '')}${path}?timeout=${seconds}s`);
    const servername =
      this.o.servername ?? (cc.service ? `${cc.service.name}.${cc.service.namespace}.svc` : url.hostname);
    const payload = Buffer.from(JSON.stringify(review));
    const deadline = this.o.timeoutMs ?? seconds * 1000;
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new CallError(`failed to call webhook: Post "${url}": ${why}`));
      const req = httpsRequest(url, {
        method: 'POST',
        ca: h.target.caBundle,
        // SNI takes no IP address (RFC 6066); the certificate is checked against the name either way.
        ...(isIP(servername) ? {} : { servername }),
        checkServerIdentity: (_host, cert) => checkServerIdentity(servername, cert),
        agent: false,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, */*',
          'user-agent': 'kube-apiserver-admission',
          'content-length': payload.length,
        },
      });
      const timer = setTimeout(() => {
        req.destroy();
        fail('context deadline exceeded');
      }, deadline);
      req.on('error', (e) => {
        clearTimeout(timer);
        fail(e.message);
      });
      req.on('response', (res) => {
        call.httpStatus = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => {
          clearTimeout(timer);
          fail(e.message);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
      });
      req.end(payload);
    });
  }
}

/** The fields of an object the API server reads before admission. */
interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** admission.attributesRecord.AddAnnotation: the key must be `prefix/name` and may not change its value. */
function addAuditAnnotation(result: AdmitResult, key: string, value: string): void {
  const parts = key.split('/');
  const [prefix, name] = parts as [string, string];
  let reason: string | undefined;
  if (parts.length !== 2) {
    reason =
      "annotation key has invalid format, the right format is a DNS subdomain prefix and '/' and key name";
  } else if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
    reason = `annotation key prefix ${JSON.stringify(prefix)} is not a DNS subdomain`;
  } else if (name.length > 63 || !QUALIFIED_NAME.test(name)) {
    reason = `annotation key name ${JSON.stringify(name)} is not a qualified name (≤ 63 characters)`;
  } else if (Object.hasOwn(result.auditAnnotations, key) && result.auditAnnotations[key] !== value) {
    reason = 'admission annotations are not allowed to be overwritten';
  }
  if (reason) result.droppedAuditAnnotations.push({ key, reason });
  else result.auditAnnotations[key] = value;
}

function requestAttrs(object: KubeObject | null | undefined, o: AdmitOptions): RequestAttrs {
  const [group, version] = String(object?.apiVersion ?? '').includes('/')
    ? (String(object?.apiVersion).split('/') as [string, string])
    : ['', String(object?.apiVersion ?? '')];
  const kind = String(object?.kind ?? '');
  const resource = KIND_RESOURCES[kind] ?? `${kind.toLowerCase()}s`;
  const operation = o.operation ?? (o.oldObject !== undefined || o.subResource ? 'UPDATE' : 'CREATE');
  return {
    gvk: { group, version, kind },
    gvr: { group, version, resource },
    ...(o.subResource ? { subResource: o.subResource } : {}),
    operation,
    namespace: o.namespace ?? object?.metadata?.namespace ?? 'default',
    name: object?.metadata?.name ?? '',
    oldObject: o.oldObject ?? null,
    dryRun: o.dryRun ?? false,
    userInfo: o.userInfo ?? {
      username: 'kubernetes-admin',
      groups: ['kubeadm:cluster-admins', 'system:authenticated'],
    },
  };
}

/** The AdmissionReview v1 request body. */
function buildReview(uid: string, a: RequestAttrs, object: unknown): unknown {
  const options = {
    apiVersion: 'meta.k8s.io/v1',
    kind: a.operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions',
    ...(a.dryRun ? { dryRun: ['All'] } : {}),
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: a.gvk,
      resource: a.gvr,
      ...(a.subResource ? { subResource: a.subResource } : {}),
      requestKind: a.gvk,
      requestResource: a.gvr,
      ...(a.subResource ? { requestSubResource: a.subResource } : {}),
      name: a.name,
      namespace: a.namespace,
      operation: a.operation,
      userInfo: a.userInfo,
      object,
      oldObject: a.oldObject,
      dryRun: a.dryRun,
      options,
    },
  };
}

interface VerifiedResponse {
  allowed: boolean;
  status?: { code?: number; message?: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
  patch?: unknown[];
}

const invalid = (why: string) => new CallError(`received invalid webhook response: ${why}`);

/**
 * The API server's checks of a webhook's answer (request.VerifyAdmissionResponse and the decoding before it).
 * Stricter in one place: a missing `allowed` is an error here (Go decodes it as false, a silent denial).
 */
function verifyAdmissionResponse(
  uid: string,
  mutating: boolean,
  status: number,
  body: Buffer,
): VerifiedResponse {
  if (status !== 200) {
    throw new CallError(`the server responded with status ${status}: ${body.toString('utf8').slice(0, 200)}`);
  }
  let review: { apiVersion?: unknown; kind?: unknown; response?: Record<string, unknown> | null } | null;
  try {
    review = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw invalid(`${(e as Error).message}`);
  }
  if (review?.apiVersion !== 'admission.k8s.io/v1' || review?.kind !== 'AdmissionReview') {
    throw invalid(
      `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${review?.apiVersion}, Kind=${review?.kind}`,
    );
  }
  const r = review.response;
  if (r === null || typeof r !== 'object') throw invalid('response is absent');
  if (r.uid !== uid) {
    throw invalid(`expected response.uid="${uid}", got "${r.uid}"`);
  }
  if (typeof r.allowed !== 'boolean') {
    throw invalid(`response.allowed is ${JSON.stringify(r.allowed)}`);
  }
  const hasPatch = r.patch !== undefined && r.patch !== null && r.patch !== '';
  const hasType = r.patchType !== undefined && r.patchType !== null && r.patchType !== '';
  if (!mutating && (hasPatch || hasType)) {
    throw invalid('validating webhook may not return response.patch');
  }
  if (hasPatch && !hasType) {
    throw invalid('webhook returned response.patch but not response.patchType');
  }
  if (hasType && !hasPatch) {
    throw invalid('webhook returned response.patchType but not response.patch');
  }
  if (hasType && r.patchType !== 'JSONPatch') {
    throw invalid(`webhook returned invalid response.patchType of "${r.patchType}"`);
  }
  const out: VerifiedResponse = { allowed: r.allowed };
  // Fields of the wrong JSON type fail Go's decoding: an invalid response too.
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (r.status !== undefined && r.status !== null) {
    if (!isObject(r.status)) throw invalid('response.status is not an object');
    out.status = r.status as VerifiedResponse['status'] & object;
  }
  if (r.warnings !== undefined && r.warnings !== null) {
    if (!Array.isArray(r.warnings) || r.warnings.some((w) => typeof w !== 'string')) {
      throw invalid('response.warnings is not a list of strings');
    }
    out.warnings = r.warnings as string[];
  }
  if (r.auditAnnotations !== undefined && r.auditAnnotations !== null) {
    if (
      !isObject(r.auditAnnotations) ||
      Object.values(r.auditAnnotations).some((v) => typeof v !== 'string')
    ) {
      throw invalid('response.auditAnnotations is not a map of strings');
    }
    out.auditAnnotations = r.auditAnnotations as Record<string, string>;
  }
  if (hasPatch) {
    // Go decodes []byte from standard base64 and fails the decode (ErrCallingWebhook) on anything else.
    if (typeof r.patch !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(r.patch) || r.patch.length % 4 !== 0) {
      throw invalid('response.patch is not base64');
    }
    let ops: unknown;
    try {
      ops = JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8'));
    } catch (e) {
      throw invalid(`response.patch is not JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(ops)) throw invalid('response.patch is not a JSON array');
    out.patch = ops;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Matching

function matches(
  w: WebhookSpec,
  a: RequestAttrs,
  nsLabels: Record<string, string>,
  object: KubeObject,
): boolean {
  const rules = w.rules ?? [];
  const ruleMatches = rules.some(
    (r) =>
      (r.operations.includes('*') || r.operations.includes(a.operation)) &&
      (r.apiGroups.includes('*') || r.apiGroups.includes(a.gvr.group)) &&
      (r.apiVersions.includes('*') || r.apiVersions.includes(a.gvr.version)) &&
      (r.scope ?? '*') !== 'Cluster' &&
      r.resources.some((p) => resourceMatches(p, a.gvr.resource, a.subResource)),
  );
  if (!ruleMatches) return false;
  if (!selectorMatches(w.namespaceSelector, nsLabels)) return false;
  // objectSelector: the object or the old object (UPDATE) may match.
  const labels = (o: unknown): Record<string, string> => (o as KubeObject | null)?.metadata?.labels ?? {};
  return (
    selectorMatches(w.objectSelector, labels(object)) ||
    (a.oldObject !== null && selectorMatches(w.objectSelector, labels(a.oldObject)))
  );
}

function resourceMatches(pattern: string, resource: string, sub: string | undefined): boolean {
  const [pr, ps] = pattern.split('/') as [string, string | undefined];
  if (ps === undefined) return sub === undefined && (pr === '*' || pr === resource);
  return sub !== undefined && (pr === '*' || pr === resource) && (ps === '*' || ps === sub);
}

function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    const ok =
      e.operator === 'In'
        ? inValues
        : e.operator === 'NotIn'
          ? !inValues
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON Patch (RFC 6902) on JSON Pointers (RFC 6901); any invalid op or path throws and nothing is applied.

/** Apply `ops` to a copy of `doc`; throws on an unknown op, a bad pointer, a missing target or a failed test. */
export function applyJsonPatch<T>(doc: T, ops: unknown[]): T {
  let root: unknown = structuredClone(doc);
  for (const [i, raw] of ops.entries()) {
    const op = raw as { op?: unknown; path?: unknown; from?: unknown; value?: unknown };
    const where = `patch operation ${i} (${JSON.stringify(raw)})`;
    if (typeof op?.path !== 'string') throw new Error(`${where}: no path`);
    const needsValue = op.op === 'add' || op.op === 'replace' || op.op === 'test';
    if (needsValue && !Object.hasOwn(op, 'value')) throw new Error(`${where}: no value`);
    switch (op.op) {
      case 'add':
        root = put(root, op.path, structuredClone(op.value), true, where);
        break;
      case 'replace':
        get(root, op.path, where);
        root = put(root, op.path, structuredClone(op.value), false, where);
        break;
      case 'remove':
        root = take(root, op.path, where);
        break;
      case 'test':
        if (!isDeepStrictEqual(get(root, op.path, where), op.value)) throw new Error(`${where}: test failed`);
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new Error(`${where}: no from`);
        const v = structuredClone(get(root, op.from, where));
        if (op.op === 'move') root = take(root, op.from, where);
        root = put(root, op.path, v, true, where);
        break;
      }
      default:
        throw new Error(`${where}: unknown op ${JSON.stringify(op.op)}`);
    }
  }
  return root as T;
}

type Container = Record<string, unknown> | unknown[];

function pointer(path: string, where: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`${where}: path ${JSON.stringify(path)} is not a JSON pointer`);
  return path
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new Error(`${where}: bad escape in ${JSON.stringify(path)}`);
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

function index(arr: unknown[], token: string, forAdd: boolean, where: string): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw new Error(`${where}: ${JSON.stringify(token)} is not an array index`);
  const n = Number(token);
  if (n > arr.length || (!forAdd && n === arr.length))
    throw new Error(`${where}: index ${n} is out of range`);
  return n;
}

/** The parent container of the pointer's target and the last token. */
function parent(root: unknown, path: string, where: string): { node: Container; last: string } | null {
  const tokens = pointer(path, where);
  if (tokens.length === 0) return null;
  const missing = () => new Error(`${where}: ${JSON.stringify(path)} does not exist`);
  let node: unknown = root;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[index(node, t, false, where)];
    else if (node !== null && typeof node === 'object' && Object.hasOwn(node, t)) {
      node = (node as Record<string, unknown>)[t];
    } else throw missing();
  }
  if (node === null || typeof node !== 'object') throw missing();
  return { node: node as Container, last: tokens.at(-1)! };
}

function get(root: unknown, path: string, where: string): unknown {
  const p = parent(root, path, where);
  if (!p) return root;
  if (Array.isArray(p.node)) return p.node[index(p.node, p.last, false, where)];
  if (!Object.hasOwn(p.node, p.last)) throw new Error(`${where}: ${JSON.stringify(path)} does not exist`);
  return p.node[p.last];
}

function put(root: unknown, path: string, value: unknown, insert: boolean, where: string): unknown {
  const p = parent(root, path, where);
  if (!p) return value;
  if (Array.isArray(p.node)) {
    const i = index(p.node, p.last, insert, where);
    if (insert) p.node.splice(i, 0, value);
    else p.node[i] = value;
  } else p.node[p.last] = value;
  return root;
}

function take(root: unknown, path: string, where: string): unknown {
  const p = parent(root, path, where);
  if (!p) throw new Error(`${where}: cannot remove the whole document`);
  if (Array.isArray(p.node)) p.node.splice(index(p.node, p.last, false, where), 1);
  else if (Object.hasOwn(p.node, p.last)) delete p.node[p.last];
  else throw new Error(`${where}: ${JSON.stringify(path)} does not exist`);
  return root;
}
