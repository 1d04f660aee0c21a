import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { extractKubernetes } from '../../../src/pin/kubernetes.js';
import type { ImageSite } from '../../../src/pin/types.js';

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/kubernetes/${name}`, import.meta.url), 'utf8');

function row(text: string, s: ImageSite) {
  const covered = s.edit?.kind === 'reference' ? text.slice(s.edit.range.start, s.edit.range.end) : undefined;
  return [s.where, s.line, s.column, covered ?? s.notPinnable?.code];
}

test('kubernetes: workloads, CronJob flow style, Lists (nested), comments; ConfigMap data never read', () => {
  const text = fixture('app.yaml');
  const sites = extractKubernetes(text, { file: 'app.yaml' });
  assert.deepEqual(
    sites.map((s) => row(text, s)),
    [
      ['Deployment/api spec.template.spec.initContainers[0].image', 23, 18, 'ghcr.io/acme/api-migrate:2.1.0'],
      ['Deployment/api spec.template.spec.containers[0].image', 26, 19, 'ghcr.io/acme/api:2.1.0'],
      ['Deployment/api spec.template.spec.containers[1].image', 30, 18, 'envoyproxy/envoy:v1.30.1'],
      [
        'CronJob/nightly spec.jobTemplate.spec.template.spec.containers[0].image',
        42,
        47,
        'docker.io/library/postgres:16',
      ],
      [
        'CronJob/nightly spec.jobTemplate.spec.template.spec.containers[1].image',
        42,
        100,
        'amazon/aws-cli:2.15.0',
      ],
      ['Pod/debug spec.containers[0].image', 57, 18, 'busybox:1.36.1'],
      ['Pod/debug spec.ephemeralContainers[0].image', 60, 19, 'TEMPLATED'],
      ['Pod/inner spec.containers[0].image', 77, 22, 'quay.io/prometheus/node-exporter:v1.8.1'],
    ],
  );
  assert.ok(!sites.some((s) => s.text === 'nginx:1.25' || s.text.includes('redis')));
  for (const s of sites) {
    assert.equal(s.format, 'kubernetes');
    if (s.edit) assert.equal(s.ref, s.text);
  }
});

test('kubernetes: an image under an anchor is one site however many containers use it', () => {
  const text = fixture('anchored.yaml');
  const sites = extractKubernetes(text);
  assert.deepEqual(
    sites.map((s) => row(text, s)),
    [
      [
        'StatefulSet/db spec.template.spec.containers[0].image (also StatefulSet/db spec.template.spec.initContainers[0].image, StatefulSet/db spec.template.spec.initContainers[1].image)',
        11,
        22,
        'postgres:16.3',
      ],
      [
        'StatefulSet/db spec.template.spec.containers[1].image',
        13,
        18,
        'prometheuscommunity/postgres-exporter:v0.15.0',
      ],
    ],
  );
});

test('kubernetes: CRLF, other kinds and non-mapping documents ignored, a List that aliases itself ends', () => {
  const text =
    'apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: alpine:3.20\r\n---\r\n- just\r\n- a list\r\n---\r\nkind: Service\r\nspec: {containers: [{image: nope}]}\r\n';
  const sites = extractKubernetes(text);
  assert.deepEqual(
    sites.map((s) => row(text, s)),
    [['Pod/p spec.containers[0].image', 8, 12, 'alpine:3.20']],
  );
  const loop =
    'kind: List\nitems: &all\n  - kind: List\n    items: *all\n  - kind: Pod\n    spec: {containers: [{image: "a:1"}]}\n';
  assert.deepEqual(
    extractKubernetes(loop).map((s) => s.where),
    ['Pod spec.containers[0].image'],
  );
});

test('kubernetes: a document with a YAML error fails the file with PIN_FILE_INVALID', () => {
  assert.throws(
    () => extractKubernetes('kind: Pod\n---\nkind: Pod\nspec: {containers: [\n'),
    (e) => isTrustpinError(e, 'PIN_FILE_INVALID') && /^line \d+ column \d+: /.test(e.found ?? ''),
  );
});
