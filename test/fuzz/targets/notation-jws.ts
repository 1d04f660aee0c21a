// Notation JWS envelopes (flattened JSON) through openEnvelope: the test signer's envelopes (both schemes, with and
// without a timestamp, an expiry, a self-signed key) and notation-go's when ../shared/vectors is present, mutated
// as JSON, part by part inside their base64 (protected header JSON, payload, signature, x5c certificates, the
// timestamp token), and with mutated protected headers re-signed by a key of ours. Oracle: a TrustpinError or an
// envelope; an envelope not signed by our resigner carries a seed's payload, signature and leaf (a forgery cannot
// verify); one the resigner signed obeys the NSPEC header rules (crit understood and complete, scheme, times).
import fc from 'fast-check';
import { openEnvelope } from '../../../src/trust/notation/envelope.js';
import { notationSignBytes } from '../../harness/notation.js';
import {
  bufferCodec,
  byteMutations,
  check,
  codedSync,
  defineTarget,
  type JsonValue,
  jsonMutations,
  mutateBytes,
  mutatedJson,
  mutateJson,
} from '../harness.js';
import {
  checkOpened,
  editHeader,
  type HeaderView,
  headerEdit,
  jwsSeeds,
  NOTATION_JWS_MEDIA_TYPE,
  resigner,
  sometimes,
} from './notation-seeds.js';

type Envelope = { [k: string]: JsonValue } & { header?: { [k: string]: JsonValue } };
const TS = 'io.cncf.notary.timestampSignature';
const parsed = jwsSeeds
  .map((s) => {
    try {
      return JSON.parse(s.bytes.toString('utf8')) as JsonValue;
    } catch {
      return undefined;
    }
  })
  .filter((v): v is Envelope => typeof v === 'object' && v !== null && !Array.isArray(v));
const texts = jwsSeeds.map((s) => s.bytes);
const json = (b: Buffer): JsonValue | undefined => {
  try {
    return JSON.parse(b.toString('utf8')) as JsonValue;
  } catch {
    return undefined;
  }
};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One part of a seed, decoded, mutated (as JSON or bytes), encoded back the way it was. */
const partMutated = fc
  .record({
    seed: fc.nat(parsed.length - 1),
    part: fc.nat(5),
    index: fc.nat(),
    asJson: fc.boolean(),
    jsonOps: jsonMutations(3),
    byteOps: byteMutations(4),
  })
  .map(({ seed, part, index, asJson, jsonOps, byteOps }) => {
    const env = JSON.parse(JSON.stringify(parsed[seed])) as Envelope;
    const header = (env.header ?? {}) as { [k: string]: JsonValue };
    const x5c = Array.isArray(header.x5c) ? header.x5c : [];
    const edit = (b: Buffer): Buffer => {
      const j = asJson ? json(b) : undefined;
      return j === undefined ? mutateBytes(b, byteOps) : Buffer.from(JSON.stringify(mutateJson(j, jsonOps)));
    };
    if (part <= 2) {
      const k = ['protected', 'payload', 'signature'][part]!;
      env[k] = edit(Buffer.from(str(env[k]), 'base64url')).toString('base64url');
    } else if (part === 3 && x5c.length > 0) {
      const i = index % x5c.length;
      x5c[i] = mutateBytes(Buffer.from(str(x5c[i]), 'base64'), byteOps).toString('base64');
    } else if (part === 4 && typeof header[TS] === 'string') {
      header[TS] = mutateBytes(Buffer.from(header[TS], 'base64'), byteOps).toString('base64');
    } else {
      // the chain reordered, shortened or extended with another seed's certificates
      const other = parsed[index % parsed.length]!.header?.x5c;
      header.x5c = [...x5c.slice(0, 1 + (index % 3)), ...(Array.isArray(other) ? other : [])].slice(
        0,
        1 + (index % 12),
      );
    }
    return Buffer.from(JSON.stringify(env));
  });

/** A seed's protected header mutated, then signed by the resigner (whose chain replaces x5c). */
const resigned = fc
  .record({
    seed: fc.nat(parsed.length - 1),
    edits: fc.array(headerEdit, { maxLength: 3 }),
    jsonOps: sometimes(jsonMutations(3), 1),
    byteOps: sometimes(byteMutations(2), 6),
    payloadOps: sometimes(byteMutations(2), 6),
  })
  .map(({ seed, edits, jsonOps, byteOps, payloadOps }) => {
    const env = JSON.parse(JSON.stringify(parsed[seed])) as Envelope;
    let ph = json(Buffer.from(str(env.protected), 'base64url'));
    if (typeof ph === 'object' && ph !== null && !Array.isArray(ph)) {
      const o = ph;
      o.alg = 'ES256';
      editHeader(
        { get: (n) => o[n], set: (n, v) => (o[n] = v as JsonValue), delete: (n) => delete o[n] },
        { get: () => o.crit, set: (v) => (o.crit = v as JsonValue) },
        edits,
        (t) => t,
      );
    }
    if (ph !== undefined && jsonOps) ph = mutateJson(ph, jsonOps);
    let phText: Buffer = Buffer.from(JSON.stringify(ph ?? {}));
    if (byteOps) phText = mutateBytes(phText, byteOps);
    let payload: Buffer = Buffer.from(str(env.payload), 'base64url');
    if (payloadOps) payload = mutateBytes(payload, payloadOps);
    const protectedB64 = phText.toString('base64url');
    const payloadB64 = payload.toString('base64url');
    const sig = notationSignBytes(resigner.leaf.key, 'sha256', Buffer.from(`${protectedB64}.${payloadB64}`));
    env.protected = protectedB64;
    env.payload = payloadB64;
    env.signature = sig.toString('base64url');
    env.header = { ...(env.header ?? {}), x5c: resigner.chain.map((c) => c.toString('base64')) };
    return Buffer.from(JSON.stringify(env));
  });

function headerOf(b: Buffer): HeaderView | undefined {
  const env = json(b);
  if (typeof env !== 'object' || env === null || Array.isArray(env)) return undefined;
  const ph = json(Buffer.from(str(env.protected), 'base64url'));
  if (typeof ph !== 'object' || ph === null || Array.isArray(ph)) return undefined;
  return { crit: ph.crit, cty: ph.cty, get: (n) => ph[n], has: (n) => Object.hasOwn(ph, n) };
}

export default defineTarget<Buffer>({
  name: 'notation-jws',
  description:
    'openEnvelope (JWS); oracle: coded rejections only, accepted ⇒ a seed’s payload, signature and leaf, or (re-signed) the NSPEC header rules',
  arbitrary: fc.oneof(
    { arbitrary: mutatedJson(parsed), weight: 4 },
    { arbitrary: partMutated, weight: 4 },
    { arbitrary: resigned, weight: 3 },
    {
      arbitrary: fc
        .tuple(fc.nat(texts.length - 1), byteMutations())
        .map(([i, o]) => mutateBytes(texts[i]!, o, texts)),
      weight: 1,
    },
  ),
  run(b) {
    const e = codedSync(() => openEnvelope(b, NOTATION_JWS_MEDIA_TYPE));
    if (e === undefined) return;
    checkOpened(e, jwsSeeds, () => headerOf(b), check);
  },
  ...bufferCodec,
});
