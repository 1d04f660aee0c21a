// Publishes Docker Content Trust data for the demo images with the REAL notary and docker CLIs (testbed §6/§7):
// demo/app gets root v1→v4, delegations and two signed tags; demo/liar is signed by bob the way `docker trust` does it.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalKeyIdOfPem, fetchRootKey, type RootKeyInfo, type RunningNotary } from './notary.js';
import { requireBinary } from './processes.js';

// The notary harness's single entry point for index.ts: server, PKI and seeding together.
export * from './notary.js';
export * from './tls.js';

/** What a target needs: the manifest (or index) digest `sha256:<hex>` and its byte size. */
export interface TrustTarget {
  digest: string;
  size: number;
}

/** The demo images to sign; `SeededImages` from images.ts fits. */
export interface TrustSeedImages {
  demoApp: TrustTarget;
  demoAppAmd64: TrustTarget;
  demoLiar: TrustTarget;
}

/** Passphrases of every key the seed makes; exported so tests can sign more with the same keys. */
export const TRUST_PASSPHRASES = { root: 'trustpin-root-pw', repository: 'trustpin-repo-pw' } as const;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NotaryListRow {
  name: string;
  /** hex, no `sha256:` prefix */
  digest: string;
  size: number;
  role: string;
}

export interface SeededTrust {
  dir: string;
  /** notary CLI trust dir used for demo/app */
  trustDir: string;
  /** DOCKER_CONFIG used for demo/liar (its trust data is in `<dockerConfig>/trust`) */
  dockerConfig: string;
  guns: { app: string; liar: string };
  keys: {
    app: { root: RootKeyInfo; privateRootKeys: string[]; targets: string; alice: string };
    liar: { root: RootKeyInfo; targets: string; bob: string };
  };
  /** GUN → delegation role → canonical key IDs, from `notary delegation list` */
  delegations: Record<string, Record<string, string[]>>;
  /** wall time of every CLI step, in order */
  timings: { step: string; ms: number }[];
  /** the environment every command ran with (passphrases, HOME, DOCKER_CONFIG, DOCKER_CONTENT_TRUST_SERVER) */
  env: NodeJS.ProcessEnv;
  notary(args: string[], opts?: { trustDir?: string; input?: string }): Promise<CliResult>;
  docker(args: string[]): Promise<CliResult>;
  /** `docker trust inspect [--pretty] REF` with this DOCKER_CONFIG; a failure is returned, not thrown */
  dockerTrustInspect(ref: string, pretty: boolean): Promise<CliResult>;
  /** `notary list GUN [-r ROLE]` on the notary trust dir, parsed */
  notaryList(gun: string, role?: string): Promise<{ result: CliResult; rows: NotaryListRow[] }>;
}

export interface SeedOptions {
  /** NOTARY_AUTH credentials for a notary-server with token auth */
  auth?: { username: string; password: string };
}

