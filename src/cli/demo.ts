// `trustpin demo`: start the embedded registry on 127.0.0.1 with a generated two-platform image and a Docker-format
// mirror of it, then run inspect, digest and compare against them and show a tampered registry being caught. No network, no Docker needed.
import type { Command } from 'commander';
import { demoImages } from '../demo/images.js';
import { MemoryRegistry } from '../demo/registry-server.js';
import { TrustpinError } from '../errors/index.js';
import { inspectJson, renderInspect } from '../image/inspect.js';
import { selectPlatform, walkImage } from '../image/walk.js';
import { compareImages } from '../mirror/compare.js';
import { parseReference } from '../reference/index.js';
import { renderComparison } from '../report/mirror.js';
import { RegistrySource } from '../source/registry.js';
import { EXIT, type GlobalOptions, makeContext } from './common.js';

export function registerDemo(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('demo')
    .description(
      'run inspect, digest and compare against an embedded registry, and catch a lying one (no network needed)',
    )
    .action(() => run(() => demo(program.opts<GlobalOptions>())));
}

async function demo(g: GlobalOptions): Promise<number> {
  const ctx = makeContext(g);
  const s = ctx.style;
  const set = await demoImages();
  const reg = new MemoryRegistry();
  const host = await reg.listen();
  reg.push('demo/app', set.app, '1.0');
  reg.push('mirror/app', set.mirror, '1.0');
  const ref = `${host}/demo/app:1.0`;
  const section = (t: string) => ctx.out(`\n${s.bold(`== ${t}`)}`);
  try {
    ctx.out(s.dim(`embedded registry on http://${host} serving ${ref} (linux/amd64 + linux/arm64)`));

    section(`trustpin inspect ${ref}`);
    const src = new RegistrySource(parseReference(ref), ctx.client);
    const tree = await walkImage(src, { configs: true, attestations: true });
    ctx.out(renderInspect(inspectJson(tree, src.name), s));

    section(`trustpin digest ${ref}`);
    ctx.out(`${host}/demo/app@${tree.root.descriptor.digest}`);
    section(`trustpin digest ${ref} --platform linux/arm64`);
    const arm = selectPlatform(tree, { os: 'linux', architecture: 'arm64' });
    ctx.out(`${host}/demo/app@${arm.descriptor.digest}`);

    section(`trustpin compare ${ref} ${host}/mirror/app:1.0`);
    const cmp = await compareImages(
      new RegistrySource(parseReference(ref), ctx.client),
      new RegistrySource(parseReference(`${host}/mirror/app:1.0`), ctx.client),
    );
    ctx.out(renderComparison(cmp, s));
    if (!cmp.equivalent) return EXIT.failed;

    section('a registry that lies: the arm64 manifest is swapped for the amd64 bytes');
    const amdBytes = set.app.images[0]!.manifest.bytes;
    reg.hook = (req, res, url) => {
      if (!url.pathname.endsWith(`/manifests/${arm.descriptor.digest}`)) return false;
      res.writeHead(200, {
        'Content-Type': set.app.images[0]!.manifest.mediaType,
        'Docker-Content-Digest': arm.descriptor.digest,
      });
      res.end(req.method === 'HEAD' ? undefined : amdBytes);
      return true;
    };
    const liar = new RegistrySource(parseReference(ref), ctx.client);
    try {
      await walkImage(liar, { configs: true });
      ctx.out(s.bad('✘ the lie was not detected — this is a bug'));
      return EXIT.failed;
    } catch (e) {
      if (!(e instanceof TrustpinError) || (e.code !== 'DIGEST_MISMATCH' && e.code !== 'SIZE_MISMATCH'))
        throw e;
      ctx.out(`${s.ok('✔ rejected')}: error[${e.code}] ${e.message}`);
      ctx.out(
        s.dim(
          `  expected ${e.expected}\n  found    ${e.found}\n  (the registry's Docker-Content-Digest header claimed the right digest; trustpin hashes the bytes)`,
        ),
      );
    }
    ctx.out(
      `\n${s.ok('demo complete')}: every manifest and config above was fetched by digest and verified before parsing.`,
    );
    return EXIT.ok;
  } finally {
    await ctx.client.close();
    await reg.close();
  }
}
