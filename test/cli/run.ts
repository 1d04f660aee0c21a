// Run the trustpin CLI as a user would (a child process), from source through tsx — or a built file named by
// TRUSTPIN_CLI (e.g. an old bundle, to check that a defect's test fails before its fix).
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = resolve(root, 'src/cli/main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  raw: Buffer;
}

/** The node arguments that run the CLI with `args` (source through tsx, or $TRUSTPIN_CLI). */
export function cliArgv(args: string[]): string[] {
  const cli = process.env.TRUSTPIN_CLI;
  return cli ? [cli, ...args] : ['--import', 'tsx', CLI, ...args];
}

export function trustpin(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): Promise<CliResult> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, cliArgv(args), {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.on('error', rej);
    p.on('close', (code) => {
      const raw = Buffer.concat(out);
      res({ code: code ?? -1, stdout: raw.toString(), stderr: Buffer.concat(err).toString(), raw });
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end(opts.input);
  });
}
