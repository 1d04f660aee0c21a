// Path resolution in the diff tree is linear and iterative with named bounds (treeLimits): a symlink target of
// 200k components, or one that each hop makes deeper, is LAYER_INVALID at once — it overflowed the stack, or
// took gigabytes of heap resolving in quadratic time — and a deep, valid tree can be replaced without recursion.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrustpinError } from '../../../src/errors/index.js';
import { DEFAULT_TREE_LIMITS, FileTree, type LayerEntry } from '../../../src/layer/index.js';

const entry = (path: string, more: Partial<LayerEntry> = {}): { entry: LayerEntry; sha256?: string } => ({
  entry: { path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, xattrs: {}, ...more },
  sha256: 'x',
});
const symlink = (path: string, linkname: string) => entry(path, { type: 'symlink', linkname });

test('a symlink target of 200k components is LAYER_INVALID (maxPathLength), not a stack overflow', () => {
  const t = new FileTree();
  t.applyLayer(0, [symlink('l', 'a/'.repeat(200_000))]);
  const start = performance.now();
  assert.throws(
    () => t.applyLayer(1, [entry('l/f')]),
    (e) => isTrustpinError(e, 'LAYER_INVALID') && /longer than 4096/.test(e.message),
  );
  assert.ok(performance.now() - start < 1000, `took ${performance.now() - start} ms`);
});

test('a 120 KB symlink target of directories stops at maxPathLength, in bounded time and memory', () => {
  const t = new FileTree();
  // the old resolver joined the whole path again at each of the 60k components (a 3 GiB heap)
  t.applyLayer(0, [symlink('l', 'x/'.repeat(60_000))]);
  const start = performance.now();
  assert.throws(
    () => t.applyLayer(1, [entry('l/f')]),
    (e) => isTrustpinError(e, 'LAYER_INVALID'),
  );
  assert.ok(performance.now() - start < 1000, `took ${performance.now() - start} ms`);
  assert.ok(t.nodes.size < 2100, 'no more than maxPathLength allows was created');
});

test('symlinks that each add depth hit maxSymlinkHops or maxPathLength, coded', () => {
  const t = new FileTree();
  const chain = Array.from({ length: 60 }, (_, i) => symlink(`s${i}`, `s${i + 1}/${'d/'.repeat(30)}`));
  t.applyLayer(0, chain);
  assert.throws(
    () => t.applyLayer(1, [entry('s0/f')]),
    (e) => isTrustpinError(e, 'LAYER_INVALID') && /too many symlinks|longer than/.test(e.message),
  );
  assert.equal(DEFAULT_TREE_LIMITS.maxSymlinkHops, 40);
  assert.equal(DEFAULT_TREE_LIMITS.maxPathLength, 4096);
});

test('a directory 2000 deep, and one 8000 deep with a raised bound, is replaced by a file without recursion', () => {
  for (const depth of [2000, 8000]) {
    const t = new FileTree({ maxSymlinkHops: 40, maxPathLength: 1_000_000 });
    t.applyLayer(0, [entry(`${'d/'.repeat(depth)}f`)]);
    assert.equal(t.nodes.size, depth + 1);
    t.applyLayer(1, [entry('d')]);
    assert.deepEqual([...t.nodes.keys()], ['d']);
  }
});
