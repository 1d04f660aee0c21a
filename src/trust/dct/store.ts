// The DCT trust store under $TRUSTPIN_HOME (default ~/.trustpin): per repository (GUN), never per server — the
// verified Notary metadata whose root is the trust pin, and the root keys a user pinned explicitly (pin.json).
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { TrustpinError } from '../../errors/index.js';
import { withLock, writeAtomic } from '../../util/index.js';

/** The trustpin home directory: `$TRUSTPIN_HOME`, else `~/.trustpin`. */
export function trustpinHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRUSTPIN_HOME ?? join(homedir(), '.trustpin');
}

const SAFE_NAME = /^(root|timestamp|snapshot|targets)\.json$|^targets(\/[-a-z0-9_]+)+\.json$/;
const PIN_FILE = 'pin.json';
/**
 * The metadata lives in a generation directory that `current` names: a new set of documents is written into a
 * fresh generation, which becomes the store's only when `current` is renamed over — one atomic step, so a process
 * killed at any point leaves the old set or the new one, never some documents of each.
 */
const CURRENT = 'current';
const GENERATION = /^metadata-[0-9a-z]+-[0-9a-f]+$/;
/** temp files of writeAtomic (and of versions before it named them by PID): under the lock, a killed writer's */
const TEMP = /^\.(\d+-)?[0-9a-f]+\.tmp$/;

/** Root keys a user pinned for one repository (`trustpin trust pin`). */
export interface DctPin {
  rootKeyIds: string[];
  pinnedAt: string;
}

/**
 * Verified trust data per repository. A repository is its GUN: pointing at another notary server does not make
 * it a new repository (docker and notary keep trust per GUN too), so another server's root is a changed root.
 */
export class TrustStore {
  constructor(readonly home: string = trustpinHome()) {}

  /**
   * The directory of one repository's trust data: one path component per GUN (percent-encoded), so a repository
   * whose name extends another's (`org/app` and `org/app/targets`) can never read or remove the other's files.
   */
  dir(gun: string): string {
    if (gun.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new TrustpinError('USAGE', `repository name ${JSON.stringify(gun)} cannot be stored`);
    }
    return join(resolve(this.home, 'dct'), encodeURIComponent(gun));
  }

  /** Verified metadata cached for this GUN (file name → bytes); empty when never seen. */
  load(gun: string): Map<string, Buffer> {
    const dir = this.dir(gun);
    const out = readCurrent(dir);
    return out.size > 0 ? out : this.legacy(gun);
  }

  /** Stores written before trust was kept per GUN (`trust/<server>/<gun>`): used when exactly one server has it. */
  private legacy(gun: string): Map<string, Buffer> {
    const base = join(this.home, 'trust');
    if (!existsSync(base)) return new Map();
    const found = readdirSync(base)
      .map((server) => join(base, server, gun))
      .filter((d) => existsSync(join(d, 'root.json')));
    return found.length === 1 ? readMetadata(found[0]!) : new Map();
  }

  /**
   * Whether the store's current generation holds exactly the documents {@link save} would keep of `files` — then
   * saving them would change nothing. An earlier version's layout never counts (saving moves it to the new one).
   */
  holds(gun: string, files: Map<string, Buffer>): boolean {
    const keep = [...files].filter(([n]) => SAFE_NAME.test(n));
    const dir = this.dir(gun);
    if (!currentName(dir)) return false;
    const have = readCurrent(dir);
    return have.size === keep.length && keep.every(([n, b]) => have.get(n)?.equals(b));
  }

