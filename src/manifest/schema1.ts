// Signed schema1 manifests (libtrust pretty JWS): the digest covers the JWS payload — the JSON without its
// `signatures` member — rebuilt from `formatLength` and `formatTail` in every signature's protected header.
// The embedded keys are self-signed and carry no trust; schema1 is read only to compute and check its digest.
import { TrustpinError } from '../errors/index.js';

function b64url(s: string): Buffer {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** The bytes a schema1 digest covers, or undefined when the document is not a signed schema1 manifest. */
export function schema1Payload(raw: Buffer): Buffer | undefined {
  if (!raw.includes('"signatures"') || !/"schemaVersion"\s*:\s*1\b/.test(raw.toString('utf8')))
    return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object' || !('signatures' in doc)) return undefined;
  const sigs = (doc as { signatures?: unknown }).signatures;
  if (!Array.isArray(sigs) || sigs.length === 0) throw bad('`signatures` is not a list of signatures');
  let format: { formatLength: number; formatTail: string } | undefined;
  for (const sig of sigs) {
    // anything from the document may be null or of the wrong type: this runs before any digest check
    if (!sig || typeof sig !== 'object') throw bad('a signature is not an object');
    const prot = (sig as { protected?: unknown }).protected;
    if (typeof prot !== 'string') throw bad('a signature has no protected header');
    let h: { formatLength?: unknown; formatTail?: unknown } | null;
    try {
      h = JSON.parse(b64url(prot).toString('utf8'));
    } catch {
      throw bad('a protected header is not base64url JSON');
    }
    if (!h || typeof h !== 'object') throw bad('a protected header is not a JSON object');
    if (!Number.isSafeInteger(h.formatLength) || typeof h.formatTail !== 'string') {
      throw bad('protected header lacks formatLength/formatTail');
    }
    if (format && (format.formatLength !== h.formatLength || format.formatTail !== h.formatTail)) {
      throw bad('signatures disagree on the signed payload');
    }
    format = { formatLength: h.formatLength as number, formatTail: h.formatTail };
  }
  if (!format || format.formatLength < 0 || format.formatLength > raw.length)
    throw bad('formatLength out of range');
  return Buffer.concat([raw.subarray(0, format.formatLength), b64url(format.formatTail)]);
}

function bad(why: string): TrustpinError {
  return new TrustpinError('MANIFEST_INVALID', `signed schema1 manifest is malformed: ${why}`, {
    hint: 'schema1 is deprecated; ask the publisher for an OCI or Docker v2 manifest',
  });
}
