// The webhook's decisions, with verdicts given: deny an enforce failure with the rule and codes, warn and audit
// modes allow with warnings / audit annotations, /mutate writes TAG@DIGEST at the right JSON Pointer for every
// pod-bearing kind, UPDATE judges only what changed, the deadline fails closed (audit fails open), and the verdict
// cache shares one evaluation among concurrent requests and keeps tag verdicts shorter than digest ones.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  admit,
  budgetOf,
  imagesToJudge,
  parseAdmissionReview,
  podImages,
  VerdictCache,
} from '../../../src/admission/index.js';
import type { Policy, PolicyVerdict } from '../../../src/policy/index.js';

const D = `sha256:${'d'.repeat(64)}`;
const at = { file: 'p.yaml', line: 7, column: 5 };

function policy(mode: Policy['defaults']['mode'] = 'enforce'): Policy {
  return {
    source: 'p.yaml',
    digest: 'sha256:p1',
    defaults: { mode, noMatch: 'deny', digest: 'resolve', platform: 'index', verifyAt: 'now' },
    trustRoots: new Map(),
    mirrors: [],
    rules: [],
  };
}

function verdict(ref: string, o: Partial<PolicyVerdict> = {}): PolicyVerdict {
  return {
    reference: ref,
    normalized: ref,
    digest: D,
    mode: 'enforce',
    outcome: 'pass',
    ok: true,
    requirements: [],
    problems: [],
    warnings: [],
    at: '2026-12-03T00:00:00Z',
    rule: { name: 'signed', scope: '**', index: 0, at },
    ...o,
  };
}

const refused = (ref: string) =>
  verdict(ref, {
    outcome: 'fail',
    ok: false,
    problems: [{ code: 'SIGNATURE_NOT_FOUND', message: 'no cosign signature' }],
  });

function review(object: unknown, o: { operation?: string; oldObject?: unknown; kind?: string } = {}) {
  const kind = o.kind ?? (object as { kind: string }).kind;
  return parseAdmissionReview(
    Buffer.from(
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u-1',
          kind: { group: '', version: 'v1', kind },
          operation: o.operation ?? 'CREATE',
          object,
          oldObject: o.oldObject ?? null,
        },
      }),
    ),
  );
}

const podSpec = (images: string[], init: string[] = []) => ({
  containers: images.map((image, i) => ({ name: `c${i}`, image })),
  ...(init.length ? { initContainers: init.map((image, i) => ({ name: `i${i}`, image })) } : {}),
});

const decodePatch = (p?: string) => (p ? (JSON.parse(Buffer.from(p, 'base64').toString()) as unknown[]) : []);

describe('podImages', () => {
  test('every pod-bearing kind, with the JSON Pointer of each image', () => {
    const spec = podSpec(['a:1'], ['b:1']);
    const wrap: Record<string, unknown> = {
      Pod: { spec },
      Deployment: { spec: { template: { spec } } },
      StatefulSet: { spec: { template: { spec } } },
      DaemonSet: { spec: { template: { spec } } },
      ReplicaSet: { spec: { template: { spec } } },
      Job: { spec: { template: { spec } } },
      ReplicationController: { spec: { template: { spec } } },
      CronJob: { spec: { jobTemplate: { spec: { template: { spec } } } } },
    };
    const base: Record<string, string> = {
      Pod: '/spec',
      CronJob: '/spec/jobTemplate/spec/template/spec',
    };
    for (const [kind, obj] of Object.entries(wrap)) {
      const b = base[kind] ?? '/spec/template/spec';
      assert.deepEqual(
        podImages(obj, kind).map((i) => [i.path, i.image]),
        [
          [`${b}/initContainers/0/image`, 'b:1'],
          [`${b}/containers/0/image`, 'a:1'],
        ],
        kind,
      );
    }
    assert.deepEqual(podImages({ spec }, 'ConfigMap'), []);
  });
});

describe('parseAdmissionReview', () => {
  test('refuses what is not an AdmissionReview v1 with a uid', () => {
    for (const body of [
      'not json',
      '[]',
      '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}',
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"kind":"Pod"},"operation":"CREATE"}}',
    ])
      assert.throws(() => parseAdmissionReview(Buffer.from(body)), { code: 'ADMISSION_INVALID' }, body);
  });
});

