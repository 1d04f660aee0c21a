// The Notary client update, as notary does it: trusted root (cache, pins or TOFU) → timestamp → snapshot →
// targets → delegations, each capped by the length its parent signed, with root rotation, rollback and expiry
// checks. It owns the I/O and the state; the checks of single documents live in metadata.ts and root.ts.
import { TrustpinError } from '../../errors/index.js';
import { settleLater } from '../../util/index.js';
import { canonicalKeyId, type TufKey } from './keys.js';
import {
  checkExpiry,
  checkFileMeta,
  type DelegationRole,
  type Envelope,
  type FileMeta,
  parseEnvelope,
  type RootSigned,
  type SnapshotSigned,
  type TargetsSigned,
  type TimestampSigned,
  verifyThreshold,
} from './metadata.js';
import { type RootCheck, verifyRootRotation, verifyRootSelf } from './root.js';
import type { TrustSource } from './source.js';

const ROOT_MAX = 1024 * 1024;
/**
 * Most root versions walked in one update (python-tuf stops at 32): every intermediate version is fetched, so a
 * root claiming version 2^53 would otherwise be a loop of requests that never ends.
 */
export const MAX_ROOT_ROTATIONS = 256;
const TIMESTAMP_MAX = 1024 * 1024;
/**
 * Longest snapshot, targets or delegation document read (default 16 MiB; notary's own client allows 100 MiB).
 * Their lengths are signed by the parent, but the notary server holds the timestamp (often the snapshot) key, so
 * a signed length alone would let it stream gigabytes into memory. Longer is SIZE_EXCEEDED before any fetch.
 */
export const MAX_METADATA_LENGTH = 16 * 1024 * 1024;

export interface UpdateOptions {
  gun: string;
  source: TrustSource;
  /** verified metadata from an earlier run (file name → bytes); its root is the trust pin */
  cached?: Map<string, Buffer>;
  /** root key IDs the root must be signed with (either the root.json ID or the canonical ID) */
  pinnedRootKeys?: string[];
  /** the time expiry and certificate validity are judged at */
  now: number;
  allowExpiredRoot?: boolean;
  /** accept a root with no cached pin and no pinned keys (trust on first use); default true */
  allowFirstUse?: boolean;
  /** cancels every fetch; the update rejects with ABORTED */
  signal?: AbortSignal | undefined;
}

/** How the root was trusted: keys the user pinned, the root cached by an earlier run, or first use. */
export type RootTrust = 'pinned' | 'cached' | 'first-use';

export interface LoadedDelegation {
  role: DelegationRole;
  /** the paths this role may sign, after restriction by its parents */
  paths: string[];
  doc: Envelope<TargetsSigned>;
  keys: Record<string, TufKey>;
}

export interface TrustedRepo {
  gun: string;
  source: string;
  root: Envelope<RootSigned>;
  /** the root came from this run with no earlier pin and no pinned keys */
  firstUse: boolean;
  pinnedBy: RootTrust;
  /** explicitly pinned keys replaced a cached root that they do not sign */
  replacedCachedRoot?: boolean;
  rootRotatedFrom?: number;
  timestamp: Envelope<TimestampSigned>;
  snapshot: Envelope<SnapshotSigned>;
  targets: Envelope<TargetsSigned>;
  /** delegations that verified, in notary's pre-order */
  delegations: LoadedDelegation[];
  /** delegations skipped as notary skips them (expired, below threshold), and other non-fatal notes */
  warnings: string[];
  /** the verified documents, to cache */
  files: Map<string, Buffer>;
}

/** Delegated roles fetched ahead of their turn (notary repositories have one to a few: targets/releases, …). */
const DELEGATIONS_AHEAD = 8;

class Run {
  private readonly files = new Map<string, Buffer>();
  /** the cache in force: dropped when explicitly pinned keys do not sign the cached root */
  private cache: Map<string, Buffer> | undefined;
  private replacedCachedRoot = false;
  constructor(private readonly o: UpdateOptions) {
    this.cache = o.cached;
  }

  private get rc(): RootCheck {
    return { gun: this.o.gun, now: this.o.now, allowExpiredRoot: this.o.allowExpiredRoot };
  }

