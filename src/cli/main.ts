#!/usr/bin/env node
// The trustpin command line: a thin layer over the library. Each command lives in its own file.
import { Command } from 'commander';
import { collect, EXIT, printError } from './common.js';
import { registerCompare } from './compare.js';
import { registerDemo } from './demo.js';
import { registerDiff } from './diff.js';
import { registerDigest } from './digest.js';
import { registerInspect } from './inspect.js';
import { registerPull } from './pull.js';
import { registerTrust } from './trust.js';
import { registerVerify } from './verify.js';

const program = new Command();
program
  .name('trustpin')
  .description(
    'Prove a container image is the one its publisher built: by digest, by signature and by content.',
  )
  .version('0.1.0')
  .option(
    '--insecure-registry <host>',
    'allow plain HTTP / unverified TLS for HOST (repeatable; loopback always allowed)',
    collect,
  )
  .option('--json', 'machine-readable output')
  .option('--no-color', 'no colours (also NO_COLOR)')
  .option('-q, --quiet', 'print only results and errors')
  .option('-v, --verbose', 'print every HTTP request')
  .option('--timeout <seconds>', 'give up on a stalled registry after this many seconds', '30')
  .showHelpAfterError()
  .exitOverride();

async function run(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    process.exitCode = printError(e, program.opts().json);
  }
}

registerInspect(program, run);
registerDigest(program, run);
registerCompare(program, run);
registerDiff(program, run);
registerVerify(program, run);
registerTrust(program, run);
registerDemo(program, run);
registerPull(program, run);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const code = (e as { code?: string; exitCode?: number }).code ?? '';
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help')
    process.exitCode = EXIT.ok;
  else process.exitCode = EXIT.error;
}
// Everything is written (stdout/stderr are synchronous for files and pipes on Linux) and every resource was closed
// by its command; do not wait for idle keep-alive sockets and timers to wind down.
process.exit(process.exitCode ?? 0);
