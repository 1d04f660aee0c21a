// The pin YAML extractors (compose, Kubernetes, Helm values, workflows) on mutated real files and hostile YAML.
// Oracle: every site's position and edit lie in the text, a reference edit covers exactly the reference, and
// writing a digest through each edit gives a file that extracts to the same sites with that digest in place.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { extractCompose } from '../../../src/pin/compose.js';
import { extractHelmValues } from '../../../src/pin/helm.js';
import { extractKubernetes } from '../../../src/pin/kubernetes.js';
import type { ExtractOptions, ImageSite, SiteEdit } from '../../../src/pin/types.js';
import { extractWorkflow } from '../../../src/pin/workflow.js';
import { check, codedSync, deeplyNested, defineTarget, mutatedStrings, stringCodec } from '../harness.js';

const fixture = (p: string) => readFileSync(new URL(`../../unit/pin/fixtures/${p}`, import.meta.url), 'utf8');

const laughs = (leaf: string) => {
  let s = `l0: &l0 ${leaf}\n`;
  for (let i = 1; i <= 6; i++)
    s += `l${i}: &l${i} [${Array(6)
      .fill(`*l${i - 1}`)
      .join(', ')}]\n`;
  return s;
};

const SEEDS = [
  fixture('compose/anchors.compose.yaml'),
  fixture('compose/crlf.compose.yaml'),
  fixture('kubernetes/app.yaml'),
  fixture('kubernetes/anchored.yaml'),
  fixture('helm/values.yaml'),
  fixture('helm/values-crlf.yaml'),
  fixture('workflow/ci.yml'),
  'image:\n  repository: nginx\n  digest: # c\n  tag: "1"\n',
  'image: {repository: nginx, digest}\nb: {repository: r, tag: t, }\n',
  `services:\n  a: &a {image: "x:1", <<: *a}\n${laughs('{image: "nginx:1"}')}`,
  `kind: List\nitems: &i [*i, {kind: Pod, spec: {containers: [{image: a}]}}]\n`,
  `services: {a: {image: ${deeplyNested(40, '"x:1"')}}}\n`,
  '\uFEFFon: push\r\njobs:\r\n  a:\r\n    container: {image: "alpine:3"}\r\n    steps: [{uses: docker://alpine}]\r\n',
];

const EXTRACTORS: [string, (t: string, o?: ExtractOptions) => ImageSite[]][] = [
  ['compose', extractCompose],
  ['kubernetes', extractKubernetes],
  ['helm', extractHelmValues],
  ['workflow', extractWorkflow],
];

const DIGEST = `sha256:${'c'.repeat(64)}`;
const PINNED = `pinned.example/p:1@${DIGEST}`;

function write(text: string, e: SiteEdit): string {
  if (e.kind === 'insert-digest')
    return text.slice(0, e.at) + e.prefix + DIGEST + e.suffix + text.slice(e.at);
  return text.slice(0, e.range.start) + (e.kind === 'digest' ? DIGEST : PINNED) + text.slice(e.range.end);
}

function checkSites(name: string, text: string, sites: ImageSite[]): void {
  for (const s of sites) {
    check(s.line >= 1 && s.column >= 1, () => `${name}: ${s.where} at line ${s.line} column ${s.column}`);
    check(
      (s.edit === undefined) !== (s.notPinnable === undefined),
      () => `${name}: ${s.where} edit xor notPinnable`,
    );
    check((s.ref === undefined) === (s.edit === undefined), () => `${name}: ${s.where} ref iff edit`);
    const e = s.edit;
    if (!e) continue;
    if (e.kind === 'insert-digest') {
      check(e.at >= 0 && e.at <= text.length, () => `${name}: ${s.where} inserts outside the text`);
      continue;
    }
    check(
      0 <= e.range.start && e.range.start <= e.range.end && e.range.end <= text.length,
      `${name}: bad range`,
    );
    if (e.kind === 'reference') {
      const covered = text.slice(e.range.start, e.range.end);
      check(
        s.ref === covered,
        () => `${name}: ${s.where} range covers ${JSON.stringify(covered)}, ref ${s.ref}`,
      );
    }
  }
}

export default defineTarget<string>({
  name: 'pin-yaml',
  description:
    'extractCompose/Kubernetes/HelmValues/Workflow; oracle: edits lie in the text and cover the reference, writing a digest through each keeps the sites and pins that one',
  arbitrary: fc.oneof(
    { arbitrary: mutatedStrings(SEEDS, { maxOps: 4 }), weight: 6 },
    { arbitrary: fc.constantFrom(...SEEDS), weight: 1 },
  ),
  run(text) {
    for (const [name, extract] of EXTRACTORS) {
      const sites = codedSync(() => extract(text));
      if (sites === undefined) continue;
      checkSites(name, text, sites);
      const pinnable = sites.filter((s) => s.edit).slice(0, 3);
      for (const s of pinnable) {
        const i = sites.indexOf(s);
        const after = write(text, s.edit!);
        const again = codedSync(() => extract(after));
        check(
          again !== undefined,
          () => `${name}: writing ${s.where} made the file unreadable: ${JSON.stringify(after)}`,
        );
        check(again.length === sites.length, () => `${name}: writing ${s.where} changed the number of sites`);
        const ref = again[i]?.ref ?? '';
        check(
          s.edit!.kind === 'reference' ? ref === PINNED : ref.endsWith(`@${DIGEST}`),
          () =>
            `${name}: after writing ${s.where} its ref is ${JSON.stringify(ref)} in ${JSON.stringify(after)}`,
        );
      }
    }
  },
  ...stringCodec,
});