  /** documents asked for ahead of their turn (see prefetch), each taken once */
  private readonly early = new Map<string, Promise<Buffer | undefined>>();

  /**
   * On the network, the documents an update needs are asked for at once rather than one round trip after
   * another: timestamp.json, and — when nothing is cached for them — the current snapshot.json and targets.json
   * by name (their hashes are known only once the timestamp and snapshot are verified). They are data until then:
   * each is checked against the length and hash its parent names, exactly like a by-hash fetch, and one that does
   * not match is fetched again by hash. Against a notary 50 ms away, a cold update is two round trips shorter.
   */
  private prefetch(): void {
    if (!this.o.source.network) return;
    // each is taken (and its failure seen) by get or fetchMeta, or never needed
    const ask = (name: string, max: number) =>
      this.early.set(name, settleLater(this.o.source.fetch(this.o.gun, name, max, this.o.signal)));
    ask('timestamp.json', TIMESTAMP_MAX);
    for (const role of ['snapshot', 'targets'])
      if (!this.cache?.has(`${role}.json`)) ask(`${role}.json`, MAX_METADATA_LENGTH);
  }

  private take(name: string): Promise<Buffer | undefined> | undefined {
    const p = this.early.get(name);
    this.early.delete(name);
    return p;
  }

  private async get(name: string, max: number, what: string): Promise<Buffer> {
    const b = await (this.take(name) ?? this.o.source.fetch(this.o.gun, name, max, this.o.signal));
    if (!b) {
      throw new TrustpinError(
        'TRUST_DATA_NOT_FOUND',
        `${this.o.source.describe} has no ${what} for ${this.o.gun}`,
        {
          hint: this.o.source.network
            ? 'the repository is not signed (no trust data), or the GUN is wrong'
            : 'the archive lacks this file',
        },
      );
    }
    return b;
  }

  private cachedDoc<T>(role: string): Envelope<T> | undefined {
    const b = this.cache?.get(`${role}.json`);
    if (!b) return undefined;
    try {
      return parseEnvelope<T>(role, b);
    } catch {
      return undefined;
    }
  }

  private checkPins(root: Envelope<RootSigned>): void {
    const pins = this.o.pinnedRootKeys;
    if (!pins?.length) return;
    const keys: Record<string, TufKey> = {};
    const seen: string[] = [];
    for (const id of root.signed.roles.root.keyids) {
      const k = root.signed.keys[id]!;
      const canon = canonicalKeyId(k);
      seen.push(`${id} (canonical ${canon})`);
      if (pins.some((p) => p.length >= 12 && (id.startsWith(p) || canon.startsWith(p)))) keys[id] = k;
    }
    if (Object.keys(keys).length === 0) {
      throw new TrustpinError(
        'ROOT_KEY_MISMATCH',
        `the root of ${this.o.gun} is not signed with the pinned root key`,
        {
          expected: pins.join(', '),
          found: seen.join(', '),
          hint: 'the repository root key is not the one you pinned: do not trust this image (or update your pin if the publisher announced a new key)',
        },
      );
    }
    try {
      verifyThreshold(root, keys, root.signed.roles.root);
    } catch (e) {
      throw new TrustpinError(
        'ROOT_KEY_MISMATCH',
        `the root of ${this.o.gun} lacks a valid signature by the pinned root key`,
        {
          expected: pins.join(', '),
          found: e instanceof TrustpinError ? (e.found ?? e.message) : String(e),
        },
      );
    }
  }

  /** Do the pinned keys sign this root (by either ID form)? */
  private signedByPins(root: Envelope<RootSigned>): boolean {
    try {
      this.checkPins(root);
      return true;
    } catch (e) {
      if (e instanceof TrustpinError && e.code === 'ROOT_KEY_MISMATCH') return false;
      throw e;
    }
  }

