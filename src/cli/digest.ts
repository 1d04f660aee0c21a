// `trustpin digest REF` prints NAME@DIGEST computed from the bytes; `--file` digests exact local bytes and,
// with `--expect`, explains a mismatch that a trailing newline or CRLF explains (the "chomp if eof" trap).
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { type Algorithm, digestStream, explainMismatch, parseDigest, readCapped } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { mapLimit, selectPlatform, walkImage } from '../image/walk.js';
import { type Platform, parsePlatform } from '../manifest/index.js';
import { fullName } from '../reference/index.js';
import { openSource } from '../source/open.js';
import { RegistrySource } from '../source/registry.js';
import { type Context, EXIT, type GlobalOptions, makeContext } from './common.js';

interface DigestOpts {
  platform?: string;
  file?: string;
  expect?: string;
  algorithm?: string;
}

export function registerDigest(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('digest')
    .description('print the digest of an image (NAME@sha256:…) or of exact bytes (--file)')
    .argument('[refs...]', 'image references (any transport); several are resolved concurrently')
    .option('--platform <os/arch[/variant]>', "the platform manifest's digest instead of the index's")
    .option('--file <path|->', 'digest the exact bytes of a file or stdin')
    .option('--expect <digest>', 'with --file: exit 1 unless the bytes have this digest')
    .option('--algorithm <sha256|sha512>', 'with --file: hash algorithm', 'sha256')
    .action((refs: string[], o: DigestOpts) =>
      run(async () => {
        const g = program.opts<GlobalOptions>();
        if (o.file !== undefined) return digestFile(o, g);
        if (refs.length === 0) {
          throw new TrustpinError('USAGE', 'digest needs an image reference or --file', {
            hint: 'trustpin digest alpine:3.20',
          });
        }
        const ctx = makeContext(g);
        const platform = o.platform ? parsePlatform(o.platform) : undefined;
        try {
          const results = await mapLimit(refs, 8, (ref) => resolveOne(ref, platform, ctx));
          if (g.json) ctx.out(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
          else for (const r of results) ctx.out(r.pinned);
          return EXIT.ok;
        } finally {
          await ctx.client.close();
        }
      }),
    );
}

export interface DigestResult {
  reference: string;
  pinned: string;
  digest: string;
  mediaType: string;
}

/** Resolve one reference to NAME@DIGEST: the index digest, or the platform manifest's when one is asked. */
export async function resolveOne(
  ref: string,
  platform: Platform | undefined,
  ctx: Context,
): Promise<DigestResult> {
  const src = await openSource(ref, ctx.client);
  try {
    let digest: string;
    let mediaType: string;
    if (platform) {
      const n = selectPlatform(await walkImage(src, { platform }), platform);
      digest = n.descriptor.digest;
      mediaType = n.manifest.value.mediaType;
    } else {
      const d = await src.resolve();
      // resolve() hashed the bytes; parsing them proves it is a manifest trustpin understands
      await src.manifest(d);
      digest = d.digest;
      mediaType = d.mediaType;
    }
    const name =
      src instanceof RegistrySource ? fullName(src.reference) : src.name.replace(/[:@][^/:@]*$/, '');
    return { reference: src.name, pinned: `${name}@${digest}`, digest, mediaType };
  } finally {
    await src.close();
  }
}

async function digestFile(o: DigestOpts, g: GlobalOptions): Promise<number> {
  const expected = o.expect ? parseDigest(o.expect) : undefined;
  const algo = (expected ? expected.slice(0, expected.indexOf(':')) : (o.algorithm ?? 'sha256')) as Algorithm;
  if (algo !== 'sha256' && algo !== 'sha512')
    throw new TrustpinError('USAGE', `unknown algorithm ${algo}`, { expected: 'sha256 or sha512' });
  const stream = o.file === '-' ? process.stdin : createReadStream(o.file!);
  stream.on('error', () => undefined);
  let digest: string;
  let size: number;
  let why: string | undefined;
  try {
    if (expected) {
      // keep the bytes (up to 64 MiB) so a mismatch can be explained
      const bytes = await readCapped(stream, 64 * 1024 * 1024, o.file === '-' ? 'stdin' : o.file);
      const r = await digestStream([bytes], algo);
      digest = r.digest;
      size = r.size;
      if (digest !== expected) why = explainMismatch(bytes, expected);
    } else {
      const r = await digestStream(stream, algo);
      digest = r.digest;
      size = r.size;
    }
  } catch (e) {
    if (e instanceof TrustpinError) throw e;
    throw new TrustpinError('IO_ERROR', `cannot read ${o.file}: ${(e as Error).message}`);
  }
  const ok = !expected || digest === expected;
  if (g.json) {
    process.stdout.write(
      `${JSON.stringify({ file: o.file, digest, size, ...(expected ? { expected, match: ok, explanation: why } : {}) }, null, 2)}\n`,
    );
    return ok ? EXIT.ok : EXIT.failed;
  }
  if (ok) {
    process.stdout.write(`${digest}\n`);
    return EXIT.ok;
  }
  throw new TrustpinError(
    'DIGEST_MISMATCH',
    `${o.file === '-' ? 'stdin' : o.file} does not have the expected digest`,
    {
      expected: expected!,
      found: `${digest} (${size} bytes)`,
      hint: why
        ? `${why} — the digest covers every byte`
        : 'the bytes differ; a digest covers every byte, including whitespace and line endings',
    },
  );
}
