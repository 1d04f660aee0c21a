// `trustpin tags REPO`: the repository's tags, one a line (or a JSON array), every page of the registry's list.
import { TrustpinError } from '../errors/index.js';
import { parseDockerReference } from '../reference/index.js';
import { listTags } from '../registry/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';
import type { TagsFlags } from './specs.js';

export const action: Action<TagsFlags> = async ([repo], _o, ctx) => {
  const ref = parseDockerReference(repo!);
  if (ref.tag !== undefined || ref.digest !== undefined)
    throw new TrustpinError('USAGE', 'tags takes a repository, not an image', {
      expected: 'REPO (e.g. ghcr.io/o/a)',
      found: repo!,
    });
  const tags = await listTags(ctx.client, ref.registry, ref.repository);
  return { exit: EXIT.ok, json: tags, text: tags.join('\n') };
};