export async function seedTrust(
  notary: RunningNotary,
  registryHost: string,
  images: TrustSeedImages,
  opts: SeedOptions = {},
): Promise<SeededTrust> {
  const notaryBin = requireBinary('notary', 'notary');
  const dockerBin = requireBinary('docker', 'docker-ce-cli (or docker.io)');
  // A fresh subdir per seed: after notary.restart() a second seed gets new keys while old caches survive.
  const dir = await mkdtemp(join(notary.dir, 'seed-'));
  const trustDir = join(dir, 'notary-trust');
  const dockerConfig = join(dir, 'docker-config');
  const keysDir = join(dir, 'keys');
  await Promise.all([trustDir, keysDir].map((d) => mkdir(d, { recursive: true })));
  // docker only reads this for non-loopback GUNs (loopback is "insecure" ⇒ no verification), but it is harmless.
  await mkdir(join(dockerConfig, 'tls', notary.host), { recursive: true });
  await copyFile(notary.caFile, join(dockerConfig, 'tls', notary.host, 'ca.crt'));
  const env = seedEnv(dir, dockerConfig, notary.url, opts.auth);
  if (opts.auth) {
    const auth = Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64');
    await writeFile(
      join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [registryHost]: { auth } } }),
    );
  }

  const timings: { step: string; ms: number }[] = [];
  const step = async (name: string, cmd: string, args: string[], input?: string) => {
    const t0 = performance.now();
    const res = await exec(cmd, args, env, input);
    timings.push({ step: name, ms: Math.round(performance.now() - t0) });
    if (res.code !== 0)
      throw new Error(`${name}: ${cmd} ${args.join(' ')} exited ${res.code}\n${res.stderr}${res.stdout}`);
    return res;
  };
  const notaryArgs = (td: string, args: string[]) =>
    argv`-d ${td} -s ${notary.url} --tlscacert ${notary.caFile}`.concat(args);
  const n = (name: string, args: string[], input?: string, td = trustDir) =>
    step(name, notaryBin, notaryArgs(td, args), input);
  const hex = (t: TrustTarget) => t.digest.replace(/^sha256:/, '');
  const { demoApp, demoAppAmd64, demoLiar } = images;

  // --- demo/app with the notary CLI (testbed §6) ---
  const app = `${registryHost}/demo/app`;
  const toBoth = argv`-r targets/releases -r targets/alice`;
  // `init -p` publishes root v1 at once; rotating the snapshot key before any publish would lose 1.root.json.
  await n('app: init -p', argv`init -p ${app}`);
  await n('app: key rotate snapshot -r', argv`key rotate ${app} snapshot -r`);
  await n('app: key generate alice', argv`key generate ecdsa --role alice -o ${join(keysDir, 'alice')}`);
  const alicePub = join(keysDir, 'alice.pem');
  const alice = canonicalKeyIdOfPem(await readFile(alicePub, 'utf8'));
  // `key import` refuses an encrypted PEM without a `path:` header; the key store just wants <keyid>.key.
  await copyFile(join(keysDir, 'alice-key.pem'), join(trustDir, 'private', `${alice}.key`));
  await n(
    'app: delegation add releases',
    argv`delegation add ${app} targets/releases ${alicePub} --all-paths`,
  );
  await n('app: delegation add alice', argv`delegation add ${app} targets/alice ${alicePub} --all-paths`);
  for (const [tag, t] of [
    ['1.0', demoApp],
    ['1.0-amd64', demoAppAmd64],
  ] as const) {
    await n(`app: addhash ${tag}`, argv`addhash ${app} ${tag} ${t.size} --sha256 ${hex(t)}`.concat(toBoth));
  }
  await n('app: publish', argv`publish ${app}`);
  await n('app: key rotate targets', argv`key rotate ${app} targets`);
  // Answers the (yes/no) prompt; without "yes" notary prints "Aborting action." and still exits 0.
  const rot = await n('app: key rotate root', argv`key rotate ${app} root`, 'yes\n');
  if (!/Successfully rotated root key/.test(rot.stdout + rot.stderr)) {
    throw new Error(`root rotation of ${app} did not happen:\n${rot.stdout}${rot.stderr}`);
  }

  // --- demo/liar the docker way (testbed §7): docker makes the key and the signer, notary signs ---
  const docker = (name: string, args: string[]) => step(name, dockerBin, args);
  const liar = `${registryHost}/demo/liar`;
  const dockerTrust = join(dockerConfig, 'trust');
  const bobPub = join(keysDir, 'bob.pub');
  await docker('liar: docker trust key generate bob', argv`trust key generate bob --dir ${keysDir}`);
  const bob = canonicalKeyIdOfPem(await readFile(bobPub, 'utf8'));
  // Initialises the GUN (root v1, server snapshot) and creates targets/bob AND targets/releases.
  await docker('liar: docker trust signer add bob', argv`trust signer add --key ${bobPub} bob ${liar}`);
  // `docker trust sign` needs an engine; notary on docker's own trust dir signs the same roles instead.
  const signLiar = argv`addhash ${liar} 1.0 ${demoLiar.size} --sha256 ${hex(demoLiar)}`;
  await n(
    'liar: addhash 1.0 -p',
    signLiar.concat(argv`-r targets/releases -r targets/bob -p`),
    undefined,
    dockerTrust,
  );

  // --- what the CLIs can tell us about keys ---
  const appKeys = parseKeyList((await n('app: key list', argv`key list`)).stdout);
  const liarKeys = parseKeyList((await n('liar: key list', argv`key list`, undefined, dockerTrust)).stdout);
  const appDelegations = await n('app: delegation list', argv`delegation list ${app}`);
  const liarDelegations = await n(
    'liar: delegation list',
    argv`delegation list ${liar}`,
    undefined,
    dockerTrust,
  );
  const delegations = {
    [app]: parseDelegations(appDelegations.stdout),
    [liar]: parseDelegations(liarDelegations.stdout),
  };
  const only = (keys: KeyRow[], role: string, gun: string) => {
    const found = keys.filter((k) => k.role === role && (k.gun === gun || k.gun === ''));
    if (found.length !== 1) throw new Error(`expected one ${role} key for ${gun}: ${JSON.stringify(found)}`);
    return found[0]!.id;
  };

  const trust: SeededTrust = {
    dir,
    trustDir,
    dockerConfig,
    guns: { app, liar },
    keys: {
      app: {
        root: await fetchRootKey(notary, app),
        privateRootKeys: appKeys.filter((k) => k.role === 'root').map((k) => k.id),
        targets: only(appKeys, 'targets', app),
        alice,
      },
      liar: { root: await fetchRootKey(notary, liar), targets: only(liarKeys, 'targets', liar), bob },
    },
    delegations,
    timings,
    env,
    notary: (args, o = {}) => exec(notaryBin, notaryArgs(o.trustDir ?? trustDir, args), env, o.input),
    docker: (args) => exec(dockerBin, args, env),
    dockerTrustInspect: (ref, pretty) =>
      exec(dockerBin, ['trust', 'inspect', ...(pretty ? ['--pretty'] : []), ref], env),
    notaryList: async (gun, role) => {
      const result = await exec(
        notaryBin,
        notaryArgs(trustDir, ['list', gun, ...(role ? ['-r', role] : [])]),
        env,
      );
      return { result, rows: parseList(result.stdout) };
    },
  };
  return trust;
}

