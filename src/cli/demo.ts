// `trustpin demo`: start the embedded registry on 127.0.0.1 with a generated two-platform image and a Docker-format
// mirror of it, then run inspect, digest and compare against them and show a tampered registry being caught. No network, no Docker needed.
import { demoImages, MemoryRegistry } from '../demo/index.js';
import { TrustpinError } from '../errors/index.js';
import { inspectJson, renderInspect, selectPlatform, walkImage } from '../image/index.js';
import { compareImages } from '../mirror/index.js';
import { parseReference } from '../reference/index.js';
import { renderComparison } from '../report/index.js';
import { RegistrySource } from '../source/index.js';
import type { Action } from './command.js';
import { type Context, EXIT } from './common.js';

// A walk-through printed as it goes (the lie is staged between steps), so it writes itself; -q keeps the verdicts.
export const action: Action<Record<string, never>> = async (_args, _flags, ctx) => ({
  exit: await demo(ctx),
});

async function demo(full: Context): Promise<0 | 1> {
  const ctx = { ...full, out: full.opts.quiet ? () => undefined : full.out, client: full.client };
  const verdict = full.out;
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
      verdict(s.bad('✘ the lie was not detected — this is a bug'));
      return EXIT.failed;
    } catch (e) {
      if (!(e instanceof TrustpinError) || (e.code !== 'DIGEST_MISMATCH' && e.code !== 'SIZE_MISMATCH'))
        throw e;
      verdict(`${s.ok('✔ rejected')}: error[${e.code}] ${e.message}`);
      ctx.out(
        s.dim(
          `  expected ${e.expected}\n  found    ${e.found}\n  (the registry's Docker-Content-Digest header claimed the right digest; trustpin hashes the bytes)`,
        ),
      );
    }
    verdict(
      `\n${s.ok('demo complete')}: every manifest and config above was fetched by digest and verified before parsing.`,
    );
    return EXIT.ok;
  } finally {
    await full.close();
    await reg.close();
  }
}