describe('admit', () => {
  const judge = (table: Record<string, PolicyVerdict>) => async (ref: string) => {
    const v = table[ref];
    if (!v) throw new Error(`unexpected ${ref}`);
    return v;
  };

  test('an enforce failure denies with the image, the rule (file:line) and the codes; the uid is echoed', async () => {
    const r = review({ kind: 'Pod', spec: podSpec(['good:1', 'bad:1']) });
    const d = await admit(r, {
      policy: policy(),
      judge: judge({ 'good:1': verdict('good:1'), 'bad:1': refused('bad:1') }),
      mutate: false,
      budgetMs: 1000,
    });
    const res = d.review.response;
    assert.equal(res.uid, 'u-1');
    assert.equal(res.allowed, false);
    assert.equal(res.status?.code, 403);
    assert.match(
      res.status!.message,
      /bad:1 \(container c1\) refused by rule signed \(p\.yaml:7\): SIGNATURE_NOT_FOUND/,
    );
    assert.doesNotMatch(res.status!.message, /good:1/);
    assert.deepEqual(d.codes, ['SIGNATURE_NOT_FOUND']);
    assert.equal(d.review.apiVersion, 'admission.k8s.io/v1');
    assert.equal(d.review.kind, 'AdmissionReview');
  });

  test('warn mode allows with a warning, audit mode with an audit annotation', async () => {
    const r = review({ kind: 'Pod', spec: podSpec(['w:1', 'a:1']) });
    const d = await admit(r, {
      policy: policy(),
      judge: judge({
        'w:1': { ...refused('w:1'), ok: true, mode: 'warn' },
        'a:1': { ...refused('a:1'), ok: true, mode: 'audit' },
      }),
      mutate: false,
      budgetMs: 1000,
    });
    const res = d.review.response;
    assert.equal(res.allowed, true);
    assert.equal(res.warnings?.length, 1);
    assert.match(res.warnings![0]!, /w:1 .* \(warn\): SIGNATURE_NOT_FOUND/);
    assert.deepEqual(Object.keys(res.auditAnnotations ?? {}), ['spec.containers.1.image']);
    assert.deepEqual(d.noted, ['SIGNATURE_NOT_FOUND']);
  });

  test('/mutate pins every verified tag at its path (CronJob), leaves digests alone, patchType JSONPatch', async () => {
    const spec = podSpec(['app:1', `app:1@${D}`], ['init:2']);
    const r = review({ kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec } } } } });
    const d = await admit(r, {
      policy: policy(),
      judge: judge({ 'app:1': verdict('app:1'), [`app:1@${D}`]: verdict('x'), 'init:2': verdict('init:2') }),
      mutate: true,
      budgetMs: 1000,
    });
    const res = d.review.response;
    assert.equal(res.allowed, true);
    assert.equal(res.patchType, 'JSONPatch');
    const b = '/spec/jobTemplate/spec/template/spec';
    assert.deepEqual(decodePatch(res.patch), [
      { op: 'replace', path: `${b}/initContainers/0/image`, value: `init:2@${D}` },
      { op: 'replace', path: `${b}/containers/0/image`, value: `app:1@${D}` },
    ]);
  });

  test('UPDATE judges only the images that were added or changed (ephemeral containers)', async () => {
    const old = { kind: 'Pod', spec: podSpec(['app:1']) };
    const now = {
      kind: 'Pod',
      spec: { ...podSpec(['app:1']), ephemeralContainers: [{ name: 'dbg', image: 'busybox:1' }] },
    };
    const r = review(now, { operation: 'UPDATE', oldObject: old });
    assert.deepEqual(
      imagesToJudge(r).map((i) => i.path),
      ['/spec/ephemeralContainers/0/image'],
    );
    const d = await admit(r, {
      policy: policy(),
      judge: judge({ 'busybox:1': refused('busybox:1') }),
      mutate: false,
      budgetMs: 1000,
    });
    assert.equal(d.review.response.allowed, false);
    assert.match(d.review.response.status!.message, /busybox:1 \(ephemeralContainer dbg\)/);
  });

  test('past the deadline: denied (fail closed), and allowed with an annotation when the policy is in audit mode', async () => {
    const slow = () => new Promise<PolicyVerdict>((r) => setTimeout(() => r(verdict('x')), 500));
    const r = review({ kind: 'Pod', spec: podSpec(['slow:1']) });
    const closed = await admit(r, { policy: policy(), judge: slow, mutate: false, budgetMs: 50 });
    assert.equal(closed.review.response.allowed, false);
    assert.match(
      closed.review.response.status!.message,
      /did not finish within 0\.1s; denied \(fail closed\)/,
    );
    assert.equal(closed.timedOut, true);
    const open = await admit(r, { policy: policy('audit'), judge: slow, mutate: false, budgetMs: 50 });
    assert.equal(open.review.response.allowed, true);
    assert.ok(open.review.response.auditAnnotations?.timeout);
  });

  test('a kind without a pod spec, or DELETE, is allowed without judging anything', async () => {
    const none = async () => assert.fail('nothing should be judged');
    for (const r of [
      review({ kind: 'ConfigMap', data: { image: 'x:1' } }),
      review({ kind: 'Pod', spec: podSpec(['x:1']) }, { operation: 'DELETE' }),
    ]) {
      const d = await admit(r, { policy: policy(), judge: none, mutate: true, budgetMs: 100 });
      assert.equal(d.review.response.allowed, true);
      assert.equal(d.review.response.patch, undefined);
    }
  });
});