/** Command line from a template: literal parts split on whitespace, each interpolated value stays ONE argument. */
function argv(parts: TemplateStringsArray, ...values: (string | number)[]): string[] {
  const out: string[] = [];
  parts.forEach((part, i) => {
    out.push(...part.split(/\s+/).filter(Boolean));
    if (i < values.length) out.push(String(values[i]));
  });
  return out;
}

/** Host env minus anything that would point the CLIs elsewhere, plus our passphrases and an isolated HOME. */
function seedEnv(
  home: string,
  dockerConfig: string,
  server: string,
  auth: SeedOptions['auth'],
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(NOTARY_|DOCKER_)/.test(k)) env[k] = v;
  }
  const { root, repository } = TRUST_PASSPHRASES;
  return {
    ...env,
    // notary reads ~/.notary/config.json and docker ~/.docker: neither may come from the developer's machine.
    HOME: home,
    DOCKER_CONFIG: dockerConfig,
    DOCKER_CONTENT_TRUST_SERVER: server,
    DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: root,
    DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: repository,
    // One repository passphrase for all non-root keys, so notary can use keys docker made and vice versa.
    NOTARY_ROOT_PASSPHRASE: root,
    NOTARY_TARGETS_PASSPHRASE: repository,
    NOTARY_SNAPSHOT_PASSPHRASE: repository,
    NOTARY_DELEGATION_PASSPHRASE: repository,
    ...(auth ? { NOTARY_AUTH: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } : {}),
  };
}

/** Run a CLI with stdin from /dev/null (or `input`); never throws on a non-zero exit. */
function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.stdin?.on('error', () => undefined);
    if (input !== undefined) child.stdin?.end(input);
    // A CLI waiting on a prompt must not hang the suite; killed by its own PID only.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (sig ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

interface KeyRow {
  role: string;
  gun: string;
  id: string;
}

// `notary key list`: ROLE [GUN] KEYID LOCATION; the GUN column is blank for root and delegation keys.
function parseKeyList(stdout: string): KeyRow[] {
  const rows: KeyRow[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim().split(/\s+/);
    const idAt = t.findIndex((x) => /^[0-9a-f]{64}$/.test(x));
    if (idAt < 1) continue;
    rows.push({ role: t[0]!, gun: idAt === 2 ? t[1]! : '', id: t[idAt]! });
  }
  return rows;
}

// `notary delegation list`: ROLE PATHS KEYIDS THRESHOLD; collect every 64-hex token of a role's line(s).
function parseDelegations(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    const first = line.trim().split(/\s+/)[0] ?? '';
    if (first.startsWith('targets/')) current = first;
    const ids = line.match(/\b[0-9a-f]{64}\b/g);
    if (current && ids) out[current] = [...(out[current] ?? []), ...ids];
  }
  return out;
}

// `notary list`: NAME DIGEST SIZE ROLE.
function parseList(stdout: string): NotaryListRow[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((t) => t.length === 4 && /^[0-9a-f]{64}$/.test(t[1]!))
    .map(([name, digest, size, role]) => ({ name: name!, digest: digest!, size: Number(size), role: role! }));
}
