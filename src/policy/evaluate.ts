// Evaluate a trust policy: for each image, the one rule that applies (judged as its origin when it is a declared
// mirror), the tag resolved to a digest once, then every requirement checked by digest — and the mirror proven equal
// to the origin by content. Verification failures are coded problems in the verdicts; only operational failures
// of the whole batch (a bad policy, an abort) throw.

import type { Digest } from '../digest/index.js';
import { isTrustpinError, TrustpinError } from '../errors/index.js';
import { walkImage } from '../image/index.js';
import { parsePlatform } from '../manifest/index.js';
import { compareImages, LEVELS, type Level } from '../mirror/index.js';
import { fullName, parseDockerReference, type Reference, withDigest } from '../reference/index.js';
import { RegistryClient } from '../registry/index.js';
import { comparisonGraph } from '../report/index.js';
import { RegistrySource } from '../source/index.js';
import {
  createDctVerifier,
  type Problem,
  problemOf,
  type TrustVerdict,
  type TrustVerifier,
  type VerdictWarning,
  type VerifyOptions,
} from '../trust/index.js';
import { mapLimit, settleLater } from '../util/index.js';
import { leafRequirements, type MirrorMatch, mirrorOf, normalized, selectRule } from './select.js';
import type {
  Policy,
  PolicyReport,
  PolicyVerdict,
  Requirement,
  RequirementResult,
  SignatureLocation,
  TrustRoot,
} from './types.js';

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** the registry client (default: a new one with default options) */
  client?: RegistryClient | undefined;
  /** DCT trust store directory (default `$TRUSTPIN_HOME` or `~/.trustpin`) */
  home?: string | undefined;
  /** the clock (default `Date.now`); the policy's `defaults.verifyAt` instant, when set, wins */
  now?: (() => number) | undefined;
  /** images evaluated at once (default 4) */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/** Images evaluated at once by default. */
export const DEFAULT_POLICY_CONCURRENCY = 4;

/** Evaluate `policy` for each of `refs` (registry references); verdicts come back in the order given. */
export async function evaluate(
  policy: Policy,
  refs: readonly string[],
  o: EvaluateOptions = {},
): Promise<PolicyReport> {
  const ev = new Evaluator(policy, o);
  const verdicts = await mapLimit(refs, o.concurrency ?? DEFAULT_POLICY_CONCURRENCY, (r) => ev.one(r));
  return {
    ok: verdicts.every((v) => v.ok),
    policy: { source: policy.source, digest: policy.digest },
    at: new Date(ev.time()).toISOString(),
    verdicts,
  };
}

/** A requirement's own verdict: the signature system's verdict, or a direct check. */
interface Checked {
  status: 'pass' | 'fail' | 'error';
  problems: Problem[];
  warnings: VerdictWarning[];
  verdict?: TrustVerdict | undefined;
  from?: SignatureLocation | undefined;
}

/** Where one image's signatures are read: a reference by digest (with its tag, for DCT) and the location. */
interface Subject {
  from: SignatureLocation;
  ref: Reference;
  mirror?: MirrorMatch | undefined;
}

/**
 * The verifiers one policy made, with what they were made from: the same policy object with the same client, trust
 * store directory, environment and clock reuses them (their keys, certificates, trusted root and trust policy were
 * parsed once), so the webhook, which calls {@link evaluate} per review, does not rebuild them per review. Keyed by
 * the policy object itself: a reloaded policy is a new object and gets verifiers of its own, and a pool dies with
 * its policy. A verifier keeps no verdicts (only the DCT signature checks that held), so nothing of one call's
 * answer reaches another's.
 */
interface VerifierPool {
  client: RegistryClient;
  home: string | undefined;
  env: NodeJS.ProcessEnv | undefined;
  now: (() => number) | undefined;
  verifiers: Map<string, TrustVerifier>;
}

/** Most pools kept per policy (one per distinct client/home/env/clock it is evaluated with; the oldest goes). */
const MAX_POOLS_PER_POLICY = 4;
const pools = new WeakMap<Policy, VerifierPool[]>();

