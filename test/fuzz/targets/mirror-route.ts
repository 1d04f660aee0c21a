// The mirror's request-line parser (src/proxy/route.ts): what containerd, c/image and dockerd send, and anything
// else. Oracle: it never throws; an accepted manifest/blob route names an image that parses back to the same origin
// and repository (the policy judges exactly what is fetched and cached), within the length bounds.
import { MAX_REPOSITORY_LENGTH, MAX_REQUEST_TARGET, parseRoute } from '../../../src/proxy/index.js';
import { parseDockerReference } from '../../../src/reference/index.js';
import { check, defineTarget, mutatedStrings, stringCodec } from '../harness.js';

const D = `sha256:${'a'.repeat(64)}`;
const SEEDS = [
  'GET /v2/',
  'HEAD /v2/demo/signed/manifests/v1?ns=origin.example%3A5000',
  `GET /v2/demo/signed/blobs/${D}?ns=origin.example%3A5000`,
  'GET /v2/docker.io/library/alpine/manifests/3.20',
  'GET /v2/alpine/manifests/latest?ns=index.docker.io',
  `GET /v2/localhost/a/b/manifests/${D}`,
  'GET /v2/127.0.0.1:5000/a/manifests/1',
  'PUT /v2/a/manifests/1',
  'GET /v2/_catalog',
  'GET /v2/a/../../b/manifests/%2e%2e',
  'GET /v2/a/manifests/1?ns=[::1]:5000',
];

export default defineTarget<string>({
  name: 'mirror-route',
  description:
    'parseRoute (serve mirror); oracle: an accepted route names an image that parses back the same',
  arbitrary: mutatedStrings(SEEDS),
  run(s) {
    const sp = s.indexOf(' ');
    const method = sp > 0 ? s.slice(0, sp) : 'GET';
    const target = sp > 0 ? s.slice(sp + 1) : s;
    const r = parseRoute(method, target, 'docker.io');
    if (r.kind === 'refused' || r.kind === 'ping') return;
    check(target.length <= MAX_REQUEST_TARGET, () => `accepted a ${target.length}-character target`);
    check(method === 'GET' || method === 'HEAD', () => `accepted method ${JSON.stringify(method)}`);
    check(r.repository.length <= MAX_REPOSITORY_LENGTH + 'library/'.length, 'repository too long');
    const name = `${r.origin}/${r.repository}${r.ref.digest ? `@${r.ref.digest}` : `:${r.ref.tag}`}`;
    let back: ReturnType<typeof parseDockerReference>;
    try {
      back = parseDockerReference(name);
    } catch (e) {
      throw new Error(
        `${JSON.stringify(s)} was accepted as ${JSON.stringify(name)}, which does not parse: ${e}`,
      );
    }
    check(
      back.registry === r.origin && back.repository === r.repository,
      () =>
        `${JSON.stringify(s)} routes ${r.origin}/${r.repository} but judges ${back.registry}/${back.repository}`,
    );
    check(r.kind === 'manifest' || r.ref.digest !== undefined, 'a blob by tag');
  },
  ...stringCodec,
});
