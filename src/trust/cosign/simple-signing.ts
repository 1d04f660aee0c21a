// The simple-signing payload of a legacy cosign signature, checked only after its signature verified: it must be
// a cosign container image signature for this digest, of this repository (and tag), carrying the asked annotations.
import type { TrustpinError } from '../../errors/index.js';
import { fullName, parseReference, type Reference } from '../../reference/index.js';
import { asObject, fail, type Json, parseJsonBounded, shown, text } from './check-util.js';
import type { CheckContext } from './types.js';

/** Largest simple-signing payload accepted (default 1 MiB; cosign writes about 250 bytes plus annotations). */
export const MAX_SIMPLE_SIGNING_BYTES = 1024 * 1024;

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

/** What the payload must prove: these fields of CheckContext. */
export type SimpleSigningContext = Pick<
  CheckContext,
  'digest' | 'repository' | 'acceptRepositories' | 'tag' | 'annotations'
>;

export interface SimpleSigningResult {
  dockerReference: string;
  signedDigest: string;
  optional: Record<string, Json> | null;
}

const SHAPE =
  '{"critical":{"identity":{"docker-reference"},"image":{"docker-manifest-digest"},"type"},"optional"}';

function invalid(why: string, found?: string): TrustpinError {
  return fail('PAYLOAD_INVALID', `the signed simple-signing payload ${why}`, {
    expected: `a cosign simple-signing payload ${SHAPE}`,
    ...(found !== undefined ? { found } : {}),
    hint: 'the signature is valid but what it signs is not a cosign image signature; re-sign with cosign sign',
  });
}

/**
 * A member looked up as Go's encoding/json does (cosign unmarshals into a struct): exact name first, else the one
 * member equal to it ignoring case. Two such members (`type` and `Type`) are refused: Go and we would disagree.
 */
function member(o: Record<string, Json>, name: string, where: string): Json | undefined {
  const lower = name.toLowerCase();
  const hits = Object.keys(o).filter((k) => k.toLowerCase() === lower);
  if (hits.length > 1)
    throw invalid(
      `has ${hits.length} members named ${shown(name)} in ${where} (ignoring case)`,
      hits.join(', '),
    );
  return hits.length === 1 ? o[hits[0]!] : undefined;
}

function object(o: Record<string, Json>, name: string, where: string): Record<string, Json> {
  const v = asObject(member(o, name, where));
  if (!v) throw invalid(`has no ${where}.${name} object`);
  return v;
}

function ref(s: string): Reference | undefined {
  try {
    return parseReference(s);
  } catch {
    return undefined;
  }
}

/**
 * Check a verified simple-signing payload against the image: `critical.type`, `docker-manifest-digest` = ctx.digest
 * exactly (SIGNED_DIGEST_MISMATCH), `docker-reference` names ctx.repository or one of ctx.acceptRepositories
 * (`docker.io` ≡ `index.docker.io`, `library/` implied) — with ctx.tag set it must also carry exactly that tag, as
 * c/image's matchExact (a repository-only reference then fails); without ctx.tag any tag is accepted, as
 * matchRepository (IDENTITY_MISMATCH) — and every ctx.annotations entry in `optional` (ANNOTATION_MISMATCH).
 * Field names match case-insensitively as in cosign (Go); values are compared exactly.
 */
export function checkSimpleSigning(payload: Buffer, ctx: SimpleSigningContext): SimpleSigningResult {
  const doc = asObject(
    parseJsonBounded(
      payload,
      MAX_SIMPLE_SIGNING_BYTES,
      'the signed simple-signing payload',
      'PAYLOAD_INVALID',
    ),
  );
  if (!doc) throw invalid('is not a JSON object');
  const critical = object(doc, 'critical', 'the payload');
  const type = member(critical, 'type', 'critical');
  if (type !== SIMPLE_SIGNING_TYPE) throw invalid(`has critical.type ${shown(text(type))}`, text(type));
  const image = object(critical, 'image', 'critical');
  const digest = member(image, 'docker-manifest-digest', 'critical.image');
  if (typeof digest !== 'string') throw invalid('has no critical.image.docker-manifest-digest');
  if (digest !== ctx.digest)
    throw fail('SIGNED_DIGEST_MISMATCH', 'the signature is valid but signs another image digest', {
      expected: ctx.digest,
      found: shown(digest, 90),
      hint: 'the signature belongs to another image (or the image was changed after signing); sign this digest',
    });
  const identity = object(critical, 'identity', 'critical');
  const dockerReference = member(identity, 'docker-reference', 'critical.identity');
  if (typeof dockerReference !== 'string') throw invalid('has no critical.identity.docker-reference');
  const optionalRaw = member(doc, 'optional', 'the payload');
  const optional = optionalRaw === undefined || optionalRaw === null ? null : asObject(optionalRaw);
  if (optional === undefined) throw invalid('has an optional member that is not an object or null');
  if (ctx.repository !== undefined) checkIdentity(dockerReference, ctx);
  for (const [k, want] of Object.entries(ctx.annotations ?? {})) {
    const got = optional?.[k];
    if (got !== want)
      throw fail('ANNOTATION_MISMATCH', `the signature does not carry the annotation ${k}=${want}`, {
        expected: `${k}=${want}`,
        found: got === undefined ? `no ${k} annotation` : `${k}=${JSON.stringify(got)}`,
        hint: 'sign with cosign sign -a key=value, or drop the annotation requirement',
      });
  }
  return { dockerReference, signedDigest: digest, optional };
}

function checkIdentity(dockerReference: string, ctx: SimpleSigningContext): void {
  const accepted = [ctx.repository!, ...(ctx.acceptRepositories ?? [])];
  const signed = ref(dockerReference);
  const names = accepted.map((r) => {
    const p = ref(r);
    return p ? fullName(p) : r;
  });
  const repoOk = signed !== undefined && names.includes(fullName(signed));
  const tagOk = ctx.tag === undefined || (signed?.tag === ctx.tag && signed.digest === undefined);
  if (repoOk && tagOk) return;
  const expected = `${names.join(' or ')}${ctx.tag !== undefined ? ` with tag ${ctx.tag}` : ''}`;
  throw fail('IDENTITY_MISMATCH', `the signature is valid but names ${shown(dockerReference, 200)}`, {
    expected,
    found: dockerReference,
    hint: !repoOk
      ? 'the image was signed for another repository; if this is a mirror of it, declare the origin repository as accepted'
      : signed?.tag === undefined
        ? 'the signature names only the repository (as cosign writes it); do not require an exact tag for cosign signatures'
        : 'the signature was made for another tag of this repository',
  });
}
