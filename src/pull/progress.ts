// Per-layer progress of a pull: on a terminal, a frame redrawn in place that always fits the window (never
// more than rows - 1 lines, never a line wider than the columns); elsewhere, one log line per finished layer.
import type { Digest } from '../digest/index.js';
import type { PullEvent } from './pull.js';

export type LayerState =
  | 'waiting'
  | 'downloading'
  | 'verified'
  | 'reused'
  | 'proving'
  | 'proven'
  | 'unpacking'
  | 'unpacked';

export interface LayerProgress {
  digest: Digest;
  size: number;
  state: LayerState;
  /** bytes of the current phase (download, diff_id proof or unpack) */
  done: number;
  /** ms (the display's clock) of the first activity, and of the last state change to a finished one */
  started?: number;
  finished?: number;
}

/** What a frame is drawn from: the layers in manifest order. */
export interface ProgressState {
  layers: LayerProgress[];
}

const LABEL: Record<LayerState, string> = {
  waiting: 'waiting',
  downloading: 'downloading',
  verified: 'verified',
  reused: 'already present (re-verified)',
  proving: 'proving diff_id',
  proven: 'diff_id proven',
  unpacking: 'unpacking',
  unpacked: 'unpacked, diff_id proven',
};
const LABEL_WIDTH = 29;
/** for a narrow window: the bytes matter more than the wording */
const SHORT: Record<LayerState, string> = {
  ...LABEL,
  reused: 'present',
  proving: 'proving',
  proven: 'proven',
  unpacked: 'unpacked',
};

type Phase = 'waiting' | 'active' | 'done';

function phaseOf(s: LayerState): Phase {
  if (s === 'waiting') return 'waiting';
  return s === 'proven' || s === 'unpacked' ? 'done' : 'active';
}

const PRIORITY: Record<Phase, number> = { active: 0, waiting: 1, done: 2 };

function mib(n: number): string {
  return (n / 1024 / 1024).toFixed(1);
}

/** Cut to `width` columns (every string here is ASCII apart from the ellipsis, one column wide). */
function fit(s: string, width: number): string {
  if (s.length <= width) return s;
  return width <= 1 ? s.slice(0, Math.max(0, width)) : `${s.slice(0, width - 1)}…`;
}

function layerLine(l: LayerProgress, width: number): string {
  // the algorithm prefix is the first thing a narrow window gives up
  const id = width >= 60 ? l.digest.slice(0, 19) : l.digest.slice(7, 19);
  const bytes = l.state === 'waiting' ? '' : `${mib(Math.min(l.done, l.size))} / ${mib(l.size)} MiB`;
  const padded = `${id}  ${LABEL[l.state].padEnd(LABEL_WIDTH)}  ${bytes}`.trimEnd();
  return fit(padded.length <= width ? padded : `${id} ${SHORT[l.state]} ${bytes}`.trimEnd(), width);
}

