import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import type { ImageSite } from '../../../src/pin/types.js';
import { extractWorkflow } from '../../../src/pin/workflow.js';

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/workflow/${name}`, import.meta.url), 'utf8');

function row(text: string, s: ImageSite) {
  const covered = s.edit?.kind === 'reference' ? text.slice(s.edit.range.start, s.edit.range.end) : undefined;
  return [s.where, s.line, s.column, s.text, s.ref, covered ?? s.notPinnable?.code];
}

test('workflow: job container (string and mapping), service containers, docker:// steps; expressions templated', () => {
  const text = fixture('ci.yml');
  const sites = extractWorkflow(text, { file: '.github/workflows/ci.yml' });
  assert.deepEqual(
    sites.map((s) => row(text, s)),
    [
      ['jobs.test.container', 13, 16, 'node:20.15-bookworm', 'node:20.15-bookworm', 'node:20.15-bookworm'],
      ['jobs.test.services.postgres.image', 16, 16, 'postgres:16.3', 'postgres:16.3', 'postgres:16.3'],
      ['jobs.test.services.redis', 20, 14, 'redis:7.2-alpine', 'redis:7.2-alpine', 'redis:7.2-alpine'],
      [
        'jobs.test.steps[1].uses',
        23,
        15,
        'docker://ghcr.io/hadolint/hadolint:v2.12.0',
        'ghcr.io/hadolint/hadolint:v2.12.0',
        'ghcr.io/hadolint/hadolint:v2.12.0',
      ],
      [
        'jobs.test.steps[2].uses',
        27,
        16,
        'docker://koalaman/shellcheck:v0.10.0',
        'koalaman/shellcheck:v0.10.0',
        'koalaman/shellcheck:v0.10.0',
      ],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, as written
      ['jobs.e2e.container.image', 35, 14, '${{ matrix.image }}', undefined, 'TEMPLATED'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, as written
      ['jobs.e2e.steps[0].uses', 38, 15, 'docker://${{ vars.TOOL_IMAGE }}', undefined, 'TEMPLATED'],
    ],
  );
  assert.ok(!sites.some((s) => s.text.includes('actions/checkout') || s.text.includes('alpine:3.19')));
  for (const s of sites) assert.equal(s.format, 'workflow');
});

test('workflow: CRLF and a docker:// range that starts after the prefix', () => {
  const text = 'on: push\r\njobs:\r\n  a:\r\n    steps:\r\n      - uses: "docker://alpine:3.20"\r\n';
  const [s, ...rest] = extractWorkflow(text);
  assert.equal(rest.length, 0);
  assert.equal(s!.edit?.kind, 'reference');
  if (s!.edit?.kind !== 'reference') return;
  assert.equal(s!.edit.range.start, text.indexOf('alpine'));
  assert.equal(text.slice(s!.edit.range.start, s!.edit.range.end), 'alpine:3.20');
  assert.deepEqual([s!.line, s!.column], [5, 16]);
});

test('workflow: invalid YAML is PIN_FILE_INVALID', () => {
  assert.throws(
    () => extractWorkflow('jobs:\n  a:\n  container: "x\n'),
    (e) => isTrustpinError(e, 'PIN_FILE_INVALID'),
  );
});
