// Docker Content Trust as a TrustVerifier. `verify()` reads as the chain of trust: load trust under the pin →
// the signed target for the tag → the image by the signed digest → the tag still serves it → the verdict.
import { TrustpinError } from '../../errors/index.js';
import { fullName, parseDockerReference, type Reference } from '../../reference/index.js';
import { RegistryClient } from '../../registry/index.js';
import { settleLater } from '../../util/index.js';
import { ChainBuilder, chainStep } from '../chain.js';
import { tagServes, verifySignedImage, verifyTagServes } from '../image.js';
import {
  type Problem,
  problemOf,
  type SignerClaim,
  type TrustVerdict,
  type TrustVerifier,
  type VerifyOptions,
} from '../verdict.js';
import { canonicalKeyId } from './keys.js';
import { type LoadedTrust, loadTrust } from './load.js';
import { TrustStore, trustpinHome } from './store.js';
import {
  parseSigner,
  type Resolution,
  requireSigner,
  resolveTag,
  type SignerRequirement,
} from './targets.js';
import type { RootTrust, TrustedRepo } from './updater.js';

/** Options of {@link createDctVerifier}; everything is loaded once and used for every `verify()`. */
export interface DctVerifierOptions {
  /** the registry client for the notary server and the registry (default: a new client with default options) */
  client?: RegistryClient | undefined;
  /** trust store directory (default `$TRUSTPIN_HOME` or `~/.trustpin`); ignored when `store` is given */
  home?: string | undefined;
  store?: TrustStore | undefined;
  /** notary server URL (default: `$DOCKER_CONTENT_TRUST_SERVER`, notary.docker.io for docker.io, else the registry) */
  trustServer?: string | undefined;
  /** PEM CA certificate(s) for the notary server's TLS (added to the client for that host) */
  trustCa?: string | Buffer | undefined;
  /** root key IDs (root.json or canonical form) the repository root must be signed with */
  rootKeyIds?: string[] | undefined;
  /** signers (`NAME` or `NAME:KEYID`) whose delegation must have signed the tag */
  signers?: string[] | undefined;
  /** accept a repository with no pin by trusting its root on first use (default true) */
  allowFirstUse?: boolean | undefined;
  /** use only the trust store */
  offline?: boolean | undefined;
  /** trust data from an archive or metadata directory (checked against the store's pin) */
  trustArchive?: string | undefined;
  /** the time expiry and certificate validity are judged at (default: the clock) */
  now?: (() => number) | undefined;
  allowExpiredRoot?: boolean | undefined;
  /** verify the image by the signed digest and the registry tag (default true); false checks trust data only */
  fetchImage?: boolean | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/** A DCT verdict: the common verdict plus how the repository's root was trusted. */
export interface DctVerdict extends TrustVerdict {
  system: 'dct';
  /** the GUN (`registry/repository`) */
  gun: string;
  /** the notary server, archive or store the trust data came from */
  server: string;
  /** how the root was trusted; absent when trust could not be loaded */
  rootTrust?: RootTrust | undefined;
  /** `GUN@DIGEST` to deploy, when verified */
  pinned?: string | undefined;
}

/** Create a Docker Content Trust verifier: the trust store and pins are loaded once, `verify()` runs many times. */
export function createDctVerifier(options: DctVerifierOptions = {}): TrustVerifier<DctVerdict> {
  return new DctVerifier(options);
}

class DctVerifier implements TrustVerifier<DctVerdict> {
  readonly system = 'dct' as const;
  private readonly client: RegistryClient;
  private readonly store: TrustStore;
  private readonly signers: SignerRequirement[];

  constructor(private readonly o: DctVerifierOptions) {
    this.store = o.store ?? new TrustStore(o.home ?? trustpinHome(o.env));
    this.signers = (o.signers ?? []).map(parseSigner);
    this.client = o.client ?? new RegistryClient({ extraCa: this.trustCa() });
  }

