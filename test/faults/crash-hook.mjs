// A preload for fault tests (`node --import ./test/faults/crash-hook.mjs …`): counts every call that
// changes files under $TRUSTPIN_TEST_CRASH_UNDER and SIGKILLs the process just before call number
// $TRUSTPIN_TEST_CRASH_AT, so a test can stop a real trustpin run between any two of its writes (each counted call
// is logged to $TRUSTPIN_TEST_CRASH_LOG). Nothing in src/ knows about it: it patches node:fs from the outside.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';

const at = Number(process.env.TRUSTPIN_TEST_CRASH_AT ?? 0);
const logFile = process.env.TRUSTPIN_TEST_CRASH_LOG;
const prefix = resolve(process.env.TRUSTPIN_TEST_CRASH_UNDER ?? '/');
const append = fs.appendFileSync;
let n = 0;
let inside = false;
/** descriptors and handles opened for writing under the prefix */
const fds = new Set();
const handles = new WeakMap();

function step(what, arg) {
  if (inside) return; // the log's own writes
  n++;
  if (n === at) process.kill(process.pid, 'SIGKILL');
  if (logFile) {
    inside = true;
    try {
      append(logFile, `${n} ${what} ${typeof arg === 'string' ? arg.replace(/\n/g, ' ') : ''}\n`);
    } finally {
      inside = false;
    }
  }
}

const under = (p) =>
  !inside &&
  (typeof p === 'string' || p instanceof URL || Buffer.isBuffer(p)) &&
  resolve(String(p)).startsWith(prefix);
const writing = (flags) => typeof flags === 'string' && /[wax+]/.test(flags);

function wrap(obj, name, label, when) {
  const orig = obj[name];
  if (typeof orig !== 'function') return undefined;
  obj[name] = function (...a) {
    if (when(this, a))
      step(
        label,
        label.startsWith('fh.') ? handles.get(this) : typeof a[0] === 'number' ? fdPaths.get(a[0]) : a[0],
      );
    return orig.apply(this, a);
  };
  return orig;
}

const byPath = (_, a) => under(a[0]);
const byPaths = (_, a) => under(a[0]) || under(a[1]);
const byFd = (_, a) => typeof a[0] === 'number' && fds.has(a[0]);
const byHandle = (self) => typeof self === 'object' && self !== null && handles.has(self);
const fdPaths = new Map();

for (const name of [
  'writeFile',
  'appendFile',
  'rm',
  'unlink',
  'rmdir',
  'mkdir',
  'truncate',
  'utimes',
  'lutimes',
]) {
  wrap(fsp, name, `p.${name}`, byPath);
  wrap(fs, name, `cb.${name}`, byPath);
  wrap(fs, `${name}Sync`, `s.${name}`, byPath);
}
for (const name of ['chmod', 'lchown', 'chown']) {
  wrap(fsp, name, `p.${name}`, byPath);
  wrap(fs, name, `cb.${name}`, byPath);
  wrap(fs, `${name}Sync`, `s.${name}`, byPath);
}
for (const name of ['rename', 'link', 'symlink', 'copyFile']) {
  wrap(fsp, name, `p.${name}`, byPaths);
  wrap(fs, name, `cb.${name}`, byPaths);
  wrap(fs, `${name}Sync`, `s.${name}`, byPaths);
}
for (const name of ['write', 'writev', 'fsync', 'fdatasync', 'ftruncate', 'futimes', 'fchmod', 'fchown']) {
  wrap(fs, name, `cb.${name}`, byFd);
  wrap(fs, `${name}Sync`, `s.${name}`, byFd);
}

// opening for writing is a step, and what it opens is tracked for the calls above
const pOpen = fsp.open;
fsp.open = async (...a) => {
  const track = under(a[0]) && writing(a[1]);
  if (track) step('p.open', a[0]);
  const h = await pOpen(...a);
  if (track) handles.set(h, String(a[0]));
  return h;
};
const cbOpen = fs.open;
fs.open = (...a) => {
  const track = under(a[0]) && writing(a[1]);
  if (track) {
    step('cb.open', a[0]);
    const cb = a[a.length - 1];
    a[a.length - 1] = (e, fd) => {
      if (fd !== undefined) {
        fds.add(fd);
        fdPaths.set(fd, String(a[0]));
      }
      cb(e, fd);
    };
  }
  return cbOpen(...a);
};
const sOpen = fs.openSync;
fs.openSync = (...a) => {
  const track = under(a[0]) && writing(a[1]);
  if (track) step('s.open', a[0]);
  const fd = sOpen(...a);
  if (track) {
    fds.add(fd);
    fdPaths.set(fd, String(a[0]));
  }
  return fd;
};
// a closed descriptor's number is reused by the next open
const cbClose = fs.close;
fs.close = (...a) => {
  fds.delete(a[0]);
  return cbClose(...a);
};
const sClose = fs.closeSync;
fs.closeSync = (...a) => {
  fds.delete(a[0]);
  return sClose(...a);
};

// FileHandle methods live on its prototype; reach it through a handle on a file that always exists.
const probe = await pOpen(process.execPath, 'r');
const proto = Object.getPrototypeOf(probe);
await probe.close();
for (const name of [
  'write',
  'writev',
  'writeFile',
  'appendFile',
  'sync',
  'datasync',
  'truncate',
  'utimes',
  'chmod',
])
  wrap(proto, name, `fh.${name}`, byHandle);

syncBuiltinESMExports();
