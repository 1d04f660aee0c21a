// Notation (Notary Project v2) as a TrustVerifier. `verify()` reads as the chain of trust: resolve the image to a
// digest computed from its bytes → pick the trust policy statement for its repository → find the Notation
// signatures attached to that digest (referrers API, else the tag-schema index; registry or OCI layout) → check
// each (check.ts) against the statement's trust stores and identities → the first that verifies decides, as in
// notation → fetch the image by the signed digest down to its configs. Offline by design: no CRL/OCSP/TSA fetch.
import { readFileSync } from 'node:fs';
import type { Digest } from '../../digest/index.js';
import { TrustpinError } from '../../errors/index.js';
import { fullName, parseDockerReference, type Reference } from '../../reference/index.js';
import { RegistryClient } from '../../registry/index.js';
import { type ImageSource, RegistrySource } from '../../source/index.js';
import { settleLater } from '../../util/index.js';
import { type AttachmentStore, openWithAttachments, registryAttachments } from '../attachments/index.js';
import { ChainBuilder } from '../chain.js';
import { prefetchImage, verifyResolvedSource } from '../image.js';
import {
  failureWith,
  type Problem,
  problemOf,
  problemsOfFailure,
  type TrustVerdict,
  type TrustVerifier,
  type VerdictWarning,
  type VerifyOptions,
} from '../verdict.js';
import { checkNotationSignature, type LoadedStores } from './check.js';
import { discoverNotationSignatures } from './discover.js';
import { loadTrustPolicy, parseTrustPolicy, selectStatement } from './policy.js';
import { type LoadedCrl, loadCrls } from './revocation.js';
import { defaultTrustPolicyPath, defaultTrustStoreDir, loadNamedTrustStores } from './truststore.js';
import type { NamedTrustStore, NotationCheck, TrustPolicyDocument, TrustPolicyStatement } from './types.js';
import { type Certificate, parseCertificate } from './x509.js';

/** Options of {@link createNotationVerifier}; the policy is read once, trust stores once each, on first use. */
export interface NotationVerifierOptions {
  client?: RegistryClient | undefined;
  /**
   * the trust policy: a path to trustpolicy.json / trustpolicy.oci.json, its bytes, or the parsed document
   * (default: notation's own, `$XDG_CONFIG_HOME/notation/trustpolicy.oci.json`, else `trustpolicy.json`)
   */
  trustPolicy?: string | Buffer | object | undefined;
  /** the trust store directory, holding `x509/{ca,signingAuthority,tsa}/<name>/` (default: notation's) */
  trustStore?: string | undefined;
  /**
   * trust stores given as certificates (see `trustStoreFromFiles`) instead of read from `trustStore`: a store the
   * policy names is taken from here first
   */
  trustStores?: NamedTrustStore[] | undefined;
  /** no network: only images (and signatures) in OCI layouts are verified */
  offline?: boolean | undefined;
  /**
   * for OCI layouts, which carry no repository name: the repository the trust policy is selected for (notation
   * `--scope`). Without it the policy's `*` statement applies.
   */
  scope?: string | undefined;
  /** annotations the signed payload must carry (notation `--user-metadata`) */
  userMetadata?: Record<string, string> | undefined;
  /**
   * CRLs (DER or PEM; bytes, or paths) to check the signing chain's revocation against, offline. Without them
   * revocation is not checked and the verdict says so (REVOCATION_NOT_CHECKED).
   */
  crls?: (string | Buffer)[] | undefined;
  /** most signatures examined per image (notation `--max-signatures`, default 100) */
  maxSignatures?: number | undefined;
  /** the verification time (signature expiry, certificate validity without a timestamp); default the clock */
  now?: (() => number) | undefined;
  /** verify the image by the signed digest down to its configs (default true) */
  fetchImage?: boolean | undefined;
}

/** A Notation verdict: the common verdict, every signature checked, the policy statement that applied. */
export interface NotationVerdict extends TrustVerdict {
  system: 'notation';
  /** the trust policy statement applied: its name, file, level */
  policy?: { name: string; source: string; level: TrustPolicyStatement['level'] } | undefined;
  /** every signature found and its check; the accepted one first */
  signatures: NotationCheck[];
  searched: { where: string; found: number; note?: string | undefined }[];
  /** `REPOSITORY@DIGEST` to deploy, when verified */
  pinned?: string | undefined;
}