  /**
   * The root to start from. Pinned keys win: a cached root they sign is the start, one they do not sign is
   * set aside (replaced only if this run verifies under the pin). Else the cached root, else first use.
   */
  private async bootstrap(): Promise<{ root: Envelope<RootSigned>; pinnedBy: RootTrust }> {
    const pinned = Boolean(this.o.pinnedRootKeys?.length);
    const cached = this.cachedDoc<RootSigned>('root');
    if (cached && (!pinned || this.signedByPins(cached)))
      return { root: cached, pinnedBy: pinned ? 'pinned' : 'cached' };
    if (cached) {
      this.cache = undefined;
      this.replacedCachedRoot = true;
    }
    if (!pinned && this.o.allowFirstUse === false) {
      throw new TrustpinError('FIRST_USE_REFUSED', `no pinned root for ${this.o.gun}`, {
        expected: 'a root key pinned for this repository, or its root cached by an earlier verification',
        found: 'no pin: its root would be trusted on first use',
        hint: `pin the publisher's root key (option rootKeyIds, or trust pin ${this.o.gun} KEYID), or allow first use`,
      });
    }
    // Offline sources may hold every root version: on first use start at the oldest so rotations are checked
    // too. Pinned keys replace that history: the newest root must simply be signed by them.
    const first =
      this.o.source.network || pinned
        ? undefined
        : await this.o.source.fetch(this.o.gun, '1.root.json', ROOT_MAX, this.o.signal);
    const root = parseEnvelope<RootSigned>(
      'root',
      first ?? (await this.get('root.json', ROOT_MAX, 'root.json')),
    );
    verifyRootSelf(root, this.rc);
    this.checkPins(root);
    return { root, pinnedBy: pinned ? 'pinned' : 'first-use' };
  }

  /** Move to the newest root the source has, each version signed by its predecessor (notary's updateRoot). */
  private async updateRoot(trusted: Envelope<RootSigned>): Promise<Envelope<RootSigned>> {
    const latest = parseEnvelope<RootSigned>('root', await this.get('root.json', ROOT_MAX, 'root.json'));
    const v = trusted.signed.version;
    if (latest.signed.version < v) {
      // an older root the trusted keys never signed is not a rollback of this repository: it is another root
      if (!this.signedByRootOf(trusted, latest)) throw this.rootChanged(trusted, latest);
      throw new TrustpinError(
        'TUF_ROLLBACK',
        `the server's root is version ${latest.signed.version}, older than the trusted version ${v}`,
        {
          expected: `root version ≥ ${v}`,
          found: String(latest.signed.version),
          hint: 'rollback attack or a restored server: do not trust this repository',
        },
      );
    }
    if (latest.signed.version === v) {
      if (latest.raw.equals(trusted.raw)) return trusted;
      throw this.rootChanged(trusted, latest);
    }
    if (latest.signed.version - v > MAX_ROOT_ROTATIONS)
      throw new TrustpinError(
        'TUF_ROOT_ROTATION_FAILED',
        `the server's root is version ${latest.signed.version}, ${latest.signed.version - v} versions after the trusted version ${v}`,
        {
          expected: `at most ${MAX_ROOT_ROTATIONS} root rotations in one update`,
          found: String(latest.signed.version),
          hint: 'each intermediate root would be fetched in turn: a hostile server, or forget and re-pin the repository after checking its new root out of band',
        },
      );
    let prev = trusted;
    for (let n = v + 1; n < latest.signed.version; n++) {
      const b = await this.o.source.fetch(this.o.gun, `${n}.root.json`, ROOT_MAX, this.o.signal);
      if (!b) continue;
      const mid = parseEnvelope<RootSigned>('root', b);
      if (mid.signed.version !== n) continue;
      this.rotate(prev, mid, false);
      prev = mid;
    }
    this.rotate(prev, latest, true);
    return latest;
  }

  private signedByRootOf(trusted: Envelope<RootSigned>, other: Envelope<RootSigned>): boolean {
    try {
      verifyRootRotation(trusted, other, this.rc);
      return true;
    } catch {
      return false;
    }
  }

