// Compose files: every `services.<name>.image`, with `<<` merge keys and aliases followed to the node that holds
// the reference (an image written once under an anchor is one site), and the files `extends` and `include` name.
import { isMap, isSeq } from 'yaml';
import type { ExtractOptions, ImageSite } from './types.js';
import {
  mapEntries,
  mapGet,
  mapGetMap,
  nonNullScalar,
  parseYaml,
  referenceSite,
  rootMap,
  SiteCollector,
  seqItems,
  type YamlFile,
} from './yaml.js';

const EXPECTED = 'Compose file (YAML)';

function parse(text: string, o?: ExtractOptions): YamlFile {
  return parseYaml(text, { file: o?.file, expected: EXPECTED });
}

/**
 * The image references of a Compose file: `services.<name>.image` (where `services.web.image`). A value with
 * `$` interpolation is reported `TEMPLATED`, never expanded (not even from a `${VAR:-default}`).
 */
export function extractCompose(text: string, o?: ExtractOptions): ImageSite[] {
  return readCompose(text, o).sites;
}

/**
 * The files a Compose file brings in, as written (relative to it), each once, in order: every `include:` path
 * (compose 2.20: strings, or `{path: …}` with one path or a list) and the `file` of every `extends: {file,
 * service}`. The caller reads those files too.
 */
export function composeExtendsFiles(text: string, o?: ExtractOptions): string[] {
  return readCompose(text, o).files;
}

/** Both of the above from one parse: the image sites and the files the Compose file brings in. */
export function readCompose(text: string, o?: ExtractOptions): { sites: ImageSite[]; files: string[] } {
  const f = parse(text, o);
  const sites = new SiteCollector();
  const files = new Set<string>();
  for (const d of f.docs) {
    const root = rootMap(d);
    if (!root) continue;
    // `include:` (compose 2.20): a list of paths, or of mappings whose `path` is one path or a list of them
    const include = mapGet(d, root, 'include');
    if (isSeq(include))
      for (const item of seqItems(d, include)) {
        const paths = isMap(item) ? mapGet(d, item, 'path') : item;
        for (const p of isSeq(paths) ? seqItems(d, paths) : [paths]) {
          const v = nonNullScalar(p)?.value;
          if (typeof v === 'string') files.add(v);
        }
      }
    const services = mapGetMap(d, root, 'services');
    if (!services) continue;
    for (const [name, svc] of mapEntries(d, services)) {
      if (!isMap(svc)) continue;
      const image = nonNullScalar(mapGet(d, svc, 'image'));
      if (image) sites.add(referenceSite(f, image, 'compose', `services.${name}.image`), image, svc);
      const ext = mapGetMap(d, svc, 'extends');
      const file = ext && nonNullScalar(mapGet(d, ext, 'file'));
      if (file && typeof file.value === 'string') files.add(file.value);
    }
  }
  return { sites: sites.sites(), files: [...files] };
}