/** Create a Notation verifier: the trust policy is read and validated now; `verify()` runs many times. */
export function createNotationVerifier(
  options: NotationVerifierOptions = {},
): TrustVerifier<NotationVerdict> {
  return new NotationVerifier(options);
}

class NotationVerifier implements TrustVerifier<NotationVerdict> {
  readonly system = 'notation' as const;
  private readonly client: RegistryClient;
  private readonly policy: TrustPolicyDocument;
  private readonly storeDir: string;
  private readonly stores = new Map<string, Certificate[]>();
  private readonly crls: LoadedCrl[];

  constructor(private readonly o: NotationVerifierOptions) {
    this.client = o.client ?? new RegistryClient();
    this.policy = readPolicy(o.trustPolicy);
    this.storeDir = o.trustStore ?? defaultTrustStoreDir();
    for (const named of o.trustStores ?? [])
      this.stores.set(`${named.type}:${named.name}`, this.parsed(named));
    this.crls = loadCrls(
      (o.crls ?? []).map((c, i) =>
        typeof c === 'string'
          ? { source: c, bytes: readFile(c, 'CRL') }
          : { source: `CRL ${i + 1}`, bytes: c },
      ),
    );
  }

  /** The `*` statement, for an OCI layout given without a scope. */
  private wildcard(name: string): TrustPolicyStatement {
    const s = this.policy.statements.find((x) => x.registryScopes.includes('*'));
    if (s) return s;
    throw new TrustpinError('TRUST_POLICY_INVALID', `no trust policy statement applies to ${name}`, {
      expected:
        'option scope (CLI --scope REGISTRY/REPOSITORY) naming a scope of the policy, or a "*" statement',
      found: `scopes ${JSON.stringify(this.policy.statements.flatMap((x) => x.registryScopes))}`,
      hint: 'an OCI layout carries no repository name: give the scope its trust policy statement is for',
    });
  }

  private parsed(named: NamedTrustStore): Certificate[] {
    return named.certificates.map((c) => {
      try {
        return parseCertificate(c.der, c.file);
      } catch (e) {
        throw new TrustpinError('TRUST_STORE_INVALID', `${c.file} is not a usable certificate`, {
          found: (e as Error).message,
          hint: 'remove it from the trust store, or replace it with the PEM or DER certificate meant',
        });
      }
    });
  }

  /** The certificates of the stores a statement names, each store read and parsed once. */
  private storesFor(s: TrustPolicyStatement): LoadedStores {
    const out: LoadedStores = new Map();
    const missing = s.trustStores.filter((t) => !this.stores.has(`${t.type}:${t.name}`));
    if (missing.length)
      for (const named of loadNamedTrustStores(this.storeDir, missing))
        this.stores.set(`${named.type}:${named.name}`, this.parsed(named));
    for (const t of s.trustStores) out.set(`${t.type}:${t.name}`, this.stores.get(`${t.type}:${t.name}`)!);
    return out;
  }