  private rotate(prev: Envelope<RootSigned>, next: Envelope<RootSigned>, newest: boolean): void {
    try {
      verifyRootRotation(prev, next, this.rc);
    } catch (e) {
      throw e instanceof TrustpinError && e.code === 'TUF_ROOT_ROTATION_FAILED' && prev.signed.version >= 1
        ? this.rootChanged(prev, next)
        : e;
    }
    // intermediate roots may have expired certificates (notary's LoadRootForUpdate); the newest may not
    verifyRootSelf(next, newest ? this.rc : { ...this.rc, allowExpiredRoot: true });
    this.checkPins(next);
  }

  private rootChanged(trusted: Envelope<RootSigned>, got: Envelope<RootSigned>): TrustpinError {
    const ids = (r: Envelope<RootSigned>) => r.signed.roles.root.keyids.map((k) => k.slice(0, 12)).join(', ');
    return new TrustpinError(
      'TUF_ROOT_CHANGED',
      `the root of ${this.o.gun} changed and is not signed by the trusted root`,
      {
        expected: `root signed by ${ids(trusted)} (trusted root v${trusted.signed.version})`,
        found: `root v${got.signed.version} with keys ${ids(got)}`,
        hint: `potential malicious behaviour — trust data mismatch. If the publisher really re-created the repository, verify the new root key out of band and pin it (option rootKeyIds, or trust pin ${this.o.gun} KEYID): a pinned key replaces the cached root`,
      },
    );
  }

  private async fetchMeta(role: string, meta: FileMeta, parent: string): Promise<Buffer> {
    const cached = this.cache?.get(`${role}.json`);
    if (cached) {
      try {
        checkFileMeta(role, cached, meta, parent);
        return cached;
      } catch {
        // stale cache: fetch the version the parent names
      }
    }
    if (meta.length > MAX_METADATA_LENGTH) {
      throw new TrustpinError(
        'SIZE_EXCEEDED',
        `${parent} says ${role} metadata is ${meta.length} bytes long`,
        {
          expected: `at most ${MAX_METADATA_LENGTH} bytes`,
          found: `${meta.length} bytes`,
          hint: 'no repository has trust data this large: a hostile or broken notary server; nothing was fetched',
        },
      );
    }
    const early = await this.take(`${role}.json`)?.catch(() => undefined);
    if (early) {
      try {
        checkFileMeta(role, early, meta, parent);
        return early;
      } catch {
        // the current document by name is not the one the parent names (it moved on): fetch that one by hash
      }
    }
    const name = `${role}.${Buffer.from(meta.hashes.sha256 ?? '', 'base64').toString('hex')}.json`;
    const b = await this.get(meta.hashes.sha256 ? name : `${role}.json`, meta.length, `${role} metadata`);
    checkFileMeta(role, b, meta, parent);
    return b;
  }

  private noRollback(doc: Envelope<{ version: number }>): void {
    const old = this.cachedDoc<{ version: number }>(doc.role);
    if (old && doc.signed.version < old.signed.version) {
      throw new TrustpinError(
        'TUF_ROLLBACK',
        `${doc.role} metadata went back from version ${old.signed.version} to ${doc.signed.version}`,
        {
          expected: `version ≥ ${old.signed.version}`,
          found: String(doc.signed.version),
          hint: 'rollback attack (or a restored server): do not trust this repository',
        },
      );
    }
  }

