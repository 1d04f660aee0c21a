// One signature artifact → one SignatureCheck, offline: the signature verifies under a configured key or a
// Fulcio certificate chaining to the trusted root at the signed time, the log proves it, and only then is the
// payload parsed and held against the image (digest, repository, annotations, in-toto subject).
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { TransparencyLogEntry } from '@sigstore/bundle';
import { ASN1Obj, X509Certificate as CoreX509, type X509Certificate } from '@sigstore/core';
import {
  PolicyError,
  type SignedEntity,
  type TrustMaterial,
  VerificationError,
  Verifier,
} from '@sigstore/verify';
import { type ErrorCode, TrustpinError } from '../../errors/index.js';
import { type Problem, problemOf } from '../verdict.js';
import { bundleMaterial } from './bundle.js';
import { fail, shown } from './check-util.js';
import { COSIGN_SIGN_PREDICATE, checkStatement, predicateTypeUri } from './intoto.js';
import { legacyMaterial, type SignedMaterial, type TlogKey, tlogBodyKey } from './legacy.js';
import { pemCertificates, verifyPkiChain } from './pki.js';
import { checkSimpleSigning, MAX_SIMPLE_SIGNING_BYTES, SIMPLE_SIGNING_MEDIA_TYPE } from './simple-signing.js';
import type {
  CheckContext,
  KeylessIdentity,
  LoadedTrustedRoot,
  SignatureArtifact,
  SignatureCheck,
  SignedTime,
} from './types.js';

/** How far in the future of `now` a signed time may lie before it is refused (default 5 minutes of clock skew). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

const FULCIO = '1.3.6.1.4.1.57264.1.';
/** Fulcio certificate extensions by name (Fulcio `docs/oid-info.md`); .1–.6 are raw strings, .8+ DER UTF8String. */
export const FULCIO_EXTENSIONS: Readonly<Record<string, string>> = {
  githubWorkflowTrigger: `${FULCIO}2`,
  githubWorkflowSha: `${FULCIO}3`,
  githubWorkflowName: `${FULCIO}4`,
  githubWorkflowRepository: `${FULCIO}5`,
  githubWorkflowRef: `${FULCIO}6`,
  issuer: `${FULCIO}8`,
  buildSignerURI: `${FULCIO}9`,
  buildSignerDigest: `${FULCIO}10`,
  runnerEnvironment: `${FULCIO}11`,
  sourceRepositoryURI: `${FULCIO}12`,
  sourceRepositoryDigest: `${FULCIO}13`,
  sourceRepositoryRef: `${FULCIO}14`,
  sourceRepositoryIdentifier: `${FULCIO}15`,
  sourceRepositoryOwnerURI: `${FULCIO}16`,
  sourceRepositoryOwnerIdentifier: `${FULCIO}17`,
  buildConfigURI: `${FULCIO}18`,
  buildConfigDigest: `${FULCIO}19`,
  buildTrigger: `${FULCIO}20`,
  runInvocationURI: `${FULCIO}21`,
  sourceRepositoryVisibilityAtSigning: `${FULCIO}22`,
  deploymentEnvironment: `${FULCIO}23`,
};
const OID_NAME = new Map(Object.entries(FULCIO_EXTENSIONS).map(([n, o]) => [o, n]));
const NAME_OID = new Map(Object.entries(FULCIO_EXTENSIONS).map(([n, o]) => [n.toLowerCase(), o]));
const OID_ISSUER_V1 = `${FULCIO}1`;
const OID_USERNAME_SAN = `${FULCIO}7`;
const OID_SCT = '1.3.6.1.4.1.11129.2.4.2';

// ---- trust material, cached per trusted root and key (the verifier checks many images with one trust) ----

const NO_ROOT: LoadedTrustedRoot = {
  source: '(none)',
  material: {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: () => {
      throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: 'no key configured' });
    },
  } satisfies TrustMaterial,
  summary: { certificateAuthorities: 0, tlogs: 0, ctlogs: 0, timestampAuthorities: 0 },
};
const keyedCache = new WeakMap<LoadedTrustedRoot, WeakMap<KeyObject, TrustMaterial>>();