/**
 * The verifiers `evaluate(policy, …, o)` uses; a caller that gave no client gets a pool of its own (its client is
 * new, so nothing could be shared). Exported for tests.
 * @internal
 */
export function verifierPool(policy: Policy, o: EvaluateOptions, client: RegistryClient): VerifierPool {
  const fresh = (): VerifierPool => ({ client, home: o.home, env: o.env, now: o.now, verifiers: new Map() });
  if (o.client === undefined) return fresh();
  let list = pools.get(policy);
  if (!list) {
    list = [];
    pools.set(policy, list);
  }
  const hit = list.find(
    (p) => p.client === client && p.home === o.home && p.env === o.env && p.now === o.now,
  );
  if (hit) return hit;
  const pool = fresh();
  list.push(pool);
  if (list.length > MAX_POOLS_PER_POLICY) list.shift();
  return pool;
}

/** The verification time of `policy` under the clock `now`: its `defaults.verifyAt` instant, else the clock. */
function timeOf(policy: Policy, now: (() => number) | undefined): () => number {
  const at = policy.defaults.verifyAt;
  return at === 'now' ? (now ?? Date.now) : () => at;
}

class Evaluator {
  private readonly client: RegistryClient;
  private readonly verifiers: Map<string, TrustVerifier>;
  /** the clock the pooled verifiers share: it depends only on the policy and `o.now`, both part of the pool's key */
  readonly time: () => number;

  constructor(
    private readonly policy: Policy,
    private readonly o: EvaluateOptions,
  ) {
    this.client = o.client ?? new RegistryClient();
    this.verifiers = verifierPool(policy, o, this.client).verifiers;
    this.time = timeOf(policy, o.now);
  }

  async one(input: string): Promise<PolicyVerdict> {
    const at = new Date(this.time()).toISOString();
    let ref: Reference;
    try {
      ref = parseDockerReference(input);
    } catch (e) {
      if (!isTrustpinError(e)) throw e;
      return {
        reference: input,
        normalized: input,
        mode: this.policy.defaults.mode,
        outcome: 'error',
        ok: false,
        requirements: [],
        problems: [problemOf(e)],
        warnings: [],
        at,
      };
    }
    const mirror = mirrorOf(this.policy, ref);
    const judged = mirror?.origin ?? ref;
    const { rule, tied } = selectRule(this.policy, judged);
    const v: PolicyVerdict = {
      reference: input,
      normalized: normalized(ref),
      mode: rule?.mode ?? this.policy.defaults.mode,
      outcome: 'pass',
      ok: true,
      requirements: [],
      problems: [],
      warnings: [],
      at,
      ...(rule ? { rule: { name: rule.name, scope: rule.scope, index: rule.index, at: rule.at } } : {}),
    };
    if (tied.length)
      v.warnings.push({
        code: 'CHECK_LOGGED',
        message: `rules ${[rule!, ...tied].map((r) => r.name).join(', ')} are equally specific for ${normalized(judged)}: ${rule!.name}, the first, applied`,
      });
    if (!rule) return this.noMatch(v, judged);
    try {
      await this.judge(v, ref, mirror, rule.require);
    } catch (e) {
      if (!isTrustpinError(e) || e.code === 'ABORTED') throw e;
      v.problems.push(problemOf(e));
      v.outcome = e.isVerificationFailure ? 'fail' : 'error';
    }
    v.ok = v.outcome === 'pass' || v.mode !== 'enforce';
    return v;
  }

  private noMatch(v: PolicyVerdict, judged: Reference): PolicyVerdict {
    const how = this.policy.defaults.noMatch;
    if (how === 'allow') return v;
    const p: Problem = {
      code: 'NO_MATCHING_RULE',
      message: `no rule of ${this.policy.source} applies to ${normalized(judged)}`,
      expected: 'a rule whose scope matches the image',
      found: `scopes ${this.policy.rules.map((r) => r.scope).join(', ') || '(none)'}`,
      hint: 'add a rule for it (a last `scope: "**"` rule catches everything else), or set defaults.noMatch',
    };
    v.problems.push(p);
    v.outcome = 'fail';
    v.mode = how === 'deny' ? 'enforce' : 'warn';
    v.ok = how !== 'deny';
    return v;
  }

