// Step one of a DCT verification: load a repository's trust — from the notary server, the trust store or an
// archive — under the repository's pin. Archives and metadata directories are data checked against the pin.
import { TrustpinError } from '../../errors/index.js';
import type { RegistryClient } from '../../registry/index.js';
import { FileSet, NotaryServer, openTrustArchive, type TrustSource } from './source.js';
import type { TrustStore } from './store.js';
import { type RootTrust, type TrustedRepo, updateTrust } from './updater.js';

/** Where and how to load Docker Content Trust data for one repository. */
export interface DctTrustOptions {
  client: RegistryClient;
  store: TrustStore;
  /** notary server URL (default: `$DOCKER_CONTENT_TRUST_SERVER`, notary.docker.io for docker.io, else the registry) */
  trustServer?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** root key IDs the root must be signed with; they win over the store's cached root and its pin file */
  rootKeyIds?: string[] | undefined;
  /** use only the trust store (no network call for trust data) */
  offline?: boolean | undefined;
  /** read trust data from this archive or metadata directory, checked against the store's pin */
  trustArchive?: string | undefined;
  /** the time expiry and certificate validity are judged at (ms since the epoch) */
  now: number;
  allowExpiredRoot?: boolean | undefined;
  /** accept a repository with no pin (trust on first use); default true */
  allowFirstUse?: boolean | undefined;
  /** cancels the network calls; loading rejects with ABORTED */
  signal?: AbortSignal | undefined;
}

/** docker's choice of notary server for a registry host. */
export function trustServerFor(
  registry: string,
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const s = explicit ?? env.DOCKER_CONTENT_TRUST_SERVER;
  if (s) {
    if (!URL.canParse(s))
      throw new TrustpinError('USAGE', `trust server ${JSON.stringify(s)} is not a URL`, {
        expected: 'https://notary.example.com',
        hint: explicit ? 'fix option trustServer' : 'fix DOCKER_CONTENT_TRUST_SERVER',
      });
    return s.replace(/\/+$/, '');
  }
  if (registry === 'docker.io' || registry === 'index.docker.io') return 'https://notary.docker.io';
  return `https://${registry}`;
}

/** A repository's verified trust data and where it came from. */
export interface LoadedTrust {
  repo: TrustedRepo;
  /** the notary server URL, or the description of the archive or store the data came from */
  server: string;
  source: TrustSource;
  rootTrust: RootTrust;
}

/** Verify the trust data of one GUN from the chosen source, updating the store when it came from the server. */
export async function loadTrust(gun: string, registry: string, o: DctTrustOptions): Promise<LoadedTrust> {
  const server = trustServerFor(registry, o.trustServer, o.env);
  const pins = o.rootKeyIds?.length ? o.rootKeyIds : (o.store.pin(gun)?.rootKeyIds ?? []);
  const stored = o.store.load(gun);
  let source: TrustSource;
  let cached: Map<string, Buffer> | undefined;
  if (o.trustArchive) {
    source = openTrustArchive(o.trustArchive, gun);
    // the pin is the root alone: an archive is judged at its own time, so newer cached versions are no rollback
    cached = pinOnly(stored);
  } else if (o.offline) {
    if (stored.size === 0) {
      throw new TrustpinError('OFFLINE', `no cached trust data for ${gun}`, {
        hint: 'verify once online, import docker trust data (trust import-docker), or use option trustArchive',
      });
    }
    source = new FileSet(`trust store ${o.store.dir(gun)}`, new Map([[gun, stored]]));
    cached = pinOnly(stored);
  } else {
    source = new NotaryServer(server, o.client);
    o.client.useCredentialsOf(new URL(server).host, registry);
    cached = stored;
  }
  const run = (from = cached) =>
    updateTrust({
      gun,
      source,
      cached: from,
      pinnedRootKeys: pins,
      now: o.now,
      allowExpiredRoot: o.allowExpiredRoot,
      allowFirstUse: o.allowFirstUse,
      signal: o.signal,
    });
  try {
    const repo = source.network ? await updateAndSave(o.store, gun, stored, run) : await run();
    return { repo, server: source.network ? server : source.describe, source, rootTrust: repo.pinnedBy };
  } catch (e) {
    throw source.network && !o.trustServer && !o.env?.DOCKER_CONTENT_TRUST_SERVER
      ? defaultServerHint(e, server, registry)
      : e;
  }
}

/**
 * An update from the server, kept in the store. The update itself only reads what the store held before it began
 * (`stored`), so it runs outside the store's lock: a warm verification whose documents did not change (the usual
 * case) takes no lock and writes nothing, and callers verifying tags of one repository at once do not wait for each
 * other's network round trips. A result that changes the store is saved under the lock — and if another caller
 * saved something else meanwhile, the update is made again from what the store holds now, so a save never replaces
 * newer documents (a newer root, a higher version) with ones judged against an older cache.
 */
async function updateAndSave(
  store: TrustStore,
  gun: string,
  stored: Map<string, Buffer>,
  run: (from?: Map<string, Buffer>) => Promise<TrustedRepo>,
): Promise<TrustedRepo> {
  const r = await run();
  if (store.holds(gun, r.files)) return r;
  return store.withLock(gun, async () => {
    const now = store.load(gun);
    const final = sameFiles(now, stored) ? r : await run(now);
    await store.save(gun, final.files);
    return final;
  });
}

function sameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  return a.size === b.size && [...a].every(([n, x]) => b.get(n)?.equals(x));
}

function pinOnly(stored: Map<string, Buffer>): Map<string, Buffer> | undefined {
  const root = stored.get('root.json');
  return root ? new Map([['root.json', root]]) : undefined;
}

/** The server was docker's default guess for the registry: say so, and how to name the real one. */
function defaultServerHint(e: unknown, server: string, registry: string): unknown {
  if (!(e instanceof TrustpinError) || e.isVerificationFailure) return e;
  if (!['TRUST_DATA_NOT_FOUND', 'REGISTRY_ERROR', 'NETWORK_ERROR', 'TLS_ERROR', 'NOT_FOUND'].includes(e.code))
    return e;
  return new TrustpinError(e.code, e.message, {
    expected: e.expected,
    found: e.found,
    hint: `${server} is only the default notary server for ${registry}: if the trust data is served elsewhere, give option trustServer (or DOCKER_CONTENT_TRUST_SERVER)${e.hint ? `; ${e.hint}` : ''}`,
    cause: e,
  });
}