  /**
   * Replace the cached metadata with `files` (only verified documents are ever passed here; call it under
   * {@link withLock}). The documents go into a new generation, which `current` then names in one rename.
   */
  async save(gun: string, files: Map<string, Buffer>): Promise<void> {
    const dir = this.dir(gun);
    const keep = new Map([...files].filter(([n]) => SAFE_NAME.test(n)));
    const have = readCurrent(dir);
    // unchanged documents are not rewritten: a warm run costs no fsync
    if (have.size === keep.size && [...keep].every(([n, b]) => have.get(n)?.equals(b))) {
      await this.sweep(dir, currentName(dir));
      return;
    }
    const gen = `metadata-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    try {
      for (const [n, b] of keep) await writeAtomic(join(dir, gen, ...n.split('/')), b);
      await writeAtomic(join(dir, CURRENT), `${gen}\n`);
    } catch (e) {
      // the old generation is still the current one; the new one is removed, not left for the next save
      await rm(join(dir, gen), { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
    await this.sweep(dir, gen);
  }

  /**
   * Remove what is no longer the store's: other generations (the one replaced, or one a killed writer never
   * made current), documents of the flat layout of earlier versions, and killed writers' temp files.
   */
  private async sweep(dir: string, current: string | undefined): Promise<void> {
    if (!current) return;
    for (const e of existsSync(dir) ? readdirSync(dir) : []) {
      const stale =
        (GENERATION.test(e) && e !== current) || TEMP.test(e) || e === 'targets' || SAFE_NAME.test(e);
      if (stale) await rm(join(dir, e), { recursive: true, force: true });
    }
  }

  /** The root keys pinned for this GUN, if any. */
  pin(gun: string): DctPin | undefined {
    const p = join(this.dir(gun), PIN_FILE);
    if (!existsSync(p)) return undefined;
    try {
      const doc = JSON.parse(readFileSync(p, 'utf8')) as DctPin;
      if (Array.isArray(doc.rootKeyIds) && doc.rootKeyIds.every((k) => typeof k === 'string')) return doc;
    } catch {
      // fall through
    }
    throw new TrustpinError('IO_ERROR', `the pin file ${p} is corrupt`, {
      hint: `pin the key again (trust pin) or remove ${p}`,
    });
  }

  /** Pin root keys for this GUN; they win over the cached root until the pin is changed or forgotten. */
  async setPin(gun: string, rootKeyIds: string[]): Promise<void> {
    const pin: DctPin = { rootKeyIds, pinnedAt: new Date().toISOString() };
    await this.withLock(gun, () => writeAtomic(join(this.dir(gun), PIN_FILE), `${JSON.stringify(pin)}\n`));
  }

  /** Forget everything about this GUN: cached metadata and pins. Returns whether there was anything. */
  async forget(gun: string): Promise<boolean> {
    const dir = this.dir(gun);
    const had = existsSync(dir) || this.legacy(gun).size > 0;
    await this.withLock(gun, async () => {
      for (const e of existsSync(dir) ? readdirSync(dir) : []) {
        if (e !== '.lock') await rm(join(dir, e), { recursive: true, force: true });
      }
    });
    // legacy per-server copies too, or the next load would bring them back
    const base = join(this.home, 'trust');
    for (const server of existsSync(base) ? readdirSync(base) : []) {
      await rm(join(base, server, gun), { recursive: true, force: true });
    }
    this.prune(dir);
    return had;
  }

  /**
   * Hold this GUN's lock; a directory that the call created and left empty is removed afterwards. Callers in this
   * process queue for it first (one webhook judges many tags of one repository at once): the file lock is only
   * contended between processes, whose waiter polls — a waiter in the same process takes it as soon as it is free.
   */
  async withLock<T>(gun: string, fn: () => Promise<T>): Promise<T> {
    const dir = this.dir(gun);
    const before = inProcess.get(dir) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = before.then(() => mine);
    inProcess.set(dir, tail);
    await before;
    try {
      const existed = existsSync(dir);
      try {
        return await withLock(dir, fn);
      } finally {
        if (!existed) this.prune(dir);
      }
    } finally {
      release();
      if (inProcess.get(dir) === tail) inProcess.delete(dir);
    }
  }

  /** Remove `dir` if it is empty (then the store root too, if that is empty). */
  private prune(dir: string): void {
    for (const d of [dir, dirname(dir)]) {
      try {
        if (readdirSync(d).length > 0) return;
        rmdirSync(d);
      } catch {
        return;
      }
    }
  }
}

/** Per GUN directory, the end of the queue of this process's callers of {@link TrustStore.withLock}. */
const inProcess = new Map<string, Promise<void>>();

/** The generation `current` names, when it names one. */
function currentName(dir: string): string | undefined {
  try {
    const name = readFileSync(join(dir, CURRENT), 'utf8').trim();
    return GENERATION.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The current generation's documents (or, in a store of an earlier version, the flat files). A writer may replace
 * the generation while it is read: then `current` has changed, and the read is done again.
 */
function readCurrent(dir: string): Map<string, Buffer> {
  for (let tries = 1; ; tries++) {
    const gen = currentName(dir);
    if (!gen) return readMetadata(dir);
    const settled = () => tries >= 5 || currentName(dir) === gen;
    try {
      const out = readMetadata(join(dir, gen), true);
      if (settled()) return out;
    } catch (e) {
      if (settled()) {
        throw new TrustpinError('IO_ERROR', `the trust store ${dir} is corrupt: ${(e as Error).message}`, {
          hint: `forget the repository (trust forget) and verify again, or remove ${dir}`,
          cause: e,
        });
      }
    }
  }
}

function readMetadata(dir: string, strict = false): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!strict && !existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const name = relative(dir, p).split(sep).join('/');
        if (SAFE_NAME.test(name)) out.set(name, readFileSync(p));
      }
    }
  };
  walk(dir);
  return out;
}