function counts(ls: LayerProgress[]): string {
  const n = { done: 0, active: 0, waiting: 0 };
  for (const l of ls) n[phaseOf(l.state)]++;
  return [
    n.done ? `${n.done} done` : '',
    n.active ? `${n.active} in progress` : '',
    n.waiting ? `${n.waiting} waiting` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * The lines of one frame for a `columns` × `rows` terminal. One row stays free for the cursor, so the frame never
 * scrolls and the next redraw can always move back to its top. When the layers do not fit, a last line sums up
 * the ones left out.
 */
export function renderProgress(state: ProgressState, columns: number, rows: number): string[] {
  const budget = Math.max(0, Math.floor(rows) - 1);
  // one column spare: some terminals wrap as soon as the last column is written
  const width = Math.max(1, Math.floor(columns) - 1);
  const ls = state.layers;
  if (budget === 0 || ls.length === 0) return [];
  if (ls.length <= budget) return ls.map((l) => layerLine(l, width));
  // in progress first, then the next to start (manifest order), then the latest finished
  const order = ls.map((l, i) => ({ l, i, p: PRIORITY[phaseOf(l.state)] }));
  order.sort((a, b) => a.p - b.p || (a.p === 2 ? (b.l.finished ?? 0) - (a.l.finished ?? 0) : 0) || a.i - b.i);
  const shown = order.slice(0, budget - 1).sort((a, b) => a.i - b.i);
  const hidden = order.slice(budget - 1).map((o) => o.l);
  const summary =
    shown.length === 0
      ? `${ls.length} layers: ${counts(ls)}`
      : `+${hidden.length} more layer${hidden.length === 1 ? '' : 's'}: ${counts(hidden)}`;
  return [...shown.map((o) => layerLine(o.l, width)), fit(summary, width)];
}

/** One log line for a finished layer: short digest, size, what was proven, how long it took. */
function finishedLine(l: LayerProgress): string {
  const secs = l.started !== undefined && l.finished !== undefined ? (l.finished - l.started) / 1000 : 0;
  return `${l.digest.slice(0, 19)}  ${mib(l.size)} MiB  ${LABEL[l.state]}  ${secs.toFixed(1)} s`;
}

/** The part of a stream the display uses: a `tty.WriteStream`, or anything that writes. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export interface ProgressOptions {
  /** print nothing at all */
  quiet?: boolean;
  /** redraw in place (default: the stream's `isTTY`); otherwise one line per finished layer */
  tty?: boolean;
  /** ms between redraws on a terminal (default 150) */
  intervalMs?: number;
  /** the clock for per-layer times (default `performance.now`) */
  now?: () => number;
}

/** Follows pull events (`onEvent`) and shows them on `out`; call `stop()` when the pull ends. */
export class ProgressLines {
  private readonly layers = new Map<string, LayerProgress>();
  private readonly tty: boolean;
  private readonly now: () => number;
  /** the lines of the frame on screen, to move back over them */
  private drawn: string[] = [];
  private drawnColumns = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly onResize = (): void => this.draw();

  constructor(
    private readonly out: ProgressStream,
    private readonly opts: ProgressOptions = {},
  ) {
    this.tty = opts.tty ?? out.isTTY === true;
    this.now = opts.now ?? (() => performance.now());
  }

  /** The current state, as `renderProgress` takes it. */
  state(): ProgressState {
    return { layers: [...this.layers.values()] };
  }

  readonly onEvent = (e: PullEvent): void => {
    if (this.opts.quiet) return;
    if (e.type === 'start') {
      this.begin(e.blobs);
      return;
    }
    const l = this.layers.get(e.digest);
    if (!l) return;
    l.started ??= this.now();
    if (e.type === 'bytes') {
      const s = ({ download: 'downloading', verify: 'proving', unpack: 'unpacking' } as const)[e.phase];
      if (l.state !== s) {
        l.state = s;
        l.done = 0;
      }
      l.done += e.bytes;
    } else if (e.type === 'blob') {
      l.state = e.state === 'reused' ? 'reused' : 'verified';
      l.done = l.size;
    } else {
      l.state = e.state;
      l.done = e.state === 'unpacking' ? 0 : l.size;
      if (e.state !== 'unpacking') {
        l.finished = this.now();
        if (!this.tty) this.out.write(`${finishedLine(l)}\n`);
      }
    }
  };

  private begin(blobs: { digest: Digest; size: number; role: string }[]): void {
    for (const b of blobs)
      if (b.role === 'layer')
        this.layers.set(b.digest, { digest: b.digest, size: b.size, state: 'waiting', done: 0 });
    if (!this.tty || this.timer) return;
    this.timer = setInterval(() => this.draw(), this.opts.intervalMs ?? 150);
    this.timer.unref();
    this.out.on?.('resize', this.onResize);
  }

  /** Rows the last frame takes now: a terminal that got narrower re-wraps (most reflow) the longer lines. */
  private drawnRows(columns: number): number {
    if (columns >= this.drawnColumns) return this.drawn.length;
    return this.drawn.reduce((n, l) => n + Math.max(1, Math.ceil(l.length / columns)), 0);
  }

  private draw(): void {
    const columns = this.out.columns || 80;
    const lines = renderProgress(this.state(), columns, this.out.rows || 24);
    const up = this.drawnRows(columns);
    // back to the frame's top, then clear to the end of the screen: a shorter frame leaves nothing behind
    let s = up > 0 ? `\x1b[${up}F\x1b[J` : '';
    for (const l of lines) s += `${l}\n`;
    this.out.write(s);
    this.drawn = lines;
    this.drawnColumns = columns;
  }

  /** Draw the last state and stop; on a terminal the frame stays on screen above the summary. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.out.off?.('resize', this.onResize);
    if (this.layers.size > 0) this.draw();
  }
}
