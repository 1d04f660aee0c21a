// File-system primitives for the unpacker. Each takes a real path whose parents were resolved in the virtual
// tree (real directories trustpin made), creates the last component exclusively and never follows a symlink.
// They are synchronous on purpose: a thread-pool round trip per chmod cost more (futexes) than the syscall.
import { execFile } from 'node:child_process';
import {
  closeSync,
  constants,
  fchmodSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { TrustpinError } from '../errors/index.js';

const run = promisify(execFile);

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface Owner {
  uid: number;
  gid: number;
}

/** Seconds, as utimes wants them; tar has whole seconds, PAX may have fractions. */
function secs(ms: number): number {
  return ms / 1000;
}

export function ioError(e: unknown, real: string): TrustpinError {
  if (e instanceof TrustpinError) return e;
  const err = e as NodeJS.ErrnoException;
  return new TrustpinError('IO_ERROR', `cannot write ${real}: ${err.message}`, {
    found: err.code,
    hint: 'check free space and permissions of the unpack directory',
    cause: e,
  });
}

/** Something unexpected sits at `real` (the tree said it was free): remove it without following it. */
function clear(real: string): void {
  let dir: boolean;
  try {
    dir = lstatSync(real).isDirectory();
  } catch {
    return;
  }
  if (dir) rmSync(real, { recursive: true, force: true });
  else unlinkSync(real);
}

/** Create exclusively; if something is there after all: lstat, remove, create once more. */
function exclusive<T>(real: string, create: () => T): T {
  try {
    return create();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, real);
  }
  try {
    clear(real);
    return create();
  } catch (e) {
    throw ioError(e, real);
  }
}

export function setOwner(real: string, owner: Owner): void {
  try {
    lchownSync(real, owner.uid, owner.gid);
  } catch (e) {
    throw ioError(e, real);
  }
}

export function makeDir(real: string, owner: Owner | undefined): void {
  // 0700 while unpacking (a non-root unpack must be able to write into it); the real mode is set at the end
  exclusive(real, () => mkdirSync(real, { mode: 0o700 }));
  if (owner) setOwner(real, owner);
}

/** A directory's final mode and mtime, through a descriptor opened with O_NOFOLLOW: never a symlink's target. */
export function setDirMeta(real: string, mode: number, mtime: number | undefined): void {
  try {
    const fd = openSync(real, DIR_FLAGS);
    try {
      fchmodSync(fd, mode);
      if (mtime !== undefined) futimesSync(fd, secs(mtime), secs(mtime));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw ioError(e, real);
  }
}

export function makeSymlink(real: string, target: string, mtime: number, owner: Owner | undefined): void {
  exclusive(real, () => symlinkSync(target, real));
  try {
    if (owner) lchownSync(real, owner.uid, owner.gid);
    lutimesSync(real, secs(mtime), secs(mtime));
  } catch (e) {
    throw ioError(e, real);
  }
}

/** link(2) does not follow a symlink at `existing` on Linux: a hard link to a symlink links the symlink. */
export function makeHardlink(existing: string, real: string): void {
  exclusive(real, () => linkSync(existing, real));
}

/** Node has no mknod; coreutils' does the one syscall, on a path whose last component does not exist. */
export async function makeNode(
  real: string,
  kind: 'char' | 'block' | 'fifo',
  mode: number,
  dev: { major: number; minor: number },
  owner: Owner | undefined,
): Promise<void> {
  const type = kind === 'fifo' ? ['p'] : [kind === 'char' ? 'c' : 'b', String(dev.major), String(dev.minor)];
  clear(real);
  try {
    await run('mknod', ['-m', (mode & 0o7777).toString(8), real, ...type]);
  } catch (e) {
    throw ioError(Object.assign(new Error((e as { stderr?: string }).stderr?.trim() || String(e))), real);
  }
  if (owner) setOwner(real, owner);
}

/** Remove a file or a whole directory; rm never follows symlinks, and `real` has no symlink parents. */
export function removeAll(real: string): void {
  try {
    rmSync(real, { recursive: true, force: true });
  } catch (e) {
    throw ioError(e, real);
  }
}
