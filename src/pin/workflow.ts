// GitHub Actions workflows: job containers, service containers and `docker://` step actions. Expressions
// (`${{ … }}`) are reported as templated.
import { isMap, isScalar, isSeq } from 'yaml';
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
  scalarText,
  seqItems,
  type YamlDoc,
  type YamlFile,
} from './yaml.js';

const DOCKER = 'docker://';

/**
 * The image references of a workflow: `jobs.<id>.container` (a string, or `.image` of a mapping:
 * `jobs.<id>.container.image`), `jobs.<id>.services.<name>` (likewise) and `jobs.<id>.steps[i].uses` of a
 * `docker://` action (the range and `ref` leave the prefix out; `text` keeps it).
 */
export function extractWorkflow(text: string, o?: ExtractOptions): ImageSite[] {
  const f = parseYaml(text, { file: o?.file, expected: 'GitHub Actions workflow (YAML)' });
  const out = new SiteCollector();
  for (const d of f.docs) {
    const root = rootMap(d);
    const jobs = root && mapGetMap(d, root, 'jobs');
    if (!jobs) continue;
    for (const [id, job] of mapEntries(d, jobs)) {
      if (!isMap(job)) continue;
      const base = `jobs.${id}`;
      container(f, d, mapGet(d, job, 'container'), `${base}.container`, out);
      const services = mapGetMap(d, job, 'services');
      if (services) {
        for (const [name, svc] of mapEntries(d, services))
          container(f, d, svc, `${base}.services.${name}`, out);
      }
      const steps = mapGet(d, job, 'steps');
      if (!isSeq(steps)) continue;
      seqItems(d, steps).forEach((step, i) => {
        if (!isMap(step)) return;
        const uses = nonNullScalar(mapGet(d, step, 'uses'));
        if (!uses || !scalarText(f.text, uses).text.startsWith(DOCKER)) return;
        out.add(referenceSite(f, uses, 'workflow', `${base}.steps[${i}].uses`, DOCKER), uses, step);
      });
    }
  }
  return out.sites();
}

function container(f: YamlFile, d: YamlDoc, n: unknown, where: string, out: SiteCollector): void {
  if (isScalar(n)) {
    const s = nonNullScalar(n);
    if (s) out.add(referenceSite(f, s, 'workflow', where), s);
  } else if (isMap(n)) {
    const image = nonNullScalar(mapGet(d, n, 'image'));
    if (image) out.add(referenceSite(f, image, 'workflow', `${where}.image`), image);
  }
}
