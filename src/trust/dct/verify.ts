// `verify --dct`: decide trust with Notary (server, store or archive), resolve the tag through the signed targets,
// then fetch the image by the signed digest and verify it down to its configs. The result reads as the chain.
import { TrustpinError } from '../../errors/index.js';
import { walkImage } from '../../image/walk.js';
import { formatPlatform } from '../../manifest/index.js';
import { fullName, type Reference, withDigest } from '../../reference/index.js';
import type { RegistryClient } from '../../registry/client.js';
import { RegistrySource } from '../../source/registry.js';
import type { ChainNode, TrustVerdict } from '../verdict.js';
import { canonicalKeyId } from './keys.js';
import { FileSet, NotaryServer, openTrustArchive, type TrustSource } from './source.js';
import type { TrustStore } from './store.js';
import { parseSigner, requireSigner, resolveTag } from './targets.js';
import { type TrustedRepo, updateTrust } from './updater.js';

export interface DctOptions {
  client: RegistryClient;
  store: TrustStore;
  trustServer?: string | undefined;
  env?: NodeJS.ProcessEnv;
  rootKeyIds?: string[];
  signers?: string[];
  offline?: boolean;
  trustArchive?: string | undefined;
  now: number;
  allowExpiredRoot?: boolean;
  /** fetch and verify the image by the signed digest (default true) */
  fetchImage?: boolean;
}

/** docker's choice of notary server for a registry host. */
export function trustServerFor(
  registry: string,
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const s = explicit ?? env.DOCKER_CONTENT_TRUST_SERVER;
  if (s) return s.replace(/\/+$/, '');
  if (registry === 'docker.io' || registry === 'index.docker.io') return 'https://notary.docker.io';
  return `https://${registry}`;
}

export interface LoadedTrust {
  repo: TrustedRepo;
  server: string;
  source: TrustSource;
}

/** Verify the trust data of one GUN from the chosen source, updating the store when it came from the server. */
export async function loadTrust(gun: string, registry: string, o: DctOptions): Promise<LoadedTrust> {
  const server = trustServerFor(registry, o.trustServer, o.env);
  const serverKey = new URL(server).host;
  let source: TrustSource;
  let cached: Map<string, Buffer> | undefined;
  if (o.trustArchive) {
    source = openTrustArchive(o.trustArchive, gun);
  } else if (o.offline) {
    cached = o.store.load(serverKey, gun);
    if (cached.size === 0) {
      throw new TrustpinError('OFFLINE', `no cached trust data for ${gun} from ${server}`, {
        hint: 'run once online, import docker trust data with `trustpin trust import-docker`, or use --trust-archive',
      });
    }
    source = new FileSet(`trust store ${o.store.dir(serverKey, gun)}`, new Map([[gun, cached]]));
    cached = new Map([['root.json', cached.get('root.json')!]]);
  } else {
    source = new NotaryServer(server, o.client);
    o.client.useCredentialsOf(serverKey, registry);
    cached = o.store.load(serverKey, gun);
  }
  const run = () =>
    updateTrust({
      gun,
      source,
      cached,
      pinnedRootKeys: o.rootKeyIds,
      now: o.now,
      allowExpiredRoot: o.allowExpiredRoot,
    });
  const repo = source.network
    ? await o.store.withLock(serverKey, gun, async () => {
        const r = await run();
        await o.store.save(serverKey, gun, r.files);
        return r;
      })
    : await run();
  return { repo, server, source };
}

function short(id: string): string {
  return id.slice(0, 12);
}

function roleNodes(repo: TrustedRepo): ChainNode[] {
  const rootKeys = repo.root.signed.roles.root.keyids.map(
    (id) => `${short(id)} (canonical ${short(canonicalKeyId(repo.root.signed.keys[id]!))})`,
  );
  const how = {
    cache: 'pinned by the trust store',
    keys: 'matches the pinned root key',
    tofu: 'trusted on first use (pin it with --root-key-id)',
  }[repo.pinnedBy];
  const nodes: ChainNode[] = [
    {
      kind: 'root',
      label: `root v${repo.root.signed.version}`,
      detail: `key ${rootKeys.join(', ')}; ${how}${repo.rootRotatedFrom ? `; rotated from v${repo.rootRotatedFrom}` : ''}`,
      ok: true,
    },
  ];
  for (const d of [repo.timestamp, repo.snapshot, repo.targets]) {
    nodes.push({
      kind: 'role',
      label: `${d.role} v${(d.signed as { version: number }).version}`,
      detail: `expires ${(d.signed as { expires: string }).expires}`,
      ok: true,
    });
  }
  for (const d of repo.delegations) {
    nodes.push({
      kind: 'role',
      label: `${d.role.name} v${d.doc.signed.version}`,
      detail: `keys ${d.role.keyids.map((id) => short(canonicalKeyId(d.keys[id]!))).join(', ')}`,
      ok: true,
    });
  }
  return nodes;
}

