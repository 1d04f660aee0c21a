// The Docker Content Trust flags turned into library options, and library hints (which name options) turned
// back into the flags a CLI user types.
import { readFileSync } from 'node:fs';
import { TrustpinError } from '../errors/index.js';
import { parseDockerReference } from '../reference/index.js';
import {
  type DctTrustOptions,
  type DctVerifierOptions,
  TrustStore,
  trustpinHome,
  trustServerFor,
} from '../trust/index.js';
import { type Context, cliText } from './common.js';
import type { TrustFlags } from './trust-specs.js';

export function parseAsOf(s: string | undefined): number {
  if (!s) return Date.now();
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(t))
    throw new TrustpinError('USAGE', `--as-of ${JSON.stringify(s)} is not a time`, {
      expected: 'RFC 3339 (2026-01-01T00:00:00Z) or YYYY-MM-DD',
      found: s,
    });
  return t;
}

/** Extra CAs for the notary server host, from --trust-ca. */
export function trustCa(f: TrustFlags, registries: string[]): Record<string, Buffer[]> {
  if (!f.trustCa) return {};
  let ca: Buffer;
  try {
    ca = readFileSync(f.trustCa);
  } catch (e) {
    throw new TrustpinError('IO_ERROR', `cannot read --trust-ca ${f.trustCa}: ${(e as Error).message}`);
  }
  const out: Record<string, Buffer[]> = {};
  for (const r of registries) out[new URL(trustServerFor(r, f.trustServer)).host] = [ca];
  return out;
}

export function registriesOf(refs: string[]): string[] {
  return refs.map((r) => parseDockerReference(r).registry);
}

function exclusive(f: TrustFlags): void {
  if (f.offline && f.trustArchive)
    throw new TrustpinError('USAGE', '--offline and --trust-archive are exclusive');
}

/** Options for loading trust data (`trust inspect`). */
export function trustOptions(f: TrustFlags, ctx: Context): DctTrustOptions {
  exclusive(f);
  return {
    client: ctx.client,
    store: new TrustStore(trustpinHome()),
    trustServer: f.trustServer,
    rootKeyIds: f.rootKeyId ?? [],
    offline: f.offline,
    trustArchive: f.trustArchive,
    now: parseAsOf(f.asOf),
    allowExpiredRoot: f.allowExpiredRoot,
    allowFirstUse: f.firstUse !== false,
  };
}

/** Options for `createDctVerifier` (`verify --dct`). */
export function verifierOptions(f: TrustFlags, ctx: Context): DctVerifierOptions {
  const now = parseAsOf(f.asOf);
  const asOf = f.asOf !== undefined;
  return {
    ...trustOptions(f, ctx),
    signers: f.signer ?? [],
    now: () => (asOf ? now : Date.now()),
  };
}

/** A library hint in CLI terms (see cliText). */
export function cliHint(hint: string | undefined): string | undefined {
  return hint === undefined ? undefined : cliText(hint);
}
