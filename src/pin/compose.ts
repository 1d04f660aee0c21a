// Compose files: every `services.<name>.image`, with `<<` merge keys and aliases followed to the node that holds
// the reference (an image written once under an anchor is one site), and the files `extends` names.
import { isMap } from 'yaml';
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
  const f = parse(text, o);
  const out = new SiteCollector();
  for (const d of f.docs) {
    const root = rootMap(d);
    const services = root && mapGetMap(d, root, 'services');
    if (!services) continue;
    for (const [name, svc] of mapEntries(d, services)) {
      if (!isMap(svc)) continue;
      const image = nonNullScalar(mapGet(d, svc, 'image'));
      if (image) out.add(referenceSite(f, image, 'compose', `services.${name}.image`), image, svc);
    }
  }
  return out.sites();
}

/**
 * The `file` of every `extends: {file, service}` of the Compose file, as written (relative to the file), each
 * once, in order: the caller reads those files too.
 */
export function composeExtendsFiles(text: string, o?: ExtractOptions): string[] {
  const f = parse(text, o);
  const out: string[] = [];
  for (const d of f.docs) {
    const root = rootMap(d);
    const services = root && mapGetMap(d, root, 'services');
    if (!services) continue;
    for (const [, svc] of mapEntries(d, services)) {
      if (!isMap(svc)) continue;
      const ext = mapGetMap(d, svc, 'extends');
      const file = ext && nonNullScalar(mapGet(d, ext, 'file'));
      if (file && typeof file.value === 'string' && !out.includes(file.value)) out.push(file.value);
    }
  }
  return out;
}