describe('budgetOf', () => {
  test('answers before the API server gives up; default 10 s; clamped to 1..30 s', () => {
    assert.equal(budgetOf('10s'), 9000);
    assert.equal(budgetOf(null), 9000);
    assert.equal(budgetOf('30s'), 27000);
    assert.equal(budgetOf('1s'), 700);
    assert.equal(budgetOf('999s'), 27000);
  });
});

describe('VerdictCache', () => {
  test('one evaluation for concurrent requests; digests kept for ttl, tags for tagTtl; errors not kept', async () => {
    let now = 0;
    let calls = 0;
    let outcome: PolicyVerdict['outcome'] = 'pass';
    const cache = new VerdictCache(
      async (_p, ref) => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        return verdict(ref, { outcome, ok: outcome === 'pass' });
      },
      { ttlMs: 1000, tagTtlMs: 100, now: () => now },
    );
    const p = policy();
    const tag = 'app:1';
    const pinned = `app@${D}`;
    await Promise.all([cache.judge(p, tag), cache.judge(p, tag), cache.judge(p, tag)]);
    assert.equal(calls, 1);
    assert.equal(cache.stats.shared, 2);
    await cache.judge(p, pinned);
    now = 500;
    await cache.judge(p, tag);
    await cache.judge(p, pinned);
    assert.equal(calls, 3, 'the tag verdict expired, the digest one did not');
    // another policy (digest) is another key
    await cache.judge({ ...p, digest: 'sha256:p2' }, pinned);
    assert.equal(calls, 4);
    outcome = 'error';
    now = 5000;
    await cache.judge(p, pinned);
    await cache.judge(p, pinned);
    assert.equal(calls, 6, 'an undecided verdict is asked again');
  });
});

describe('VerdictCache: a reloaded policy', () => {
  test('the same policy digest with other trust roots (a new Policy object) is another key', async () => {
    // the digest covers the policy file, not the key files it names: a reload after a key file changed has the
    // same digest and must not be answered from the old policy's verdicts
    const seen: Policy[] = [];
    const cache = new VerdictCache(async (p, ref) => {
      seen.push(p);
      return verdict(ref, { outcome: 'pass', ok: true });
    });
    const before = policy();
    const reloaded = { ...before, trustRoots: new Map(before.trustRoots) };
    assert.equal(reloaded.digest, before.digest);
    await cache.judge(before, `app@${D}`);
    await cache.judge(before, `app@${D}`);
    assert.deepEqual(seen, [before], 'the same object is a hit');
    await cache.judge(reloaded, `app@${D}`);
    assert.deepEqual(seen, [before, reloaded], 'the reloaded policy was answered from the old one');
  });
});