/** Verify `ref` with Docker Content Trust; throws a named error when any link of the chain fails. */
export async function verifyDct(
  ref: Reference,
  o: DctOptions,
): Promise<TrustVerdict & { gun: string; server: string; repo: TrustedRepo }> {
  const gun = fullName(ref);
  const { repo, server, source } = await loadTrust(gun, ref.registry, o);
  const warnings = [...repo.warnings];
  const tag = ref.tag ?? (ref.digest ? undefined : 'latest');
  let resolution: ReturnType<typeof resolveTag>;
  if (tag) {
    resolution = resolveTag(repo, tag);
    if (ref.digest && ref.digest !== resolution.digest) {
      throw new TrustpinError(
        'DIGEST_MISMATCH',
        `${gun}:${tag} is signed as ${resolution.digest}, not ${ref.digest}`,
        {
          expected: ref.digest,
          found: resolution.digest,
        },
      );
    }
  } else {
    throw new TrustpinError('USAGE', 'verify --dct needs a tag: Docker Content Trust signs tags', {
      hint: `${gun}:TAG`,
    });
  }
  for (const s of o.signers ?? []) requireSigner(repo, resolution, parseSigner(s));

  const chain: ChainNode[] = roleNodes(repo);
  const signedBy = resolution.signers.map((s) => s.name);
  chain.push({
    kind: 'signed-tag',
    label: `signed tag ${tag}`,
    digest: resolution.digest,
    detail: `${resolution.length} bytes, in ${resolution.role}; signers: ${signedBy.length ? signedBy.join(', ') : 'Repo Admin'}`,
    ok: true,
  });

  if (o.fetchImage !== false) {
    const src = new RegistrySource(withDigest({ ...ref, tag: undefined }, resolution.digest), o.client);
    const top = await src.resolve();
    if (top.size !== resolution.length) {
      throw new TrustpinError(
        'SIZE_MISMATCH',
        `the signed manifest for ${tag} is ${resolution.length} bytes; the registry's is ${top.size}`,
        {
          expected: `${resolution.length} bytes`,
          found: `${top.size} bytes`,
        },
      );
    }
    const tree = await walkImage(src, { configs: true });
    const m = tree.root.manifest.value;
    const node: ChainNode = {
      kind: m.kind === 'index' ? 'index' : 'manifest',
      label: `${m.kind === 'index' ? 'index' : 'manifest'} fetched by digest`,
      digest: resolution.digest,
      detail: `${m.mediaType}, bytes verified`,
      ok: true,
      children: tree.children.map((c) => ({
        kind: 'manifest',
        label: formatPlatform(c.descriptor.platform),
        digest: c.descriptor.digest,
        ok: true,
        children: c.config ? [{ kind: 'config', label: 'config', digest: c.config.digest, ok: true }] : [],
      })),
    };
    if (m.kind === 'image' && tree.root.config)
      node.children = [{ kind: 'config', label: 'config', digest: tree.root.config.digest, ok: true }];
    chain.push(node);
    // What the registry serves for the tag today must be what was signed.
    const byTag = new RegistrySource({ ...ref, digest: undefined, tag }, o.client);
    const now = await byTag.resolve();
    if (now.digest !== resolution.digest) {
      throw new TrustpinError(
        'TAG_MOVED',
        `${ref.registry}/${ref.repository}:${tag} now points at other content than was signed`,
        {
          expected: `${resolution.digest} (signed)`,
          found: `${now.digest} (served for the tag)`,
          hint: `the tag was moved or the registry is lying; pull the signed image by digest: ${gun}@${resolution.digest}`,
        },
      );
    }
    chain.push({
      kind: 'registry-tag',
      label: `registry tag ${tag}`,
      digest: now.digest,
      detail: 'serves the signed digest',
      ok: true,
    });
  }
  return {
    system: 'dct',
    reference: `${gun}:${tag}`,
    subject: resolution.digest,
    signers: resolution.signers,
    chain,
    ok: true,
    warnings,
    gun,
    server: source.network ? server : source.describe,
    repo,
  };
}
