// The in-process fuzz loop shared by the bounded CI run and the long runner's worker: fast-check generates and
// shrinks; each failure is minimised, recorded once per distinct cause, and the run goes on with the next seed.
import fc from 'fast-check';
import { type FuzzTarget, isRejection, onRejection, recordRejection } from './harness.js';

export interface Bug {
  /** `slow`: an input that took over 1 s and finished; `hang`: one the watchdog had to stop */
  kind: 'exception' | 'oracle' | 'hang' | 'slow' | 'memory';
  /** first line of the error, used to tell distinct causes apart */
  signature: string;
  message: string;
  /** the minimised input, encoded by the target */
  input: Buffer;
  seed: number;
  shrinks: number;
}

export interface RunStats {
  target: string;
  /** inputs generated and run (shrinking attempts not included) */
  runs: number;
  /** property executions while shrinking */
  shrinkRuns: number;
  ms: number;
  rejections: Record<string, number>;
  bugs: Bug[];
}

export interface EngineOptions {
  seed: number;
  seconds: number;
  runs?: number | undefined;
  /** stop at the first bug (the CI run) instead of continuing with the next seed */
  stopOnBug?: boolean | undefined;
  /** called with every input before it runs (the worker writes it where the watchdog can read it) */
  beforeInput?: ((encoded: () => Buffer) => void) | undefined;
  /** called after every input with its outcome: 'accepted', a rejection code, or 'bug' (the worker's heartbeat,
   * memory check and corpus; throw to report a bug) */
  afterInput?: ((outcome: string) => void) | undefined;
  /** called when a bug is found (minimised) */
  onBug?: ((b: Bug) => void) | undefined;
  /** called with an input the first time it shows a new cause, before shrinking (which may never end) */
  onFirstFailure?: ((b: Bug) => void) | undefined;
}

/** What the long runner's main thread hands its worker. */
export interface WorkerInit {
  target: string;
  seed: number;
  seconds: number;
  runs: number | undefined;
  /**
   * Int32 [0] executions, [1] input length, [2] 1 when the input did not fit, [3] 1 while an input runs; Float64 at
   * byte 16: when it started (Date.now()); then the input bytes
   */
  shared: SharedArrayBuffer;
  maxHeapBytes: number;
}

export const SHARED_HEADER = 24;

function signatureOf(e: unknown): string {
  if (e instanceof Error) {
    const frame = (e.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
    // the message without input-specific numbers and quoted text, plus where it was thrown
    const msg = e.message
      .split('\n')[0]!
      .replace(/"[^"]*"/g, '"…"')
      .replace(/\d+/g, 'N');
    return `${e.name}: ${msg.slice(0, 160)} ${frame.trim().replace(/:\d+:\d+\)?$/, '')}`;
  }
  return `non-error thrown: ${String(e).slice(0, 100)}`;
}

function kindOf(e: unknown): Bug['kind'] {
  const name = e instanceof Error ? e.name : '';
  return name === 'OracleFailure' ? 'oracle' : name === 'MemoryFailure' ? 'memory' : 'exception';
}

function bugOf(e: unknown, signature: string, input: Buffer, seed: number, shrinks: number): Bug {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  return { kind: kindOf(e), signature, message, input, seed, shrinks };
}

/** Fuzz one target in this thread until `seconds` pass or `runs` inputs ran. */
export async function fuzzTarget<T>(t: FuzzTarget<T>, o: EngineOptions): Promise<RunStats> {
  const stats: RunStats = { target: t.name, runs: 0, shrinkRuns: 0, ms: 0, rejections: {}, bugs: [] };
  const seen = new Set<string>();
  const firstSeen = new Set<string>();
  const start = performance.now();
  const deadline = start + o.seconds * 1000;
  const maxRuns = o.runs ?? Number.MAX_SAFE_INTEGER;
  let seed = o.seed;
  let lastCode: string | undefined;
  onRejection((code) => {
    lastCode ??= code;
    stats.rejections[code] = (stats.rejections[code] ?? 0) + 1;
  });
  try {
    while (stats.runs < maxRuns && performance.now() < deadline) {
      let executions = 0;
      const prop = fc.asyncProperty(t.arbitrary, async (x) => {
        executions++;
        o.beforeInput?.(() => t.encode(x));
        lastCode = undefined;
        let outcome = 'bug';
        try {
          await t.run(x);
          outcome = lastCode ?? 'accepted';
        } catch (e) {
          if (!isRejection(e)) {
            const sig = signatureOf(e);
            if (o.onFirstFailure && !firstSeen.has(sig)) {
              firstSeen.add(sig);
              o.onFirstFailure(bugOf(e, sig, t.encode(x), seed, 0));
            }
            throw e;
          }
          recordRejection(e);
          outcome = lastCode ?? e.code;
        } finally {
          o.afterInput?.(outcome);
        }
      });
      const r = await fc.check(prop, {
        seed,
        numRuns: Math.min(maxRuns - stats.runs, 2 ** 31 - 1),
        // the option, not the interruptAfterTimeLimit plugin: with an async property the plugin keeps ~300 bytes per
        // run alive (fast-check 4.11), which a long run turns into a heap exhaustion of its own
        interruptAfterTimeLimit: Math.max(1, deadline - performance.now()),
        endOnFailure: false,
      });
      stats.runs += r.numRuns;
      stats.shrinkRuns += Math.max(0, executions - r.numRuns);
      const example = r.counterexample as [T] | null;
      if (!r.failed || !example) break;
      const e = r.errorInstance;
      const sig = signatureOf(e);
      if (!seen.has(sig)) {
        seen.add(sig);
        const bug = bugOf(e, sig, t.encode(example[0]), seed, r.numShrinks);
        stats.bugs.push(bug);
        o.onBug?.(bug);
      }
      if (o.stopOnBug) break;
      seed = (seed + 0x9e3779b1) | 0;
    }
  } finally {
    onRejection(undefined);
    stats.ms = Math.round(performance.now() - start);
  }
  return stats;
}

/** `reference: 41234 inputs in 2.0 s (12 shrink runs); rejections REFERENCE_INVALID 30211, …; bugs 0` */
export function summary(s: RunStats): string {
  const rej = Object.entries(s.rejections)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${s.target}: ${s.runs} inputs in ${(s.ms / 1000).toFixed(1)} s${
    s.shrinkRuns ? ` (+${s.shrinkRuns} shrinking)` : ''
  }; rejections ${rej || 'none'}; bugs ${s.bugs.length}`;
}
