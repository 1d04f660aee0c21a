// A reference trustpin prints must parse back to the same image: the familiar short form never names another
// repository, and a first component that is taken as the registry must be a host name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { familiarString, formatReference, parseReference } from '../../src/reference/index.js';

test('a first component read as a registry must be a valid host name', () => {
  for (const s of ['g_hcr.io/o', 'a_b.c:5000/x/y', 'ex_ample.com/app:1']) {
    assert.throws(
      () => parseReference(s),
      (e: { code?: string }) => e.code === 'REFERENCE_INVALID',
      s,
    );
  }
  assert.deepEqual(parseReference('ghcr.io/o/a:1'), {
    registry: 'ghcr.io',
    repository: 'o/a',
    tag: '1',
    digest: undefined,
  });
});

test('familiar and full forms parse back to the same reference (idempotent printing)', () => {
  const refs = [
    'alpine',
    'library/alpine:3.20',
    'docker.io/x.y/a',
    'docker.io/localhost/a:1',
    'docker.io/a:b/c',
    'docker.io/nicolas/webdis:0.1.19',
    'ghcr.io/org/app@sha256:' + 'a'.repeat(64),
    'localhost:5000/a/b',
    '127.0.0.1:5000/demo/app:1.0',
  ];
  for (const s of refs) {
    let r: ReturnType<typeof parseReference>;
    try {
      r = parseReference(s);
    } catch {
      continue; // not a reference at all: nothing to print
    }
    for (const printed of [familiarString(r), formatReference(r)]) {
      assert.deepEqual(parseReference(printed), r, `${s} printed as ${printed}`);
      assert.equal(familiarString(parseReference(printed)), familiarString(r), `${printed} is a fixed point`);
    }
  }
});

test('library/<64 hex> keeps library/ in its familiar form (the short form would read as an image ID)', () => {
  const r = parseReference(`library/${'a'.repeat(64)}:1`);
  assert.equal(familiarString(r), `library/${'a'.repeat(64)}:1`);
  assert.deepEqual(parseReference(familiarString(r)), r);
});