  /** Resolve once, verify the image by digest, check the requirements, prove a mirror. */
  private async judge(
    v: PolicyVerdict,
    ref: Reference,
    mirror: MirrorMatch | undefined,
    require: Requirement[],
  ): Promise<void> {
    const signal = this.o.signal;
    const pinnedByUser = ref.digest !== undefined;
    if (!pinnedByUser && this.policy.defaults.digest === 'require') {
      v.outcome = 'fail';
      v.problems.push(notPinned(ref, 'defaults.digest is require'));
      return;
    }
    // the one resolution: the tag's manifest, verified by the digest computed from its bytes; the rest of the tree
    // (children, configs) is fetched and verified by digest while the requirements run — both must hold
    const source = new RegistrySource(ref, this.client);
    const resolving = source.resolve({ signal });
    // a reference by digest names what the signatures are for before the registry answers: the requirements start
    // now, beside the resolution, and their verifiers are handed its bytes when they arrive (verified against the
    // digest again). They count only once the resolution held; when it fails, its failure is the verdict's, as before
    const early =
      pinnedByUser && !mirror
        ? this.requirements(require, {
            ref,
            pinnedByUser,
            subjects: [{ from: 'origin', ref: withDigest(ref, ref.digest as Digest) }],
            top: resolving.then(
              (d) => source.fetched(d.digest),
              () => undefined,
            ),
            digest: ref.digest as Digest,
          })
        : undefined;
    let digest: Digest;
    try {
      digest = (await resolving).digest as Digest;
    } catch (e) {
      await early;
      throw e;
    }
    v.digest = digest;
    const walked = settleLater(walkImage(source, { configs: true, signal })); // awaited once the requirements settled
    const byDigest = withDigest(ref, digest);
    const subjects: Subject[] = [];
    let originPinned: Reference | undefined;
    if (mirror) {
      for (const from of mirror.spec.signaturesFrom) {
        if (from === 'mirror') subjects.push({ from, ref: byDigest, mirror });
        else {
          originPinned ??= await this.originDigest(mirror.origin, digest);
          subjects.push({ from, ref: originPinned });
        }
      }
    } else subjects.push({ from: 'origin', ref: byDigest });
    // the verifiers read the same manifest by digest: they are handed these bytes (verified again) instead of
    // asking the registry a second time
    const ctx: EvalContext = { ref, pinnedByUser, subjects, top: source.fetched(digest), digest };
    const settled = await (early ?? this.requirements(require, ctx));
    const [walk] = await Promise.allSettled([walked]);
    for (const x of [walk, ...settled]) if (x.status === 'rejected') throw x.reason;
    v.requirements = settled.map((x) => (x as PromiseFulfilledResult<RequirementResult>).value);
    const results = v.requirements;
    v.problems.push(...results.flatMap(leafProblems));
    v.warnings.push(...results.flatMap(leafWarnings));
    v.outcome = results.some((r) => r.status === 'error')
      ? 'error'
      : results.some((r) => r.status === 'fail')
        ? 'fail'
        : 'pass';
    if (mirror && mirror.spec.prove !== 'none') {
      originPinned ??= await this.originDigest(mirror.origin, digest);
      await this.prove(v, mirror, originPinned, byDigest);
    } else if (mirror) v.mirror = { origin: fullName(mirror.origin), prove: 'none', ok: true };
    if (v.outcome === 'pass') v.pinned = `${fullName(ref)}@${digest}`;
  }

