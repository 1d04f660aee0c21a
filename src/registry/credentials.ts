// Finds the credentials a user already configured for a registry, the way docker/cli does (DOCKER_AUTH_CONFIG,
// config.json credHelpers/credsStore/auths), then podman's auth.json files; never logs or echoes a secret.
import type * as ChildProcess from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir as osHomedir } from 'node:os';
import { join } from 'node:path';
import { TrustpinError } from '../errors/index.js';
import { isDockerHub } from '../reference/index.js';

/** Credentials for one registry host. */
export interface Credential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker `identitytoken`, helper username `<token>`) */
  identityToken?: string;
  /** bearer token sent to the registry as-is (docker `registrytoken`) */
  registryToken?: string;
  /** where it came from, for messages: `docker config /path (auths)`, `credential helper docker-credential-x` */
  source: string;
}

export interface CredentialOptions {
  env?: NodeJS.ProcessEnv;
  homedir?: string;
  helperTimeoutMs?: number;
  /** per-host username and password, consulted before any file (a `--creds` flag) */
  static?: Record<string, { username: string; password: string }>;
  /** read only this auth JSON file (skopeo's `--authfile`) instead of the docker and podman chain */
  authFile?: string;
}

/** The key docker's config and helpers use for Docker Hub, whatever spelling the reference had. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
const DEFAULT_HELPER_TIMEOUT_MS = 10_000;
const MAX_HELPER_OUTPUT = 1024 * 1024;
const NOT_FOUND_MESSAGE = 'credentials not found';

type Json = Record<string, unknown>;
type AuthEntry = Omit<Credential, 'source'>;
/** Where a config came from, for error messages; the env variable is user input, a file is I/O. */
type Origin = { where: string; code: 'IO_ERROR' | 'USAGE' };
const ENV_ORIGIN: Origin = { where: 'the DOCKER_AUTH_CONFIG environment variable', code: 'USAGE' };

/**
 * Returns the configured credential for `registryHost` (`docker.io`, `ghcr.io`, `127.0.0.1:5000`), or undefined
 * for anonymous access. Throws IO_ERROR for unreadable/malformed files, CREDENTIAL_HELPER_FAILED for helper errors.
 */
export async function lookupCredential(
  registryHost: string,
  opts: CredentialOptions = {},
): Promise<Credential | undefined> {
  const env = opts.env ?? process.env;
  const home = opts.homedir ?? osHomedir();
  const hub = isDockerHub(registryHost);
  const key = hub ? DOCKER_HUB_AUTH_KEY : registryHost;

  const given = opts.static && staticFor(opts.static, registryHost, hub);
  if (given) return given;
  if (opts.authFile !== undefined) return fromAuthFile(opts.authFile, key, hub);

  const envConfig = env.DOCKER_AUTH_CONFIG;
  if (envConfig) {
    const found = findAuth(parseJson(envConfig, ENV_ORIGIN), key, hub, ENV_ORIGIN);
    if (found) return { ...found, source: 'DOCKER_AUTH_CONFIG' };
  }

  const dockerPath = join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json');
  const docker = await readJsonFile(dockerPath);
  if (docker) {
    const helper = configuredHelper(docker, key, dockerPath);
    if (helper !== undefined) {
      const found = await runHelper(helper, key, env, opts.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS);
      if (found) return found;
    } else {
      const found = findAuth(docker, key, hub, fileOrigin(dockerPath));
      if (found) return { ...found, source: `docker config ${dockerPath} (auths)` };
    }
  }

  for (const path of podmanAuthFiles(env, home)) {
    const podman = await readJsonFile(path);
    const found = podman && findAuth(podman, key, hub, fileOrigin(path));
    if (found) return { ...found, source: `podman auth.json ${path}` };
  }
  return undefined;
}

/** The static entry for a host: its own key, or for Docker Hub any of its spellings. */
function staticFor(
  given: NonNullable<CredentialOptions['static']>,
  host: string,
  hub: boolean,
): Credential | undefined {
  const key = Object.keys(given).find((k) => {
    const h = convertToHostname(k);
    return h === host || (hub && isDockerHub(h));
  });
  const c = key === undefined ? undefined : given[key];
  return c && { username: c.username, password: c.password, source: `credentials given for ${key}` };
}

/**
 * skopeo's `--authfile`: one file in the containers-auth.json / docker config.json `auths` format. Unlike
 * containers/image, a missing file is an error: a path the user named that does not exist is a typo, and
 * silently pulling anonymously would hide it.
 */
