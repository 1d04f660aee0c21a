// A real docker-registry (distribution 2.8) on 127.0.0.1 with a random port and a fresh storage dir, in one of
// three auth modes: none, htpasswd (bcrypt) or bearer tokens from the in-process token server.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashSync } from 'bcryptjs';
import { freePort } from './ports.js';
import {
  type ManagedProcess,
  makeTempDir,
  removeDir,
  requireBinary,
  startProcess,
  waitForUrl,
} from './processes.js';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.js';

export type RegistryMode = 'plain' | 'htpasswd' | 'token';

export interface RegistryOptions {
  mode: RegistryMode;
  /** accounts for htpasswd/token modes; default `{ testuser: 'testpass' }` */
  users?: Record<string, string>;
  /** extra token-server settings (granted actions, lifetime) */
  token?: Omit<TokenServerOptions, 'dir' | 'users'>;
  readyTimeoutMs?: number;
}

export interface RunningRegistry {
  mode: RegistryMode;
  /** `127.0.0.1:PORT`, the registry part of an image reference */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** temp dir holding config, storage, certs and logs; removed by stop() */
  dir: string;
  users: Record<string, string>;
  /** the first user, as `user:pass` (what skopeo's --creds wants); undefined in plain mode */
  creds?: string;
  tokenServer?: TokenServer;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export const DEFAULT_USERS: Readonly<Record<string, string>> = { testuser: 'testpass' };

export async function startRegistry(opts: RegistryOptions): Promise<RunningRegistry> {
  const bin = requireBinary('docker-registry', 'docker-registry');
  const dir = await makeTempDir(`registry-${opts.mode}`);
  const users = opts.mode === 'plain' ? {} : { ...(opts.users ?? DEFAULT_USERS) };
  let tokenServer: TokenServer | undefined;
  try {
    let auth = '';
    if (opts.mode === 'htpasswd') {
      const file = join(dir, 'htpasswd');
      // distribution ignores every entry that is not bcrypt; cost 5 keeps start-up fast.
      const lines = Object.entries(users).map(([u, p]) => `${u}:${hashSync(p, 5)}\n`);
      await writeFile(file, lines.join(''));
      auth = `auth:\n  htpasswd:\n    realm: trustpin-test-basic\n    path: ${file}\n`;
    } else if (opts.mode === 'token') {
      tokenServer = await startTokenServer({ ...opts.token, dir, users });
      auth =
        `auth:\n  token:\n    realm: ${tokenServer.realm}\n    service: ${tokenServer.service}\n` +
        `    issuer: ${tokenServer.issuer}\n    rootcertbundle: ${tokenServer.certFile}\n`;
    }
    const proc = await launch(bin, dir, auth, opts.readyTimeoutMs ?? 15_000);
    const host = `127.0.0.1:${proc.port}`;
    const first = Object.entries(users)[0];
    const ts = tokenServer;
    const stop = async () => {
      await proc.process.stop();
      await ts?.stop();
      await removeDir(dir);
    };
    return {
      mode: opts.mode,
      host,
      url: `http://${host}`,
      dir,
      users,
      ...(first ? { creds: `${first[0]}:${first[1]}` } : {}),
      ...(ts ? { tokenServer: ts } : {}),
      process: proc.process,
      stop,
    };
  } catch (err) {
    await tokenServer?.stop();
    await removeDir(dir);
    throw err;
  }
}

/** Start on a fresh random port; retry if another process grabbed the port between probe and bind. */
async function launch(
  bin: string,
  dir: string,
  auth: string,
  timeoutMs: number,
): Promise<{ port: number; process: ManagedProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'config.yml');
    await writeFile(config, configYaml(dir, port, auth));
    const proc = startProcess({
      name: 'docker-registry',
      command: bin,
      args: ['serve', config],
      env: registryEnv(),
      cwd: dir,
      logFile: join(dir, `registry-${attempt}.log`),
    });
    try {
      // 401 is "up" too: with auth on, /v2/ always challenges an anonymous caller.
      await waitForUrl(`http://127.0.0.1:${port}/v2/`, {
        proc,
        timeoutMs,
        ready: (s) => s === 200 || s === 401,
      });
      return { port, process: proc };
    } catch (err) {
      await proc.stop();
      if (attempt < 3 && /address already in use/.test(proc.logTail())) continue;
      throw err;
    }
  }
}

function configYaml(dir: string, port: number, auth: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    // the access log is only in our temp file, and it is the first thing to read when a test fails
    '  accesslog: {disabled: false}',
    'storage:',
    `  filesystem: {rootdirectory: ${join(dir, 'data')}}`,
    '  delete: {enabled: true}',
    '  cache: {blobdescriptor: inmemory}',
    // no background upload purging racing with a test's pushes
    '  maintenance: {uploadpurging: {enabled: false}}',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: trustpin-test-not-secret',
    '  headers: {X-Content-Type-Options: [nosniff]}',
    auth,
  ].join('\n');
}

/** The host's environment minus REGISTRY_* variables, which would silently override config.yml. */
function registryEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGISTRY_')) env[k] = v;
  return env;
}
