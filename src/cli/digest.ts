// `trustpin digest REF…` prints NAME@DIGEST computed from the bytes, every ref's result or failure; `--expect`
// gates one ref (or `--file` bytes) on a digest and explains a trailing-newline/CRLF mismatch for files.
import { createReadStream } from 'node:fs';
import { type Algorithm, digestStream, explainMismatch, parseDigest, readCapped } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { type DigestResult, resolveDigest } from '../image/index.js';
import { parsePlatform } from '../manifest/index.js';
import { mapLimit } from '../util/index.js';
import type { Action, ExitCode, Outcome, Problem } from './command.js';
import { asTrustpinError, type Context, EXIT, exitCodeOf } from './common.js';
import type { DigestFlags } from './specs.js';

export const action: Action<DigestFlags> = async (refs, o, ctx) => {
  if (o.file !== undefined) {
    if (refs.length > 0)
      throw new TrustpinError('USAGE', '--file digests bytes, not images', {
        expected: 'either --file PATH or image references',
        found: `--file and ${refs.length} reference${refs.length === 1 ? '' : 's'}`,
      });
    return digestFile(o, ctx.opts.json === true);
  }
  if (refs.length === 0)
    throw new TrustpinError('USAGE', 'digest needs an image reference or --file', {
      hint: 'trustpin digest alpine:3.20',
    });
  // one expected digest cannot gate several images: say which one it is for
  if (o.expect !== undefined && refs.length > 1)
    throw new TrustpinError('USAGE', '--expect checks one image', {
      expected: 'one image reference with --expect',
      found: `${refs.length} references`,
      hint: 'run one `trustpin digest --expect DIGEST REF` per image',
    });
  const expected = o.expect === undefined ? undefined : parseDigest(o.expect);
  const platform = o.platform ? parsePlatform(o.platform) : undefined;
  if (refs.length === 1) {
    const r = await resolveOne(refs[0]!, platform, ctx);
    if (expected !== undefined && r.digest !== expected)
      throw new TrustpinError('DIGEST_MISMATCH', `${r.reference} does not have the expected digest`, {
        expected,
        found: r.digest,
        hint: 'the tag now names other bytes: check who pushed it before updating the expected digest',
      });
    return { exit: EXIT.ok, json: r, text: r.pinned };
  }
  return several(refs, platform, ctx);
};

async function resolveOne(ref: string, platform: ReturnType<typeof parsePlatform> | undefined, ctx: Context) {
  const src = await ctx.open(ref);
  return resolveDigest(src, { platform });
}

type Entry = DigestResult | { reference: string; error: ReturnType<TrustpinError['toJSON']> };

/**
 * Every result in order, every failure reported. Exit 2 when any ref failed operationally (nothing can be said
 * about it), else 1 when any failed verification, else 0.
 */
async function several(
  refs: string[],
  platform: ReturnType<typeof parsePlatform> | undefined,
  ctx: Context,
): Promise<Outcome> {
  const settled = await mapLimit(refs, 8, (ref) =>
    resolveOne(ref, platform, ctx).then(
      (r) => ({ ok: true as const, r }),
      (error: unknown) => ({ ok: false as const, ref, error }),
    ),
  );
  const json: Entry[] = [];
  const lines: string[] = [];
  const problems: Problem[] = [];
  let exit: ExitCode = EXIT.ok;
  for (const s of settled) {
    if (s.ok) {
      json.push(s.r);
      lines.push(s.r.pinned);
      continue;
    }
    json.push({ reference: s.ref, error: asTrustpinError(s.error).toJSON() });
    problems.push({ subject: s.ref, error: s.error });
    exit = Math.max(exit, exitCodeOf(s.error)) as ExitCode;
  }
  return { exit, json, text: lines.join('\n'), problems };
}

async function digestFile(o: DigestFlags, json: boolean): Promise<Outcome> {
  const expected = o.expect ? parseDigest(o.expect) : undefined;
  const algo = (expected ? expected.slice(0, expected.indexOf(':')) : (o.algorithm ?? 'sha256')) as Algorithm;
  if (algo !== 'sha256' && algo !== 'sha512')
    throw new TrustpinError('USAGE', `unknown algorithm ${algo}`, { expected: 'sha256 or sha512' });
  const where = o.file === '-' ? 'stdin' : o.file!;
  const stream = o.file === '-' ? process.stdin : createReadStream(o.file!);
  stream.on('error', () => undefined);
  let digest: string;
  let size: number;
  let why: string | undefined;
  try {
    if (expected) {
      // keep the bytes (up to 64 MiB) so a mismatch can be explained
      const bytes = await readCapped(stream, 64 * 1024 * 1024, where);
      ({ digest, size } = await digestStream([bytes], algo));
      if (digest !== expected) why = explainMismatch(bytes, expected);
    } else {
      ({ digest, size } = await digestStream(stream, algo));
    }
  } catch (e) {
    if (e instanceof TrustpinError) throw e;
    throw new TrustpinError('IO_ERROR', `cannot read ${o.file}: ${(e as Error).message}`);
  }
  const ok = !expected || digest === expected;
  const result = {
    file: o.file,
    digest,
    size,
    ...(expected ? { expected, match: ok, explanation: why } : {}),
  };
  if (ok) return { exit: EXIT.ok, json: result, text: digest };
  // --json keeps its explained shape; text gets the error block
  if (json) return { exit: EXIT.failed, json: result };
  const mismatch = new TrustpinError('DIGEST_MISMATCH', `${where} does not have the expected digest`, {
    expected: expected!,
    found: `${digest} (${size} bytes)`,
    hint: why
      ? `${why} — the digest covers every byte`
      : 'the bytes differ; a digest covers every byte, including whitespace and line endings',
  });
  throw mismatch;
}
