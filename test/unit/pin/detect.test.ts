import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFormat } from '../../../src/pin/detect.js';

test('detect: by name', () => {
  const cases: [string, string | undefined][] = [
    ['Dockerfile', 'dockerfile'],
    ['src/app/Containerfile', 'dockerfile'],
    ['build/api.Dockerfile', 'dockerfile'],
    ['Dockerfile.prod', 'dockerfile'],
    ['docker/web.dockerfile', 'dockerfile'],
    ['Dockerfile.dockerignore', undefined],
    ['compose.yaml', 'compose'],
    ['compose.yml', 'compose'],
    ['deploy/docker-compose.yaml', 'compose'],
    ['docker-compose.yml', 'compose'],
    ['compose.override.yaml', 'compose'],
    ['docker-compose.prod.yml', 'compose'],
    ['compose.json', undefined],
    ['.github/workflows/ci.yml', 'workflow'],
    ['repo\\.github\\workflows\\release.yaml', 'workflow'],
    ['.github/workflows/README.md', undefined],
    ['chart/values.yaml', 'helm'],
    ['chart/values-prod.yml', 'helm'],
    ['chart/values.staging.yaml', 'helm'],
    ['k8s/deploy.yaml', undefined],
    ['README.md', undefined],
    ['main.ts', undefined],
  ];
  for (const [path, want] of cases) assert.equal(detectFormat(path), want, path);
});

test('detect: other YAML by its top-level keys; comments, indented keys and block scalars do not count', () => {
  const cases: [string, string | undefined][] = [
    ['apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n', 'kubernetes'],
    ['\uFEFF# manifests\r\n---\r\napiVersion: v1\r\nkind: Service\r\n', 'kubernetes'],
    ['apiVersion: v1\n---\nkind: Pod\n', undefined],
    ['"apiVersion": v1\n\'kind\': Pod\n', 'kubernetes'],
    ['# apiVersion: v1\n# kind: Pod\nfoo: 1\n', undefined],
    ['spec:\n  apiVersion: v1\n  kind: Pod\n', undefined],
    ['data: |\n  apiVersion: v1\n  kind: Pod\n', undefined],
    ['services:\n  web:\n    image: nginx\n', 'compose'],
    ['services: # the app\n  web: {image: nginx}\n', 'compose'],
    ['services: {web: {image: nginx}}\n', 'compose'],
    ['services: 3\n', undefined],
    ['#services:\n#  web: {}\n', undefined],
    ['name: ci\non: [push]\njobs:\n  a: {runs-on: x}\n', 'workflow'],
    ['jobs:\n  a: {}\n', undefined],
    ['x: 1\n', undefined],
  ];
  for (const [text, want] of cases)
    assert.equal(detectFormat('deploy/app.yaml', text), want, JSON.stringify(text));
  assert.equal(detectFormat('notes.txt', 'apiVersion: v1\nkind: Pod\n'), undefined);
  // a name decides before content
  assert.equal(detectFormat('values.yaml', 'apiVersion: v1\nkind: Pod\n'), 'helm');
});
