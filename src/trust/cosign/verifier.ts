// cosign (Sigstore) as a TrustVerifier. `verify()` reads as the chain of trust: resolve the image to a digest
// computed from its bytes → find what is attached to that digest (bundles by referrers, cosign's legacy tags) →
// check each artifact against the keys or identities and the trusted root → fetch the image by the signed digest
// down to its configs. Nothing found next to an image is trusted before its check; everything is fetched by digest.
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
  type VerifyOptions,
} from '../verdict.js';
import { checkArtifact } from './check.js';
import { discoverArtifacts } from './discover.js';
import { loadPublicKey, loadTrustedRoot } from './trusted-root.js';
import type {
  CheckContext,
  CosignTrust,
  InTotoStatement,
  KeylessIdentity,
  LoadedTrustedRoot,
  SignatureCheck,
} from './types.js';

/** Options of {@link createCosignVerifier}; keys and the trusted root are loaded once, `verify()` runs many times. */
export interface CosignVerifierOptions {
  /** the registry client (default: a new client with default options) */
  client?: RegistryClient | undefined;
  /** PEM public keys (file contents) a keyed signature may verify under (cosign `--key`) */
  keys?: (string | Buffer)[] | undefined;
  /** keyless: identities (issuer + subject, exact or regular expression) one of which must have signed */
  identities?: KeylessIdentity[] | undefined;
  /**
   * the Sigstore trusted root (a trusted_root.json: its bytes, text or parsed object), or a path to one.
   * Required for keyless signatures and for any transparency-log check; never fetched implicitly.
   */
  trustedRoot?: string | Buffer | object | undefined;
  /** the trusted root's name in messages and the chain (default: its path, or "the trusted root given") */
  trustedRootSource?: string | undefined;
  /** no network at all: only images (and signatures) in OCI layouts are verified; a registry is OFFLINE */
  offline?: boolean | undefined;
  /** require a transparency-log entry (default true, as cosign); false = `--insecure-ignore-tlog` */
  requireTlog?: boolean | undefined;
  /** verify attestations of this predicate type instead of signatures (cosign `verify-attestation --type`) */
  attestation?: string | undefined;
  /** where signatures are stored when not next to the image (cosign `COSIGN_REPOSITORY`): `registry/repository` */
  signatureRepository?: string | undefined;
  /** annotations the signed payload must carry (cosign `-a key=value`) */
  annotations?: Record<string, string> | undefined;
  /**
   * mirror → origin identity mapping (containers' `remapIdentity`): an image under `prefix` may carry signatures
   * whose docker-reference is under `signedPrefix` (`{prefix: 'mirror.example/dockerhub', signedPrefix: 'docker.io'}`)
   */
  remapIdentity?: { prefix: string; signedPrefix: string }[] | undefined;
  /**
   * for OCI layouts (which carry no registry name): the repository the signature must name. Without it the
   * docker-reference is not checked and the verdict says so in a warning.
   */
  identityRepository?: string | undefined;
  /** the time certificate validity is judged at when no signed time is available (default: the clock) */
  now?: (() => number) | undefined;
  /** verify the image by the signed digest down to its configs (default true) */
  fetchImage?: boolean | undefined;
}

/** A cosign verdict: the common verdict plus every artifact that was checked and where trustpin looked. */
export interface CosignVerdict extends TrustVerdict {
  system: 'cosign';
  /** every signature or attestation found and its check, accepted ones first */
  signatures: SignatureCheck[];
  /** where signatures were looked for, and how many were found there */
  searched: { where: string; found: number; note?: string | undefined }[];
  /** attestation mode: the verified in-toto statements (parsed only after their signatures held) */
  attestations?: InTotoStatement[] | undefined;
  /** `REPOSITORY@DIGEST` to deploy, when verified */
  pinned?: string | undefined;
}

/** Create a cosign verifier: keys and the trusted root are loaded and checked once, `verify()` runs many times. */
export function createCosignVerifier(options: CosignVerifierOptions): TrustVerifier<CosignVerdict> {
  return new CosignVerifier(options);
}

class CosignVerifier implements TrustVerifier<CosignVerdict> {
  readonly system = 'cosign' as const;
  private readonly client: RegistryClient;
  private readonly trust: CosignTrust;
  private readonly signatureRepo: Reference | undefined;