  async verify(subject: string | Reference, options: VerifyOptions = {}): Promise<NotationVerdict> {
    const signal = options.signal;
    const target = this.open(subject, options.manifest);
    const b = new ChainBuilder();
    const v: NotationVerdict = {
      system: 'notation',
      subject: { reference: target.name },
      ok: false,
      claims: [],
      chain: { nodes: [], edges: [] },
      problems: [],
      warnings: [],
      signatures: [],
      searched: [],
    };
    const discover = (digest: Digest) =>
      discoverNotationSignatures(target.store, digest, { maxSignatures: this.o.maxSignatures, signal });
    let early: ReturnType<typeof discover> | undefined;
    let prefetch: ReturnType<typeof prefetchImage> | undefined;
    try {
      const statement = target.scope
        ? selectStatement(this.policy, target.scope)
        : this.wildcard(target.name);
      v.policy = { name: statement.name, source: this.policy.source, level: statement.level };
      if (target.scope === undefined)
        v.warnings.push({
          code: 'IDENTITY_NOT_CHECKED',
          message: `${target.name} carries no repository name: the trust policy statement ${statement.name} (registryScopes *) was applied (option scope)`,
        });
      // a reference by digest names what to look for before the image is fetched: the search runs beside the
      // fetch (one round trip instead of two); what it finds is checked only once the image's bytes matched
      if (target.digest !== undefined && statement.level !== 'skip')
        early = settleLater(discover(target.digest));
      const top = await target.source.resolve({ signal });
      v.subject.digest = top.digest;
      if (statement.level === 'skip') {
        v.warnings.push({
          code: 'VERIFICATION_SKIPPED',
          message: `the trust policy statement ${statement.name} has level skip: no signature was verified`,
        });
        v.pinned = `${target.pinName}@${top.digest}`;
      } else {
        const stores = this.storesFor(statement);
        // the image's configs are fetched (by digest, verified before parsing) while the signatures are searched
        // for; the walk is judged only after a signature held
        if (this.o.fetchImage !== false) prefetch = prefetchImage(target.source, signal);
        const m = await target.source.manifest(top, { signal });
        const found = await (early && top.digest === target.digest ? early : discover(top.digest as Digest));
        v.searched = found.searched;
        const refused: Problem[] = found.refused.map((r) => ({
          ...problemOf(r.error),
          message: `${r.origin}: ${r.error.message}`,
        }));
        if (found.signatures.length === 0) {
          if (refused.length) throw failureWith(refused);
          throw new TrustpinError(
            'SIGNATURE_NOT_FOUND',
            `no Notation signature is attached to ${target.name.endsWith(top.digest) ? target.name : `${target.name}@${top.digest}`}`,
            {
              expected:
                'a signature manifest (artifactType application/vnd.cncf.notary.signature) whose subject is the image',
              found: `nothing in ${found.searched.map((s) => s.where).join(', ')}`,
              hint: 'sign it with notation sign, or copy the image with its referrers (the tag sha256-<hex>)',
            },
          );
        }
        const ctx = {
          subject: { mediaType: m.value.mediaType, digest: top.digest, size: m.bytes.length },
          statement,
          stores,
          userMetadata: this.o.userMetadata,
          crls: this.crls,
          now: new Date(this.o.now?.() ?? Date.now()),
        };
        // as notation: the first signature that verifies decides; the others are not checked
        const checks: NotationCheck[] = [];
        for (const a of found.signatures) {
          const c = await checkNotationSignature(a, ctx);
          checks.push(c);
          if (c.ok) break;
        }
        checks.sort((x, y) => Number(y.ok) - Number(x.ok));
        v.signatures = checks;
        const good = checks.find((c) => c.ok);
        const prev = this.chain(b, good ? [good] : checks.slice(0, 1), statement);
        if (!good)
          throw failureWith([
            ...checks.flatMap((c) =>
              c.problems.map((p) => ({ ...p, message: `${c.artifact.origin}: ${p.message}` })),
            ),
            ...refused,
          ]);
        if (good.claim) v.claims = [good.claim];
        v.warnings.push(...warningsOf(good));
        if (this.o.fetchImage !== false)
          await verifyResolvedSource(
            target.source,
            top.digest,
            target.tag,
            b,
            prev,
            signal,
            prefetch?.walked,
          );
        v.pinned = `${target.pinName}@${top.digest}`;
      }
    } catch (e) {
      if (!(e instanceof TrustpinError) || !e.isVerificationFailure) throw e;
      v.problems.push(...problemsOfFailure(e));
    } finally {
      // a search or walk started early whose result was not used (a step before it failed) ends before the
      // source closes; the walk of a refused image is cancelled (after a success it has settled already)
      prefetch?.drop();
      await Promise.allSettled([early, prefetch?.walked]);
      await target.source.close();
    }
    v.chain = b.graph();
    v.ok = v.problems.length === 0;
    return v;
  }

