// `trustpin inspect REF`: the verified tree, as text, JSON, the exact manifest bytes (--raw) or the verified
// image config (--config).
import { TrustpinError } from '../errors/index.js';
import { inspectJson, renderInspect, selectPlatform, walkImage } from '../image/index.js';
import { parsePlatform } from '../manifest/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';
import type { InspectFlags } from './specs.js';

export const action: Action<InspectFlags> = async ([ref], o, ctx) => {
  if (o.raw && o.config)
    throw new TrustpinError('USAGE', '--raw and --config exclude each other', {
      hint: 'the manifest bytes (--raw) or the config (--config)',
    });
  const src = await ctx.open(ref!);
  const platform = o.platform ? parsePlatform(o.platform) : undefined;
  const tree = await walkImage(src, {
    configs: !o.raw,
    platform,
    attestations: !o.raw && !o.config && !platform,
  });
  // an index without --platform is PLATFORM_NOT_FOUND listing the platforms: a config belongs to one image
  const selected = platform || o.config ? selectPlatform(tree, platform) : undefined;
  if (o.raw) return { exit: EXIT.ok, raw: (selected ?? tree.root).manifest.bytes };
  if (o.config) {
    const config = selected!.config;
    if (!config) throw new TrustpinError('INTERNAL', `the config of ${src.name} was not read`);
    // the exact verified bytes, as `crane config` prints them; they are JSON whatever the output mode
    return { exit: EXIT.ok, raw: Buffer.concat([config.bytes, Buffer.from('\n')]) };
  }
  const j = inspectJson(tree, src.name, selected);
  return {
    exit: EXIT.ok,
    json: j,
    text: renderInspect(j, ctx.style),
    quiet: (selected ?? tree.root).descriptor.digest,
  };
};
