import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { extractHelmValues } from '../../../src/pin/helm.js';
import type { ImageSite, SiteEdit } from '../../../src/pin/types.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/helm/${name}`, import.meta.url), 'utf8');
const D = `sha256:${'b'.repeat(64)}`;

function apply(text: string, e: SiteEdit | undefined, digest = D): string {
  assert.ok(e, 'the site has an edit');
  if (e.kind === 'insert-digest')
    return text.slice(0, e.at) + e.prefix + digest + e.suffix + text.slice(e.at);
  return text.slice(0, e.range.start) + digest + text.slice(e.range.end);
}

/** Writes the digest, re-parses, and checks that only `digest` under `path` changed. */
function roundTrip(text: string, site: ImageSite, path: (string | number)[]): string {
  const after = apply(text, site.edit);
  const expected = parse(text);
  let m = expected;
  for (const k of path) m = m[k];
  m.digest = D;
  assert.deepEqual(parse(after), expected);
  return after;
}

test('helm: Bitnami fields joined (registry, tag as written, digest), where, positions, URLs and templates', () => {
  const text = fixture('values.yaml');
  const sites = extractHelmValues(text, { file: 'values.yaml' });
  assert.deepEqual(
    sites.map((s) => [s.where, s.line, s.column, s.text, s.ref, s.edit?.kind ?? s.notPinnable?.code]),
    [
      [
        'image (values)',
        7,
        15,
        'docker.io/bitnami/redis:7.2.4-debian-12-r9',
        'docker.io/bitnami/redis:7.2.4-debian-12-r9',
        'digest',
      ],
      [
        'sentinel.image (values)',
        16,
        17,
        'docker.io/bitnami/redis-sentinel:1.10',
        'docker.io/bitnami/redis-sentinel:1.10',
        'insert-digest',
      ],
      [
        'metrics.image (values)',
        21,
        44,
        'docker.io/bitnami/redis-exporter:1.58.0',
        'docker.io/bitnami/redis-exporter:1.58.0',
        'insert-digest',
      ],
      [
        'volumePermissions.image (values)',
        25,
        17,
        `bitnami/os-shell@sha256:${'0'.repeat(64)}`,
        `bitnami/os-shell@sha256:${'0'.repeat(64)}`,
        'digest',
      ],
      [
        'sidecars[0].image (values)',
        30,
        12,
        'fluent/fluent-bit:3.0.4',
        'fluent/fluent-bit:3.0.4',
        'reference',
      ],
      ['sidecars[1] (values)', 31, 17, 'ghcr.io/acme/agent:{{ .Chart.AppVersion }}', undefined, 'TEMPLATED'],
    ],
  );
  for (const s of sites) assert.equal(s.format, 'helm');
  const [redis, sentinel, metrics, perms, sidecar] = sites;
  // digest: "" — the empty range inside the quotes
  const empty = text.indexOf('digest: ""') + 'digest: "'.length;
  assert.deepEqual(redis!.edit, { kind: 'digest', range: { start: empty, end: empty } });
  roundTrip(text, redis!, ['image']);
  // block style: a new line after tag, at tag's indentation, before the comment-free rest
  assert.deepEqual(sentinel!.edit, {
    kind: 'insert-digest',
    at: text.indexOf('tag: 1.10') + 'tag: 1.10'.length,
    prefix: '\n    digest: ',
    suffix: '',
  });
  assert.ok(
    roundTrip(text, sentinel!, ['sentinel', 'image']).includes(
      `    tag: 1.10\n    digest: ${D}\n    pullPolicy`,
    ),
  );
  // flow style: after the last value
  assert.ok(roundTrip(text, metrics!, ['metrics', 'image']).includes(`tag: "1.58.0", digest: ${D}}`));
  // an existing digest is replaced in place
  assert.equal(
    perms!.edit?.kind === 'digest' && text.slice(perms!.edit.range.start, perms!.edit.range.end),
    `sha256:${'0'.repeat(64)}`,
  );
  roundTrip(text, perms!, ['volumePermissions', 'image']);
  assert.equal(
    sidecar!.edit?.kind === 'reference' && text.slice(sidecar!.edit.range.start, sidecar!.edit.range.end),
    'fluent/fluent-bit:3.0.4',
  );
  assert.ok(
    !sites.some((s) => s.text.includes('charts.bitnami.com')),
    'a chart repository URL is not an image',
  );
});