  constructor(private readonly o: CosignVerifierOptions) {
    this.client = o.client ?? new RegistryClient();
    const keys = (o.keys ?? []).map((k, i) => loadPublicKey(k, `key ${i + 1}`));
    const identities = o.identities ?? [];
    for (const id of identities) {
      if (!(id.issuer ?? id.issuerRegExp) || !(id.subject ?? id.subjectRegExp))
        throw new TrustpinError('USAGE', 'a keyless identity needs an issuer and a subject', {
          expected: 'issuer (or issuerRegExp) and subject (or subjectRegExp)',
          found: JSON.stringify(id),
          hint: 'cosign names them --certificate-oidc-issuer and --certificate-identity',
        });
    }
    if (keys.length === 0 && identities.length === 0)
      throw new TrustpinError('USAGE', 'nothing to trust: give a public key or a keyless identity', {
        expected: 'keys, or identities (issuer + subject)',
        hint: 'option keys (CLI --key FILE), or identities (CLI --certificate-identity and --certificate-oidc-issuer)',
      });
    const trustedRoot =
      o.trustedRoot === undefined ? undefined : readTrustedRoot(o.trustedRoot, o.trustedRootSource);
    const requireTlog = o.requireTlog ?? true;
    if (!trustedRoot && (identities.length > 0 || requireTlog))
      throw new TrustpinError(
        'USAGE',
        identities.length > 0
          ? 'keyless verification needs a Sigstore trusted root (Fulcio CAs, Rekor and CT log keys)'
          : 'a transparency-log entry is required (as cosign does by default), and no trusted root gives its key',
        {
          expected: 'option trustedRoot (a trusted_root.json)',
          hint:
            identities.length > 0
              ? 'option trustedRoot (CLI --trusted-root FILE, or `trustpin sigstore refresh` once online); the Sigstore TUF repository publishes trusted_root.json'
              : 'option trustedRoot (CLI --trusted-root FILE, or `trustpin sigstore refresh` once online), or requireTlog false (CLI --insecure-ignore-tlog) to accept keyed signatures without a log',
        },
      );
    this.trust = { keys, identities, trustedRoot, requireTlog };
    this.signatureRepo =
      o.signatureRepository === undefined ? undefined : parseDockerReference(o.signatureRepository);
  }