  /** `trustCa` for the notary server's host; the caller's own client carries its CAs itself. */
  private trustCa(): Record<string, Buffer[]> {
    if (this.o.trustCa === undefined) return {};
    const server = this.o.trustServer ?? (this.o.env ?? process.env).DOCKER_CONTENT_TRUST_SERVER;
    if (!server || this.o.client) {
      throw new TrustpinError('USAGE', 'trustCa needs the notary server it is for', {
        expected: 'trustServer with trustCa, and no client of your own (give that client the CA in extraCa)',
        found: this.o.client ? 'a client and trustCa' : 'trustCa without trustServer',
      });
    }
    return { [new URL(server).host]: [Buffer.from(this.o.trustCa)] };
  }

  async verify(subject: string | Reference, options: VerifyOptions = {}): Promise<DctVerdict> {
    const signal = options.signal;
    const ref = typeof subject === 'string' ? parseDockerReference(subject) : subject;
    const gun = fullName(ref);
    const tag = ref.tag ?? (ref.digest ? undefined : 'latest');
    if (!tag) {
      throw new TrustpinError('USAGE', 'Docker Content Trust signs tags: the reference needs a tag', {
        found: `${gun}@${ref.digest}`,
        hint: `${gun}:TAG`,
      });
    }
    const b = new ChainBuilder();
    const v: DctVerdict = {
      system: 'dct',
      subject: { reference: `${gun}:${tag}` },
      ok: false,
      claims: [],
      chain: { nodes: [], edges: [] },
      problems: [],
      warnings: [],
      gun,
      server: '',
    };
    // the tag's answer is asked beside the trust data's update (it needs nothing of it) and judged after the signed
    // image: its digest is computed from its bytes, and when it is the signed digest those bytes are the signed
    // manifest (checked against it again), so the image is not fetched a second time by digest
    const served =
      this.o.fetchImage !== false ? settleLater(tagServes(this.client, { ...ref, tag }, signal)) : undefined;
    try {
      const trust = await this.loadTrust(gun, ref, b, v, signal);
      const target = this.signedTarget(trust.repo, ref, tag, b, v);
      if (served) {
        const answer = await served.catch(() => undefined);
        const image = await verifySignedImage(
          this.client,
          ref,
          { digest: target.digest, size: target.length },
          b,
          `signed-tag:${tag}`,
          signal,
          answer?.digest === target.digest ? answer.manifest : undefined,
        );
        await verifyTagServes(this.client, { ...ref, tag }, target.digest, b, image.id, signal, served);
      }
      v.pinned = `${gun}@${target.digest}`;
    } catch (e) {
      if (!(e instanceof TrustpinError) || !e.isVerificationFailure) throw e;
      v.problems.push(problemOf(e));
    } finally {
      // the tag's answer, when trust or the image failed first and it was never judged, ends before verify() returns
      await served?.catch(() => undefined);
    }
    v.chain = b.graph();
    v.ok = v.problems.length === 0;
    return v;
  }

  /** Step 1: the repository's trust data, verified under its pin; the root and role nodes of the chain. */
  private async loadTrust(
    gun: string,
    ref: Reference,
    b: ChainBuilder,
    v: DctVerdict,
    signal: AbortSignal | undefined,
  ): Promise<LoadedTrust> {
    let t: LoadedTrust;
    try {
      t = await loadTrust(gun, ref.registry, {
        client: this.client,
        store: this.store,
        trustServer: this.o.trustServer,
        env: this.o.env,
        rootKeyIds: this.o.rootKeyIds,
        offline: this.o.offline,
        trustArchive: this.o.trustArchive,
        now: this.o.now?.() ?? Date.now(),
        allowExpiredRoot: this.o.allowExpiredRoot,
        allowFirstUse: this.o.allowFirstUse,
        signal,
      });
    } catch (e) {
      if (e instanceof TrustpinError && e.isVerificationFailure)
        b.node({ id: 'root', kind: 'root', label: `root of ${gun}`, detail: e.message, ok: false });
      throw e;
    }
    v.server = t.server;
    v.rootTrust = t.rootTrust;
    v.warnings.push(...t.repo.warnings.map((message) => ({ code: 'DELEGATION_SKIPPED' as const, message })));
    if (t.rootTrust === 'first-use')
      v.warnings.push({
        code: 'ROOT_FIRST_USE',
        message: `the root of ${gun} was trusted on first use: pin its key (option rootKeyIds, or trust pin)`,
      });
    roleNodes(t.repo, t.rootTrust, b);
    return t;
  }

