// The online half of Sigstore trust material: refresh trusted_root.json from a TUF mirror with tuf-js, starting from
// a root.json the caller supplies, into a per-mirror cache under $TRUSTPIN_HOME/sigstore that offline checks read.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Fetcher, Updater } from 'tuf-js';
import { TrustpinError } from '../../errors/index.js';
import type { RegistryOptions } from '../../registry/index.js';
import { deadTemp, fsError, fsyncPath, withLock, writeAtomic } from '../../util/index.js';
import { trustpinHome } from '../dct/store.js';
import { loadTrustedRoot, MAX_TRUSTED_ROOT_BYTES } from './trusted-root.js';
import { tufError } from './tuf-errors.js';
import { DirFetcher, HttpFetcher, requireSecure } from './tuf-fetch.js';

/** Largest root.json, snapshot.json or targets.json read from a Sigstore TUF mirror (default 1 MiB; about 7 KB today). */
export const MAX_SIGSTORE_TUF_METADATA_BYTES = 1024 * 1024;
/** Largest timestamp.json read from a Sigstore TUF mirror (default 16 KiB, tuf-js's own; about 500 B today). */
export const MAX_SIGSTORE_TUF_TIMESTAMP_BYTES = 16 * 1024;
/** Most root versions walked in one refresh (default 64; Sigstore made 15 in four years). */
export const MAX_SIGSTORE_TUF_ROOT_ROTATIONS = 64;
/** The TUF target that holds the Sigstore trusted root. */
export const SIGSTORE_TRUSTED_ROOT_TARGET = 'trusted_root.json';
/** Sigstore's public-good TUF mirror (its root must still come from the caller). */
export const SIGSTORE_PUBLIC_GOOD_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

const METADATA = ['root.json', 'timestamp.json', 'snapshot.json', 'targets.json'] as const;
const STATE = 'state.json';
const CURRENT = 'current';
const GENERATION = /^gen-[0-9a-z]+-[0-9a-f]+$/;
/** a cache keeps the digests of the roots it was reached from (a caller's anchor matches one); bounded */
const MAX_ANCHORS = 64;

export interface RefreshOptions {
  /** an https:// URL (http:// only on loopback), or a directory / file: URL holding a TUF repository */
  mirror: string;
  /**
   * the root.json to start from — the trust anchor, never fetched: Sigstore's published root, or one a refresh
   * cached. When the cache was reached from this same root, the refresh starts from the cached (newer) root.
   */
  initialRoot: Buffer;
  /** $TRUSTPIN_HOME (default: trustpinHome()) */
  home?: string | undefined;
  signal?: AbortSignal | undefined;
  /** HTTP settings for a URL mirror: timeoutMs, attempts, certsDir, env (proxies), onRequest, userAgent */
  http?: RegistryOptions | undefined;
  /** replaces the transport for either kind of mirror (an embedding application); caps still apply in tuf-js */
  fetcher?: Fetcher | undefined;
}

export interface RefreshResult {
  /** the verified trusted_root.json, also checked field by field (loadTrustedRoot) */
  trustedRoot: Buffer;
  /** where it is cached: `$TRUSTPIN_HOME/sigstore/<mirror>/trusted_root.json` (stable across refreshes) */
  path: string;
  /** the version of the TUF root the refresh ended at */
  rootVersion: number;
  /** the cache directory of this mirror */
  cacheDir: string;
  /** false when the cached trusted_root.json was still the signed one and was not downloaded again */
  downloaded: boolean;
  /** the earliest expiry of the metadata now cached: after it, refresh again (offline use may go on) */
  expires: string;
}

/** What a cache generation records beside the TUF metadata. */
interface CacheState {
  mirror: string;
  anchors: string[];
  rootVersion: number;
  trustedRoot: { sha256: string; length: number };
  refreshedAt: string;
  expires: string;
}

interface Mirror {
  key: string;
  shown: string;
  metadataBaseUrl: string;
  targetBaseUrl: string;
  dir?: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A mirror's cache key and URLs: a URL mirror keeps metadata at its top and targets under targets/ (Sigstore's CDN). */
