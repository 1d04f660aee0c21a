// References: docker's grammar and normalisation. Oracle: an accepted reference's full and familiar forms parse
// back to the same image, and printing is a fixed point.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import {
  familiarString,
  formatReference,
  parseDockerReference,
  parseReference,
  type Reference,
} from '../../../src/reference/index.js';
import { check, codedSync, defineTarget, mutatedStrings, stringCodec } from '../harness.js';

const HEX = 'a'.repeat(64);
const SEEDS = [
  'alpine',
  'library/alpine:3.20',
  'docker.io/x.y/a',
  'docker.io/localhost/a:1',
  'index.docker.io/library/alpine',
  'docker.io/nicolas/webdis:0.1.19',
  `ghcr.io/org/app@sha256:${HEX}`,
  `ghcr.io/org/app:v1@sha256:${HEX}`,
  'localhost:5000/a/b',
  'localhost/a',
  '127.0.0.1:5000/demo/app:1.0',
  '[::1]:5000/a/b:c',
  'a.b-c.d/e__f/g-h.i:j_k',
  'docker://registry.example/app:1',
  'Foo/bar',
  'g_hcr.io/o',
];

const grammarChars = fc.constantFrom(
  ...'abcz09AZ._-/:@[]%+ \t'.split(''),
  'sha256:',
  HEX,
  'docker.io/',
  'library/',
);
const generated = fc.array(grammarChars, { maxLength: 24 }).map((a) => a.join(''));

function same(a: Reference, b: Reference): boolean {
  return isDeepStrictEqual({ ...a }, { ...b });
}

export default defineTarget<string>({
  name: 'reference',
  description:
    'parseReference/parseDockerReference; oracle: full and familiar forms parse back to the same image',
  arbitrary: fc.oneof({ arbitrary: mutatedStrings(SEEDS), weight: 3 }, { arbitrary: generated, weight: 1 }),
  run(s) {
    codedSync(() => parseDockerReference(s));
    const r = codedSync(() => parseReference(s));
    if (!r) return;
    for (const printed of [familiarString(r), formatReference(r)]) {
      const back = codedSync(() => parseReference(printed));
      check(
        back !== undefined,
        () => `${JSON.stringify(s)} printed as ${JSON.stringify(printed)} does not parse`,
      );
      check(
        same(back, r),
        () => `${JSON.stringify(s)} printed as ${JSON.stringify(printed)} names another image`,
      );
      check(
        familiarString(back) === familiarString(r),
        () => `${JSON.stringify(printed)} is not a fixed point`,
      );
    }
  },
  ...stringCodec,
});