function keyedMaterial(root: LoadedTrustedRoot, key: KeyObject): TrustMaterial {
  let m = keyedCache.get(root);
  if (!m) {
    m = new WeakMap();
    keyedCache.set(root, m);
  }
  let t = m.get(key);
  if (!t) {
    // cosign tries the configured key whatever hint the signature names: the hint is untrusted data
    t = { ...(root.material as TrustMaterial), publicKey: () => ({ publicKey: key, validFor: () => true }) };
    m.set(key, t);
  }
  return t;
}

const spkiCache = new WeakMap<KeyObject, Buffer>();
function spki(key: KeyObject): Buffer {
  let b = spkiCache.get(key);
  if (!b) {
    b = key.export({ type: 'spki', format: 'der' });
    spkiCache.set(key, b);
  }
  return b;
}

/** Most certificate verifications remembered per trust material (default 1024; then forgotten all at once). */
export const MAX_CERTIFICATE_CACHE = 1024;

type SigningKeyCheck = (entity: SignedEntity, timestamps: Date[]) => unknown;
const certCache = new WeakMap<object, Map<string, unknown>>();

/**
 * A Verifier that remembers, per trust material, that a signing certificate chained (and its SCTs held) at given
 * signed times: re-checking the same signature (a webhook, a re-verify) then skips the chain walk, which is most
 * of a keyless check. The answer is a function of exactly those inputs (certificate bytes, the verified times,
 * the material, the SCT threshold), so it cannot be reused for anything else; failures are never remembered.
 */
class CachingVerifier extends Verifier {
  constructor(
    private readonly material: TrustMaterial,
    private readonly opts: { tlogThreshold: number; ctlogThreshold: number; timestampThreshold: number },
  ) {
    super(material, opts);
    const self = this as unknown as { verifySigningKey?: SigningKeyCheck };
    const inner = self.verifySigningKey?.bind(this);
    if (!inner) return; // another @sigstore/verify: no caching, same checks
    self.verifySigningKey = (entity, timestamps) => {
      if (entity.key.$case !== 'certificate') return inner(entity, timestamps);
      const key = [
        createHash('sha256').update(entity.key.certificate.root.toDER()).digest('hex'),
        this.opts.ctlogThreshold,
        ...timestamps.map((t) => t.getTime()),
      ].join(' ');
      let m = certCache.get(this.material);
      if (!m) {
        m = new Map();
        certCache.set(this.material, m);
      }
      const hit = m.get(key);
      if (hit !== undefined) return hit;
      const signer = inner(entity, timestamps);
      if (m.size >= MAX_CERTIFICATE_CACHE) m.clear();
      m.set(key, signer);
      return signer;
    };
  }
}

// ---- error mapping ----

const CODE: Record<string, ErrorCode> = {
  SIGNATURE_ERROR: 'SIGNATURE_INVALID',
  CERTIFICATE_ERROR: 'CERTIFICATE_INVALID',
  TLOG_ERROR: 'TLOG_INVALID',
  TLOG_INCLUSION_PROOF_ERROR: 'TLOG_INVALID',
  TLOG_INCLUSION_PROMISE_ERROR: 'TLOG_INVALID',
  TLOG_MISSING_INCLUSION_ERROR: 'TLOG_INVALID',
  TLOG_BODY_ERROR: 'TLOG_INVALID',
  TIMESTAMP_ERROR: 'TIMESTAMP_INVALID',
  UNTRUSTED_SIGNER_ERROR: 'SIGNER_MISMATCH',
  PUBLIC_KEY_ERROR: 'SIGNER_MISMATCH',
  NOT_IMPLEMENTED_ERROR: 'SIGNATURE_INVALID',
};
const HINT: Partial<Record<ErrorCode, string>> = {
  SIGNATURE_INVALID: 'the signature does not match its payload under this key: a wrong key, or tampered data',
  CERTIFICATE_INVALID:
    'the signing certificate does not chain to a Fulcio CA of the trusted root at the signed time (or its SCT does not verify); check --trusted-root',
  TLOG_INVALID:
    'the transparency-log proof does not hold under the trusted root’s Rekor keys; check --trusted-root, or re-sign',
  TIMESTAMP_INVALID:
    'no signed time could be established (Rekor SET or RFC 3161 timestamp from a trusted TSA)',
  SIGNER_MISMATCH: 'the signature is valid but made by a signer that is not trusted here',
};