  /** Step 2: the tag as signed (targets/releases, else targets) and any required signer. */
  private signedTarget(
    repo: TrustedRepo,
    ref: Reference,
    tag: string,
    b: ChainBuilder,
    v: DctVerdict,
  ): Resolution {
    const last = lastRole(repo);
    const id = `signed-tag:${tag}`;
    try {
      const r = resolveTag(repo, tag);
      if (ref.digest && ref.digest !== r.digest) {
        throw new TrustpinError(
          'DIGEST_MISMATCH',
          `${repo.gun}:${tag} is signed as ${r.digest}, not ${ref.digest}`,
          {
            expected: ref.digest,
            found: r.digest,
          },
        );
      }
      for (const s of this.signers) requireSigner(repo, r, s);
      v.subject.digest = r.digest;
      v.claims = claimsOf(r);
      const names = r.signers.map((s) => s.name);
      chainStep(b, last, {
        id,
        kind: 'signed-tag',
        label: `signed tag ${tag}`,
        digest: r.digest,
        detail: `${r.length} bytes, in ${r.role}; signers: ${names.length ? names.join(', ') : 'Repo Admin'}`,
        ok: true,
      });
      return r;
    } catch (e) {
      if (e instanceof TrustpinError && e.isVerificationFailure)
        chainStep(b, last, {
          id,
          kind: 'signed-tag',
          label: `signed tag ${tag}`,
          detail: e.message,
          ok: false,
        });
      throw e;
    }
  }
}

function claimsOf(r: Resolution): SignerClaim[] {
  const name = (role: string) => (role === 'targets' ? 'Repo Admin' : role.slice('targets/'.length));
  return [
    { type: 'dct', role: r.role, name: name(r.role), keyIds: r.keyIds },
    ...r.signers.map((s) => ({
      type: 'dct' as const,
      role: `targets/${s.name}`,
      name: s.name,
      keyIds: s.keyIds,
    })),
  ];
}

const short = (id: string) => id.slice(0, 12);

function lastRole(repo: TrustedRepo): string {
  const d = repo.delegations.at(-1);
  return d ? `role:${d.role.name}` : 'role:targets';
}

function roleNodes(repo: TrustedRepo, how: RootTrust, b: ChainBuilder): void {
  const rootKeys = repo.root.signed.roles.root.keyids.map(
    (id) => `${short(id)} (canonical ${short(canonicalKeyId(repo.root.signed.keys[id]!))})`,
  );
  const text = {
    cached: 'pinned by the trust store',
    pinned: 'matches the pinned root key',
    'first-use': 'trusted on first use: not pinned',
  }[how];
  let prev = chainStep(b, undefined, {
    id: 'root',
    kind: 'root',
    label: `root v${repo.root.signed.version}`,
    detail: `key ${rootKeys.join(', ')}; ${text}${repo.rootRotatedFrom ? `; rotated from v${repo.rootRotatedFrom}` : ''}`,
    ok: true,
  });
  for (const d of [repo.timestamp, repo.snapshot, repo.targets]) {
    const s = d.signed as { version: number; expires: string };
    prev = chainStep(b, prev, {
      id: `role:${d.role}`,
      kind: 'role',
      label: `${d.role} v${s.version}`,
      detail: `expires ${s.expires}`,
      ok: true,
    });
  }
  for (const d of repo.delegations) {
    prev = chainStep(b, prev, {
      id: `role:${d.role.name}`,
      kind: 'role',
      label: `${d.role.name} v${d.doc.signed.version}`,
      detail: `keys ${d.role.keyids.map((id) => short(canonicalKeyId(d.keys[id]!))).join(', ')}`,
      ok: true,
    });
  }
}

/** The problems of a verdict as one error (for callers that want to throw, like the CLI's exit path). */
export function verdictError(v: { problems: Problem[] }): TrustpinError | undefined {
  const p = v.problems[0];
  return p ? new TrustpinError(p.code, p.message, p) : undefined;
}
