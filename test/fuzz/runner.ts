// `npm run fuzz -- TARGET|all [--seconds N] [--runs N] [--seed S] [--replay FILE]`: long fuzz runs, one target at a
// time in a worker thread. The main thread is the watchdog: an input running over 1 s is a hang (the worker is
// terminated and restarted), a worker dying of heap exhaustion (256 MiB) is a memory bug; both save the input.
// Exceptions and oracle failures are minimised by fast-check in the worker. Everything goes under .fuzz/<target>/.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Bug, type RunStats, SHARED_HEADER, type WorkerInit } from './engine.js';
import { coded, onRejection } from './harness.js';
import { targets } from './targets/index.js';

/** An input running longer than this is a bug: `slow` when it then finishes, `hang` past {@link KILL_MS}. */
export const HANG_MS = 1000;
/** An input still running after this long is stopped (the worker is terminated and restarted). */
export const KILL_MS = 10_000;
/** No input started for this long: the generator itself is stuck. */
const STALL_MS = 60_000;
/** The worker's old-generation heap; a worker that needs more dies, and its input is a memory bug. */
export const MAX_HEAP_MB = 256;
const SHARED_BYTES = 16 * 1024 * 1024;

interface Args {
  targets: string[];
  seconds: number;
  runs: number | undefined;
  seed: number;
  replay: string | undefined;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    targets: [],
    seconds: 60,
    runs: undefined,
    seed: Date.now() % 2 ** 31,
    replay: undefined,
    out: '.fuzz',
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]!;
    const next = () => {
      const n = argv[++i];
      if (n === undefined) throw new Error(`${v} needs a value`);
      return n;
    };
    if (v === '--seconds') a.seconds = Number(next());
    else if (v === '--runs') a.runs = Number(next());
    else if (v === '--seed') a.seed = Number(next());
    else if (v === '--replay') a.replay = next();
    else if (v === '--out') a.out = next();
    else if (v === '--list') a.targets.push('--list');
    else if (v.startsWith('--')) throw new Error(`unknown option ${v}`);
    else a.targets.push(v);
  }
  return a;
}

function save(out: string, target: string, bug: Bug): string {
  const dir = join(out, target, 'crashes');
  mkdirSync(dir, { recursive: true });
  const id = createHash('sha256').update(bug.input).digest('hex').slice(0, 12);
  const file = join(dir, `${bug.kind}-${id}.bin`);
  writeFileSync(file, bug.input);
  writeFileSync(
    `${file.slice(0, -4)}.txt`,
    `${bug.kind} in ${target} (seed ${bug.seed}, ${bug.shrinks} shrinks)\n` +
      `replay: npm run fuzz -- ${target} --replay ${file}\n\n${bug.message}\n`,
  );
  return file;
}

interface Totals {
  runs: number;
  ms: number;
  rejections: Record<string, number>;
  bugs: Bug[];
}