function resolveMirror(mirror: string): Mirror {
  if (/^https?:\/\//i.test(mirror)) {
    if (!URL.canParse(mirror)) throw usage(mirror, 'is not a URL');
    requireSecure(mirror);
    const u = new URL(mirror);
    u.search = '';
    u.hash = '';
    const base = u.toString().replace(/\/+$/, '');
    const path = u.pathname.replace(/\/+$/, '');
    const host = u.host.replace(/[^A-Za-z0-9.-]/g, '_');
    return {
      key: path ? `${host}-${sha256(Buffer.from(base)).slice(0, 12)}` : host,
      shown: base,
      metadataBaseUrl: base,
      targetBaseUrl: `${base}/targets`,
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(mirror) && !/^file:/i.test(mirror)) {
    throw usage(mirror, 'is neither https://, http:// on loopback, file: nor a directory');
  }
  const dir = resolve(/^file:/i.test(mirror) ? fileURLToPath(mirror) : mirror);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw usage(mirror, 'is not a directory');
  const real = realpathSync(dir);
  // root-signing's layout (metadata/, targets/) or a copy of a mirror (metadata at the top, targets/)
  const meta = existsSync(join(real, 'metadata')) ? join(real, 'metadata') : real;
  return {
    key: `dir-${sha256(Buffer.from(real)).slice(0, 16)}`,
    shown: real,
    metadataBaseUrl: pathToFileURL(meta).toString(),
    targetBaseUrl: pathToFileURL(join(real, 'targets')).toString(),
    dir: real,
  };
}

function usage(mirror: string, why: string): TrustpinError {
  return new TrustpinError('USAGE', `TUF mirror ${JSON.stringify(mirror)} ${why}`, {
    expected: 'an https:// URL (http:// only on a loopback address), a file: URL or a directory',
    found: mirror,
    hint: `Sigstore's public mirror is ${SIGSTORE_PUBLIC_GOOD_MIRROR}`,
  });
}

/** The cache directory of one mirror: `$TRUSTPIN_HOME/sigstore/<host>` or `…/dir-<hash of the directory>`. */
export function sigstoreCacheDir(mirror: string, home: string = trustpinHome()): string {
  return join(resolve(home), 'sigstore', resolveMirror(mirror).key);
}

/** The generation `current` names, its state and files; undefined when the mirror was never refreshed. */
function readCache(dir: string): { gen: string; state: CacheState } | undefined {
  let gen: string;
  try {
    gen = readFileSync(join(dir, CURRENT), 'utf8').trim();
  } catch {
    return undefined;
  }
  try {
    if (!GENERATION.test(gen)) throw new Error(`current names ${JSON.stringify(gen.slice(0, 40))}`);
    const state = JSON.parse(readFileSync(join(dir, gen, STATE), 'utf8')) as CacheState;
    if (!Array.isArray(state.anchors) || typeof state.trustedRoot?.sha256 !== 'string') {
      throw new Error('state.json lacks anchors or the trusted root digest');
    }
    return { gen, state };
  } catch (e) {
    throw corrupt(dir, e);
  }
}

function corrupt(dir: string, e: unknown): TrustpinError {
  return new TrustpinError('IO_ERROR', `the Sigstore TUF cache ${dir} is corrupt: ${(e as Error).message}`, {
    hint: `refresh again with the trust anchor (root.json), or remove ${dir}`,
    cause: e,
  });
}

/** What the last successful refresh from a mirror cached (see {@link cachedTrustedRootInfo}). */
export interface CachedTrustedRoot {
  trustedRoot: Buffer;
  /** the stable copy, `$TRUSTPIN_HOME/sigstore/<mirror>/trusted_root.json` */
  path: string;
  rootVersion: number;
  refreshedAt: string;
  /** the earliest expiry of the cached metadata: past it, a refresh is due (offline use still works) */
  expires: string;
}

/**
 * The trusted_root.json the last successful refresh from `mirror` cached, with when it was fetched and when its
 * metadata expires; undefined when there is none. Its digest is checked against the one the signed targets listed.
 */
export function cachedTrustedRootInfo(o: {
  mirror: string;
  home?: string | undefined;
}): CachedTrustedRoot | undefined {
  const dir = sigstoreCacheDir(o.mirror, o.home);
  // a refresh may replace the generation while it is read: then `current` has changed, and the read is done again
  for (let tries = 1; ; tries++) {
    const c = readCache(dir);
    if (!c) return undefined;
    try {
      const bytes = readFileSync(join(dir, c.gen, SIGSTORE_TRUSTED_ROOT_TARGET));
      if (bytes.length !== c.state.trustedRoot.length || sha256(bytes) !== c.state.trustedRoot.sha256) {
        throw new Error('trusted_root.json is not the file the targets metadata signed');
      }
      return {
        trustedRoot: bytes,
        path: join(dir, SIGSTORE_TRUSTED_ROOT_TARGET),
        rootVersion: c.state.rootVersion,
        refreshedAt: c.state.refreshedAt,
        expires: c.state.expires,
      };
    } catch (e) {
      if (tries >= 5 || readCache(dir)?.gen === c.gen) throw corrupt(dir, e);
    }
  }
}

/** The trusted_root.json the last successful refresh from `mirror` cached, for offline checks; undefined if none. */
export function cachedTrustedRoot(o: { mirror: string; home?: string | undefined }): Buffer | undefined {
  return cachedTrustedRootInfo(o)?.trustedRoot;
}

/**
 * Refresh the Sigstore trusted root from a TUF mirror: walk the root versions from `initialRoot` (or from the
 * cached root, when the cache was reached from that same anchor), verify timestamp, snapshot and targets, and
 * download trusted_root.json when its signed digest changed. The new metadata becomes the cache's in one rename;
 * on any failure the previous cache is left as it was.
 */
export async function refreshTrustedRoot(o: RefreshOptions): Promise<RefreshResult> {
  const mirror = resolveMirror(o.mirror);
  if (o.initialRoot.length > MAX_SIGSTORE_TUF_METADATA_BYTES) {
    throw new TrustpinError('TRUSTED_ROOT_INVALID', `the TUF root.json given is too large`, {
      expected: `at most ${MAX_SIGSTORE_TUF_METADATA_BYTES} bytes`,
      found: `${o.initialRoot.length} bytes`,
      hint: "pass Sigstore's root.json (root-signing metadata/root_history/N.root.json)",
    });
  }
  const dir = join(resolve(o.home ?? trustpinHome()), 'sigstore', mirror.key);
  return withLock(dir, () => refreshLocked(o, mirror, dir), 10_000, 'Sigstore TUF cache');
}

async function refreshLocked(o: RefreshOptions, mirror: Mirror, dir: string): Promise<RefreshResult> {
  // a corrupt cache is no reason to refuse the refresh that repairs it: it starts from the anchor instead
  let prev: ReturnType<typeof readCache>;
  try {
    prev = readCache(dir);
  } catch {
    prev = undefined;
  }
  const anchor = sha256(o.initialRoot);
  const from = prev?.state.anchors.includes(anchor) ? prev : undefined;
  const gen = `gen-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const genDir = join(dir, gen);
  const target = join(genDir, SIGSTORE_TRUSTED_ROOT_TARGET);
  const fetcher = o.fetcher ?? makeFetcher(mirror, o);
  try {
    await mkdir(genDir, { recursive: true });
    if (from) {
      // the cached root is newer and reached from this anchor; the cached timestamp and snapshot guard rollback
      for (const f of [...METADATA, SIGSTORE_TRUSTED_ROOT_TARGET]) {
        await copyFile(join(dir, from.gen, f), join(genDir, f)).catch(() => undefined);
      }
    } else {
      await writeFile(join(genDir, 'root.json'), o.initialRoot);
    }
    const updater = newUpdater(mirror, genDir, fetcher, from !== undefined);
    aborted(o.signal);
    await updater.refresh();
    aborted(o.signal);
    const info = await updater.getTargetInfo(SIGSTORE_TRUSTED_ROOT_TARGET);
    if (!info) {
      throw new TrustpinError(
        'TUF_TARGET_NOT_FOUND',
        `${mirror.shown} signs no ${SIGSTORE_TRUSTED_ROOT_TARGET}`,
        {
          expected: `a target ${SIGSTORE_TRUSTED_ROOT_TARGET} in the signed targets metadata`,
          found: 'none',
          hint: 'this TUF repository is not a Sigstore one; pass the mirror of your Sigstore deployment',
        },
      );
    }
    if (info.length > MAX_TRUSTED_ROOT_BYTES) {
      throw new TrustpinError('SIZE_EXCEEDED', `${SIGSTORE_TRUSTED_ROOT_TARGET} is too large`, {
        expected: `at most ${MAX_TRUSTED_ROOT_BYTES} bytes (MAX_TRUSTED_ROOT_BYTES)`,
        found: `${info.length} bytes (signed length)`,
      });
    }
    const downloaded = !(await updater.findCachedTarget(info, target));
    if (downloaded) await updater.downloadTarget(info, target);
    const trustedRoot = readFileSync(target);
    // signed is not the same as usable: the fields are checked as for a --trusted-root file
    loadTrustedRoot(trustedRoot, `${SIGSTORE_TRUSTED_ROOT_TARGET} from ${mirror.shown}`);
    const state = newState(mirror, genDir, from?.state.anchors ?? [], anchor, trustedRoot);
    await writeFile(join(genDir, STATE), `${JSON.stringify(state, null, 2)}\n`);
    await syncDir(genDir);
    await writeAtomic(join(dir, CURRENT), `${gen}\n`);
    const path = join(dir, SIGSTORE_TRUSTED_ROOT_TARGET);
    await writeAtomic(path, trustedRoot);
    await sweep(dir, gen);
    return {
      trustedRoot,
      path,
      rootVersion: state.rootVersion,
      cacheDir: dir,
      downloaded,
      expires: state.expires,
    };
  } catch (e) {
    const err = tufError(e, mirror.shown, genDir, fetcher);
    await rm(genDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  } finally {
    if (fetcher instanceof HttpFetcher) await fetcher.close();
  }
}

function makeFetcher(mirror: Mirror, o: RefreshOptions): Fetcher {
  const cap = (url: string) =>
    url.startsWith(mirror.targetBaseUrl)
      ? MAX_TRUSTED_ROOT_BYTES
      : url.endsWith('timestamp.json')
        ? MAX_SIGSTORE_TUF_TIMESTAMP_BYTES
        : MAX_SIGSTORE_TUF_METADATA_BYTES;
  if (mirror.dir) return new DirFetcher(cap, mirror.dir, o.signal);
  return new HttpFetcher(cap, { ...o.http, ...(o.signal ? { signal: o.signal } : {}) }, o.signal);
}

function newUpdater(mirror: Mirror, genDir: string, fetcher: Fetcher, fromCache: boolean): Updater {
  try {
    return new Updater({
      metadataDir: genDir,
      metadataBaseUrl: mirror.metadataBaseUrl,
      targetDir: genDir,
      targetBaseUrl: mirror.targetBaseUrl,
      fetcher,
      config: {
        maxRootRotations: MAX_SIGSTORE_TUF_ROOT_ROTATIONS,
        rootMaxLength: MAX_SIGSTORE_TUF_METADATA_BYTES,
        timestampMaxLength: MAX_SIGSTORE_TUF_TIMESTAMP_BYTES,
        snapshotMaxLength: MAX_SIGSTORE_TUF_METADATA_BYTES,
        targetsMaxLength: MAX_SIGSTORE_TUF_METADATA_BYTES,
      },
    });
  } catch (e) {
    throw new TrustpinError(
      fromCache ? 'IO_ERROR' : 'TRUSTED_ROOT_INVALID',
      `${fromCache ? 'the cached' : 'the given'} TUF root.json is not a self-signed TUF root: ${(e as Error).message}`,
      {
        expected: 'a TUF root.json signed by its own root keys (threshold)',
        found: (e as Error).message,
        hint: fromCache
          ? 'remove the cache directory and refresh again'
          : "pass Sigstore's root.json (root-signing metadata/root_history/N.root.json) or your deployment's",
        cause: e,
      },
    );
  }
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new TrustpinError('ABORTED', 'Sigstore TUF refresh: aborted', { cause: signal.reason });
}

/** Parsed only now: every document in genDir has been verified by tuf-js. */
function newState(
  mirror: Mirror,
  genDir: string,
  before: string[],
  anchor: string,
  trustedRoot: Buffer,
): CacheState {
  const signed = (f: string) =>
    (JSON.parse(readFileSync(join(genDir, f), 'utf8')) as { signed: { version: number; expires: string } })
      .signed;
  const root = readFileSync(join(genDir, 'root.json'));
  const expires = METADATA.map((f) => signed(f).expires).sort((a, b) => Date.parse(a) - Date.parse(b))[0]!;
  const anchors = [...new Set([...before, anchor, sha256(root)])].slice(-MAX_ANCHORS);
  return {
    mirror: mirror.shown,
    anchors,
    rootVersion: signed('root.json').version,
    trustedRoot: { sha256: sha256(trustedRoot), length: trustedRoot.length },
    refreshedAt: new Date().toISOString(),
    expires,
  };
}

/** tuf-js writes its files without fsync; they must be on disk before `current` names them. */
async function syncDir(d: string): Promise<void> {
  try {
    for (const f of await readdir(d)) await fsyncPath(join(d, f));
  } catch (e) {
    throw fsError(e, `cannot write ${d}`);
  }
}

/** Other generations (replaced, or a killed refresh's) and dead writers' temp files; under the lock. */
async function sweep(dir: string, current: string): Promise<void> {
  for (const e of readdirSync(dir)) {
    if ((GENERATION.test(e) && e !== current) || deadTemp(e)) {
      await rm(join(dir, e), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