function mapSigstore(e: unknown, what: string): TrustpinError {
  if (e instanceof TrustpinError) return e;
  if (e instanceof VerificationError || e instanceof PolicyError) {
    const code = CODE[e.code] ?? 'SIGNATURE_INVALID';
    return fail(code, `${what}: ${e.message}`, { found: `${e.code}: ${e.message}`, hint: HINT[code] ?? '' });
  }
  // @sigstore/verify may trip over hostile material with a TypeError; it fails closed, and so do we
  return fail('SIGNATURE_INVALID', `${what} could not be checked: ${(e as Error)?.message ?? String(e)}`, {
    hint: 'the signature material is malformed; re-sign the image',
  });
}

// ---- certificates ----

function derUtf8(v: Buffer): string | undefined {
  if (v[0] !== 0x0c || v.length < 2) return undefined;
  let len = v[1]!;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || v.length < 2 + n) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | v[2 + i]!;
    off = 2 + n;
  }
  return off + len === v.length ? v.subarray(off).toString('utf8') : undefined;
}

/** Fulcio extensions of a certificate, by name (dotted OID for Fulcio OIDs without a name here). */
export function fulcioExtensions(cert: X509Certificate): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ext of cert.extensions) {
    let oid: string;
    let value: Buffer;
    try {
      oid = ext.subs[0]!.toOID();
      value = ext.subs[ext.subs.length - 1]!.value;
    } catch {
      continue;
    }
    if (!oid.startsWith(FULCIO) || oid === OID_USERNAME_SAN) continue;
    const n = Number(oid.slice(FULCIO.length));
    const v = n <= 6 ? value.toString('utf8') : derUtf8(value);
    if (v === undefined) continue;
    if (oid === OID_ISSUER_V1) {
      out.issuer ??= v;
      continue;
    }
    out[OID_NAME.get(oid) ?? oid] = v;
  }
  return out;
}

const DN_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/**
 * A Name as `C=ES, O=IT, CN=…` (in certificate order), without a second X.509 parser; '' if it does not parse.
 * @sigstore/core hands out the Name's content (its RDN sets), so it is wrapped in its SEQUENCE again first.
 */
function distinguishedName(content: Buffer): string {
  try {
    const n = content.length;
    const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
    const der = Buffer.concat([Buffer.from([0x30, ...len]), content]);
    const parts: string[] = [];
    for (const rdn of ASN1Obj.parseBuffer(der as Buffer<ArrayBuffer>).subs)
      for (const atv of rdn.subs) {
        const oid = atv.subs[0]!.toOID();
        parts.push(`${DN_NAMES[oid] ?? oid}=${atv.subs[1]!.value.toString('utf8')}`);
      }
    return parts.join(', ');
  } catch {
    return '';
  }
}

function sanOf(cert: X509Certificate): string | undefined {
  try {
    return cert.subjectAltName ?? cert.extSubjectAltName?.otherName(OID_USERNAME_SAN);
  } catch {
    return undefined;
  }
}

function hasSct(cert: X509Certificate): boolean {
  try {
    return cert.extension(OID_SCT) !== undefined;
  } catch {
    return false;
  }
}

