// One Notation signature checked as notation-go's verifier does (verifier/verifier.go `processSignature`), in its
// order: integrity (the envelope opens and verifies, its payload names this image) → authenticity (the chain ends in
// a certificate of the trust stores the policy names; the leaf matches a trusted identity) → expiry → authentic
// timestamp (the chain valid now, or at an RFC 3161 time from a trusted TSA) → revocation (not checkable offline).
// Each check's failure is enforced or only logged as the trust policy's level says; integrity is always enforced.
import { TrustpinError } from '../../errors/index.js';
import type { Problem } from '../verdict.js';
import { problemOf } from '../verdict.js';
import { type OpenedEnvelope, openEnvelope } from './envelope.js';
import { identityMatches, subjectAttributesOf } from './policy.js';
import { checkRevocation, type LoadedCrl } from './revocation.js';
import { verifyTimestampToken } from './timestamp.js';
import type {
  NotationArtifact,
  NotationCheck,
  NotationSubject,
  TrustPolicyStatement,
  VerificationCheck,
} from './types.js';
import { type Certificate, invalidAt, invalidDuring } from './x509.js';

/** Certificates of the named stores a statement lists, parsed once (by `type:name`). */
export type LoadedStores = Map<string, Certificate[]>;

/** What one signature must prove. */
export interface NotationCheckContext {
  /** the verified descriptor of the image: the payload's targetArtifact must equal it */
  subject: NotationSubject;
  statement: TrustPolicyStatement;
  /** the certificates of every store the statement names, by `type:name` */
  stores: LoadedStores;
  /** annotations the signed payload must carry (notation `--user-metadata`) */
  userMetadata?: Record<string, string> | undefined;
  /** CRLs given by the user (offline revocation); without them revocation is reported not checked */
  crls?: LoadedCrl[] | undefined;
  /** the verification time (expiry, certificate validity without a timestamp) */
  now: Date;
}

interface Payload {
  targetArtifact: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
}

/** Largest signed payload parsed (a descriptor; notation-go has no bound). */
export const MAX_NOTATION_PAYLOAD_BYTES = 64 * 1024;

