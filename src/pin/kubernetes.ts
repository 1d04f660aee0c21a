// Kubernetes manifests: the container images of every pod spec (Pod, workload templates, CronJob job
// templates), in multi-document files and `List`s; documents of other kinds (ConfigMaps, …) are never read.
import { isMap, isSeq, type YAMLMap } from 'yaml';
import type { ExtractOptions, ImageSite } from './types.js';
import {
  keyText,
  mapGet,
  mapGetMap,
  nonNullScalar,
  parseYaml,
  referenceSite,
  rootMap,
  SiteCollector,
  seqItems,
  type YamlDoc,
  type YamlFile,
} from './yaml.js';

/** Where the pod spec is, by kind. */
const POD_SPEC: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/**
 * The image references of Kubernetes manifests: `containers`, `initContainers` and `ephemeralContainers`
 * `[i].image` of each pod spec. `where` is `Kind/name path`, with the container's index:
 * `Deployment/api spec.template.spec.containers[0].image`. `List` (and `*List`) `items` are read recursively.
 */
export function extractKubernetes(text: string, o?: ExtractOptions): ImageSite[] {
  const f = parseYaml(text, { file: o?.file, expected: 'Kubernetes manifest (YAML)' });
  const out = new SiteCollector();
  for (const d of f.docs) {
    const root = rootMap(d);
    if (!root) continue;
    // a worklist, not recursion: Lists of Lists (or a List aliasing itself) cost one visit per object
    const seen = new Set<YAMLMap>();
    const work: YAMLMap[] = [root];
    while (work.length > 0) {
      const obj = work.pop()!;
      if (seen.has(obj)) continue;
      seen.add(obj);
      const kind = keyText(nonNullScalar(mapGet(d, obj, 'kind')));
      if (kind === undefined) continue;
      if (kind === 'List' || kind.endsWith('List')) {
        const items = mapGet(d, obj, 'items');
        if (isSeq(items)) {
          const objs = seqItems(d, items).filter(isMap) as YAMLMap[];
          for (let i = objs.length - 1; i >= 0; i--) work.push(objs[i]!);
        }
        continue;
      }
      const path = POD_SPEC[kind];
      if (path) podSpec(f, d, obj, kind, path, out);
    }
  }
  return out.sites();
}

function podSpec(
  f: YamlFile,
  d: YamlDoc,
  obj: YAMLMap,
  kind: string,
  path: readonly string[],
  out: SiteCollector,
): void {
  let spec: YAMLMap | undefined = obj;
  for (const k of path) spec = spec && mapGetMap(d, spec, k);
  if (!spec) return;
  const meta = mapGetMap(d, obj, 'metadata');
  const name = meta && keyText(nonNullScalar(mapGet(d, meta, 'name') ?? mapGet(d, meta, 'generateName')));
  const who = name === undefined ? kind : `${kind}/${name}`;
  for (const list of CONTAINER_LISTS) {
    const cs = mapGet(d, spec, list);
    if (!isSeq(cs)) continue;
    seqItems(d, cs).forEach((c, i) => {
      if (!isMap(c)) return;
      const image = nonNullScalar(mapGet(d, c, 'image'));
      if (image)
        out.add(
          referenceSite(f, image, 'kubernetes', `${who} ${path.join('.')}.${list}[${i}].image`),
          image,
          c,
        );
    });
  }
}
