// The long runner's worker thread: fuzzes one target, writing each input into shared memory before running it and
// bumping a counter after, so the main thread can tell a hang and save the input that caused it (or an OOM).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzTarget, SHARED_HEADER, type WorkerInit } from './engine.js';
import { targets } from './targets/index.js';

class MemoryFailure extends Error {
  override name = 'MemoryFailure';
}

// a worker cannot take --expose-gc; a fresh context can still reach gc() once the flag is set
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const init = workerData as WorkerInit;
const t = targets.find((x) => x.name === init.target);
if (!t) throw new Error(`no target ${init.target}`);
const header = new Int32Array(init.shared, 0, 4);
const started = new Float64Array(init.shared, 16, 1);
const data = new Uint8Array(init.shared, SHARED_HEADER);

/** inputs kept per outcome (accepted, or each rejection code) as the corpus */
const CORPUS_PER_OUTCOME = 25;
const corpus = new Map<string, number>();

parentPort!.postMessage({ type: 'ready' });
const stats = await fuzzTarget(t, {
  seed: init.seed,
  seconds: init.seconds,
  runs: init.runs,
  beforeInput(encoded) {
    const b = encoded();
    const n = Math.min(b.length, data.length);
    data.set(b.subarray(0, n));
    Atomics.store(header, 1, n);
    Atomics.store(header, 2, n < b.length ? 1 : 0);
    started[0] = Date.now();
    Atomics.store(header, 3, 1);
  },
  afterInput(outcome) {
    Atomics.store(header, 3, 0);
    Atomics.add(header, 0, 1);
    const kept = corpus.get(outcome) ?? 0;
    if (kept < CORPUS_PER_OUTCOME && outcome !== 'bug') {
      corpus.set(outcome, kept + 1);
      const input = Buffer.from(data.subarray(0, Atomics.load(header, 1))).toString('base64');
      parentPort!.postMessage({ type: 'corpus', outcome, input });
    }
    const m = process.memoryUsage();
    const used = m.heapUsed + m.external;
    if (used > init.maxHeapBytes) {
      gc();
      const again = process.memoryUsage();
      if (again.heapUsed + again.external > init.maxHeapBytes)
        throw new MemoryFailure(`${Math.round(used / 2 ** 20)} MiB in use after this input`);
    }
  },
  onBug(b) {
    parentPort!.postMessage({ type: 'bug', bug: { ...b, input: b.input.toString('base64') } });
  },
  onFirstFailure(b) {
    parentPort!.postMessage({ type: 'first', bug: { ...b, input: b.input.toString('base64') } });
  },
});
parentPort!.postMessage({ type: 'done', stats });