test('helm: CRLF insertion keeps CRLF', () => {
  const text = fixture('values-crlf.yaml');
  const [s] = extractHelmValues(text);
  assert.deepEqual(s!.edit, {
    kind: 'insert-digest',
    at: text.indexOf('"\r\n') + 1,
    prefix: '\r\n  digest: ',
    suffix: '',
  });
  const after = roundTrip(text, s!, ['image']);
  assert.ok(after.includes(`tag: "1.27.0"\r\n  digest: ${D}\r\n  pullPolicy`));
  assert.ok(!/[^\r]\n/.test(after), 'no bare LF introduced');
});

test('helm: empty and null digest fields, no final newline, compact sequence items, trailing comments', () => {
  const cases: [string, (string | number)[], string][] = [
    ['image:\n  repository: nginx\n  digest:\n  tag: "1"\n', ['image'], `  digest: ${D}\n`],
    ['image:\n  repository: nginx\n  digest: # set by pin\n', ['image'], `  digest: ${D} # set by pin\n`],
    ['image:\n  repository: nginx\n  digest: ~\n', ['image'], `  digest: ${D}\n`],
    ["image:\n  repository: nginx\n  digest: ''\n", ['image'], `  digest: '${D}'\n`],
    ['image: {repository: nginx, digest}\n', ['image'], `digest: ${D}}`],
    ['image: {repository: nginx, digest: }\n', ['image'], `digest: ${D}}`],
    ['image: { repository: nginx , tag: x, }\n', ['image'], `tag: x, digest: ${D}, }`],
    ['image:\n  repository: nginx\n  tag: "1.0"', ['image'], `  tag: "1.0"\n  digest: ${D}`],
    [
      'images:\n  - repository: nginx # web\n  - repository: redis\n    tag: "7"\n',
      ['images', 0],
      `  - repository: nginx # web\n    digest: ${D}\n  - repository: redis`,
    ],
    [
      'image:\n  registry: quay.io\n  repository: org/app\n  tag: v1 # pinned\n  pullPolicy: x\n',
      ['image'],
      `  tag: v1 # pinned\n  digest: ${D}\n  pullPolicy`,
    ],
    ['image: {\n  repository: nginx, # c\n  tag: v1 # d\n}\n', ['image'], `tag: v1, digest: ${D} # d\n}`],
  ];
  for (const [text, path, snippet] of cases) {
    const sites = extractHelmValues(text);
    assert.ok(sites[0]?.edit, `${JSON.stringify(text)} has an edit`);
    const after = roundTrip(text, sites[0]!, path);
    assert.ok(after.includes(snippet), `${JSON.stringify(after)} includes ${JSON.stringify(snippet)}`);
  }
});

test('helm: image strings, anchors once, merged fields and bad references reported, non-images ignored', () => {
  const text =
    'a:\n  image: &img "nginx:1.25"\nb:\n  image: *img\nc:\n  image: \'Bad Ref\'\nd:\n  image: 12\ne: &base\n  repository: app\n  tag: "1"\nf:\n  <<: *base\n  tag: "2"\ng:\n  repository: ""\nh: {tag: "1"}\n';
  const sites = extractHelmValues(text);
  assert.deepEqual(
    sites.map((s) => [s.where, s.line, s.ref ?? s.notPinnable?.code]),
    [
      ['a.image (values) (also b.image (values))', 2, 'nginx:1.25'],
      ['c.image (values)', 6, 'REFERENCE_INVALID'],
      ['e (values)', 10, 'app:1'],
    ],
  );
  const merged = extractHelmValues(
    'e: &base\n  repository: app\nf:\n  <<: *base\n  tag: "2"\nk:\n  repository: x\n  <<: {tag: "3"}\n',
  );
  assert.deepEqual(
    merged.map((s) => [s.where, s.ref ?? s.notPinnable?.code]),
    [
      ['e (values)', 'app'],
      ['k (values)', 'TEMPLATED'],
    ],
  );
});

test('helm (fuzz regressions): white space or control characters in a field are not trimmed into a reference', () => {
  for (const text of [
    'image:\n  repository: nginx\v',
    'b: {repository: r, tag: t\f }\n',
    'image:\n  repository: nginx\n  tag: "1.27. "\n',
    'image:\n  repository: nginx\uFEFF\n',
  ]) {
    const [s, ...rest] = extractHelmValues(text);
    assert.equal(rest.length, 0);
    assert.equal(s!.notPinnable?.code, 'REFERENCE_INVALID', JSON.stringify(text));
    assert.equal(s!.edit, undefined);
  }
});

test('helm (fuzz regression): the inserted line takes the mapping indentation even when the key carries a tag', () => {
  const text = 'image:\n! repository: nginx\n';
  const [s] = extractHelmValues(text);
  assert.deepEqual(s!.edit, { kind: 'insert-digest', at: text.length - 1, prefix: '\ndigest: ', suffix: '' });
  roundTrip(text, s!, []);
});
