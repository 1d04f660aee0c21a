// `verify --notation`'s flags turned into a Notation verifier (notation's flag names and default file locations).
import { TrustpinError } from '../errors/index.js';
import type { TrustVerifier } from '../trust/index.js';
import { createNotationVerifier, type NotationVerdict } from '../trust/notation/index.js';
import type { Context } from './common.js';
import { parseAsOf } from './trust-flags.js';
import type { VerifyFlags } from './trust-specs.js';

/** The Notation verifier `verify --notation` runs with. */
export function notationVerifier(f: VerifyFlags, ctx: Context): TrustVerifier<NotationVerdict> {
  const metadata = (f.userMetadata ?? []).map((kv) => {
    const i = kv.indexOf('=');
    if (i <= 0)
      throw new TrustpinError('USAGE', `--user-metadata ${JSON.stringify(kv)} is not KEY=VALUE`, {
        expected: 'KEY=VALUE',
        found: kv,
      });
    return [kv.slice(0, i), kv.slice(i + 1)] as const;
  });
  const max = f.maxSignatures === undefined ? undefined : Number(f.maxSignatures);
  if (max !== undefined && !(Number.isInteger(max) && max >= 1 && max <= 10_000))
    throw new TrustpinError('USAGE', `--max-signatures ${f.maxSignatures} is not a count`, {
      expected: '1 … 10000',
      found: f.maxSignatures!,
    });
  const now = parseAsOf(f.asOf);
  const asOf = f.asOf !== undefined;
  return createNotationVerifier({
    client: ctx.client,
    trustPolicy: f.trustPolicy,
    trustStore: f.trustStore,
    scope: f.scope,
    userMetadata: metadata.length ? Object.fromEntries(metadata) : undefined,
    maxSignatures: max,
    crls: f.crl,
    offline: f.offline,
    now: () => (asOf ? now : Date.now()),
  });
}
