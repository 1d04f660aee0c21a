// This machine's limits on a pull's bytes, measured in a fresh Node process (the bench's own heap, full of
// generated data, slows every figure): `node bench/limits.mjs <mode> <args…>` prints {"ms":…,"bytes":…}.
//   sha FILE…         sha256 of the files, one core
//   gunzip FILE…      gunzip of the files, one stream
//   both FILE…        gunzip + sha256 of the output, one stream
//   prove N FILE…     gunzip + sha256, N streams at once
//   download URL…     parallel GETs, sha256 on arrival, nothing written
// Inputs are read into memory first; only the operation is timed, on its second pass (the fastest this machine
// can do it). Plain JS so no loader sits in between.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

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
