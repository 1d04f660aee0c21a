// The virtual tree's path resolution: symlinks followed relative to the root, escapes and loops refused,
// missing directories created only when asked, and names folded for the collision check.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { attach, collidesWith, foldName, newDir, VirtualRoot } from '../../../src/unpack/vtree.js';

function tree(): VirtualRoot {
  const t = new VirtualRoot();
  const usr = newDir(0);
  attach(t.root, 'usr', usr);
  attach(usr, 'lib', newDir(0));
  attach(t.root, 'lib', { kind: 'symlink', target: 'usr/lib', layer: 0 });
  attach(t.root, 'abs', { kind: 'symlink', target: '/usr/lib', layer: 0 });
  attach(t.root, 'up', { kind: 'symlink', target: '../../etc', layer: 0 });
  attach(t.root, 'loop', { kind: 'symlink', target: 'loop/x', layer: 0 });
  attach(t.root, 'file', { kind: 'file', layer: 0 });
  return t;
}

test('relative and absolute symlinks resolve inside the root and are reported', () => {
  const t = tree();
  const a = t.resolveDir(['lib'], 'lib/x', 1, false)!;
  assert.deepEqual(a.parts, ['usr', 'lib']);
  assert.deepEqual(a.via, ['/lib → usr/lib']);
  const b = t.resolveDir(['abs'], 'abs/x', 1, false)!;
  assert.deepEqual(b.parts, ['usr', 'lib']);
});

test('a symlink that climbs above the root is PATH_ESCAPE, never clamped silently', () => {
  assert.throws(
    () => tree().resolveDir(['up'], 'up/passwd', 1, true),
    (e) => isTrustpinError(e, 'PATH_ESCAPE') && /up → \.\.\/\.\.\/etc/.test(e.found ?? ''),
  );
});

test('a symlink loop is LAYER_INVALID; a file as a parent is LAYER_INVALID', () => {
  assert.throws(
    () => tree().resolveDir(['loop'], 'loop/a', 1, true),
    (e) => isTrustpinError(e, 'LAYER_INVALID'),
  );
  assert.throws(
    () => tree().resolveDir(['file'], 'file/a', 1, true),
    (e) => isTrustpinError(e, 'LAYER_INVALID'),
  );
});

test('missing directories are created only when asked, outermost first', () => {
  const t = tree();
  assert.equal(t.resolveDir(['a', 'b'], 'a/b/c', 1, false), undefined);
  const r = t.resolveDir(['a', 'b'], 'a/b/c', 1, true)!;
  assert.deepEqual(r.created, [['a'], ['a', 'b']]);
  assert.equal(t.at(['a', 'b'])?.kind, 'dir');
});

test('names fold across case and Unicode normalisation', () => {
  assert.equal(foldName('Passwd'), foldName('passwd'));
  assert.equal(foldName('caf\u00e9'), foldName('cafe\u0301'));
  assert.equal(foldName('STRASSE'), foldName('stra\u00dfe'));
  const d = newDir(0);
  attach(d, 'Makefile', { kind: 'file', layer: 0 });
  assert.equal(collidesWith(d, 'makefile'), 'Makefile');
  assert.equal(collidesWith(d, 'Makefile'), undefined, 'the same name is a replacement, not a collision');
});
