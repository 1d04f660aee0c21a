// containerd for tests and benchmarks: the real daemon (Debian's 1.6, as root) with its own root, state and
// socket under a temp dir and the CRI plugin off, stopped by PID; and the hosts.toml that makes a mirror the only
// host for an origin (fail closed: containerd falls back to `server` when a listed mirror refuses).
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ManagedProcess, startProcess } from './processes.js';

export interface RunningContainerd {
  /** the gRPC socket (`ctr --address SOCK`) */
  sock: string;
  daemon: ManagedProcess;
}

/** Start `containerd` (the binary at `bin`) with everything under `base`; resolves once its socket exists. */
export async function startContainerd(bin: string, base: string): Promise<RunningContainerd> {
  const sock = join(base, 'c.sock');
  await mkdir(base, { recursive: true });
  await writeFile(
    join(base, 'config.toml'),
    `version = 2
root = ${JSON.stringify(join(base, 'root'))}
state = ${JSON.stringify(join(base, 'state'))}
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = ${JSON.stringify(sock)}
`,
  );
  const daemon = startProcess({
    name: 'containerd',
    command: bin,
    args: ['--config', join(base, 'config.toml')],
    logFile: join(base, 'containerd.log'),
  });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(sock)) {
    await daemon.stop();
    throw new Error(`containerd did not start:\n${daemon.logTail()}`);
  }
  return { sock, daemon };
}

/** A hosts dir (`ctr … --hosts-dir DIR`) where `mirrorHost` (plain HTTP) is the only host for `origin`. */
export async function mirrorHostsDir(dir: string, origin: string, mirrorHost: string): Promise<string> {
  await mkdir(join(dir, origin), { recursive: true });
  await writeFile(
    join(dir, origin, 'hosts.toml'),
    `server = "http://${mirrorHost}"
[host."http://${mirrorHost}"]
  capabilities = ["pull", "resolve"]
`,
  );
  return dir;
}
