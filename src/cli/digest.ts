// `trustpin digest REF` prints NAME@DIGEST computed from the bytes; `--file` digests exact local bytes and,
// with `--expect`, explains a mismatch that a trailing newline or CRLF explains (the "chomp if eof" trap).
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { type Algorithm, digestStream, explainMismatch, parseDigest, readCapped } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';
import { selectPlatform, walkImage } from '../image/walk.js';
import { parsePlatform } from '../manifest/index.js';
import { fullName } from '../reference/index.js';
import { RegistrySource } from '../source/registry.js';
import { openSource } from '../source/open.js';
import { EXIT, type GlobalOptions, makeContext } from './common.js';

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
    .argument('[ref]', 'image reference (any transport)')
    .option('--platform <os/arch[/variant]>', "the platform manifest's digest instead of the index's")
    .option('--file <path|->', 'digest the exact bytes of a file or stdin')
    .option('--expect <digest>', 'with --file: exit 1 unless the bytes have this digest')
    .option('--algorithm <sha256|sha512>', 'with --file: hash algorithm', 'sha256')
    .action((ref: string | undefined, o: DigestOpts) =>
      run(async () => {
        const g = program.opts<GlobalOptions>();
        if (o.file !== undefined) return digestFile(o, g);
        if (!ref) throw new TrustpinError('USAGE', 'digest needs an image reference or --file', { hint: 'trustpin digest alpine:3.20' });
        const ctx = makeContext(g);
        const src = openSource(ref, ctx.client);
        try {
          const platform = o.platform ? parsePlatform(o.platform) : undefined;
          let digest: string;
          let mediaType: string;
          if (platform) {
            const tree = await walkImage(src, { platform });
            const n = selectPlatform(tree, platform);
            digest = n.descriptor.digest;
            mediaType = n.manifest.value.mediaType;
          } else {
            const d = await src.resolve();
            // resolve() hashed the bytes; parsing them once more proves it is a manifest we understand
            await src.manifest(d);
            digest = d.digest;
            mediaType = d.mediaType;
          }
          const name = src instanceof RegistrySource ? fullName(src.reference) : src.name.replace(/[:@][^/:@]*$/, '');
          const pinned = `${name}@${digest}`;
          ctx.out(g.json ? JSON.stringify({ reference: src.name, pinned, digest, mediaType }, null, 2) : pinned);
          return EXIT.ok;
        } finally {
          await src.close();
          await ctx.client.close();
        }
      }),
    );
}

async function digestFile(o: DigestOpts, g: GlobalOptions): Promise<number> {
  const expected = o.expect ? parseDigest(o.expect) : undefined;
  const algo = (expected ? expected.slice(0, expected.indexOf(':')) : (o.algorithm ?? 'sha256')) as Algorithm;
  if (algo !== 'sha256' && algo !== 'sha512') throw new TrustpinError('USAGE', `unknown algorithm ${algo}`, { expected: 'sha256 or sha512' });
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
    process.stdout.write(`${JSON.stringify({ file: o.file, digest, size, ...(expected ? { expected, match: ok, explanation: why } : {}) }, null, 2)}\n`);
    return ok ? EXIT.ok : EXIT.failed;
  }
  if (ok) {
    process.stdout.write(`${digest}\n`);
    return EXIT.ok;
  }
  throw new TrustpinError('DIGEST_MISMATCH', `${o.file === '-' ? 'stdin' : o.file} does not have the expected digest`, {
    expected: expected!,
    found: `${digest} (${size} bytes)`,
    hint: why ? `${why} — the digest covers every byte` : 'the bytes differ; a digest covers every byte, including whitespace and line endings',
  });
}
