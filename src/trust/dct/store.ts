// The trust store under $TRUSTPIN_HOME (default ~/.trustpin): verified Notary metadata per server and GUN.
// Its cached root is the trust pin for later runs (TOFU unless keys are pinned). Writes are atomic and locked.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { TrustpinError } from '../../errors/index.js';
import { withLock, writeAtomic } from '../../util/fs.js';

export function trustpinHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRUSTPIN_HOME ?? join(homedir(), '.trustpin');
}

const SAFE_NAME = /^(root|timestamp|snapshot|targets)\.json$|^targets(\/[-a-z0-9_]+)+\.json$/;

export class TrustStore {
  constructor(readonly home: string = trustpinHome()) {}

  dir(server: string, gun: string): string {
    const base = resolve(this.home, 'trust');
    const d = resolve(base, server.replace(/[^A-Za-z0-9.:_-]/g, '_'), gun);
    if (!d.startsWith(base + sep) || gun.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new TrustpinError('USAGE', `repository name ${JSON.stringify(gun)} cannot be stored`);
    }
    return d;
  }

  /** Verified metadata cached for this server and GUN (file name → bytes); empty when never seen. */
  load(server: string, gun: string): Map<string, Buffer> {
    const dir = this.dir(server, gun);
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

  /** Replace the cached metadata with `files` (only verified documents are ever passed here). */
  async save(server: string, gun: string, files: Map<string, Buffer>): Promise<void> {
    const dir = this.dir(server, gun);
    // root last: a crash before it leaves the previous root as the trust pin
    const names = [...files.keys()]
      .filter((n) => SAFE_NAME.test(n))
      .sort((a, b) => (a === 'root.json' ? 1 : b === 'root.json' ? -1 : 0));
    const have = this.load(server, gun);
    for (const n of names) {
      const b = files.get(n)!;
      // unchanged documents are not rewritten: a warm run costs no fsync
      if (!have.get(n)?.equals(b)) await writeAtomic(join(dir, n), b);
    }
  }

  withLock<T>(server: string, gun: string, fn: () => Promise<T>): Promise<T> {
    return withLock(this.dir(server, gun), fn);
  }
}