function parsePayload(bytes: Buffer): Payload {
  const fail = (found: string) =>
    new TrustpinError('PAYLOAD_INVALID', 'the signed payload is not a Notation payload', {
      expected: '{"targetArtifact": {"mediaType", "digest", "size"}}',
      found,
    });
  if (bytes.length > MAX_NOTATION_PAYLOAD_BYTES) throw fail(`${bytes.length} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw fail(`not JSON: ${(e as Error).message}`);
  }
  const t = (v as { targetArtifact?: unknown } | null)?.targetArtifact as Record<string, unknown> | undefined;
  if (
    !t ||
    typeof t !== 'object' ||
    typeof t.mediaType !== 'string' ||
    typeof t.digest !== 'string' ||
    typeof t.size !== 'number' ||
    !Number.isSafeInteger(t.size)
  )
    throw fail(JSON.stringify(v).slice(0, 200));
  const ann = t.annotations;
  if (
    ann !== undefined &&
    (typeof ann !== 'object' || ann === null || Object.values(ann).some((x) => typeof x !== 'string'))
  )
    throw fail('annotations that are not a string map');
  return v as Payload;
}

/** Check one signature. Never throws for a verification failure: the check carries it. */
export async function checkNotationSignature(
  a: NotationArtifact,
  ctx: NotationCheckContext,
): Promise<NotationCheck> {
  const s = ctx.statement;
  const out: NotationCheck = {
    artifact: {
      origin: a.origin,
      manifestDigest: a.manifestDigest,
      envelopeDigest: a.envelopeDigest,
      mediaType: a.mediaType,
    },
    ok: false,
    problems: [],
    logged: [],
    certificates: [],
  };
  /** A failed check: enforced → a problem (and stop), logged → a note, skipped → nothing. */
  const fail = (check: VerificationCheck, e: TrustpinError): boolean => {
    const action = check === 'integrity' ? 'enforce' : s.actions[check];
    if (action === 'skip') return false;
    const p: Problem = problemOf(e);
    if (action === 'enforce') {
      out.problems.push(p);
      return true;
    }
    out.logged.push({ check, problem: p });
    return false;
  };
  const attempt = async (check: VerificationCheck, f: () => void | Promise<void>): Promise<boolean> => {
    if (check !== 'integrity' && s.actions[check] === 'skip') return false;
    try {
      await f();
      return false;
    } catch (e) {
      if (!(e instanceof TrustpinError) || !e.isVerificationFailure) throw e;
      return fail(check, e);
    }
  };

  // 1. integrity: the envelope, its signature, its signed headers, and the payload naming this image
  let env: OpenedEnvelope | undefined;
  const stop = await attempt('integrity', () => {
    env = openEnvelope(a.bytes, a.mediaType);
    const p = parsePayload(env.payload).targetArtifact;
    const want = ctx.subject;
    if (p.digest !== want.digest || p.size !== want.size)
      throw new TrustpinError(
        'SIGNED_DIGEST_MISMATCH',
        'the signature is for another artifact than this image',
        {
          expected: `${want.digest} (${want.size} bytes)`,
          found: `${p.digest} (${p.size} bytes)`,
          hint: 'a signature copied from another image is refused',
        },
      );
    if (p.mediaType !== want.mediaType)
      throw new TrustpinError('SIGNED_DIGEST_MISMATCH', 'the signature is for another media type', {
        expected: want.mediaType,
        found: p.mediaType,
      });
    for (const [k, v] of Object.entries(ctx.userMetadata ?? {}))
      if (p.annotations?.[k] !== v)
        throw new TrustpinError('ANNOTATION_MISMATCH', `the signed payload does not carry ${k}=${v}`, {
          expected: `${k}=${v}`,
          found: p.annotations?.[k] === undefined ? 'no such annotation' : `${k}=${p.annotations[k]}`,
        });
  });
  if (stop || !env) return out;
  const e = env;
  const chain = e.certificates;
  const leaf = chain[0]!;
  out.format = e.format;
  out.signingScheme = e.signingScheme;
  out.signingTime = e.signingTime?.toISOString();
  out.expiry = e.expiry?.toISOString();
  out.claim = {
    type: 'notation-x509',
    subject: leaf.subject,
    issuer: leaf.issuer,
    fingerprint: leaf.fingerprint,
  };
  out.certificates = chain.map(summary);

  // 2. authenticity: a certificate of the chain is in a store of the scheme's type; the leaf is a trusted identity
  const storeType = e.signingScheme === 'notary.x509' ? 'ca' : 'signingAuthority';
  if (
    await attempt('authenticity', () => {
      const named = s.trustStores.filter((t) => t.type === storeType);
      if (named.length === 0)
        throw new TrustpinError(
          'CERTIFICATE_UNTRUSTED',
          `the trust policy ${s.name} names no ${storeType} trust store, which a ${e.signingScheme} signature needs`,
          {
            expected: `trustStores containing ${storeType}:<name>`,
            found: s.trustStores.map((t) => `${t.type}:${t.name}`).join(', ') || 'none',
          },
        );
      for (const t of named) {
        const certs = ctx.stores.get(`${t.type}:${t.name}`) ?? [];
        if (chain.some((c) => certs.some((x) => x.der.equals(c.der)))) {
          out.trustStore = `${t.type}:${t.name}`;
          break;
        }
      }
      if (!out.trustStore)
        throw new TrustpinError(
          'CERTIFICATE_UNTRUSTED',
          `the signing chain of ${leaf.subject} ends in no certificate of the trust store${named.length > 1 ? 's' : ''} ${named.map((t) => `${t.type}:${t.name}`).join(', ')}`,
          {
            expected: `a chain through a certificate of ${named.map((t) => `${t.type}:${t.name}`).join(' or ')}`,
            found: `root ${chain[chain.length - 1]!.subject} (SHA-256 ${chain[chain.length - 1]!.fingerprint.slice(0, 16)}…)`,
            hint: "add the signer's root certificate to the trust store (notation cert add --type ca --store NAME FILE) if you trust it",
          },
        );
      const id = identityMatches(s.trustedIdentities, subjectOf(leaf));
      if (id === undefined)
        throw new TrustpinError(
          'IDENTITY_MISMATCH',
          `the signing certificate ${leaf.subject} is not one of the trusted identities of the trust policy ${s.name}`,
          {
            expected: (s.trustedIdentities as { raw: string }[]).map((i) => i.raw).join(' | '),
            found: `x509.subject: ${leaf.subject}`,
            hint: 'add the signer to trustedIdentities if you trust it',
          },
        );
    })
  )
    return out;

  // 3. expiry
  if (
    await attempt('expiry', () => {
      if (e.expiry && ctx.now >= e.expiry)
        throw new TrustpinError('SIGNATURE_EXPIRED', `the signature expired on ${e.expiry.toISOString()}`, {
          expected: `a time before ${e.expiry.toISOString()}`,
          found: ctx.now.toISOString(),
          hint: 'ask the publisher for a fresh signature',
        });
    })
  )
    return out;

  // 4. authentic timestamp
  if (
    await attempt('authenticTimestamp', async () => {
      if (e.signingScheme === 'notary.x509.signingAuthority') {
        const t = e.signingTime!;
        const bad = invalidAt(chain, t);
        if (bad)
          throw new TrustpinError(
            'CERTIFICATE_EXPIRED',
            `the certificate ${bad.subject} was not valid when the signature was made (${t.toISOString()})`,
            { expected: `valid at ${t.toISOString()}`, found: validity(bad) },
          );
        return;
      }
      const tsaStores = s.trustStores.filter((t) => t.type === 'tsa');
      let useTimestamp = tsaStores.length > 0;
      if (useTimestamp && s.verifyTimestamp === 'afterCertExpiry' && !chain.some((c) => ctx.now > c.notAfter))
        useTimestamp = false;
      if (!useTimestamp) {
        const bad = invalidAt(chain, ctx.now);
        if (bad)
          throw new TrustpinError(
            'CERTIFICATE_EXPIRED',
            `the certificate ${bad.subject} is not valid at ${ctx.now.toISOString()}, and no trusted timestamp shows the signature was made while it was`,
            {
              expected: `valid at ${ctx.now.toISOString()}`,
              found: validity(bad),
              hint: tsaStores.length
                ? undefined
                : 'a signature outlives its certificate only with an RFC 3161 timestamp from a TSA the policy trusts (trustStores tsa:<name>)',
            },
          );
        return;
      }
      if (!e.timestampToken)
        throw new TrustpinError('TIMESTAMP_INVALID', 'the signature carries no timestamp countersignature', {
          expected: 'an RFC 3161 timestamp (the policy names a tsa trust store)',
          hint: 'sign with notation sign --timestamp-url …, or drop the tsa store from the policy',
        });
      const roots = tsaStores.flatMap((t) => ctx.stores.get(`tsa:${t.name}`) ?? []);
      const ts = await verifyTimestampToken(e.timestampToken, e.signature, roots);
      const bad = invalidDuring(chain, ts.earliest, ts.latest);
      if (bad)
        throw new TrustpinError(
          'TIMESTAMP_INVALID',
          `the timestamp (${ts.genTime.toISOString()}) is outside the validity of the certificate ${bad.subject}`,
          { expected: validity(bad), found: `${ts.earliest.toISOString()} … ${ts.latest.toISOString()}` },
        );
      const root = ts.chain[ts.chain.length - 1]!;
      const store = tsaStores.find((t) =>
        (ctx.stores.get(`tsa:${t.name}`) ?? []).some((c) => ts.chain.some((x) => x.der.equals(c.der))),
      );
      out.timestamp = {
        time: ts.genTime.toISOString(),
        trustStore: store ? `tsa:${store.name}` : root.subject,
      };
    })
  )
    return out;

  // 5. revocation: from the CRLs given; OCSP and CRL distribution points need the network, so without CRLs it is
  // not checked (said in the verdict)
  if (s.actions.revocation !== 'skip') {
    const crls = ctx.crls ?? [];
    if (crls.length === 0) out.revocation = NOT_CHECKED;
    else if (
      await attempt('revocation', async () => {
        const r = await checkRevocation(chain, crls, ctx.now);
        if (r.revoked)
          throw new TrustpinError(
            'CERTIFICATE_REVOKED',
            `the certificate ${r.revoked.certificate.subject} was revoked on ${r.revoked.at.toISOString()}`,
            {
              expected: 'no certificate of the signing chain revoked',
              found: `serial ${r.revoked.certificate.x509.serialNumber} listed in ${r.revoked.crl}`,
              hint: 'the publisher revoked this signing certificate: do not deploy what it signed',
            },
          );
        out.revocation = r.unchecked.length
          ? `${NOT_CHECKED.replace(/\)$/, '')} for ${r.unchecked.map((c) => c.subject).join('; ')}; not revoked by the CRLs given for the others)`
          : 'not revoked (checked with the CRLs given)';
      })
    )
      return out;
  }
  out.ok = out.problems.length === 0;
  return out;
}

/** The revocation note when no CRL was given: a warning, never a silent pass. */
export const NOT_CHECKED = 'not checked (offline: no OCSP or CRL fetched)';

/** A certificate's subject attributes, read once per parsed certificate (parsed ones are shared: x509.ts). */
const subjects = new WeakMap<Certificate, ReturnType<typeof subjectAttributesOf>>();
function subjectOf(c: Certificate): ReturnType<typeof subjectAttributesOf> {
  let s = subjects.get(c);
  if (!s) {
    s = subjectAttributesOf(c.der);
    subjects.set(c, s);
  }
  return s;
}

function validity(c: Certificate): string {
  return `valid ${c.notBefore.toISOString()} … ${c.notAfter.toISOString()}`;
}

function summary(c: Certificate): NotationCheck['certificates'][number] {
  return {
    subject: c.subject,
    issuer: c.issuer,
    fingerprint: c.fingerprint,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
  };
}