async function fromAuthFile(path: string, key: string, hub: boolean): Promise<Credential | undefined> {
  const json = await readJsonFile(path);
  if (json === undefined) {
    let empty = false;
    try {
      empty = (await readFile(path, 'utf8')).trim() === '';
    } catch {}
    if (!empty) {
      throw new TrustpinError('NOT_FOUND', `auth file ${path} does not exist`, {
        hint: 'check the authFile path (docker: ~/.docker/config.json, podman: $XDG_RUNTIME_DIR/containers/auth.json)',
      });
    }
    return undefined;
  }
  const found = findAuth(json, key, hub, fileOrigin(path));
  return found && { ...found, source: `auth file ${path}` };
}

// containers-auth.json(5): REGISTRY_AUTH_FILE replaces the runtime-dir default; the home file is read after it.
function podmanAuthFiles(env: NodeJS.ProcessEnv, home: string): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  else if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(join(home, '.config', 'containers', 'auth.json'));
  return files;
}

async function readJsonFile(path: string): Promise<Json | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new TrustpinError('IO_ERROR', `cannot read credentials file ${path}: ${code ?? String(e)}`, {
      hint: `make ${path} readable by this user, or point DOCKER_CONFIG / REGISTRY_AUTH_FILE elsewhere`,
      cause: e,
    });
  }
  // docker treats an empty config.json as an empty config (json.Decoder returns io.EOF).
  return text.trim() === '' ? undefined : parseJson(text, fileOrigin(path));
}

const fileOrigin = (path: string): Origin => ({ where: path, code: 'IO_ERROR' });

function parseJson(text: string, { where, code }: Origin): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // The parser's message quotes the input, which may hold a secret: report only the position.
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new TrustpinError(code, `${where} is not valid JSON${at ? ` (error at position ${at})` : ''}`, {
      expected: 'a JSON object like {"auths": {"<registry>": {"auth": "<base64 user:password>"}}}',
      hint: `fix or remove ${where}`,
    });
  }
  if (!isObject(value)) throw shapeError({ where, code }, 'the top level', 'an object');
  return value;
}

function configuredHelper(config: Json, key: string, path: string): string | undefined {
  const helpers = config.credHelpers;
  if (helpers !== undefined && !isObject(helpers))
    throw shapeError(fileOrigin(path), '"credHelpers"', 'an object');
  // Own properties only: a host named like an Object.prototype member must not pick up inherited values.
  const perHost = helpers && Object.hasOwn(helpers, key) ? helpers[key] : undefined;
  const helper = perHost !== undefined ? perHost : config.credsStore;
  if (helper === undefined || helper === '') return undefined;
  if (typeof helper !== 'string' || !/^[A-Za-z0-9._-]+$/.test(helper)) {
    // The suffix becomes part of an executable name: refuse path separators and shell characters outright.
    const field = perHost !== undefined ? `credHelpers["${key}"]` : '"credsStore"';
    throw shapeError(fileOrigin(path), field, 'a helper name like "desktop"');
  }
  return helper;
}

/**
 * Finds the `auths` entry for a registry: the exact key first, then legacy keys written as URLs or podman's
 * `host/namespace` keys, reduced to the host the way docker's ConvertToHostname does.
 */
function findAuth(config: Json, key: string, hub: boolean, origin: Origin): AuthEntry | undefined {
  const auths = config.auths;
  if (auths === undefined) return undefined;
  if (!isObject(auths)) throw shapeError(origin, '"auths"', 'an object');
  const matches = (k: string) => {
    const h = convertToHostname(k);
    return hub ? isDockerHub(h) : h === key;
  };
  const candidates = [key, ...Object.keys(auths).filter((k) => k !== key && matches(k))];
  for (const k of candidates) {
    if (!Object.hasOwn(auths, k)) continue;
    const decoded = decodeEntry(auths[k], `auths["${k}"]`, origin);
    if (decoded) return decoded;
  }
  return undefined;
}

