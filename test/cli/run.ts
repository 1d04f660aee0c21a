// Run the trustpin CLI as a user would (a child process), from source through tsx.
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

export function trustpin(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): Promise<CliResult> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
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