const regexCache = new Map<string, RegExp>();
function regex(p: string, field: string): RegExp {
  let r = regexCache.get(p);
  if (!r) {
    try {
      r = new RegExp(p);
    } catch (e) {
      throw fail('USAGE', `identity ${field} ${shown(p)} is not a regular expression`, {
        found: (e as Error).message,
      });
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(p, r);
  }
  return r;
}

function extOid(name: string): string {
  if (/^\d+(\.\d+)+$/.test(name)) return name;
  const o = NAME_OID.get(name.toLowerCase());
  if (!o)
    throw fail('USAGE', `unknown Fulcio certificate extension ${shown(name)}`, {
      expected: `one of ${Object.keys(FULCIO_EXTENSIONS).join(', ')} or a dotted OID`,
    });
  return o;
}

function identityMatches(
  id: KeylessIdentity,
  issuer: string | undefined,
  san: string | undefined,
  exts: Record<string, string>,
): boolean {
  if (id.issuer !== undefined && issuer !== id.issuer) return false;
  if (
    id.issuerRegExp !== undefined &&
    (issuer === undefined || !regex(id.issuerRegExp, 'issuerRegExp').test(issuer))
  )
    return false;
  if (id.subject !== undefined && san !== id.subject) return false;
  if (
    id.subjectRegExp !== undefined &&
    (san === undefined || !regex(id.subjectRegExp, 'subjectRegExp').test(san))
  )
    return false;
  for (const [k, want] of Object.entries(id.extensions ?? {})) {
    const oid = extOid(k);
    const got = exts[OID_NAME.get(oid) ?? oid] ?? (oid === FULCIO_EXTENSIONS.issuer ? issuer : undefined);
    if (got !== want) return false;
  }
  return true;
}

function describe(id: KeylessIdentity): string {
  const parts = [
    id.issuer !== undefined
      ? `issuer ${id.issuer}`
      : id.issuerRegExp !== undefined
        ? `issuer ~ /${id.issuerRegExp}/`
        : 'any issuer',
    id.subject !== undefined
      ? `subject ${id.subject}`
      : id.subjectRegExp !== undefined
        ? `subject ~ /${id.subjectRegExp}/`
        : 'any subject',
    ...Object.entries(id.extensions ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  return parts.join(', ');
}

// ---- the check ----

interface Verified {
  entity: SignedEntity;
  claim: NonNullable<SignatureCheck['claim']>;
  certificate?: SignatureCheck['certificate'];
}

/** The signing keys the log entries record, read (and so shape-checked) before @sigstore/verify walks the bodies. */
function tlogKeys(entity: SignedEntity): TlogKey[] {
  return entity.tlogEntries.map((e) => {
    if (e.inclusionProof !== undefined && typeof e.inclusionProof.checkpoint?.envelope !== 'string')
      throw fail('TLOG_INVALID', 'the transparency-log entry has an inclusion proof without a checkpoint', {
        expected: 'inclusionProof.checkpoint.envelope (the signed tree head)',
        found: 'none',
        hint: 'the log proof is incomplete; re-sign the image',
      });
    return tlogBodyKey(e as TransparencyLogEntry);
  });
}

function compareTlogKey(keys: TlogKey[], signer: Buffer, certDer: Buffer | undefined): void {
  for (const k of keys) {
    let bodySpki: Buffer;
    try {
      // the same certificate as the signature's: its key is the signer's, no parsing needed
      if (k.kind === 'certificate' && certDer !== undefined && k.der.equals(certDer)) bodySpki = signer;
      // the very bytes of the signer's SPKI: the same key, no parsing needed (a re-encoding is parsed below)
      else if (k.kind !== 'certificate' && k.der.equals(signer)) bodySpki = signer;
      else
        bodySpki =
          k.kind === 'certificate'
            ? CoreX509.parse(k.der as Buffer<ArrayBuffer>).publicKey
            : spki(createPublicKey({ key: k.der, format: 'der', type: 'spki' }));
    } catch {
      throw fail('TLOG_INVALID', 'the transparency-log entry records a signing key that does not parse', {
        hint: 're-sign the image',
      });
    }
    const certOk = k.kind !== 'certificate' || certDer === undefined || k.der.equals(certDer);
    if (!bodySpki.equals(signer) || !certOk)
      throw fail(
        'TLOG_INVALID',
        'the transparency-log entry was made for another signing key than the one that verified the signature',
        {
          expected: `key ${createHash('sha256').update(signer).digest('hex')}`,
          found: `${k.kind} with key ${createHash('sha256').update(bodySpki).digest('hex')}`,
          hint: 'the log entry belongs to another signature (a replayed proof); re-sign the image',
        },
      );
  }
}

function withoutTlog(e: SignedEntity): SignedEntity {
  return { ...e, tlogEntries: [], timestamps: e.timestamps.filter((t) => t.$case !== 'transparency-log') };
}

function checkTimes(entity: SignedEntity, now: Date): void {
  const limit = now.getTime() + DEFAULT_MAX_CLOCK_SKEW_MS;
  for (const t of entity.timestamps) {
    const at =
      t.$case === 'transparency-log'
        ? Number(t.tlogEntry.integratedTime) * 1000
        : t.timestamp.signingTime.getTime();
    if (at > limit)
      throw fail(
        t.$case === 'transparency-log' ? 'TLOG_INVALID' : 'TIMESTAMP_INVALID',
        'the signature claims a signed time in the future',
        {
          expected: `a time before ${new Date(limit).toISOString()}`,
          found: new Date(at).toISOString(),
          hint: 'a log or timestamp authority never signs the future; the proof is forged or the clock (now) is wrong',
        },
      );
  }
}

function verifyKeyed(entity0: SignedEntity, ctx: CheckContext): Verified {
  const root = ctx.trust.trustedRoot ?? NO_ROOT;
  const base: SignedEntity = { ...entity0, key: { $case: 'public-key', hint: '' } };
  const unlogged = ctx.trust.requireTlog ? base : withoutTlog(base);
  // a timestamp nobody is trusted to have made is ignored, as cosign does without --timestamp trust
  const entity =
    root.summary.timestampAuthorities === 0
      ? { ...unlogged, timestamps: unlogged.timestamps.filter((t) => t.$case !== 'timestamp-authority') }
      : unlogged;
  if (ctx.trust.requireTlog && entity.tlogEntries.length === 0)
    throw fail('TLOG_INVALID', 'the signature has no transparency-log entry, and one is required', {
      expected: 'a Rekor entry (SET bundle annotation, or tlogEntries in the bundle)',
      found: 'none',
      hint: 'sign with the transparency log on, or accept unlogged keyed signatures (requireTlog: false, cosign --insecure-ignore-tlog)',
    });
  if (ctx.trust.requireTlog && root.summary.tlogs === 0)
    throw fail('TLOG_INVALID', 'a transparency-log entry is required but the trust has no Rekor keys', {
      expected: 'a trusted root with tlogs',
      found: ctx.trust.trustedRoot ? `${root.source}: no tlogs` : 'no trusted root',
      hint: 'give a trusted_root.json (--trusted-root), or set requireTlog: false',
    });
  let last: TrustpinError | undefined;
  let sigFailures = 0;
  for (const { keyId, key } of ctx.trust.keys) {
    try {
      const recorded = tlogKeys(entity);
      new Verifier(keyedMaterial(root, key), {
        tlogThreshold: ctx.trust.requireTlog ? 1 : 0,
        ctlogThreshold: 0,
        timestampThreshold: 0,
      }).verify(entity);
      compareTlogKey(recorded, spki(key), undefined);
      checkTimes(entity, ctx.now);
      return { entity, claim: { type: 'cosign-key', keyId } };
    } catch (e) {
      const t = mapSigstore(e, 'the signature');
      if (!t.isVerificationFailure) throw t;
      if (t.code === 'SIGNATURE_INVALID') sigFailures++;
      else last = t;
    }
  }
  if (last) throw last;
  throw fail(
    'SIGNATURE_INVALID',
    `the signature does not verify under ${ctx.trust.keys.length === 1 ? 'the configured key' : `any of the ${ctx.trust.keys.length} configured keys`}`,
    {
      expected: `a signature by ${ctx.trust.keys.map((k) => k.keyId.slice(0, 16)).join(', ')}`,
      found: `${sigFailures} failed verification${sigFailures === 1 ? '' : 's'}`,
      hint: 'the image was signed with another key (or the payload was changed); check --key',
    },
  );
}

function verifyKeyless(entity0: SignedEntity, mat: SignedMaterial, ctx: CheckContext): Verified {
  const cert = mat.certificate!;
  const root = ctx.trust.trustedRoot;
  if (!root)
    throw fail(
      'CERTIFICATE_INVALID',
      'a keyless (Fulcio) signature needs a trusted root to chain its certificate to',
      {
        expected: 'a trusted root with Fulcio CAs',
        found: 'no trusted root',
        hint: 'give a trusted_root.json (--trusted-root)',
      },
    );
  if (hasSct(cert) && root.summary.ctlogs === 0)
    throw fail(
      'CERTIFICATE_INVALID',
      'the certificate carries an SCT but the trusted root has no CT log keys to verify it',
      {
        expected: 'ctlogs in the trusted root',
        found: `${root.source}: no ctlogs`,
        hint: 'ship the CT log keys with a custom Fulcio root (a root without them cannot verify any Fulcio certificate)',
      },
    );
  const entity = ctx.trust.requireTlog ? entity0 : withoutTlog(entity0);
  if (ctx.trust.requireTlog && entity.tlogEntries.length === 0)
    throw fail('TLOG_INVALID', 'the keyless signature has no transparency-log entry, and one is required', {
      expected: 'a Rekor entry proving when the short-lived certificate was used',
      found: 'none',
      hint: 'a Fulcio certificate is valid for minutes; only a log entry (or a TSA timestamp with requireTlog: false) shows it signed in time',
    });
  // @sigstore/verify chain-checks the certificate once per signed time: with none it would crash, so refuse first
  if (entity.timestamps.length === 0)
    throw fail('TIMESTAMP_INVALID', 'the keyless signature has no signed time to judge its certificate at', {
      expected: 'a Rekor SET (integrated time) or an RFC 3161 timestamp',
      found:
        entity.tlogEntries.length > 0
          ? 'log entries without an inclusion promise, and no TSA timestamp'
          : 'no log entry and no TSA timestamp',
      hint: 'a short-lived Fulcio certificate proves nothing without a signed time; re-sign with the log or a timestamp authority',
    });
  const recorded = tlogKeys(entity);
  let signerKey: Buffer;
  try {
    const signer = new CachingVerifier(root.material as TrustMaterial, {
      tlogThreshold: ctx.trust.requireTlog ? 1 : 0,
      ctlogThreshold: 1,
      timestampThreshold: 1,
    }).verify(entity);
    void signer;
    signerKey = cert.publicKey;
  } catch (e) {
    throw mapSigstore(e, 'the keyless signature');
  }
  compareTlogKey(recorded, signerKey, mat.certificateDer);
  checkTimes(entity, ctx.now);
  return { entity, ...identified(cert, ctx, false) };
}

/** The certificate's signer, held against the trusted identities; its details for the result. */
function identified(cert: X509Certificate, ctx: CheckContext, pki: boolean): Omit<Verified, 'entity'> {
  const exts = fulcioExtensions(cert);
  const issuer = exts.issuer;
  const san = sanOf(cert);
  if (!ctx.trust.identities.some((id) => identityMatches(id, issuer, san, exts)))
    throw fail(
      'SIGNER_MISMATCH',
      `the ${pki ? 'certificate' : 'keyless'} signature is valid but was made by ${san ?? '(no SAN)'}${pki ? '' : ` via ${issuer ?? '(no issuer)'}`}`,
      {
        expected:
          ctx.trust.identities.length > 0
            ? ctx.trust.identities.map(describe).join(' | ')
            : 'a configured identity',
        found: `issuer ${issuer ?? '(none)'}, subject ${san ?? '(none)'}${Object.entries(exts)
          .filter(([k]) => k !== 'issuer')
          .slice(0, 4)
          .map(([k, v]) => `, ${k}=${v}`)
          .join('')}`,
        hint: 'the image was signed by another identity; check the identity (issuer, subject, extensions) you trust',
      },
    );
  const caName = distinguishedName(cert.issuer);
  return {
    claim: {
      type: 'cosign-keyless',
      issuer: issuer ?? (pki ? caName : ''),
      subject: san ?? '',
      extensions: exts,
    },
    certificate: {
      subject: distinguishedName(cert.subject) || san || '',
      issuer: caName,
      notBefore: cert.notBefore.toISOString(),
      notAfter: cert.notAfter.toISOString(),
      extensions: exts,
    },
  };
}

/**
 * BYO-PKI: the certificate chains to a configured root (at `now`: such certificates are long-lived, unlike
 * Fulcio's), then its key verifies the signature as a public key would (log rules as for keyed signatures).
 */
function verifyPki(entity: SignedEntity, mat: SignedMaterial, ctx: CheckContext): Verified {
  const cert = mat.certificate!;
  const roots = (ctx.trust.caRoots ?? []).flatMap((b, i) => pemCertificates(b, `caRoots[${i}]`));
  const intermediates = [
    ...(ctx.trust.caIntermediates ?? []).flatMap((b, i) => pemCertificates(b, `caIntermediates[${i}]`)),
    ...mat.chain,
  ];
  verifyPkiChain(cert, roots, intermediates, ctx.now);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: cert.publicKey, format: 'der', type: 'spki' });
  } catch (e) {
    throw fail('CERTIFICATE_INVALID', 'the signing certificate holds a key that does not parse', {
      found: (e as Error).message,
    });
  }
  const keyed = verifyKeyed(entity, {
    ...ctx,
    trust: { ...ctx.trust, keys: [{ keyId: createHash('sha256').update(spki(key)).digest('hex'), key }] },
  });
  return { entity: keyed.entity, ...identified(cert, ctx, true) };
}

