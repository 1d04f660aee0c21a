// Trust data kept for when the notary server is gone: `archiveTrust` saves every signed document of a repository
// (all root versions too), verified before it is written; `importDockerTrust` makes docker's cache trustpin's pin.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TrustpinError } from '../../errors/index.js';
import type { RegistryClient } from '../../registry/index.js';
import { writeAtomic } from '../../util/index.js';
import { loadTrust, trustServerFor } from './load.js';
import { ARCHIVE_FORMAT, type ArchiveFile, FileSet, NotaryServer, type TrustSource } from './source.js';
import type { TrustStore } from './store.js';
import { updateTrust } from './updater.js';

/** Options of {@link archiveTrust}. */
export interface ArchiveOptions {
  client: RegistryClient;
  /** the trust store whose pins the archived data must satisfy */
  store: TrustStore;
  trustServer?: string | undefined;
  rootKeyIds?: string[] | undefined;
  allowFirstUse?: boolean | undefined;
  now?: (() => number) | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** called once per repository archived */
  onRepository?: ((gun: string, files: string[]) => void) | undefined;
}

/**
 * Fetch and verify every document of each GUN from its notary server (under the store's pins, like a
 * verification), check that the set verifies offline on its own, and write one archive file atomically.
 */
export async function archiveTrust(
  repos: { gun: string; registry: string }[],
  out: string,
  o: ArchiveOptions,
): Promise<ArchiveFile> {
  const now = o.now ?? Date.now;
  const doc: ArchiveFile = {
    format: ARCHIVE_FORMAT,
    createdAt: new Date(now()).toISOString(),
    server: '',
    repositories: [],
  };
  for (const { gun, registry } of repos) {
    const server = trustServerFor(registry, o.trustServer, o.env);
    doc.server = server;
    const files = await archiveRepo(new NotaryServer(server, o.client), gun, registry, o, now());
    doc.repositories.push({
      gun,
      fetchedAt: new Date(now()).toISOString(),
      files: Object.fromEntries([...files].map(([k, v]) => [k, v.toString('base64')])),
    });
    o.onRepository?.(gun, [...files.keys()].sort());
  }
  await writeAtomic(out, `${JSON.stringify(doc, null, 1)}\n`);
  return doc;
}

async function archiveRepo(
  server: NotaryServer,
  gun: string,
  registry: string,
  o: ArchiveOptions,
  now: number,
): Promise<Map<string, Buffer>> {
  const seen = new Map<string, Buffer>();
  const recording: TrustSource = {
    describe: server.describe,
    network: true,
    fetch: async (g, name, max) => {
      const b = await server.fetch(g, name, max);
      if (b) seen.set(name.replace(/\.[0-9a-f]{64,128}\.json$/, '.json'), b);
      return b;
    },
  };
  o.client.useCredentialsOf(server.host, registry);
  const pins = o.rootKeyIds?.length ? o.rootKeyIds : (o.store.pin(gun)?.rootKeyIds ?? []);
  const repo = await updateTrust({
    gun,
    source: recording,
    cached: o.store.load(gun),
    pinnedRootKeys: pins,
    allowFirstUse: o.allowFirstUse,
    now,
  });
  for (let v = 1; v <= repo.root.signed.version; v++) {
    const b = await server.fetch(gun, `${v}.root.json`, 1024 * 1024);
    if (b) seen.set(`${v}.root.json`, b);
  }
  // documents served from the cache were not recorded: take the verified set
  for (const [name, b] of repo.files) if (!seen.has(name)) seen.set(name, b);
  // the archive must verify offline on its own before it is written
  await updateTrust({
    gun,
    source: new FileSet('archive', new Map([[gun, seen]])),
    pinnedRootKeys: pins,
    now,
  });
  return seen;
}

/** Options of {@link importDockerTrust}. */
export interface ImportOptions {
  client: RegistryClient;
  store: TrustStore;
  /** docker's trust directory (default `$DOCKER_CONTENT_TRUST_DIR`… i.e. `~/.docker/trust`) */
  trustDir: string;
  rootKeyIds?: string[] | undefined;
  allowFirstUse?: boolean | undefined;
  now?: (() => number) | undefined;
}

/**
 * Verify docker's cached trust data for a GUN (under the store's pin if there is one) and make it the store's
 * pin. Returns the imported root version and the store directory.
 */
export async function importDockerTrust(
  gun: string,
  registry: string,
  o: ImportOptions,
): Promise<{ rootVersion: number; dir: string; from: string }> {
  const from = join(o.trustDir, 'tuf', gun, 'metadata');
  if (!existsSync(join(from, 'root.json'))) {
    throw new TrustpinError('TRUST_DATA_NOT_FOUND', `docker has no trust data for ${gun} in ${o.trustDir}`, {
      expected: join(from, 'root.json'),
    });
  }
  const { repo } = await loadTrust(gun, registry, {
    client: o.client,
    store: o.store,
    trustArchive: from,
    rootKeyIds: o.rootKeyIds,
    allowFirstUse: o.allowFirstUse,
    now: (o.now ?? Date.now)(),
  });
  await o.store.withLock(gun, () => o.store.save(gun, repo.files));
  return { rootVersion: repo.root.signed.version, dir: o.store.dir(gun), from };
}
