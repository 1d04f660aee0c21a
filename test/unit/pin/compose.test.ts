import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { composeExtendsFiles, extractCompose } from '../../../src/pin/compose.js';
import type { ImageSite } from '../../../src/pin/types.js';

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/compose/${name}`, import.meta.url), 'utf8');

/** The text each site's edit range covers. */
function edited(text: string, s: ImageSite): string | undefined {
  return s.edit?.kind === 'reference' ? text.slice(s.edit.range.start, s.edit.range.end) : undefined;
}

test('compose: merge keys and aliases give one site per written image; unused x- fields are not sites', () => {
  const text = fixture('anchors.compose.yaml');
  const sites = extractCompose(text, { file: 'compose.yaml' });
  assert.deepEqual(
    sites.map((s) => [s.where, s.line, s.column, s.text, s.ref, edited(text, s), s.notPinnable?.code]),
    [
      [
        'services.web.image (also services.api.image)',
        6,
        10,
        'registry.example.com/shop/base:2.4',
        'registry.example.com/shop/base:2.4',
        'registry.example.com/shop/base:2.4',
        undefined,
      ],
      [
        'services.worker.image (also services.scheduler.image)',
        13,
        32,
        'ghcr.io/acme/worker:1.0.3',
        'ghcr.io/acme/worker:1.0.3',
        'ghcr.io/acme/worker:1.0.3',
        undefined,
      ],
      [
        'services.db.image',
        27,
        13,
        'postgres:16.3-alpine',
        'postgres:16.3-alpine',
        'postgres:16.3-alpine',
        undefined,
      ],
      ['services.cache.image', 30, 18, 'redis:7.2', 'redis:7.2', 'redis:7.2', undefined],
      [
        'services.proxy.image',
        32,
        13,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, as written in the file
        '${REGISTRY:-docker.io}/library/nginx:${NGINX_TAG:-1.27}',
        undefined,
        undefined,
        'TEMPLATED',
      ],
    ],
  );
  assert.ok(!sites.some((s) => s.text.includes('busybox')), 'the unused x- extension is not a site');
  const proxy = sites.find((s) => s.where === 'services.proxy.image')!;
  assert.equal(proxy.edit, undefined);
  assert.match(proxy.notPinnable!.hint!, /\.env/);
  for (const s of sites) assert.equal(s.format, 'compose');
});

test('compose: CRLF file, comment after the value, extends files listed once each as written', () => {
  const text = fixture('crlf.compose.yaml');
  assert.ok(text.includes('\r\n'));
  const [s, ...rest] = extractCompose(text);
  assert.equal(rest.length, 0);
  assert.equal(s!.where, 'services.app.image');
  assert.deepEqual([s!.line, s!.column, edited(text, s!)], [3, 12, 'nginx:1.25']);
  assert.deepEqual(composeExtendsFiles(text), ['./common.yml', '../shared/compose.base.yaml']);
});

test('compose: a BOM shifts offsets but not columns; $VAR is templated; escapes are not rewritten', () => {
  const text =
    '\uFEFFservices:\n  a:\n    image: alpine:3.20\n  b:\n    image: $IMAGE\n  c:\n    image: "alp\\x69ne:3"\n  d:\n    image: >-\n      alpine:3\n';
  const sites = extractCompose(text);
  assert.deepEqual(
    sites.map((s) => [s.where, s.line, s.column, s.notPinnable?.code]),
    [
      ['services.a.image', 3, 12, undefined],
      ['services.b.image', 5, 12, 'TEMPLATED'],
      ['services.c.image', 7, 13, 'TEMPLATED'],
      ['services.d.image', 9, 12, 'TEMPLATED'],
    ],
  );
  assert.equal(edited(text, sites[0]!), 'alpine:3.20');
  assert.equal(
    sites[0]!.edit?.kind === 'reference' && sites[0]!.edit.range.start,
    text.indexOf('alpine:3.20'),
  );
});

test('compose: an image that is not a reference is reported REFERENCE_INVALID; no services, no sites', () => {
  const sites = extractCompose('services:\n  a:\n    image: "Not A Ref"\n  b:\n    image:\n');
  assert.equal(sites.length, 1);
  assert.equal(sites[0]!.notPinnable?.code, 'REFERENCE_INVALID');
  assert.equal(sites[0]!.ref, undefined);
  assert.deepEqual(extractCompose('version: "3"\n# services:\n#   a: {image: x}\n'), []);
  assert.deepEqual(extractCompose(''), []);
});

test('compose: invalid YAML is PIN_FILE_INVALID with line and column', () => {
  assert.throws(
    () => extractCompose('services:\n  a:\n    image: [nginx\n', { file: 'compose.yaml' }),
    (e) =>
      isTrustpinError(e, 'PIN_FILE_INVALID') &&
      /^line \d+ column \d+: /.test(e.found ?? '') &&
      /compose\.yaml/.test(e.message),
  );
  assert.throws(
    () => extractCompose('services:\n  a:\n    image: x\n    image: y\n'),
    (e) => isTrustpinError(e, 'PIN_FILE_INVALID') && e.found?.startsWith('line 4 column 5:') === true,
  );
  assert.throws(
    () => extractCompose('services:\n  a:\n    image: *nope\n'),
    (e) => isTrustpinError(e, 'PIN_FILE_INVALID') && /\*nope/.test(e.found ?? ''),
  );
});

test('compose: include paths (strings, path: one or a list) and extends files are listed once each, as written', () => {
  const text = [
    'include:',
    '  - ./db/compose.yaml',
    '  - path: ../shared/compose.yaml',
    '  - path: [./a.yaml, ./db/compose.yaml]',
    '    env_file: x.env',
    'services:',
    '  web:',
    '    extends: { file: ./base.yaml, service: web }',
    '',
  ].join('\n');
  assert.deepEqual(composeExtendsFiles(text), [
    './db/compose.yaml',
    '../shared/compose.yaml',
    './a.yaml',
    './base.yaml',
  ]);
});
