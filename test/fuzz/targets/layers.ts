// Layer stacks through the diff tree (in memory) and through the unpacker (into a temp dir with a sentinel
// directory and an outside file next to the root). Names are drawn from a few components so that whiteouts,
// opaque markers, symlinks (absolute, climbing, to the sentinel) and hard links meet each other.
// Oracles: the tree keeps its invariant (every node's parent is a directory node); nothing is written outside the
// unpack root; and for every stack, both accept with the same file set or both refuse with the same code.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileTree, type LayerEntry, walkTar } from '../../../src/layer/index.js';
import { removeTree } from '../../../src/unpack/fsops.js';
import { setDifference, treeSet, unpackSet } from '../../attacks/agree.js';
import { type RawEntry, tarOf } from '../../attacks/layers.js';
import { check, coded, defineTarget } from '../harness.js';
import { layerStacks, stackCodec, withSentinel } from './tar-gen.js';

/** The stack's tars, or undefined when tar-stream's packer itself cannot write it (not trustpin's input then). */
async function tars(stack: RawEntry[][]): Promise<Buffer[] | undefined> {
  try {
    return await Promise.all(stack.map(tarOf));
  } catch {
    return undefined;
  }
}

const tree = defineTarget<RawEntry[][]>({
  name: 'layer-tree',
  description: 'FileTree.applyLayer over generated layer stacks; oracle: every node has a directory parent',
  arbitrary: layerStacks,
  async run(stack) {
    const ts = await tars(withSentinel(stack, '/sentinel'));
    if (!ts) return;
    await coded(async () => {
      const t = new FileTree();
      for (const [i, tar] of ts.entries()) {
        const entries: { entry: LayerEntry; sha256?: string }[] = [];
        for await (const { entry, body } of walkTar(Readable.from([tar]), `${i}`)) {
          for await (const _ of body);
          entries.push({ entry, sha256: 'x' });
        }
        t.applyLayer(i, entries);
      }
      for (const [p, n] of t.nodes) {
        check(p === n.path, () => `node ${p} records path ${n.path}`);
        check(
          p.split('/').every((c) => c !== '' && c !== '.' && c !== '..'),
          () => `unclean path ${p}`,
        );
        const i = p.lastIndexOf('/');
        if (i < 0) continue;
        const parent = t.nodes.get(p.slice(0, i));
        check(
          parent?.type === 'directory',
          () => `${p} has no directory parent (${parent?.type ?? 'missing'})`,
        );
      }
    });
  },
  ...stackCodec,
});

let base: string | undefined;
/** One scratch directory per process: `sentinel/` (must stay empty), `outside/secret` (must stay intact). */
function scratch(): string {
  if (base) return base;
  base = mkdtempSync(join(tmpdir(), 'trustpin-fuzz-unpack-'));
  mkdirSync(join(base, 'sentinel'));
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(base, 'outside', 'secret'), 'do not touch\n');
  return base;
}

const unpack = defineTarget<RawEntry[][]>({
  name: 'unpack',
  description:
    'unpackLayers into a temp dir; oracles: nothing outside the root changes, the diff tree has the same file set',
  arbitrary: layerStacks,
  async run(stack) {
    const dir = scratch();
    const ts = await tars(withSentinel(stack, join(dir, 'sentinel')));
    if (!ts) return;
    const work = join(dir, 'case');
    removeTree(work);
    try {
      const a = await treeSet(ts);
      const b = await unpackSet(ts, work);
      check(
        readdirSync(join(dir, 'sentinel')).length === 0,
        () => `written outside the root: ${readdirSync(join(dir, 'sentinel'))}`,
      );
      check(
        readFileSync(join(dir, 'outside', 'secret'), 'utf8') === 'do not touch\n',
        'the outside file changed',
      );
      check(statSync(join(dir, 'outside', 'secret')).nlink === 1, 'the outside file was hard-linked');
      check(
        readdirSync(dir).sort().join() === 'case,outside,sentinel',
        () => `scratch holds ${readdirSync(dir)}`,
      );
      const extra = readdirSync(work).filter((n) => n !== 'rootfs' && !/^layer\d+\.tar$/.test(n));
      check(extra.length === 0, () => `written next to the root: ${extra}`);
      const d = setDifference(a, b);
      check(d === undefined, () => `diff tree and unpack disagree: ${d}`);
    } finally {
      removeTree(work);
    }
  },
  ...stackCodec,
});

export default [tree, unpack];