function times(entity: SignedEntity): SignedTime[] {
  return entity.timestamps.map((t) =>
    t.$case === 'transparency-log'
      ? {
          source: 'tlog',
          time: new Date(Number(t.tlogEntry.integratedTime) * 1000).toISOString(),
          logIndex: t.tlogEntry.logIndex,
          logId: Buffer.from(t.tlogEntry.logId.keyId).toString('hex'),
        }
      : { source: 'timestamp-authority', time: t.timestamp.signingTime.toISOString() },
  );
}

function material(
  a: SignatureArtifact,
  ctx: CheckContext,
): SignedMaterial & { messageDigest?: string | undefined } {
  switch (a.format) {
    case 'legacy-signature':
      if (a.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE)
        throw fail(
          'PAYLOAD_INVALID',
          `the signature layer is of type ${shown(a.mediaType)}, not a cosign simple-signing payload`,
          {
            expected: SIMPLE_SIGNING_MEDIA_TYPE,
            found: a.mediaType,
            hint: 'this attachment is not a cosign signature; nothing from it was used',
          },
        );
      // bounded before it is hashed and verified, not only before it is parsed
      if (a.bytes.length > MAX_SIMPLE_SIGNING_BYTES)
        throw fail(
          'SIZE_EXCEEDED',
          `the signature layer is ${a.bytes.length} bytes, more than ${MAX_SIMPLE_SIGNING_BYTES}`,
          {
            expected: `a simple-signing payload of at most ${MAX_SIMPLE_SIGNING_BYTES} bytes`,
            found: `${a.bytes.length} bytes`,
            hint: 'cosign writes about 250 bytes plus annotations; this layer is not a real signature payload',
          },
        );
      return legacyMaterial(a);
    case 'legacy-attestation':
      if (a.mediaType !== DSSE_MEDIA_TYPE)
        throw fail(
          'PAYLOAD_INVALID',
          `the attestation layer is of type ${shown(a.mediaType)}, not a DSSE envelope`,
          {
            expected: DSSE_MEDIA_TYPE,
            found: a.mediaType,
            hint: 'this attachment is not a cosign attestation; nothing from it was used',
          },
        );
      return legacyMaterial(a);
    case 'bundle':
      return bundleMaterial(a.bytes, ctx.artifact);
  }
}