  private open(subject: string | Reference, known?: VerifyOptions['manifest']): Target {
    if (typeof subject === 'string' && /^oci(-archive)?:/.test(subject)) {
      const { source, store } = openWithAttachments(subject, this.client);
      const scope = this.o.scope ? fullName(parseDockerReference(this.o.scope)) : undefined;
      return {
        source,
        store,
        name: source.name,
        scope,
        tag: undefined,
        pinName: source.name,
        digest: undefined,
      };
    }
    const ref = typeof subject === 'string' ? parseDockerReference(subject) : subject;
    if (this.o.offline)
      throw new TrustpinError('OFFLINE', `offline: ${fullName(ref)} is in a registry`, {
        expected: 'an OCI layout (oci:DIR:TAG or oci-archive:FILE:TAG) holding the image and its signatures',
        found: fullName(ref),
        hint: 'copy the image with its referrers into an OCI layout, or drop option offline',
      });
    const source = new RegistrySource(ref, this.client, { known: ref.digest ? known : undefined });
    const store = registryAttachments(this.client, ref.registry, ref.repository);
    return {
      source,
      store,
      name: source.name.replace(/^docker:\/\//, ''),
      scope: fullName(ref),
      tag: ref.digest ? undefined : (ref.tag ?? 'latest'),
      pinName: fullName(ref),
      digest: ref.digest as Digest | undefined,
    };
  }

  /** trust store root → intermediates → leaf → signature; returns the node the image hangs from. */
  private chain(b: ChainBuilder, checks: NotationCheck[], s: TrustPolicyStatement): string {
    let last = '';
    for (const c of checks) {
      const certs = [...c.certificates].reverse();
      let prev: string | undefined;
      if (c.trustStore || certs.length === 0) {
        prev = b.node({
          id: `trust-store:${c.trustStore ?? s.trustStores.map((t) => `${t.type}:${t.name}`).join(',')}`,
          kind: 'root',
          label: `trust store ${c.trustStore ?? s.trustStores.map((t) => `${t.type}:${t.name}`).join(', ')}`,
          detail: `trust policy ${s.name} (${s.level}) in ${this.policy.source}`,
          ok: c.trustStore !== undefined,
        });
      }
      for (const [i, cert] of certs.entries()) {
        const id = b.node({
          id: `certificate:${cert.fingerprint}`,
          kind: 'certificate',
          label: `${i === certs.length - 1 ? 'signing certificate' : i === 0 ? 'root' : 'intermediate'} ${cert.subject}`,
          detail: `SHA-256 ${cert.fingerprint.slice(0, 16)}…; valid ${cert.notBefore} … ${cert.notAfter}`,
          ok: c.ok || c.trustStore !== undefined,
        });
        if (prev) b.edge(prev, id, 'signs', c.ok || c.trustStore !== undefined);
        prev = id;
      }
      const details = [
        c.artifact.origin,
        c.signingTime ? `signed ${c.signingTime}` : undefined,
        c.timestamp ? `timestamped ${c.timestamp.time} (${c.timestamp.trustStore})` : undefined,
        c.expiry ? `expires ${c.expiry}` : undefined,
        ...c.problems.map((p) => p.message),
      ].filter(Boolean);
      const id = b.node({
        id: `signature:${c.artifact.envelopeDigest}`,
        kind: 'signature',
        label: `Notation signature (${c.format === 'cose' ? 'COSE' : c.format === 'jws' ? 'JWS' : c.artifact.mediaType})`,
        digest: c.artifact.envelopeDigest,
        detail: details.join('; '),
        ok: c.ok,
      });
      if (prev) b.edge(prev, id, 'signs', c.ok);
      last = id;
    }
    return last;
  }
}

interface Target {
  source: ImageSource;
  store: AttachmentStore;
  name: string;
  /** the fully qualified repository the trust policy is selected for; undefined = `*` */
  scope: string | undefined;
  tag: string | undefined;
  pinName: string;
  /** the digest the reference names (a registry reference by digest), known before anything is fetched */
  digest: Digest | undefined;
}

function warningsOf(c: NotationCheck): VerdictWarning[] {
  const w: VerdictWarning[] = c.logged.map((l) => ({
    code: 'CHECK_LOGGED',
    message: `${l.check} check failed and the trust policy only logs it: ${l.problem.message}`,
  }));
  if (c.revocation?.startsWith('not checked'))
    w.push({
      code: 'REVOCATION_NOT_CHECKED',
      message: `certificate revocation ${c.revocation}`,
    });
  return w;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TrustpinError('IO_ERROR', `cannot read the ${what} ${path}: ${(e as Error).message}`, {
      hint: `check the path of the ${what}`,
    });
  }
}

function readPolicy(input: NotationVerifierOptions['trustPolicy']): TrustPolicyDocument {
  if (input === undefined) return loadTrustPolicy(defaultTrustPolicyPath());
  if (typeof input === 'string' && !input.trimStart().startsWith('{')) return loadTrustPolicy(input);
  if (typeof input === 'object' && !Buffer.isBuffer(input) && 'statements' in input)
    return input as TrustPolicyDocument;
  return parseTrustPolicy(input, 'the trust policy given');
}
