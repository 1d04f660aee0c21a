import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { extractCompose } from '../../../src/pin/compose.js';
import { extractHelmValues } from '../../../src/pin/helm.js';
import { extractKubernetes } from '../../../src/pin/kubernetes.js';
import { extractWorkflow } from '../../../src/pin/workflow.js';
import { MAX_PIN_YAML_DEPTH, MAX_PIN_YAML_MERGE_DEPTH } from '../../../src/pin/yaml.js';

const EXTRACTORS = [extractCompose, extractKubernetes, extractHelmValues, extractWorkflow];

function timed<T>(fn: () => T): { value?: T; error?: unknown; ms: number } {
  const start = performance.now();
  try {
    return { value: fn(), ms: performance.now() - start };
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
}

/** Billion laughs: each level aliases the previous one ten times (10^9 leaves if expanded). */
function laughs(levels: number, leaf: string, indent = ''): string {
  let s = `${indent}l0: &l0 ${leaf}\n`;
  for (let i = 1; i <= levels; i++)
    s += `${indent}l${i}: &l${i} [${Array(10)
      .fill(`*l${i - 1}`)
      .join(', ')}]\n`;
  return s;
}

test('hostile: billion laughs in every format is quick, with a handful of sites', () => {
  const docs = [
    `x-bomb:\n${laughs(9, '{image: "nginx:1"}', '  ')}services:\n  a:\n    <<: *l0\n  b: {<<: [*l1, *l0]}\n  c:\n    volumes: *l9\n`,
    `kind: List\n${laughs(9, '{kind: Pod, spec: {containers: [{image: "nginx:1"}]}}')}items: [*l0, *l0, {kind: List, items: *l1}]\nbomb: *l9\n`,
    laughs(9, '{image: {repository: nginx, tag: "1"}}'),
    `on: push\n${laughs(9, '{image: "nginx:1"}')}jobs:\n  a:\n    container: *l0\n    services: {x: *l0}\n    steps: *l9\n`,
  ];
  for (const [i, text] of docs.entries()) {
    const r = timed(() => EXTRACTORS[i]!(text));
    assert.ok(r.ms < 1000, `format ${i} took ${r.ms} ms`);
    assert.equal(r.error, undefined, `format ${i}: ${String(r.error)}`);
    assert.ok(r.value!.length >= 1 && r.value!.length <= 3, `format ${i}: ${r.value!.length} sites`);
  }
});

test('hostile: billion laughs through merge keys is linear (memoised lookups)', () => {
  let s = 'x0: &m0 {image: "nginx:1"}\n';
  for (let i = 1; i <= 20; i++)
    s += `x${i}: &m${i} {<<: [${Array(10)
      .fill(`*m${i - 1}`)
      .join(', ')}]}\n`;
  s += 'services:\n';
  for (let i = 0; i < 200; i++) s += `  s${i}: *m20\n`;
  const r = timed(() => extractCompose(s));
  assert.ok(r.ms < 1000, `took ${r.ms} ms`);
  assert.equal(r.value?.length, 1, String(r.error));
  assert.match(r.value![0]!.where, /^services\.s0\.image \(also /);
});

test('hostile: alias cycles end', () => {
  const cycles = [
    'services: &s\n  a: *s\n  b: {image: "x:1"}\n',
    'x: &a {<<: *a, image: "x:1"}\nservices: {a: *a}\n',
    'x: &a {<<: [*a]}\nservices: {a: *a}\n',
    'kind: List\nitems: &i [*i, {kind: List, items: *i}]\n',
    'a: &a [*a, {repository: r, tag: "1"}]\n',
  ];
  for (const text of cycles) {
    for (const ex of EXTRACTORS) {
      const r = timed(() => ex(text));
      assert.ok(r.ms < 1000);
      assert.ok(r.error === undefined || isTrustpinError(r.error, 'PIN_FILE_INVALID'), String(r.error));
    }
  }
  assert.equal(extractCompose(cycles[1]!).length, 1);
  assert.equal(extractHelmValues(cycles[4]!).length, 1);
});

test('hostile: 10 000-deep nesting (flow, block, mapping) is a coded PIN_FILE_INVALID, not a stack overflow', () => {
  const deep = [
    '['.repeat(10_000) + ']'.repeat(10_000),
    '['.repeat(100_000),
    `services: ${'{a: '.repeat(10_000)}`,
    '- '.repeat(10_000) + 'x\n',
    Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'),
  ];
  for (const text of deep) {
    for (const ex of EXTRACTORS) {
      const r = timed(() => ex(text));
      assert.ok(r.ms < 1000, `took ${r.ms} ms`);
      assert.ok(isTrustpinError(r.error, 'PIN_FILE_INVALID'), String(r.error));
      assert.match((r.error as Error & { found: string }).found, /nested deeper than 256/);
    }
  }
  assert.equal(MAX_PIN_YAML_DEPTH, 256);
  // just under the bound is read
  const ok = `services:\n  a: {image: "x:1", x: ${'['.repeat(MAX_PIN_YAML_DEPTH - 3)}${']'.repeat(MAX_PIN_YAML_DEPTH - 3)}}\n`;
  assert.equal(extractCompose(ok).length, 1);
});

test('hostile: a long merge chain is a coded error; a mapping with 50 000 keys is linear', () => {
  let s = 'x0: &m0 {image: "nginx:1"}\n';
  for (let i = 1; i <= MAX_PIN_YAML_MERGE_DEPTH + 5; i++) s += `x${i}: &m${i} {<<: *m${i - 1}}\n`;
  s += `services: {a: *m${MAX_PIN_YAML_MERGE_DEPTH + 5}}\n`;
  assert.throws(
    () => extractCompose(s),
    (e) => isTrustpinError(e, 'PIN_FILE_INVALID'),
  );
  const big = `services:\n${Array.from({ length: 50_000 }, (_, i) => `  s${i}: {image: "app:${i}"}\n`).join('')}`;
  const r = timed(() => extractCompose(big));
  assert.equal(r.value?.length, 50_000, String(r.error));
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  const shared = `x: &img "app:1"\nservices:\n${Array.from({ length: 50_000 }, (_, i) => `  s${i}: {image: *img}\n`).join('')}`;
  const one = timed(() => extractCompose(shared));
  assert.ok(one.ms < 5000, `took ${one.ms} ms`);
  assert.deepEqual(
    one.value?.map((s) => s.where),
    [
      'services.s0.image (also services.s1.image, services.s2.image, services.s3.image, services.s4.image, services.s5.image, 49994 more)',
    ],
  );
  const dup = `${big}  s7: {image: x}\n`;
  assert.throws(
    () => extractCompose(dup),
    (e) => isTrustpinError(e, 'PIN_FILE_INVALID') && /unique/.test(e.found ?? ''),
  );
});

test('hostile: control characters, lone surrogates, tabs, odd documents are sites or coded errors', () => {
  const odd = [
    'services:\n\ta: {image: x}\n',
    'services: {a: {image: "\\ud800"}}\n',
    'services: {a: {image: "\u0000"}}\n',
    '%YAML 1.1\n---\nservices: {a: {image: "x:1"}}\n',
    '--- !!str\n...\n--- 12\n--- [1, 2]\n',
    '? [a, b]\n: c\nservices: {? {k: v} : {image: "x:1"}}\n',
    'services: {a: !!binary aGk=, b: !custom {image: "x:1"}}\n',
  ];
  for (const text of odd) {
    for (const ex of EXTRACTORS) {
      const r = timed(() => ex(text));
      assert.ok(
        r.error === undefined || isTrustpinError(r.error, 'PIN_FILE_INVALID'),
        `${JSON.stringify(text)}: ${String(r.error)}`,
      );
    }
  }
});
