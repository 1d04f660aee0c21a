// RFC 3161 timestamp tokens through verifyTimestampToken: tokens of two test TSAs (RSA and EC, SHA-256/384/512
// imprints, the TSA certificate alone, its whole chain, or none) and, when ../shared/vectors is present, notation's
// countersignature/*.p7s and the tokens inside its timestamped envelopes, each mutated at the byte level. An input
// is the seed's index (one byte) and the token; it is verified against that seed's signature bytes and TSA roots.
// Oracle: resolves or rejects with a TrustpinError; resolved ⇒ genTime is the seed's (the TSTInfo is signed), the
// range holds it, and the same token over other bytes is refused (the imprint was checked).
import fc from 'fast-check';
import { verifyTimestampToken } from '../../../src/trust/notation/timestamp.js';
import { byteMutations, check, coded, defineTarget, isRejection, mutateBytes } from '../harness.js';
import { tokenSeeds } from './notation-seeds.js';

const tokens = tokenSeeds.map((s) => s.token);

type Input = { seed: number; token: Buffer };

export default defineTarget<Input>({
  name: 'notation-timestamp',
  description:
    'verifyTimestampToken; oracle: coded rejections only, resolved ⇒ the seed’s genTime and an imprint of these bytes only',
  arbitrary: fc.oneof(
    { arbitrary: fc.nat(tokens.length - 1).map((seed) => ({ seed, token: tokens[seed]! })), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.nat(tokens.length - 1), byteMutations())
        .map(([seed, ops]) => ({ seed, token: mutateBytes(tokens[seed]!, ops, tokens) })),
      weight: 12,
    },
    {
      arbitrary: fc
        .tuple(fc.nat(tokens.length - 1), fc.uint8Array({ maxLength: 512 }))
        .map(([seed, u]) => ({ seed, token: Buffer.from(u) })),
      weight: 1,
    },
  ),
  async run({ seed, token }) {
    const s = tokenSeeds[seed % tokenSeeds.length]!;
    const r = await coded(() => verifyTimestampToken(token, s.signature, s.roots));
    if (r === undefined) return;
    check(
      s.genTime !== undefined && r.genTime.getTime() === s.genTime.getTime(),
      () => `accepted a token of ${s.name} with genTime ${r.genTime.toISOString()}, not the seed's`,
    );
    check(r.earliest <= r.genTime && r.genTime <= r.latest, 'the time range does not hold genTime');
    check(r.chain.length > 0, 'accepted without a TSA chain');
    // not through `coded`: this rejection is expected and not counted
    const other = await verifyTimestampToken(
      token,
      Buffer.concat([s.signature, Buffer.from('x')]),
      s.roots,
    ).then(
      () => 'resolved',
      (e: unknown) => (isRejection(e) ? undefined : e),
    );
    if (other !== undefined && other !== 'resolved') throw other;
    check(other === undefined, `the token of ${s.name} also verified over other bytes`);
  },
  encode: ({ seed, token }) => Buffer.concat([Buffer.from([seed & 0xff]), token]),
  decode: (b) => ({ seed: b[0] ?? 0, token: Buffer.from(b.subarray(1)) }),
});