  /**
   * The origin image a mirrored one is compared with: its tag resolved at the origin, else the same digest. A
   * mirror pinned by `tag@digest` whose digest the origin does not have (the mirror re-encoded the manifests:
   * `skopeo copy --format v2s2`) is compared with what the tag names at the origin.
   */
  private async originDigest(origin: Reference, mirrorDigest: Digest): Promise<Reference> {
    const signal = this.o.signal;
    if (origin.digest && origin.tag) {
      try {
        await new RegistrySource(origin, this.client).resolve({ signal });
        return origin;
      } catch (e) {
        if (!isTrustpinError(e, 'MANIFEST_UNKNOWN')) throw e;
      }
    } else if (origin.digest || !origin.tag)
      return withDigest(origin, (origin.digest ?? mirrorDigest) as Digest);
    const top = await new RegistrySource({ ...origin, digest: undefined }, this.client).resolve({ signal });
    return withDigest(origin, top.digest as Digest);
  }

  private async prove(
    v: PolicyVerdict,
    mirror: MirrorMatch,
    origin: Reference,
    image: Reference,
  ): Promise<void> {
    const platform = this.policy.defaults.platform;
    const c = await compareImages(
      new RegistrySource(origin, this.client),
      new RegistrySource(image, this.client),
      { platforms: platform === 'index' ? [] : [parsePlatform(platform)] },
    );
    const levels = c.platforms.map((p) => p.level);
    const level: Level = levels.length
      ? levels.reduce((a, b) => (LEVELS.indexOf(a) > LEVELS.indexOf(b) ? a : b))
      : 'none';
    const ok = LEVELS.indexOf(level) <= LEVELS.indexOf(mirror.spec.prove);
    v.mirror = {
      origin: fullName(mirror.origin),
      prove: mirror.spec.prove,
      originPinned: `${fullName(origin)}@${origin.digest}`,
      comparison: c,
      level,
      ok,
      graph: comparisonGraph(c),
    };
    if (!ok) {
      v.problems.push({
        code: 'MIRROR_NOT_PROVEN',
        message: `${fullName(image)}@${image.digest} is not proven to be ${fullName(origin)}@${origin.digest}: equal at ${level}, the policy requires ${mirror.spec.prove}`,
        expected: `every compared platform equal at ${mirror.spec.prove} or better`,
        found: c.platforms.map((p) => `${p.platform} at ${p.level}`).join(', ') || 'no platform in common',
        hint: 'the mirror serves other content than its origin: re-sync it, or lower mirrors[].prove if that is intended',
      });
      if (v.outcome === 'pass') v.outcome = 'fail';
    }
  }

  /** The requirements are independent (each its own verifier, results kept in the policy's order): at once. */
  private requirements(
    require: Requirement[],
    ctx: EvalContext,
  ): Promise<PromiseSettledResult<RequirementResult>[]> {
    return Promise.allSettled(require.map((r) => this.requirement(r, ctx)));
  }

  private async requirement(r: Requirement, ctx: EvalContext): Promise<RequirementResult> {
    const base = { kind: r.kind, path: r.path, at: r.at, summary: summary(r, this.policy) };
    if (r.kind === 'anyOf' || r.kind === 'allOf') {
      const children: RequirementResult[] = [];
      for (const c of r.of) {
        const done = r.kind === 'anyOf' ? children.some((x) => x.status === 'pass') : false;
        children.push(
          done
            ? {
                kind: c.kind,
                path: c.path,
                at: c.at,
                summary: summary(c, this.policy),
                status: 'skipped',
                problems: [],
                warnings: [],
              }
            : await this.requirement(c, ctx),
        );
      }
      const evaluated = children.filter((c) => c.status !== 'skipped');
      const status =
        r.kind === 'anyOf'
          ? evaluated.some((c) => c.status === 'pass')
            ? 'pass'
            : evaluated.some((c) => c.status === 'error')
              ? 'error'
              : 'fail'
          : evaluated.some((c) => c.status === 'error')
            ? 'error'
            : evaluated.some((c) => c.status === 'fail')
              ? 'fail'
              : 'pass';
      const problems: Problem[] =
        r.kind === 'anyOf' && status !== 'pass'
          ? [
              {
                code: 'REQUIREMENT_NOT_MET',
                message: `none of the ${r.of.length} alternatives of ${r.path} held`,
                expected: 'one of: ' + r.of.map((c) => summary(c, this.policy)).join('; '),
                found: evaluated.flatMap((c) => c.problems.map((p) => p.code)).join(', '),
              },
            ]
          : [];
      return { ...base, status, problems, warnings: [], children };
    }
    const checked = await this.leaf(r, ctx);
    return { ...base, ...checked };
  }