/** One worker lifetime: resolves with its stats, or with the bug that ended it (hang, OOM, crash). */
function runWorker(
  a: Args,
  target: string,
  seed: number,
  seconds: number,
  runs: number | undefined,
  onBug: (b: Bug) => void,
  onTick: (executions: number) => void,
): Promise<{ stats?: RunStats; executions: number; ended?: Bug; startError?: Error }> {
  const shared = new SharedArrayBuffer(SHARED_HEADER + SHARED_BYTES);
  const header = new Int32Array(shared, 0, 4);
  const started = new Float64Array(shared, 16, 1);
  const data = new Uint8Array(shared, SHARED_HEADER);
  const current = () => Buffer.from(data.subarray(0, Atomics.load(header, 1)));
  const init: WorkerInit = { target, seed, seconds, runs, shared, maxHeapBytes: MAX_HEAP_MB * 2 ** 20 };
  const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
    workerData: init,
    resourceLimits: { maxOldGenerationSizeMb: MAX_HEAP_MB },
  });
  return new Promise((resolve) => {
    let ready = false;
    let last = -1;
    let lastChange = performance.now();
    let settled = false;
    let slowSaved = false;
    // failures whose shrinking has not finished: kept unminimised if the worker dies before it does
    const pending = new Map<string, Bug>();
    const finish = (r: { stats?: RunStats; ended?: Bug; startError?: Error }) => {
      if (settled) return;
      settled = true;
      for (const b of pending.values())
        onBug({ ...b, message: `(not minimised: the worker ended while shrinking)\n${b.message}` });
      clearInterval(watchdog);
      resolve({ ...r, executions: Atomics.load(header, 0) });
    };
    // an input over HANG_MS, kept until it finishes (slow) or reaches KILL_MS (hang)
    let suspect: { count: number; input: Buffer; since: number } | undefined;
    const ended = (kind: Bug['kind'], message: string, input: Buffer): Bug => ({
      kind,
      signature: kind,
      message: `${message}${Atomics.load(header, 2) ? '; the input was longer than the shared buffer and is truncated' : ''}`,
      input,
      seed,
      shrinks: 0,
    });
    const watchdog = setInterval(() => {
      if (!ready) return;
      const n = Atomics.load(header, 0);
      if (suspect && n !== suspect.count) {
        const ms = Date.now() - suspect.since;
        onBug(
          ended(
            'slow',
            `an input ran for about ${ms} ms (over ${HANG_MS} ms) and then finished`,
            suspect.input,
          ),
        );
        suspect = undefined;
      }
      if (n !== last) {
        last = n;
        lastChange = performance.now();
        slowSaved = false;
      }
      onTick(n);
      if (!Atomics.load(header, 3)) {
        // between inputs: fast-check generating the next one
        if (performance.now() - lastChange > STALL_MS) {
          finish({
            ended: ended('hang', `no input started for ${STALL_MS} ms (the generator is stuck)`, current()),
          });
          void w.terminate();
        }
        return;
      }
      const elapsed = Date.now() - started[0]!;
      // an input running for a tick is written down: if it takes the whole process with it (a heap limit V8
      // enforces with a fatal error rather than by ending the worker), the supervisor still has it
      if (elapsed > 100 && !slowSaved) {
        slowSaved = true;
        writeFileSync(inProgressFile(a.out, target), current());
      }
      if (elapsed > HANG_MS && !suspect) suspect = { count: n, input: current(), since: started[0]! };
      if (elapsed < KILL_MS) return;
      finish({
        ended: ended(
          'hang',
          `an input ran for more than ${KILL_MS} ms (the worker was terminated)`,
          current(),
        ),
      });
      void w.terminate();
    }, 100);
    w.on(
      'message',
      (m: {
        type: string;
        bug?: Bug & { input: string };
        stats?: RunStats;
        outcome?: string;
        input?: string;
      }) => {
        if (m.type === 'ready') {
          ready = true;
          lastChange = performance.now();
        } else if (m.type === 'bug' && m.bug) {
          pending.delete(m.bug.signature);
          onBug({ ...m.bug, input: Buffer.from(m.bug.input, 'base64') });
        } else if (m.type === 'first' && m.bug)
          pending.set(m.bug.signature, { ...m.bug, input: Buffer.from(m.bug.input, 'base64') });
        else if (m.type === 'corpus' && m.input !== undefined) {
          const b = Buffer.from(m.input, 'base64');
          const dir = join(a.out, target, 'corpus');
          mkdirSync(dir, { recursive: true });
          writeFileSync(
            join(dir, `${m.outcome}-${createHash('sha256').update(b).digest('hex').slice(0, 12)}.bin`),
            b,
          );
        } else if (m.type === 'done' && m.stats) finish({ stats: m.stats });
      },
    );
    w.on('error', (e: Error & { code?: string }) => {
      if (!ready) {
        finish({ startError: e });
        return;
      }
      const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      finish({
        ended: {
          kind: oom ? 'memory' : 'exception',
          signature: oom ? 'memory' : `worker error ${e.message}`,
          message: oom
            ? `the worker ran out of its ${MAX_HEAP_MB} MiB heap on this input`
            : (e.stack ?? e.message),
          input: current(),
          seed,
          shrinks: 0,
        },
      });
    });
    w.on('exit', (code) => {
      if (!ready)
        finish({ startError: new Error(`the fuzz worker exited with code ${code} before it started`) });
      if (!settled)
        finish({
          ended: {
            kind: 'exception',
            signature: `worker exit ${code}`,
            message: `the worker exited with code ${code} on this input`,
            input: current(),
            seed,
            shrinks: 0,
          },
        });
    });
  });
}

async function fuzzOne(a: Args, target: string): Promise<Totals> {
  const totals: Totals = { runs: 0, ms: 0, rejections: {}, bugs: [] };
  const seen = new Set<string>();
  const record = (b: Bug) => {
    if (seen.has(`${b.kind} ${b.signature}`)) return;
    seen.add(`${b.kind} ${b.signature}`);
    totals.bugs.push(b);
    const file = save(a.out, target, b);
    console.log(`  ${b.kind}: ${b.signature.slice(0, 200)}\n    saved ${file}`);
  };
  const start = performance.now();
  let seed = a.seed;
  for (;;) {
    const left = a.seconds - (performance.now() - start) / 1000;
    const runsLeft = a.runs === undefined ? undefined : a.runs - totals.runs;
    if (left <= 0.05 || (runsLeft !== undefined && runsLeft <= 0)) break;
    let lastProgress = 0;
    const r = await runWorker(a, target, seed, left, runsLeft, record, (n) => {
      if (performance.now() - lastProgress < 1000) return;
      lastProgress = performance.now();
      writeProgress(a.out, target, { ...totals, runs: totals.runs + n, bugs: totals.bugs.length });
    });
    if (r.startError) throw r.startError;
    if (r.stats) {
      totals.runs += r.stats.runs;
      for (const [k, v] of Object.entries(r.stats.rejections))
        totals.rejections[k] = (totals.rejections[k] ?? 0) + v;
      break;
    }
    totals.runs += r.executions;
    if (r.ended) record(r.ended);
    seed = (seed + 0x9e3779b1) | 0;
  }
  totals.ms = performance.now() - start;
  writeProgress(a.out, target, { ...totals, bugs: totals.bugs.length, done: true });
  return totals;
}

