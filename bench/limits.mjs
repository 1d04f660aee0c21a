// This machine's limits on a pull's bytes, measured in a fresh Node process (the bench's own heap, full of
// generated data, slows every figure): `node bench/limits.mjs <mode> <args…>` prints {"ms":…,"bytes":…}.
//   sha FILE…         sha256 of the files, one core
//   gunzip FILE…      gunzip of the files, one stream
//   both FILE…        gunzip + sha256 of the output, one stream
//   prove N FILE…     gunzip + sha256, N streams at once
//   direct FILE…      gunzip + sha256 on one thread through the zlib handle's synchronous write into reused
//                     buffers (how trustpin's proof worker inflates; no chunk allocated), one core
//   download URL…     parallel GETs, sha256 on arrival, nothing written
// Inputs are read into memory first; only the operation is timed, on its second pass (the fastest this machine
// can do it). Plain JS so no loader sits in between.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip } from 'node:zlib';

const MiB = 1024 * 1024;
const [mode, ...args] = process.argv.slice(2);
const streams = mode === 'prove' ? Number(args.shift()) : 1;
const blobs = mode === 'download' ? [] : await Promise.all(args.map((f) => readFile(f)));

async function gunzip(b, withHash) {
  const h = createHash('sha256');
  let n = 0;
  await pipeline(
    Readable.from([b]),
    createGunzip({ chunkSize: MiB }),
    new Writable({
      write(c, _e, cb) {
        n += c.length;
        if (withHash) h.update(c);
        cb();
      },
    }),
  );
  return n;
}

/** gunzip + sha256 of one in-memory blob with no allocation per chunk; the tar's size */
function direct(b) {
  const g = createGunzip();
  const handle = g._handle;
  const state = g._writeState;
  let failed;
  handle.onerror = (_errno, _code, message) => {
    failed = new Error(message);
  };
  const h = createHash('sha256');
  const out = Buffer.allocUnsafe(MiB);
  let n = 0;
  for (let pos = 0; ; pos += MiB) {
    const input = b.subarray(pos, pos + MiB);
    const flush = input.length === 0 ? constants.Z_FINISH : constants.Z_NO_FLUSH;
    let off = 0;
    let avail = input.length;
    for (;;) {
      handle.writeSync(flush, input, off, avail, out, 0, MiB);
      if (failed) throw failed;
      const have = MiB - state[0];
      if (have > 0) h.update(out.subarray(0, have));
      n += have;
      off += avail - state[1];
      avail = state[1];
      if (state[0] !== 0) break;
    }
    if (input.length === 0) break;
  }
  g.close();
  h.digest();
  return n;
}

async function main() {
  if (mode === 'download') {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const t = performance.now();
    const sizes = await Promise.all(
      args.map(
        (url) =>
          new Promise((res, rej) => {
            get(url, { agent }, (r) => {
              const h = createHash('sha256');
              let n = 0;
              r.on('data', (c) => {
                h.update(c);
                n += c.length;
              });
              r.on('end', () => res(n));
              r.on('error', rej);
            }).on('error', rej);
          }),
      ),
    );
    const ms = performance.now() - t;
    agent.destroy();
    return { ms, bytes: sizes.reduce((a, b) => a + b, 0) };
  }
  const t = performance.now();
  let bytes = 0;
  if (mode === 'sha') {
    for (const b of blobs) {
      const h = createHash('sha256');
      for (let i = 0; i < b.length; i += MiB) h.update(b.subarray(i, i + MiB));
      h.digest();
      bytes += b.length;
    }
  } else if (mode === 'direct') {
    for (const b of blobs) bytes += direct(b);
  } else {
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < blobs.length; i = next++) {
        const n = await gunzip(blobs[i], mode !== 'gunzip');
        bytes += n;
      }
    };
    await Promise.all(Array.from({ length: streams }, lane));
  }
  return { ms: performance.now() - t, bytes };
}

// the second pass is timed: the first pays for page faults on freshly read buffers, JIT and connections
await main();
process.stdout.write(`${JSON.stringify(await main())}\n`);