  private async leaf(r: Requirement, ctx: EvalContext): Promise<Checked> {
    if (r.kind === 'digestPinned')
      return ctx.pinnedByUser
        ? { status: 'pass', problems: [], warnings: [] }
        : { status: 'fail', problems: [notPinned(ctx.ref, `${r.path} requires digestPinned`)], warnings: [] };
    // a signature requirement holds if it holds where one of the locations reads signatures
    const tried: Checked[] = [];
    for (const s of ctx.subjects) {
      const c = await this.signature(r, s, ctx);
      if (c.status === 'pass') return c;
      tried.push(c);
    }
    const status = tried.some((t) => t.status === 'error') ? 'error' : 'fail';
    const many = tried.length > 1;
    return {
      status,
      problems: tried.flatMap((t) =>
        t.problems.map((p) => (many ? { ...p, message: `${t.from}: ${p.message}` } : p)),
      ),
      warnings: tried.flatMap((t) => t.warnings),
      verdict: tried[0]?.verdict,
      from: tried[0]?.from,
    };
  }

  private async signature(r: Requirement, s: Subject, ctx: EvalContext): Promise<Checked> {
    if (r.kind === 'dct' && s.ref.tag === undefined)
      return {
        status: 'fail',
        problems: [
          {
            code: 'SIGNATURE_NOT_FOUND',
            message: `Docker Content Trust signs tags, and ${fullName(s.ref)}@${s.ref.digest} names none`,
            expected: 'REPOSITORY:TAG@DIGEST (the tag whose signature must name this digest)',
            found: `${fullName(s.ref)}@${s.ref.digest}`,
            hint: 'give the tag with the digest, as pinning tools write it: repo:tag@sha256:…',
          },
        ],
        warnings: [],
        from: s.from,
      };
    try {
      const verdicts: TrustVerdict[] = [];
      for (const verifier of this.verifiersFor(r, s)) {
        const target = r.kind === 'dct' ? s.ref : { ...s.ref, tag: undefined };
        const same =
          s.ref.registry === ctx.ref.registry &&
          s.ref.repository === ctx.ref.repository &&
          s.ref.digest === ctx.digest;
        const vd = await verifier.verify(target, {
          signal: this.o.signal,
          manifest: same ? ctx.top : undefined,
        });
        verdicts.push(vd);
        if (!vd.ok) break;
      }
      const failed = verdicts.find((x) => !x.ok);
      const verdict = failed ?? verdicts[0];
      return {
        status: failed ? 'fail' : 'pass',
        problems: failed ? failed.problems : [],
        warnings: verdicts.flatMap((x) => x.warnings),
        verdict,
        from: s.from,
      };
    } catch (e) {
      if (!isTrustpinError(e) || e.code === 'ABORTED') throw e;
      return {
        status: e.isVerificationFailure ? 'fail' : 'error',
        problems: [problemOf(e)],
        warnings: [],
        from: s.from,
      };
    }
  }

  /** The verifiers a requirement runs (cosign: the signature, then each attestation), created once per policy. */
  private verifiersFor(r: Requirement, s: Subject): TrustVerifier[] {
    const kinds = [undefined, ...(r.kind === 'cosign' ? r.attestations.map((a) => a.predicateType) : [])];
    return kinds.map((attestation) => {
      const key = `${r.path}\0${s.mirror?.prefix ?? ''}\0${attestation ?? ''}`;
      let v = this.verifiers.get(key);
      if (!v) {
        v = this.make(r, s, attestation);
        this.verifiers.set(key, v);
      }
      return v;
    });
  }