function convertToHostname(maybeURL: string): string {
  const scheme = maybeURL.indexOf('://');
  if (scheme >= 0) {
    const authority = maybeURL.slice(scheme + 3).split(/[/?#]/, 1)[0]!;
    const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
    if (hostPort !== '' && !hostPort.startsWith(':')) return hostPort;
  }
  return maybeURL.split('/', 1)[0]!;
}

const TOKEN_FIELDS = [
  ['identitytoken', 'identityToken'],
  ['registrytoken', 'registryToken'],
] as const;

function decodeEntry(entry: unknown, field: string, origin: Origin): AuthEntry | undefined {
  if (!isObject(entry)) throw shapeError(origin, field, 'an object');
  const str = (name: string): string | undefined => {
    const v = entry[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw shapeError(origin, `${field}.${name}`, 'a string');
    return v;
  };
  const out: AuthEntry = {};
  const auth = str('auth');
  const userPass = auth === undefined ? [str('username'), str('password')] : decodeAuth(auth);
  if (!userPass) {
    throw new TrustpinError(
      origin.code,
      `${origin.where}: ${field}.auth is not base64 of "username:password"`,
      {
        expected: 'base64("username:password") with a non-empty username',
        hint: `log in again (docker login / podman login) or fix ${field} in ${origin.where}`,
      },
    );
  }
  if (userPass[0] !== undefined) out.username = userPass[0];
  if (userPass[1] !== undefined) out.password = userPass[1];
  for (const [json, prop] of TOKEN_FIELDS) {
    const v = str(json);
    if (v !== undefined) out[prop] = v;
  }
  // docker keeps email-only or empty entries around after logout; they mean "anonymous".
  return Object.keys(out).length > 0 ? out : undefined;
}

function decodeAuth(auth: string): [string, string] | undefined {
  // Go's StdEncoding is strict (padding required, no stray characters) but skips CR/LF; Buffer is lenient.
  const clean = auth.replace(/[\r\n]/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  const decoded = Buffer.from(clean, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return [decoded.slice(0, colon), decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '')];
}

/** Runs `docker-credential-<suffix> get` like docker-credential-helpers' client.Get, bounded in time and output. */
async function runHelper(
  suffix: string,
  serverURL: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Credential | undefined> {
  const program = `docker-credential-${suffix}`;
  const check = `run \`echo ${serverURL} | ${program} get\` to see what it reports, or remove it from the docker config`;
  const fail = (why: string, hint = check, cause?: unknown) =>
    new TrustpinError(
      'CREDENTIAL_HELPER_FAILED',
      `credential helper ${program} failed for ${serverURL}: ${why}`,
      {
        hint,
        cause,
      },
    );

  const { status, stdout } = await exec(program, serverURL, env, timeoutMs, fail);
  if (status !== 0) {
    if (stdout.includes(NOT_FOUND_MESSAGE)) return undefined;
    // Helpers print their error on stdout; show a short first line, unless it could be a credential payload.
    const line = stdout.trim().split('\n', 1)[0]!.slice(0, 200);
    const shown = line !== '' && !/secret|password|token/i.test(line) ? `: ${line}` : '';
    throw fail(`exit status ${status ?? 'killed'}${shown}`);
  }
  let out: unknown;
  try {
    out = JSON.parse(stdout);
  } catch {}
  if (
    !isObject(out) ||
    typeof out.Secret !== 'string' ||
    !['string', 'undefined'].includes(typeof out.Username)
  ) {
    throw fail('output is not the expected {"ServerURL","Username","Secret"} JSON');
  }
  const username = (out.Username as string | undefined) ?? '';
  const source = `credential helper ${program}`;
  if (username === '<token>') return out.Secret === '' ? undefined : { identityToken: out.Secret, source };
  if (username === '' && out.Secret === '') return undefined;
  return { username, password: out.Secret, source };
}

let childProcess: typeof ChildProcess | undefined;
/** node:child_process (with node:net and dgram under it) loads only when a credential helper is run. */
function processes(): typeof ChildProcess {
  childProcess ??= createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;
  return childProcess;
}

function exec(
  program: string,
  input: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  fail: (why: string, hint?: string, cause?: unknown) => TrustpinError,
): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    // spawn looks the program up on env.PATH, so callers (and tests) control which helper runs.
    const child = processes().spawn(program, ['get'], {
      env,
      stdio: ['pipe', 'pipe', 'ignore'],
      windowsHide: true,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: TrustpinError | undefined, status: number | null = null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!err) return resolve({ status, stdout: Buffer.concat(chunks).toString('utf8') });
      // Don't wait for 'close': a grandchild may still hold stdout open.
      child.kill('SIGKILL');
      child.stdout.destroy();
      reject(err);
    };
    const timer = setTimeout(() => finish(fail(`no answer within ${timeoutMs} ms`)), timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') return finish(fail(`could not start (${e.code ?? e.message})`, undefined, e));
      const suffix = program.slice('docker-credential-'.length);
      finish(
        fail(
          'program not found on PATH',
          `install ${program} or remove "${suffix}" from credsStore/credHelpers`,
          e,
        ),
      );
    });
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_HELPER_OUTPUT) finish(fail(`wrote more than ${MAX_HELPER_OUTPUT} bytes`));
      else chunks.push(chunk);
    });
    child.on('close', (code) => finish(undefined, code));
    // A helper that exits without reading stdin fails the write with EPIPE; its exit status tells the story.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shapeError({ where, code }: Origin, field: string, expected: string): TrustpinError {
  return new TrustpinError(code, `${where}: ${field} must be ${expected}`, {
    expected,
    hint: `fix ${field} in ${where}, or remove the entry and log in again`,
  });
}