function run(a: SignatureArtifact, ctx: CheckContext, out: SignatureCheck): void {
  const mat = material(a, ctx);
  // a message signature is over the artifact's bytes: one naming another digest cannot verify over this image's,
  // so say what it is for (the digest it names is the bundle's claim) instead of blaming the key
  if (mat.messageDigest !== undefined && mat.messageDigest !== ctx.digest)
    throw fail('SIGNED_DIGEST_MISMATCH', 'the bundle is a message signature over another artifact', {
      expected: ctx.digest,
      found: `${mat.messageDigest} (the digest the bundle names)`,
      hint: 'the signature belongs to another image; it proves nothing about this one',
    });
  if (mat.messageDigest !== undefined && ctx.artifact === undefined)
    throw fail(
      'SIGNATURE_INVALID',
      'the bundle is a message signature over the artifact bytes, which were not given',
      {
        expected: 'the signed bytes (CheckContext.artifact) to verify the signature over',
        found: `a message signature over ${mat.messageDigest}`,
        hint: 'pass the manifest bytes as CheckContext.artifact; cosign v3 signs images with DSSE bundles, which need none',
      },
    );
  const pki = mat.certificate !== undefined && (ctx.trust.caRoots?.length ?? 0) > 0;
  const keyless = !pki && mat.certificate !== undefined && ctx.trust.identities.length > 0;
  if (!pki && !keyless && ctx.trust.keys.length === 0)
    throw fail(
      'SIGNER_MISMATCH',
      mat.certificate
        ? 'the signature is keyless but no keyless identity is trusted'
        : 'the signature is keyed but no public key is trusted',
      {
        expected: mat.certificate
          ? 'a keyless identity (issuer + subject) to accept'
          : 'a public key (--key) to verify with',
        found: mat.certificate ? 'a Fulcio certificate' : 'a signature without certificate',
        hint: mat.certificate
          ? 'configure the signer identity (certificate issuer and subject)'
          : 'configure the public key the image is signed with',
      },
    );
  let verified: Verified | undefined;
  let first: TrustpinError | undefined;
  for (const entity of mat.entities) {
    try {
      verified = pki
        ? verifyPki(entity, mat, ctx)
        : keyless
          ? verifyKeyless(entity, mat, ctx)
          : verifyKeyed(entity, ctx);
      break;
    } catch (e) {
      if (!(e instanceof TrustpinError) || !e.isVerificationFailure) throw e;
      first ??= e;
    }
  }
  if (!verified) throw first!;
  out.claim = verified.claim;
  if (verified.certificate) out.certificate = verified.certificate;
  out.times = times(verified.entity);
  // only now, with the signature verified, is what it signs parsed
  if (mat.envelope) {
    const wanted =
      ctx.predicateType === undefined ? COSIGN_SIGN_PREDICATE : predicateTypeUri(ctx.predicateType);
    const r = checkStatement(
      mat.envelope.payloadType,
      mat.envelope.payload,
      ctx,
      'the signed DSSE envelope',
      (st) => {
        if (st.predicateType !== wanted) out.otherKind = st.predicateType;
      },
    );
    out.statement = r.statement;
    out.signedDigest = r.signedDigest;
    return;
  }
  if (ctx.predicateType !== undefined) {
    out.otherKind = 'signature';
    throw fail('PAYLOAD_INVALID', 'the artifact is a signature, not an attestation', {
      expected: `an in-toto attestation of type ${ctx.predicateType}`,
      found: a.format === 'bundle' ? 'a message-signature bundle' : 'a simple-signing signature',
      hint: 'attestations are DSSE envelopes (.att layers or DSSE bundles)',
    });
  }
  if (mat.messageDigest !== undefined) {
    out.signedDigest = mat.messageDigest;
    if (mat.messageDigest !== ctx.digest)
      throw fail('SIGNED_DIGEST_MISMATCH', 'the bundle is a valid signature over another artifact', {
        expected: ctx.digest,
        found: mat.messageDigest,
        hint: 'the signature belongs to another image; sign this digest',
      });
    return;
  }
  const s = checkSimpleSigning(mat.payload!, ctx);
  out.dockerReference = s.dockerReference;
  out.signedDigest = s.signedDigest;
}

/**
 * Check one signature artifact against the image `ctx.digest` and the trust in `ctx.trust`. Synchronous and
 * offline. Never throws for bad artifact data: every failure is a Problem with a verification code (the first
 * that held it back). Throws only for a programming or configuration error (USAGE: an identity pattern that is
 * not a regular expression, an unknown extension name).
 */
export function checkArtifact(a: SignatureArtifact, ctx: CheckContext): SignatureCheck {
  const out: SignatureCheck = {
    artifact: {
      format: a.format,
      origin: a.origin,
      manifestDigest: a.manifestDigest,
      layerDigest: a.layerDigest,
    },
    ok: false,
    problems: [],
    times: [],
  };
  try {
    run(a, ctx, out);
  } catch (e) {
    if (!(e instanceof TrustpinError) || !e.isVerificationFailure) throw e;
    out.problems.push(problemOf(e) satisfies Problem);
  }
  out.ok = out.problems.length === 0;
  return out;
}