  private async chain(root: Envelope<RootSigned>) {
    const keys = root.signed.keys;
    const roles = root.signed.roles;
    const warnings: string[] = [];
    const ts = parseEnvelope<TimestampSigned>(
      'timestamp',
      await this.get('timestamp.json', TIMESTAMP_MAX, 'timestamp.json'),
    );
    verifyThreshold(ts, keys, roles.timestamp);
    this.noRollback(ts);
    checkExpiry(ts, this.o.now);

    const snapBytes = await this.fetchMeta('snapshot', ts.signed.meta.snapshot, 'timestamp');
    const snap = parseEnvelope<SnapshotSigned>('snapshot', snapBytes);
    verifyThreshold(snap, keys, roles.snapshot);
    this.noRollback(snap);
    checkExpiry(snap, this.o.now);
    // the snapshot commits to the root: a root it does not name is stale (rotated) or substituted
    checkFileMeta('root', root.raw, snap.signed.meta.root!, 'snapshot');

    const tgtBytes = await this.fetchMeta('targets', snap.signed.meta.targets!, 'snapshot');
    const targets = parseEnvelope<TargetsSigned>('targets', tgtBytes);
    verifyThreshold(targets, keys, roles.targets);
    this.noRollback(targets);
    checkExpiry(targets, this.o.now);

    const delegations: LoadedDelegation[] = [];
    const visit = async (parent: Envelope<TargetsSigned>, parentPaths: string[]) => {
      const d = parent.signed.delegations;
      if (!d) return;
      // the first DELEGATIONS_AHEAD roles this level names are asked for at once (each still checked against the
      // snapshot's hash, then verified in notary's order below; a failure is seen when its turn comes)
      const named = d.roles.filter((role) => snap.signed.meta[role.name]);
      const fetch = (role: DelegationRole) =>
        this.fetchMeta(role.name, snap.signed.meta[role.name]!, 'snapshot');
      const asked = new Map(
        named.slice(0, DELEGATIONS_AHEAD).map((role) => [role, settleLater(fetch(role))] as const),
      );
      for (const role of named) {
        const bytes = asked.get(role) ?? fetch(role);
        const paths = role.paths.filter((p) => parentPaths.some((pp) => p.startsWith(pp)));
        const doc = parseEnvelope<TargetsSigned>(role.name, await bytes);
        try {
          verifyThreshold(doc, d.keys, role);
          checkExpiry(doc, this.o.now);
        } catch (e) {
          // notary: an expired or under-signed delegation is skipped with a warning, never used
          warnings.push(
            `skipped ${role.name}: ${e instanceof TrustpinError ? `${e.message} (${e.found ?? ''})` : String(e)}`,
          );
          continue;
        }
        this.noRollback(doc);
        delegations.push({ role, paths, doc, keys: d.keys });
        this.files.set(`${role.name}.json`, doc.raw);
        await visit(doc, paths);
      }
    };
    await visit(targets, ['']);
    this.files.set('timestamp.json', ts.raw);
    this.files.set('snapshot.json', snap.raw);
    this.files.set('targets.json', targets.raw);
    return { timestamp: ts, snapshot: snap, targets, delegations, warnings };
  }

  async run(): Promise<TrustedRepo> {
    this.prefetch();
    const start = await this.bootstrap();
    let root = start.root;
    let rotatedFrom: number | undefined;
    if (!this.o.source.network) {
      // offline sources carry every root version, and a first use should end at the newest root
      const before = root.signed.version;
      root = await this.updateRootIfPresent(root);
      if (root.signed.version !== before) rotatedFrom = before;
    }
    let result: Awaited<ReturnType<Run['chain']>>;
    try {
      result = await this.chain(root);
    } catch (e) {
      if (!(e instanceof TrustpinError) || !e.code.startsWith('TUF_') || e.code === 'TUF_ROLLBACK') throw e;
      // notary: on a failed chain, update the root and try once more; the second failure is final
      const before = root.signed.version;
      const newer = await this.updateRoot(root);
      if (newer === root) throw e;
      root = newer;
      rotatedFrom = before;
      result = await this.chain(root);
    }
    verifyRootSelf(root, this.rc);
    this.files.set('root.json', root.raw);
    return {
      gun: this.o.gun,
      source: this.o.source.describe,
      root,
      firstUse: start.pinnedBy === 'first-use',
      pinnedBy: start.pinnedBy,
      ...(this.replacedCachedRoot ? { replacedCachedRoot: true } : {}),
      ...(rotatedFrom !== undefined ? { rootRotatedFrom: rotatedFrom } : {}),
      ...result,
      files: this.files,
    };
  }

  private async updateRootIfPresent(root: Envelope<RootSigned>): Promise<Envelope<RootSigned>> {
    const b = await this.o.source.fetch(this.o.gun, 'root.json', ROOT_MAX, this.o.signal);
    if (!b || b.equals(root.raw)) return root;
    return this.updateRoot(root);
  }
}

/** Verify a repository's trust data; returns the verified documents. Throws a named error on any failure. */
export function updateTrust(o: UpdateOptions): Promise<TrustedRepo> {
  return new Run(o).run();
}
