// The Docker Content Trust flags shared by `verify --dct` and `trust …`, turned into library options.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TrustpinError } from '../errors/index.js';
import { parseReference } from '../reference/index.js';
import { TrustStore, trustpinHome } from '../trust/dct/store.js';
import { type DctOptions, trustServerFor } from '../trust/dct/verify.js';
import { type Context, collect } from './common.js';

export interface TrustFlags {
  trustServer?: string;
  trustCa?: string;
  rootKeyId?: string[];
  signer?: string[];
  offline?: boolean;
  trustArchive?: string;
  asOf?: string;
  allowExpiredRoot?: boolean;
}

export function addTrustFlags(cmd: Command): Command {
  return cmd
    .option(
      '--trust-server <url>',
      'notary server (default: $DOCKER_CONTENT_TRUST_SERVER, notary.docker.io for docker.io, else https://REGISTRY)',
    )
    .option('--trust-ca <file>', 'CA certificate for the notary server')
    .option(
      '--root-key-id <id>',
      'pin the root key: the ID `docker trust inspect` shows or the canonical ID (repeatable)',
      collect,
    )
    .option('--offline', 'use only the trust store (no network call for trust data)')
    .option(
      '--trust-archive <path>',
      'read trust data from an archive or a directory of TUF metadata (no network call for trust data)',
    )
    .option('--as-of <time>', 'judge expiry and certificate validity at this time (RFC 3339 or YYYY-MM-DD)')
    .option(
      '--allow-expired-root',
      'accept an expired root certificate (reported); for forensics on archived data',
    );
}

export function parseAsOf(s: string | undefined): number {
  if (!s) return Date.now();
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(t))
    throw new TrustpinError('USAGE', `--as-of ${JSON.stringify(s)} is not a time`, {
      expected: 'RFC 3339 (2026-01-01T00:00:00Z) or YYYY-MM-DD',
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
  return refs.map((r) => parseReference(r).registry);
}

export function dctOptions(f: TrustFlags, ctx: Context): DctOptions {
  if (f.offline && f.trustArchive)
    throw new TrustpinError('USAGE', '--offline and --trust-archive are exclusive');
  return {
    client: ctx.client,
    store: new TrustStore(trustpinHome()),
    trustServer: f.trustServer,
    rootKeyIds: f.rootKeyId ?? [],
    signers: f.signer ?? [],
    offline: f.offline,
    trustArchive: f.trustArchive,
    now: parseAsOf(f.asOf),
    allowExpiredRoot: f.allowExpiredRoot,
  };
}
