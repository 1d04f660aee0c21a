// Ask the target directory itself how it compares names: one probe file, looked up under its upper-cased and
// its NFD name. Case-insensitivity is a property of the mount (or, with ext4/tmpfs casefold, the directory).
import { randomBytes } from 'node:crypto';
import { lstat, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ioError } from './fsops.js';
import type { NameFolding } from './vtree.js';

const PREFIX = '.trustpin-case-probe-';

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(e, path);
  }
}

/** Create `name` exclusively in `dir`; false when the file system refuses the name itself (no UTF-8 names). */
async function create(path: string): Promise<boolean> {
  try {
    await (await open(path, 'wx', 0o600)).close();
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EILSEQ' || code === 'EINVAL') return false;
    throw ioError(e, path);
  }
}

/**
 * How the file system holding `dir` (an existing directory trustpin owns) compares names. The probe file is
 * removed before this returns; its random part keeps it from meeting anything else in `dir`.
 */
export async function probeNameFolding(dir: string): Promise<NameFolding> {
  const base = `${PREFIX}${randomBytes(6).toString('hex')}`;
  // a precomposed é answers both questions with one file: É (NFC) for case, e + U+0301 for normalisation
  let name = `${base}-\u00e9`;
  let unicode = true;
  if (!(await create(join(dir, name)))) {
    name = base;
    unicode = false;
    if (!(await create(join(dir, name)))) return { caseInsensitive: false, unicodeNormalizing: false };
  }
  try {
    return {
      caseInsensitive: await exists(join(dir, name.toUpperCase())),
      unicodeNormalizing: unicode && (await exists(join(dir, name.normalize('NFD')))),
    };
  } finally {
    await unlink(join(dir, name)).catch(() => undefined);
  }
}
