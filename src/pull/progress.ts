// Per-layer progress lines for a terminal, redrawn in place a few times a second from pull events. Only ever
// used on a TTY: a pipe, a file or --quiet gets nothing, so logs stay clean.
import type { Digest } from '../digest/index.js';
import type { PullEvent } from './pull.js';

interface Row {
  digest: Digest;
  size: number;
  state: string;
  done: number;
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export class ProgressLines {
  private readonly rows = new Map<string, Row>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream) {}

  readonly onEvent = (e: PullEvent): void => {
    if (e.type === 'start') {
      for (const b of e.blobs)
        if (b.role === 'layer')
          this.rows.set(b.digest, { digest: b.digest, size: b.size, state: 'waiting', done: 0 });
      this.timer = setInterval(() => this.draw(), 150);
      this.timer.unref();
      return;
    }
    const r = this.rows.get(e.digest);
    if (!r) return;
    if (e.type === 'bytes') {
      const phase = { download: 'downloading', verify: 'proving diff_id', unpack: 'unpacking' }[e.phase];
      if (r.state !== phase) {
        r.state = phase;
        r.done = 0;
      }
      r.done += e.bytes;
    } else if (e.type === 'blob') {
      r.state = e.state === 'reused' ? 'already present (re-verified)' : 'verified';
      r.done = r.size;
    } else {
      r.state = { proven: 'diff_id proven', unpacking: 'unpacking', unpacked: 'unpacked, diff_id proven' }[
        e.state
      ];
      r.done = e.state === 'unpacking' ? 0 : r.size;
    }
  };

  private draw(): void {
    const lines = [...this.rows.values()].map((r) => {
      const bytes = r.state === 'waiting' ? '' : `${mib(Math.min(r.done, r.size))} / ${mib(r.size)}`;
      return `${r.digest.slice(0, 19)}  ${r.state.padEnd(30)} ${bytes}`;
    });
    let s = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    for (const l of lines) s += `\x1b[2K${l}\n`;
    this.out.write(s);
    this.drawn = lines.length;
  }

  /** Draw the last state and stop; the lines stay on screen above the summary. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.rows.size > 0 && this.timer) this.draw();
    this.timer = undefined;
  }
}
