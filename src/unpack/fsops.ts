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
  readdirSync,
  rmdirSync,
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

/** What to do about a failed write, by errno: only a real I/O failure is IO_ERROR, and it names the path. */
function ioHint(code: string | undefined): string {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the file system holding the unpack directory is full; free space or choose another directory';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'check the permissions of the unpack directory (and that its file system is writable)';
    case 'ENAMETOOLONG':
      return 'the path is longer than this system allows below the unpack directory; choose a shorter one';
    default:
      return 'check free space and permissions of the unpack directory';
  }
}

export function ioError(e: unknown, real: string): TrustpinError {
  if (e instanceof TrustpinError) return e;
  const err = e as NodeJS.ErrnoException;
  // a system call's failure has an errno code; anything else (a RangeError, a TypeError) is trustpin's bug,
  // not the disk's, and must not send the user to check free space
  if (typeof err?.code !== 'string' || !/^E[A-Z0-9]+$/.test(err.code))
    return new TrustpinError(
      'INTERNAL',
      `unexpected failure while writing ${real}: ${String(err?.message ?? e)}`,
      {
        cause: e,
      },
    );
  return new TrustpinError('IO_ERROR', `cannot write ${real}: ${err.message}`, {
    found: err.code,
    hint: ioHint(err.code),
    cause: e,
  });
}

/**
 * Remove a file or a whole directory tree without recursion (a tree may be thousands of directories deep, which
 * overflowed rmSync's recursive walk) and without following a symlink: readdir's types are lstat's.
 */
export function removeTree(top: string): void {
  let dir: boolean;
  try {
    dir = lstatSync(top).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!dir) {
    unlinkSync(top);
    return;
  }
  const stack = [top];
  while (stack.length > 0) {
    const d = stack.at(-1)!;
    let sub = false;
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${ent.name}`;
      if (ent.isDirectory()) {
        stack.push(p);
        sub = true;
      } else unlinkSync(p);
    }
    // a directory with subdirectories is read once more after they are gone, then removed
    if (!sub) {
      rmdirSync(d);
      stack.pop();
    }
  }
}

/** Something unexpected sits at `real` (the tree said it was free): remove it without following it. */
function clear(real: string): void {
  removeTree(real);
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

/** Remove a file or a whole directory; never follows symlinks, and `real` has no symlink parents. */
export function removeAll(real: string): void {
  try {
    removeTree(real);
  } catch (e) {
    throw ioError(e, real);
  }
}
