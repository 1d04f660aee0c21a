// tuf-js failures as coded errors: what a refresh from a Sigstore TUF mirror found wrong (expired, not signed,
// rolled back, inconsistent) or could not do (a download), with what was expected and what to do.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrustpinError } from '../../errors/index.js';
import { type FetchRecord, fetchFailure } from './tuf-fetch.js';

/**
 * A tuf-js failure as a coded error. tuf-js's classes carry no names and snapshot/targets failures are rewrapped
 * as text, so the code is read from the message; a failed download (the last one the fetcher made) wins.
 */
export function tufError(e: unknown, mirror: string, genDir?: string, fetcher?: unknown): TrustpinError {
  if (e instanceof TrustpinError) return e;
  const last = (fetcher as { last?: FetchRecord } | undefined)?.last;
  if (last?.error && !(last.error.code === 'NOT_FOUND' && /\/\d+\.root\.json$/.test(last.url)))
    return last.error;
  // a caller's own fetcher throws tuf-js's download errors without the record trustpin's fetchers keep
  const download = fetchFailure(mirror, e);
  if (download) return download;
  const msg = e instanceof Error ? e.message : String(e);
  const at = `at ${new Date().toISOString()}`;
  const base = `Sigstore TUF metadata from ${mirror}`;
  const expired = /(?:Final )?([\w.-]+)\.json is expired/.exec(msg);
  if (expired) {
    const role = expired[1]!;
    const root = role === 'root' && genDir ? rootExpiry(genDir) : undefined;
    return new TrustpinError(
      'TUF_EXPIRED',
      `${base}: ${role} metadata${root ? ` v${root.version}` : ''} has expired`,
      {
        expected: `${role}.json valid ${at}`,
        found: root ? `root v${root.version} expires ${root.expires}` : msg,
        hint: 'the mirror serves stale metadata (or your clock is wrong); try another mirror, or verify offline with a trusted_root.json you trust (--trusted-root) or the cached one',
        cause: e,
      },
    );
  }
  const signed = /(\w+) was signed by (\d+)\/(\d+) keys/.exec(msg);
  if (signed || /failed to verify|no signature for key|no public key found/.test(msg)) {
    const code = signed && Number(signed[2]) > 0 ? 'TUF_THRESHOLD_NOT_MET' : 'TUF_SIGNATURE_INVALID';
    return new TrustpinError(
      code,
      `${base}: ${signed ? `${signed[1]} metadata` : 'a document'} is not signed by enough trusted keys`,
      {
        expected: signed
          ? `${signed[3]} valid signature(s) by the ${signed[1]} keys the trusted root names`
          : 'valid signatures',
        found: signed ? `${signed[2]} valid` : msg,
        hint: 'do not use this mirror: its metadata was altered or signed by keys the trust anchor does not delegate to',
        cause: e,
      },
    );
  }
  const rollback = /less than current version|is less than/.exec(msg);
  if (rollback) {
    return new TrustpinError('TUF_ROLLBACK', `${base}: a version older than the cached one`, {
      expected: 'a version at least the one cached before',
      found: msg,
      hint: 'the mirror serves old metadata (rollback or a stale mirror); use another mirror',
      cause: e,
    });
  }
  if (/Expected version \d+, got \d+/.test(msg)) {
    return new TrustpinError(
      'TUF_ROOT_ROTATION_FAILED',
      `${base}: the next root.json has the wrong version`,
      {
        expected: 'root versions in sequence',
        found: msg,
        hint: 'do not use this mirror: it serves roots out of sequence',
        cause: e,
      },
    );
  }
  if (/Expected (hash|length)|Hash algorithm/.test(msg)) {
    return new TrustpinError(
      'TUF_HASH_MISMATCH',
      `${base}: a file is not the one its parent metadata signed`,
      {
        expected: 'the length and hash the parent metadata lists',
        found: msg,
        hint: 'mix-and-match or tampering: do not use this mirror',
        cause: e,
      },
    );
  }
  return new TrustpinError('TUF_METADATA_INVALID', `${base} is not valid TUF metadata: ${msg}`, {
    expected: 'TUF metadata that parses and is consistent (timestamp → snapshot → targets)',
    found: msg.slice(0, 300),
    hint: 'do not use this mirror, or check that the URL points at a TUF repository',
    cause: e,
  });
}

function rootExpiry(genDir: string): { version: number; expires: string } | undefined {
  try {
    const r = JSON.parse(readFileSync(join(genDir, 'root.json'), 'utf8')) as {
      signed: { version: number; expires: string };
    };
    return { version: r.signed.version, expires: r.signed.expires };
  } catch {
    return undefined;
  }
}
