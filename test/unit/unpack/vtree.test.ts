// The virtual tree's path resolution: symlinks followed relative to the root, escapes and loops refused,
// missing directories created only when asked, and names folded for the collision check.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { foldName, NameCollision, newDir, VirtualRoot } from '../../../src/unpack/vtree.js';

function tree(): VirtualRoot {
  const t = new VirtualRoot();
  const attach = t.attach.bind(t);
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

test('a symlink that climbs above the root stops at the root (like a chroot, containerd and the diff tree), and is reported', () => {
  const r = tree().resolveDir(['up'], 'up/passwd', 1, true)!;
  assert.deepEqual(r.parts, ['etc']);
  assert.deepEqual(r.via, ['/up → ../../etc']);
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
  const t = new VirtualRoot({ caseInsensitive: true, unicodeNormalizing: true });
  const d = newDir(0);
  t.attach(d, 'Makefile', { kind: 'file', layer: 0 });
  assert.equal(t.collidesWith(d, 'makefile'), 'Makefile');
  assert.equal(t.collidesWith(d, 'Makefile'), undefined, 'the same name is a replacement, not a collision');
  t.detach(d, 'Makefile');
  assert.equal(t.collidesWith(d, 'makefile'), undefined, 'a removed name no longer collides');
});

test('only what the target merges collides; a case-sensitive tree keeps every name apart', () => {
  const d = newDir(0);
  const plain = new VirtualRoot();
  plain.attach(d, 'xt_DSCP.h', { kind: 'file', layer: 0 });
  assert.equal(plain.collidesWith(d, 'xt_dscp.h'), undefined);
  const ci = new VirtualRoot({ caseInsensitive: true, unicodeNormalizing: false });
  const e = newDir(0);
  ci.attach(e, 'caf\u00e9', { kind: 'file', layer: 0 });
  assert.equal(ci.collidesWith(e, 'cafe\u0301'), undefined, 'forms stay apart without normalisation');
  assert.equal(ci.collidesWith(e, 'CAF\u00c9'), 'caf\u00e9');
});

test('a directory created through a name its sibling folds to is a NameCollision', () => {
  const t = new VirtualRoot({ caseInsensitive: true, unicodeNormalizing: false });
  t.attach(t.root, 'FOO', newDir(0));
  assert.throws(
    () => t.resolveDir(['foo'], 'foo/x', 1, true),
    (e) => e instanceof NameCollision && e.path === 'foo' && e.sibling === 'FOO',
  );
});