  private root<K extends TrustRoot['kind']>(name: string, kinds: K[]): Extract<TrustRoot, { kind: K }> {
    const t = this.policy.trustRoots.get(name);
    if (!t || !kinds.includes(t.kind as K))
      throw new TrustpinError(
        'TRUST_POLICY_INVALID',
        `trust root ${name} is not a ${kinds.join(' or ')} root`,
        {
          found: t ? t.kind : 'no such trust root',
        },
      );
    return t as unknown as Extract<TrustRoot, { kind: K }>;
  }

  private make(r: Requirement, s: Subject, attestation: string | undefined): TrustVerifier {
    const now = this.time;
    const client = this.client;
    if (r.kind === 'dct') {
      const t = this.root(r.trustRoot, ['dct']);
      return createDctVerifier({
        client,
        home: this.o.home,
        trustServer: t.server,
        trustCa: t.ca?.bytes,
        rootKeyIds: t.rootKeyIds.length ? t.rootKeyIds : undefined,
        signers: r.signers.length ? r.signers : undefined,
        allowFirstUse: t.allowFirstUse,
        trustArchive: t.archive,
        offline: t.archive !== undefined,
        now,
        fetchImage: false,
        env: this.o.env,
      });
    }
    if (r.kind === 'cosign') return lazy('cosign', () => cosignVerifier(this, r, s, attestation));
    if (r.kind === 'notation') return lazy('notation', () => notationVerifier(this, r));
    throw new TrustpinError('INTERNAL', `no verifier for ${r.kind}`);
  }

  /** For the verifier factories below. */
  get shared() {
    return { client: this.client, now: this.time, root: this.root.bind(this) };
  }
}

interface EvalContext {
  ref: Reference;
  pinnedByUser: boolean;
  subjects: Subject[];
  /** the image's verified top manifest and its digest (the subjects read from the same repository reuse it) */
  top: VerifyOptions['manifest'];
  digest: Digest;
}

/**
 * Load the libraries of the signature systems `policy` requires — cosign's Sigstore stack, Notation's X.509 and
 * COSE — now instead of inside the first verification that needs them. A server (webhook, mirror) calls it before
 * it says it is ready, so its first admission or pull does not spend ~0.2 s of its deadline loading modules. A
 * library that cannot be loaded is left for that first verification to report.
 */
export async function preloadVerifiers(policy: Policy): Promise<void> {
  const kinds = new Set(policy.rules.flatMap((rule) => leafRequirements(rule.require).map((r) => r.kind)));
  await Promise.allSettled([
    kinds.has('cosign') ? import('../trust/cosign/index.js') : undefined,
    kinds.has('notation') ? import('../trust/notation/index.js') : undefined,
  ]);
}

/**
 * A verifier whose system's libraries load on first use (cosign's Sigstore, Notation's pkijs). A verifier that
 * could not be made is tried again by the next call (the pool outlives one evaluation; its failure is reported per
 * call, as when every evaluation made its own).
 */
function lazy(system: 'cosign' | 'notation', make: () => Promise<TrustVerifier>): TrustVerifier {
  let p: Promise<TrustVerifier> | undefined;
  return {
    system,
    async verify(subject, options) {
      p ??= make();
      const mine = p;
      let v: TrustVerifier;
      try {
        v = await mine;
      } catch (e) {
        if (p === mine) p = undefined;
        throw e;
      }
      return v.verify(subject, options);
    },
  };
}

async function cosignVerifier(
  ev: Evaluator,
  r: Extract<Requirement, { kind: 'cosign' }>,
  s: Subject,
  attestation: string | undefined,
): Promise<TrustVerifier> {
  const { createCosignVerifier } = await import('../trust/cosign/index.js');
  const { client, now, root } = ev.shared;
  const roots = r.trustRoots.map((n) => root(n, ['publicKey', 'sigstore']));
  const sigstore = roots.find((t) => t.kind === 'sigstore');
  return createCosignVerifier({
    client,
    keys: roots.flatMap((t) => (t.kind === 'publicKey' ? t.keys.map((k) => k.bytes) : [])),
    identities: r.identities,
    trustedRoot: sigstore?.kind === 'sigstore' ? sigstore.trustedRoot.bytes : undefined,
    trustedRootSource: sigstore?.kind === 'sigstore' ? sigstore.trustedRoot.path : undefined,
    requireTlog: r.tlog === 'required',
    annotations: r.annotations,
    attestation,
    remapIdentity: s.mirror ? [{ prefix: s.mirror.prefix, signedPrefix: s.mirror.spec.origin }] : undefined,
    now,
    fetchImage: false,
  });
}