  async verify(subject: string | Reference, options: VerifyOptions = {}): Promise<CosignVerdict> {
    const signal = options.signal;
    const target = this.open(subject, options.manifest);
    const b = new ChainBuilder();
    const v: CosignVerdict = {
      system: 'cosign',
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
      discoverArtifacts(target.store, digest, {
        kinds: this.o.attestation !== undefined ? ['attestations'] : ['signatures'],
        signal,
      });
    // a reference by digest names what to look for before the image is fetched: the search runs beside the
    // fetch (one round trip instead of two); what it finds is checked only once the image's bytes matched
    const early = target.digest === undefined ? undefined : settleLater(discover(target.digest));
    let prefetch: ReturnType<typeof prefetchImage> | undefined;
    try {
      const top = await target.source.resolve({ signal });
      v.subject.digest = top.digest;
      // the image's configs are fetched (by digest, verified before parsing) while the signatures are searched
      // for; the walk is judged only after a signature held
      if (this.o.fetchImage !== false) prefetch = prefetchImage(target.source, signal);
      const found = await (early && top.digest === target.digest ? early : discover(top.digest as Digest));
      v.searched = found.searched;
      const refused: Problem[] = found.refused.map((r) => ({
        ...problemOf(r.error),
        message: `${r.origin}: ${r.error.message}`,
      }));
      if (found.artifacts.length === 0 && refused.length > 0) throw firstFailure([], refused);
      if (found.artifacts.length === 0)
        throw this.notFound(
          target.name.endsWith(top.digest) ? target.name : `${target.name}@${top.digest}`,
          `nothing in ${found.searched.map((s) => s.where).join(', ') || 'any place searched'}`,
          this.signatureRepo
            ? 'check that the signatures were pushed to this signature repository'
            : 'if the signatures live in another repository, give option signatureRepository (CLI --signature-repository)',
        );
      if (target.repository === undefined)
        v.warnings.push({
          code: 'IDENTITY_NOT_CHECKED',
          message: `the signed docker-reference was not checked: ${target.name} carries no repository name (option identityRepository)`,
        });
      const ctx = this.context(top.digest, target);
      // a message-signature bundle signs the manifest bytes themselves (verified against the digest by the source)
      if (found.artifacts.some((a) => a.format === 'bundle'))
        ctx.artifact = (await target.source.manifest(top, { signal })).bytes;
      const all = found.artifacts.map((a) => checkArtifact(a, ctx));
      all.sort((x, y) => Number(y.ok) - Number(x.ok));
      v.signatures = all;
      // valid signatures of another kind (an attestation of another type, a signature when attestations were
      // asked for) are no evidence either way: with nothing else there, nothing was found
      const checks = all.filter((c) => c.ok || c.otherKind === undefined);
      if (checks.length === 0 && refused.length === 0)
        throw this.notFound(
          target.name.endsWith(top.digest) ? target.name : `${target.name}@${top.digest}`,
          `${all.length} verified artifact(s) of other kinds: ${[...new Set(all.map((c) => c.otherKind))].join(', ')}`,
          this.o.attestation !== undefined
            ? 'ask for one of the predicate types found (option attestation, CLI --attestation)'
            : 'these are attestations; verify them with option attestation (CLI --attestation TYPE)',
        );
      const good = checks.filter((c) => c.ok);
      const prev = this.chain(b, checks);
      if (good.length === 0) throw firstFailure(checks, refused);
      v.claims = good.flatMap((c) => (c.claim ? [c.claim] : []));
      if (this.o.attestation !== undefined)
        v.attestations = good.flatMap((c) => (c.statement ? [c.statement] : []));
      if (this.o.fetchImage !== false)
        await verifyResolvedSource(target.source, top.digest, target.tag, b, prev, signal, prefetch?.walked);
      v.pinned = `${target.pinName}@${top.digest}`;
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

  /** Nothing of the asked-for kind is attached to `image` (`found` says what was there instead). */
  private notFound(image: string, found: string, hint: string): TrustpinError {
    const attestation = this.o.attestation;
    return new TrustpinError(
      'SIGNATURE_NOT_FOUND',
      `no cosign ${attestation !== undefined ? `attestation of type ${attestation}` : 'signature'} is attached to ${image}`,
      {
        expected: attestation !== undefined ? `an attestation (${attestation})` : 'a signature',
        found,
        hint,
      },
    );
  }

  private context(digest: string, t: Target): CheckContext {
    const accept: string[] = [];
    if (t.repository !== undefined)
      for (const m of this.o.remapIdentity ?? []) {
        const prefix = m.prefix.replace(/\/+$/, '');
        if (t.repository === prefix || t.repository.startsWith(`${prefix}/`))
          accept.push(m.signedPrefix.replace(/\/+$/, '') + t.repository.slice(prefix.length));
      }
    return {
      digest,
      repository: t.repository,
      acceptRepositories: accept,
      annotations: this.o.annotations,
      predicateType: this.o.attestation,
      trust: this.trust,
      now: new Date(this.o.now?.() ?? Date.now()),
    };
  }

  private open(subject: string | Reference, known?: VerifyOptions['manifest']): Target {
    if (typeof subject === 'string' && /^oci(-archive)?:/.test(subject)) {
      // an OCI layout directory or archive: the image and its attachments (tags, referrers) from the same files
      const { source, store: own } = openWithAttachments(subject, this.client);
      if (this.signatureRepo && this.o.offline)
        throw new TrustpinError('OFFLINE', 'offline: the signature repository is in a registry', {
          found: fullName(this.signatureRepo),
          hint: 'drop option signatureRepository, or option offline',
        });
      const store = this.signatureRepo
        ? registryAttachments(this.client, this.signatureRepo.registry, this.signatureRepo.repository)
        : own;
      const repository = this.o.identityRepository
        ? fullName(parseDockerReference(this.o.identityRepository))
        : undefined;
      return {
        source,
        store,
        name: source.name,
        repository,
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
        hint: 'copy the image with its signatures into an OCI layout, or drop option offline',
      });
    const source: ImageSource = new RegistrySource(ref, this.client, {
      known: ref.digest ? known : undefined,
    });
    const sigs = this.signatureRepo ?? ref;
    const store = registryAttachments(this.client, sigs.registry, sigs.repository);
    const tag = ref.digest ? undefined : (ref.tag ?? 'latest');
    return {
      source,
      store,
      name: source.name.replace(/^docker:\/\//, ''),
      repository: fullName(ref),
      tag,
      pinName: fullName(ref),
      digest: ref.digest as Digest | undefined,
    };
  }

  /** The trust anchor, certificate and signature nodes; returns the node the image hangs from. */
  private chain(b: ChainBuilder, checks: SignatureCheck[]): string {
    const shown = checks.filter((c) => c.ok).length ? checks.filter((c) => c.ok) : checks.slice(0, 1);
    let last = '';
    for (const c of shown) {
      const a = c.artifact;
      let anchor: string;
      if (c.claim?.type === 'cosign-key') {
        anchor = b.node({
          id: `key:${c.claim.keyId}`,
          kind: 'key',
          label: `public key ${c.claim.keyId.slice(0, 12)}`,
          ok: true,
        });
      } else if (c.certificate) {
        const root = this.trust.trustedRoot!;
        const rootId = b.node({
          id: 'root:sigstore',
          kind: 'root',
          label: 'Sigstore trusted root',
          detail: `${root.source}: ${root.summary.certificateAuthorities} CA, ${root.summary.tlogs} transparency log, ${root.summary.ctlogs} CT log, ${root.summary.timestampAuthorities} TSA`,
          ok: true,
        });
        anchor = b.node({
          id: `certificate:${c.artifact.layerDigest}`,
          kind: 'certificate',
          label: `certificate for ${c.certificate.subject}`,
          detail: `issuer ${c.certificate.issuer}; valid ${c.certificate.notBefore} … ${c.certificate.notAfter}`,
          ok: c.ok,
        });
        b.edge(rootId, anchor, 'signs', c.ok);
      } else {
        anchor = b.node({
          id: this.trust.keys.length ? 'key:configured' : 'root:sigstore',
          kind: this.trust.keys.length ? 'key' : 'root',
          label: this.trust.keys.length
            ? `${this.trust.keys.length} configured public key(s)`
            : 'Sigstore trusted root',
          ok: false,
        });
      }
      const times = c.times.map((t) =>
        t.source === 'tlog' ? `logged at ${t.time} (entry ${t.logIndex})` : `timestamped ${t.time}`,
      );
      const id = b.node({
        id: `signature:${c.artifact.layerDigest}`,
        kind: a.format === 'legacy-attestation' || c.statement ? 'attestation' : 'signature',
        label: `${FORMAT_LABEL[a.format]}${c.statement ? ` ${c.statement.predicateType}` : ''}`,
        digest: c.artifact.layerDigest,
        detail: [c.artifact.origin, ...times, ...c.problems.map((p) => p.message)].join('; '),
        ok: c.ok,
      });
      b.edge(anchor, id, 'signs', c.ok);
      last = id;
    }
    return last;
  }
}

const FORMAT_LABEL = {
  'legacy-signature': 'cosign signature',
  'legacy-attestation': 'cosign attestation',
  bundle: 'Sigstore bundle',
} as const;

interface Target {
  source: ImageSource;
  store: AttachmentStore;
  /** the image as the user named it, normalised */
  name: string;
  /** the repository signatures must name, when known */
  repository: string | undefined;
  tag: string | undefined;
  /** what precedes `@digest` in `pinned` */
  pinName: string;
  /** the digest the reference names (a registry reference by digest), known before anything is fetched */
  digest: Digest | undefined;
}

/** The failure when no artifact verified: each distinct problem once, with the first artifact it came from. */
function firstFailure(checks: SignatureCheck[], refused: Problem[]): TrustpinError {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const c of checks)
    for (const p of c.problems) {
      const key = `${p.code}\0${p.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push({ ...p, message: `${c.artifact.origin}: ${p.message}` });
    }
  return failureWith([...problems, ...refused]);
}

function readTrustedRoot(input: string | Buffer | object, source: string | undefined): LoadedTrustedRoot {
  if (typeof input === 'string' && !input.trimStart().startsWith('{')) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(input);
    } catch (e) {
      throw new TrustpinError('IO_ERROR', `cannot read the trusted root ${input}: ${(e as Error).message}`, {
        hint: 'give the path of a trusted_root.json',
      });
    }
    return loadTrustedRoot(bytes, source ?? input);
  }
  return loadTrustedRoot(input, source ?? 'the trusted root given');
}
