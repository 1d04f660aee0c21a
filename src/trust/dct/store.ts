// The DCT trust store under $TRUSTPIN_HOME (default ~/.trustpin): per repository (GUN), never per server — the
// verified Notary metadata whose root is the trust pin, and the root keys a user pinned explicitly (pin.json).
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
    const out = readMetadata(dir);
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

  /** Replace the cached metadata with `files` (only verified documents are ever passed here). */
  async save(gun: string, files: Map<string, Buffer>): Promise<void> {
    const dir = this.dir(gun);
    // root last: a crash before it leaves the previous root as the trust pin
    const names = [...files.keys()]
      .filter((n) => SAFE_NAME.test(n))
      .sort((a, b) => (a === 'root.json' ? 1 : b === 'root.json' ? -1 : 0));
    const have = readMetadata(dir);
    for (const n of names) {
      const b = files.get(n)!;
      // unchanged documents are not rewritten: a warm run costs no fsync
      if (!have.get(n)?.equals(b)) await writeAtomic(join(dir, n), b);
    }
    // documents the new trust data no longer has (a removed delegation, a replaced root's roles) go
    for (const n of have.keys()) if (!files.has(n)) await rm(join(dir, n), { force: true });
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

  /** Hold this GUN's lock; a directory that the call created and left empty is removed afterwards. */
  async withLock<T>(gun: string, fn: () => Promise<T>): Promise<T> {
    const dir = this.dir(gun);
    const existed = existsSync(dir);
    try {
      return await withLock(dir, fn);
    } finally {
      if (!existed) this.prune(dir);
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

function readMetadata(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!existsSync(dir)) return out;
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