const inProgressFile = (out: string, target: string) => join(out, target, 'in-progress.bin');
const progressFile = (out: string, target: string) => join(out, target, 'progress.json');

interface Progress {
  runs: number;
  rejections: Record<string, number>;
  bugs: number;
  done?: boolean;
}

function writeProgress(out: string, target: string, p: Progress): void {
  mkdirSync(join(out, target), { recursive: true });
  const { runs, rejections, bugs, done } = p;
  writeFileSync(progressFile(out, target), JSON.stringify({ runs, rejections, bugs, done }));
}

function readProgress(out: string, target: string): Progress | undefined {
  try {
    return JSON.parse(readFileSync(progressFile(out, target), 'utf8')) as Progress;
  } catch {
    return undefined;
  }
}

async function replay(target: string, file: string): Promise<number> {
  const t = targets.find((x) => x.name === target);
  if (!t) throw new Error(`no target ${target}`);
  const input = t.decode(readFileSync(file));
  const started = performance.now();
  const codes: string[] = [];
  onRejection((c) => codes.push(c));
  try {
    await coded(() => t.run(input));
    const ms = (performance.now() - started).toFixed(0);
    console.log(`${target}: no bug (${ms} ms; rejections: ${codes.join(', ') || 'none'})`);
    return 0;
  } catch (e) {
    console.log(`${target}: BUG\n${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}

/** The child process: fuzz one target for the given budget (workers, watchdog), then write its progress file. */
export async function child(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const target = a.targets[0]!;
  mkdirSync(join(a.out, target), { recursive: true });
  rmSync(inProgressFile(a.out, target), { force: true });
  const t = await fuzzOne(a, target);
  return t.bugs.length > 0 ? 1 : 0;
}

/**
 * The supervisor: one child process per target. A child that dies outright (V8's fatal heap-limit error takes
 * the whole process, not only the worker) is a memory bug on the input it was running; the run goes on.
 */
export async function main(argv: string[], script: string): Promise<number> {
  const a = parseArgs(argv);
  if (a.targets.length === 0 || a.targets.includes('--list')) {
    console.log('usage: npm run fuzz -- TARGET|all [--seconds N] [--runs N] [--seed S] [--replay FILE]\n');
    for (const t of targets) console.log(`  ${t.name.padEnd(22)} ${t.description}`);
    return a.targets.length === 0 ? 2 : 0;
  }
  if (a.replay) return replay(a.targets[0]!, a.replay);
  const names = a.targets.includes('all') ? targets.map((t) => t.name) : a.targets;
  for (const n of names)
    if (!targets.some((t) => t.name === n)) throw new Error(`no fuzz target ${n} (--list)`);
  console.log(
    `seed ${a.seed}; up to ${a.seconds} s${a.runs ? ` or ${a.runs} inputs` : ''} per target; output ${a.out}/`,
  );
  let bugs = 0;
  for (const n of names) {
    console.log(`${n}:`);
    const start = performance.now();
    const totals: Progress = { runs: 0, rejections: {}, bugs: 0 };
    let seed = a.seed;
    for (;;) {
      const left = a.seconds - (performance.now() - start) / 1000;
      const runsLeft = a.runs === undefined ? undefined : a.runs - totals.runs;
      if (left <= 0.05 || (runsLeft !== undefined && runsLeft <= 0)) break;
      rmSync(progressFile(a.out, n), { force: true });
      const args = [n, '--child', '--seconds', String(left), '--seed', String(seed), '--out', a.out];
      if (runsLeft !== undefined) args.push('--runs', String(runsLeft));
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'inherit' });
      const p = readProgress(a.out, n);
      if (p) {
        totals.runs += p.runs;
        totals.bugs += p.bugs;
        for (const [k, v] of Object.entries(p.rejections))
          totals.rejections[k] = (totals.rejections[k] ?? 0) + v;
      }
      if (p?.done) break;
      // the child died: the input it was running when it went is the bug
      let input = Buffer.alloc(0);
      try {
        input = readFileSync(inProgressFile(a.out, n));
      } catch {}
      const file = save(a.out, n, {
        kind: 'memory',
        signature: 'process died',
        message: `the fuzzing process died (${r.signal ?? `exit ${r.status}`}), most likely V8's fatal heap-limit error; this is the last input seen running for over 100 ms`,
        input,
        seed,
        shrinks: 0,
      });
      console.log(`  memory: the process died (${r.signal ?? r.status})\n    saved ${file}`);
      totals.bugs++;
      seed = (seed + 0x9e3779b1) | 0;
    }
    const ms = performance.now() - start;
    bugs += totals.bugs;
    const rej = Object.entries(totals.rejections)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(
      `  ${totals.runs} inputs in ${(ms / 1000).toFixed(1)} s (${Math.round(totals.runs / (ms / 1000))}/s); ` +
        `rejections by code: ${rej || 'none'}; bugs found: ${totals.bugs}`,
    );
  }
  return bugs > 0 ? 1 : 0;
}
