// The pull progress display fits its terminal (at most rows - 1 lines, none wider than the columns, redrawn on
// resize), and off a terminal logs one line per finished layer, or nothing when quiet.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Digest } from '../../../src/digest/index.js';
import { ProgressLines, type PullEvent, renderProgress } from '../../../src/pull/index.js';

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const strip = (s: string) => s.replace(ANSI, '');

function digest(i: number): Digest {
  return `sha256:${i.toString(16).padStart(4, '0').repeat(16)}` as Digest;
}

/** A pull of `n` layers as the events come: four at a time downloaded, then each proven. */
function events(n: number, unpack = false): PullEvent[] {
  const size = 3 * 2 ** 20;
  const out: PullEvent[] = [
    {
      type: 'start',
      blobs: [
        { digest: digest(9999), size: 100, role: 'config' },
        ...Array.from({ length: n }, (_, i) => ({ digest: digest(i), size, role: 'layer' as const })),
      ],
    },
  ];
  for (let i = 0; i < n; i += 4) {
    const batch = Array.from({ length: Math.min(4, n - i) }, (_, k) => digest(i + k));
    for (let c = 0; c < 3; c++)
      for (const d of batch) out.push({ type: 'bytes', digest: d, phase: 'download', bytes: 2 ** 20 });
    for (const d of batch) out.push({ type: 'blob', digest: d, state: i % 8 ? 'fetched' : 'reused' });
  }
  for (let i = 0; i < n; i++) {
    const d = digest(i);
    if (unpack) out.push({ type: 'layer', digest: d, state: 'unpacking' });
    out.push({ type: 'bytes', digest: d, phase: unpack ? 'unpack' : 'verify', bytes: 2 ** 20 });
    out.push({ type: 'layer', digest: d, state: unpack ? 'unpacked' : 'proven' });
  }
  return out;
}

class FakeTty extends EventEmitter {
  isTTY = true;
  written = '';
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write(s: string): boolean {
    this.written += s;
    return true;
  }
}

function assertFits(lines: string[], columns: number, rows: number, when: string): void {
  assert.ok(lines.length <= rows - 1, `${when}: ${lines.length} lines on a ${rows}-row terminal`);
  for (const l of lines)
    assert.ok(strip(l).length <= columns, `${when}: ${JSON.stringify(l)} is wider than ${columns}`);
}

test('40 layers on a 10×40 terminal: every frame has at most 9 lines, none wider than 40', () => {
  const p = new ProgressLines(new FakeTty(40, 10), { tty: true });
  for (const [k, e] of events(40).entries()) {
    p.onEvent(e);
    const frame = renderProgress(p.state(), 40, 10);
    assertFits(frame, 40, 10, `after event ${k}`);
    assert.equal(frame.length, 9, 'the frame uses the rows it has');
    assert.match(strip(frame.at(-1)!), /^\+\d+ more layers: /, 'the rest is summed up');
  }
  const last = renderProgress(p.state(), 40, 10);
  assert.match(last.at(-1)!, /\+32 more layers: 32 done/);
});

test('what is in progress is shown before what waits or is done; small terminals still fit', () => {
  const p = new ProgressLines(new FakeTty(80, 24), { tty: true });
  const evs = events(40);
  for (const e of evs.slice(
    0,
    evs.findIndex((e) => e.type === 'blob'),
  ))
    p.onEvent(e);
  const frame = renderProgress(p.state(), 80, 6);
  assert.equal(frame.length, 5);
  assert.equal(frame.filter((l) => /downloading/.test(l)).length, 4, 'the four downloads are on screen');
  for (const [c, r] of [
    [10, 3],
    [1, 2],
    [200, 1],
    [20, 41],
  ] as const)
    assertFits(renderProgress(p.state(), c, r), c, r, `${c}×${r}`);
  assert.deepEqual(renderProgress(p.state(), 80, 1), [], 'no room: nothing drawn');
  assert.match(renderProgress(p.state(), 80, 2)[0]!, /^40 layers: 4 in progress, 36 waiting$/);
});

test('a terminal redraws in place, within its size, and again on resize', () => {
  const tty = new FakeTty(40, 10);
  const p = new ProgressLines(tty, { tty: true, intervalMs: 60_000 });
  const sizes: [number, number][] = [];
  for (const [k, e] of events(40).entries()) {
    p.onEvent(e);
    if (k % 7 === 0) {
      // SIGWINCH: the stream emits 'resize' with its new size
      tty.columns = 30 + (k % 50);
      tty.rows = 5 + (k % 13);
      sizes.push([tty.columns, tty.rows]);
      tty.emit('resize');
    }
  }
  p.stop();
  assert.equal(tty.listenerCount('resize'), 0, 'stop() stops listening');
  // every draw starts by moving back over the previous frame (`ESC [ n F`, then clear below)
  const frames = tty.written.split(/\x1b\[\d+F\x1b\[J/);
  assert.equal(frames.length, sizes.length + 1, 'one frame per resize, and the last one at stop()');
  sizes.push([tty.columns, tty.rows]);
  for (const [i, f] of frames.entries()) {
    const [c, r] = sizes[i]!;
    assertFits(f.split('\n').slice(0, -1), c, r, `frame ${i} at ${c}×${r}`);
  }
  const ups = [...tty.written.matchAll(/\x1b\[(\d+)F/g)].map((m) => Number(m[1]));
  assert.ok(
    ups.every((u, i) => u >= frames[i]!.split('\n').length - 1),
    'the cursor goes back at least over the frame it drew',
  );
});

test('off a terminal: one line per finished layer with short digest, size and time; nothing when quiet', () => {
  for (const unpack of [false, true]) {
    const out = new FakeTty(80, 24);
    out.isTTY = false;
    let t = 0;
    const p = new ProgressLines(out, { now: () => (t += 250) });
    for (const e of events(12, unpack)) p.onEvent(e);
    p.stop();
    const lines = out.written.split('\n').slice(0, -1);
    assert.equal(lines.length, 12);
    for (const [i, l] of lines.entries()) {
      assert.ok(!ANSI.test(l), 'no escape sequences in a log');
      assert.match(l, new RegExp(`^${digest(i).slice(0, 19)}  3\\.0 MiB  .+  \\d+\\.\\d s$`));
    }
    assert.equal(out.listenerCount('resize'), 0);
  }
  const quiet = new FakeTty(80, 24);
  quiet.isTTY = false;
  const q = new ProgressLines(quiet, { quiet: true });
  for (const e of events(12)) q.onEvent(e);
  q.stop();
  assert.equal(quiet.written, '');
  const quietTty = new FakeTty(80, 24);
  const qt = new ProgressLines(quietTty, { quiet: true });
  for (const e of events(12)) qt.onEvent(e);
  qt.stop();
  assert.equal(quietTty.written, '');
});
