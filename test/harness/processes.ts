// Child processes for the harness: start a real server binary with its log in a file, wait until it answers,
// and stop it by its own PID. Every PID is remembered so a crashing test run does not leave servers behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Absolute path of `name`, or an error that tells CI exactly what to install. */
export function requireBinary(name: string, aptPackage: string): string {
  // /usr/sbin is often missing from PATH for non-root users, and Debian puts some servers there.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`missing binary ${name}: install it with apt-get install -y ${aptPackage}`);
}

// Children still running, by PID. On exit or a fatal signal they are killed by PID, never by name.
const live = new Map<number, ChildProcess>();
// Temp dirs not yet removed; a crashed run deletes them on exit so CI machines do not fill up.
const liveDirs = new Set<string>();
let cleanupInstalled = false;

function killLeftovers(): void {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  // Only after the kills: a running registry could otherwise write into a dir being deleted.
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killLeftovers);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killLeftovers();
      // Re-raise with the default handler, so the test runner still sees the signal it sent.
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** A fresh directory under the OS temp dir; the caller removes it with `removeDir`. */
export async function makeTempDir(prefix: string): Promise<string> {
  installCleanup();
  const dir = await mkdtemp(join(tmpdir(), `trustpin-${prefix}-`));
  liveDirs.add(dir);
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  liveDirs.delete(dir);
}

export interface ProcessOptions {
  /** shown in error messages */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr both go here */
  logFile: string;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** null while running */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null;
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone */
  stop(): Promise<void>;
}

export function startProcess(opts: ProcessOptions): ManagedProcess {
  installCleanup();
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`);
  live.set(pid, child);
  let status: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      status = { code, signal };
      live.delete(pid);
      resolve();
    });
  });
  child.on('error', () => {
    // reported through exitStatus() and the log; an unhandled 'error' would crash the test process
  });
  const logTail = (lines = 40) => tailOf(opts.logFile, lines);
  const stop = async () => {
    if (status) return;
    signal(pid, 'SIGTERM');
    const termed = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
    if (!termed) {
      signal(pid, 'SIGKILL');
      await exited;
    }
  };
  return { name: opts.name, pid, logFile: opts.logFile, exitStatus: () => status, logTail, stop };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited in between
  }
}

function tailOf(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export interface WaitOptions {
  /** fail fast, with its log, if this process dies while we wait */
  proc?: ManagedProcess;
  timeoutMs?: number;
}

/** Poll `url` until `ready(status)`; the error carries the last failure and the log tail. */
export async function waitForUrl(
  url: string,
  opts: WaitOptions & { ready?: (status: number) => boolean } = {},
): Promise<void> {
  const ready = opts.ready ?? ((s) => s < 500);
  await poll(`GET ${url}`, opts, async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    if (!ready(res.status)) throw new Error(`status ${res.status}`);
  });
}

/** Poll until a TCP connection to host:port succeeds. */
export async function waitForTcp(host: string, port: number, opts: WaitOptions = {}): Promise<void> {
  await poll(`connect ${host}:${port}`, opts, () => {
    return new Promise<void>((resolve, reject) => {
      const sock = connect({ host, port, timeout: 1000 });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('timeout', () => {
        sock.destroy();
        reject(new Error('connect timed out'));
      });
      sock.once('error', reject);
    });
  });
}

async function poll(what: string, opts: WaitOptions, attempt: () => Promise<void>): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  let last = 'never tried';
  for (;;) {
    const st = opts.proc?.exitStatus();
    if (opts.proc && st) {
      throw new Error(
        `${opts.proc.name} exited (code ${st.code}, signal ${st.signal}) before ${what} succeeded\n` +
          `--- ${opts.proc.logFile} ---\n${opts.proc.logTail()}`,
      );
    }
    try {
      await attempt();
      return;
    } catch (err) {
      // fetch hides the useful part (ECONNREFUSED, …) in `cause`
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      last = err instanceof Error ? `${err.message}${cause}` : String(err);
    }
    if (Date.now() > deadline) {
      const log = opts.proc ? `\n--- ${opts.proc.logFile} ---\n${opts.proc.logTail()}` : '';
      throw new Error(`${what} did not succeed within ${timeoutMs} ms (last: ${last})${log}`);
    }
    await sleep(25);
  }
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Run a short-lived command to completion; a non-zero exit rejects with the command line and stderr. */
export function run(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env });
    const pid = child.pid;
    if (pid !== undefined) live.set(pid, child);
    installCleanup();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    // a command that exits without reading stdin must not crash the test with EPIPE
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      if (pid !== undefined) signal(pid, 'SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (pid !== undefined) live.delete(pid);
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else {
        const line = [command, ...args].join(' ');
        reject(
          new Error(`${line}\nexited with code ${code}${sig ? ` (signal ${sig})` : ''}\n${stderr.trimEnd()}`),
        );
      }
    });
  });
}
