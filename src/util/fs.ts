// Crash-safe file writes (temp + fsync + rename + directory fsync) and a PID lock file, so a killed process never
// leaves a partial file or a corrupt store, and two processes never write the same store at once.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TrustpinError } from '../errors/index.js';

/** writeAtomic's temp files, `.<pid>-<hex>.tmp`: the PID tells a killed writer's leftovers from a live one's. */
export const ATOMIC_TEMP = /^\.(\d+)-[0-9a-f]+\.tmp$/;

/** Is `name` a temp file of writeAtomic whose process is gone? */
export function deadTemp(name: string): boolean {
  const pid = Number(ATOMIC_TEMP.exec(name)?.[1]);
  return pid > 0 && pid !== process.pid && !alive(pid);
}

/** A failed file-system call (ENOSPC, EACCES, EIO…) as IO_ERROR naming the path; other errors unchanged. */
export function fsError(e: unknown, what: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (e instanceof TrustpinError || typeof err?.code !== 'string' || typeof err.syscall !== 'string')
    return e;
  return new TrustpinError('IO_ERROR', `${what}: ${err.message}`, {
    found: err.code,
    hint: 'check free space and permissions',
    cause: e,
  });
}

/** Write `path` whole or not at all: temp file, fsync, rename, fsync of the directory. */
export async function writeAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'wx', mode);
    try {
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    await fsyncPath(dir);
  } catch (e) {
    throw fsError(e, `cannot write ${path}`);
  }
}

/** Flush a file or directory someone already wrote (a directory: the names in it) to disk. */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Is a process with this PID running (ours to see or not)? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Make `dir/.lock` hold our PID in one step: the PID goes into a temp file that is then hard-linked to the lock's
 * name (which fails if the lock exists), so a process killed at any point never leaves an empty lock that no one
 * can tell is stale. Temp files of dead processes (`.lock-<pid>-…`) are removed on the way.
 */
async function tryLock(dir: string, lock: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    // another holder of this lock removed the directory it left empty (TrustStore.withLock prunes): make it again
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, `cannot lock ${dir}`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e2) {
      throw fsError(e2, `cannot create ${dir}`);
    }
    return false;
  }
  for (const e of entries) {
    const pid = Number(/^\.lock-(\d+)-/.exec(e)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) await rm(join(dir, e), { force: true });
  }
  const tmp = join(dir, `.lock-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(tmp, String(process.pid), { flag: 'wx' });
    await link(tmp, lock);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // the directory was pruned between the listing and the write: the caller's loop makes it again
    if (code === 'ENOENT' && !existsSync(dir)) return false;
    throw fsError(e, `cannot lock ${dir}`);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Hold `dir/.lock` while `fn` runs. A lock left by a dead process is taken over. */
export async function withLock<T>(
  dir: string,
  fn: () => Promise<T>,
  timeoutMs = 10_000,
  what = 'trust store',
): Promise<T> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fsError(e, `cannot create ${dir}`);
  }
  const lock = join(dir, '.lock');
  const deadline = Date.now() + timeoutMs;
  while (!(await tryLock(dir, lock))) {
    const owner = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    // a lock is never empty now (tryLock links it in whole); an empty one is an earlier version's, cut short
    const cutShort = !owner && Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? 0) > 2000;
    if ((owner && !alive(owner)) || cutShort) {
      await rm(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new TrustpinError('TRUST_STORE_LOCKED', `${what} ${dir} is locked by process ${owner || '?'}`, {
        hint: `wait for it to finish; if no trustpin is running, remove ${lock}`,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