async function notationVerifier(
  ev: Evaluator,
  r: Extract<Requirement, { kind: 'notation' }>,
): Promise<TrustVerifier> {
  const { createNotationVerifier, trustStoreFromFiles } = await import('../trust/notation/index.js');
  const { client, now, root } = ev.shared;
  const t = root(r.trustRoot, ['notation', 'x509']);
  const store = 'policy';
  const ca = t.kind === 'x509' ? [...t.roots] : t.ca;
  const sa = t.kind === 'notation' ? t.signingAuthority : [];
  const tsa = t.kind === 'notation' ? t.tsa : [];
  const stores = [
    ...(ca.length ? [trustStoreFromFiles('ca', store, ca)] : []),
    ...(sa.length ? [trustStoreFromFiles('signingAuthority', store, sa)] : []),
    ...(tsa.length ? [trustStoreFromFiles('tsa', store, tsa)] : []),
  ];
  return createNotationVerifier({
    client,
    trustPolicy: {
      version: '1.0',
      trustPolicies: [
        {
          name: r.path,
          registryScopes: ['*'],
          signatureVerification: { level: r.level },
          trustStores: stores.map((x) => `${x.type}:${x.name}`),
          trustedIdentities: r.identities,
        },
      ],
    },
    trustStores: stores,
    userMetadata: r.userMetadata,
    crls: t.kind === 'notation' ? t.crls.map((c) => c.bytes) : undefined,
    now,
    fetchImage: false,
  });
}

function notPinned(ref: Reference, why: string): Problem {
  return {
    code: 'NOT_PINNED',
    message: `${normalized(ref)} is not pinned by digest (${why})`,
    expected: `${fullName(ref)}@sha256:…`,
    found: normalized(ref),
    hint: `pin it: trustpin digest ${normalized(ref)} gives the reference to use`,
  };
}

function leafProblems(r: RequirementResult): Problem[] {
  if (r.status !== 'fail' && r.status !== 'error') return [];
  if (!r.children) return r.problems;
  // anyOf: its own summary problem, then what each alternative said
  return [...r.problems, ...r.children.flatMap(leafProblems)];
}

function leafWarnings(r: RequirementResult): VerdictWarning[] {
  return [...r.warnings, ...(r.children ?? []).flatMap(leafWarnings)];
}

/** What a requirement asks for, in words. */
export function summary(r: Requirement, policy: Policy): string {
  switch (r.kind) {
    case 'digestPinned':
      return 'the reference is pinned by digest';
    case 'dct':
      return `Docker Content Trust signature (trust root ${r.trustRoot}${r.signers.length ? `, signer ${r.signers.join(' or ')}` : ''})`;
    case 'cosign': {
      const who = r.identities.length
        ? `keyless ${r.identities.map((i) => `${i.subject ?? i.subjectRegExp} from ${i.issuer ?? i.issuerRegExp}`).join(' or ')}`
        : `key ${r.trustRoots.filter((n) => policy.trustRoots.get(n)?.kind === 'publicKey').join(' or ')}`;
      const att = r.attestations.length
        ? `, with attestation ${r.attestations.map((a) => a.predicateType).join(', ')}`
        : '';
      return `cosign signature by ${who}${r.tlog === 'required' ? ', in the transparency log' : ''}${att}`;
    }
    case 'notation':
      return `Notation signature (trust root ${r.trustRoot}, level ${r.level}, identities ${r.identities.join(' | ')})`;
    case 'anyOf':
      return `any of ${r.of.length}`;
    case 'allOf':
      return `all of ${r.of.length}`;
  }
}
