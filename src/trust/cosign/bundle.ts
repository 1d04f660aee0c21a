// A Sigstore bundle (v0.1–v0.3: cosign v3's referrer layer, `cosign attest` output) as the SignedEntity
// @sigstore/verify checks. A bundle that does not parse is SIGNATURE_INVALID: it is unverified signature
// material (like a malformed legacy signature annotation), not a verified payload of the wrong shape.
import { type Bundle, bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { type SignedEntity, toSignedEntity } from '@sigstore/verify';
import { TrustpinError } from '../../errors/index.js';
import { asObject, fail, type Json, parseJsonBounded } from './check-util.js';
import { MAX_DSSE_SIGNATURES } from './intoto.js';
import { MAX_CERT_CHAIN_LENGTH, type SignedMaterial } from './legacy.js';

/** Largest Sigstore bundle accepted (default 16 MiB; a DSSE bundle carries its attestation, SBOMs can be large). */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/** Most transparency-log entries, and most RFC 3161 timestamps, read from one bundle (default 16; cosign writes one). */
export const MAX_BUNDLE_ENTRIES = 16;

/** Refuse long lists before anything walks them (a certificate chain of thousands costs a parse each). */
function checkCounts(json: Json): void {
  const vm = asObject(asObject(json)?.verificationMaterial);
  const lists: [string, Json | undefined, number][] = [
    [
      'verificationMaterial.x509CertificateChain.certificates',
      asObject(vm?.x509CertificateChain)?.certificates,
      MAX_CERT_CHAIN_LENGTH,
    ],
    ['verificationMaterial.tlogEntries', vm?.tlogEntries, MAX_BUNDLE_ENTRIES],
    [
      'verificationMaterial.timestampVerificationData.rfc3161Timestamps',
      asObject(vm?.timestampVerificationData)?.rfc3161Timestamps,
      MAX_BUNDLE_ENTRIES,
    ],
    ['dsseEnvelope.signatures', asObject(asObject(json)?.dsseEnvelope)?.signatures, MAX_DSSE_SIGNATURES],
  ];
  for (const [field, v, max] of lists)
    if (Array.isArray(v) && v.length > max)
      throw fail(
        'SIGNATURE_INVALID',
        `the Sigstore bundle has ${v.length} entries in ${field}, more than ${max}`,
        {
          expected: `at most ${max}`,
          found: `${v.length}`,
          hint: 'no real bundle carries this many; this one was built to exhaust the verifier',
        },
      );
}

/** What a bundle carries beyond the common material: the parsed bundle and, for message signatures, the digest. */
export interface BundleMaterial extends SignedMaterial {
  bundle: Bundle;
  /** message signature: the signed digest as `sha256:<hex>` (other algorithms: `<alg>:<hex>`) */
  messageDigest?: string | undefined;
}

const ALG: Record<string, string> = { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' };

function invalid(why: string, found?: string): TrustpinError {
  return fail('SIGNATURE_INVALID', `the Sigstore bundle ${why}`, {
    expected: 'a Sigstore bundle (application/vnd.dev.sigstore.bundle.v0.3+json, or +json;version=0.1–0.3)',
    ...(found !== undefined ? { found } : {}),
    hint: 'the signature referrer is malformed or of an unknown bundle version; re-sign with cosign v2.4+/v3',
  });
}

/**
 * Parse bundle bytes (bounded, strict JSON; then @sigstore/bundle's schema check) and map them to a
 * SignedEntity. `artifact` is needed only for a message-signature bundle (the bytes signed).
 */
export function bundleMaterial(bytes: Buffer, artifact?: Buffer): BundleMaterial {
  const json = parseJsonBounded(bytes, MAX_BUNDLE_BYTES, 'the Sigstore bundle', 'SIGNATURE_INVALID');
  checkCounts(json);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    throw invalid('does not parse', (e as Error).message);
  }
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, artifact ?? Buffer.alloc(0));
  } catch (e) {
    if (e instanceof TrustpinError) throw e;
    const m = (e as Error).message;
    throw /timestamp|TSTInfo|TimeStamp/i.test(m)
      ? fail('TIMESTAMP_INVALID', 'the bundle has an RFC 3161 timestamp that does not parse', {
          expected: 'a DER TimeStampToken',
          found: m,
          hint: 're-sign the image',
        })
      : invalid('has verification material that does not parse', m);
  }
  const vm = bundle.verificationMaterial.content;
  let certificateDer: Buffer | undefined;
  if (vm.$case === 'certificate') certificateDer = Buffer.from(vm.certificate.rawBytes);
  if (vm.$case === 'x509CertificateChain') {
    const first = vm.x509CertificateChain.certificates[0];
    if (!first)
      throw fail('CERTIFICATE_INVALID', 'the bundle has an empty certificate chain', {
        hint: 're-sign the image',
      });
    certificateDer = Buffer.from(first.rawBytes);
  }
  let chain: X509Certificate[] = [];
  try {
    if (vm.$case === 'x509CertificateChain')
      chain = vm.x509CertificateChain.certificates
        .slice(1)
        .map((c) => X509Certificate.parse(Buffer.from(c.rawBytes)));
  } catch (e) {
    throw fail(
      'CERTIFICATE_INVALID',
      'the bundle certificate chain holds a certificate that does not parse',
      {
        found: (e as Error).message,
        hint: 're-sign the image',
      },
    );
  }
  const base = {
    bundle,
    entities: [entity],
    certificate: entity.key.$case === 'certificate' ? entity.key.certificate : undefined,
    certificateDer,
    chain,
  };
  if (bundle.content.$case === 'dsseEnvelope') {
    const env = bundle.content.dsseEnvelope;
    return { ...base, envelope: { payloadType: env.payloadType, payload: Buffer.from(env.payload) } };
  }
  const md = bundle.content.messageSignature.messageDigest;
  const alg = ALG[String(md.algorithm)] ?? ALG[hashName(md.algorithm)] ?? 'unknown';
  return { ...base, messageDigest: `${alg}:${Buffer.from(md.digest).toString('hex')}`, payload: artifact };
}

function hashName(a: unknown): string {
  // protobuf enums arrive as numbers: 1 = SHA2_256, 2 = SHA2_384, 3 = SHA2_512
  return ({ 1: 'SHA2_256', 2: 'SHA2_384', 3: 'SHA2_512' } as Record<string, string>)[String(a)] ?? '';
}
