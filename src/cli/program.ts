// The trustpin command line: a thin layer over the library. The program declares every command from its spec and
// imports a command's modules only when it runs (see command.ts), so start-up stays small as commands grow.
import { Command } from 'commander';
import { addCommand, collect } from './command.js';
import { signaturesSpec, sigstoreSpecs } from './cosign-specs.js';
import { policySpecs } from './policy-specs.js';
import { serveSpecs } from './serve-specs.js';
import { AFTER_TRUST, BEFORE_TRUST } from './specs.js';
import { trustSpecs, verifySpec } from './trust-specs.js';
import { VERSION } from './version.js';

// A reader that stops early (`trustpin demo | head -1`) closes stdout: what is left to print has no reader, so
// it is dropped quietly and the command still ends with its own exit code.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') return;
  process.stderr.write(`error[IO_ERROR]: cannot write to stdout: ${e.message}\n`);
  process.exit(2);
});

const program = new Command();
program
  .name('trustpin')
  .description(
    'Prove a container image is the one its publisher built: by digest, by signature and by content.',
  )
  .version(VERSION)
  .option(
    '--insecure-registry <host>',
    'allow plain HTTP / unverified TLS for HOST (repeatable; loopback always allowed)',
    collect,
  )
  .option('--json', 'machine-readable output')
  .option('--no-color', 'no colours (also NO_COLOR)')
  .option('-q, --quiet', 'print only results and errors (compare/diff: nothing but the exit code)')
  .option('-v, --verbose', 'print every HTTP request')
  .option('--timeout <seconds>', 'give up on a stalled registry after this many seconds', '30')
  .option('--creds <user:pass>', "log in to the registry of the command's image references with these")
  .option('--authfile <file>', 'read registry credentials only from this docker/podman auth JSON file')
  .showHelpAfterError()
  .exitOverride();

for (const spec of BEFORE_TRUST) addCommand(program, program, spec);
addCommand(program, program, verifySpec);
const trust = program
  .command('trust')
  .description('Docker Content Trust (Notary v1): inspect, archive, pin, key IDs');
for (const spec of trustSpecs) addCommand(trust, program, spec);
addCommand(program, program, signaturesSpec);
const sigstore = program
  .command('sigstore')
  .description(
    'the Sigstore trusted root for cosign keyless verification: refresh it with TUF, show the cache',
  );
for (const spec of sigstoreSpecs) addCommand(sigstore, program, spec);
const policy = program
  .command('policy')
  .description(
    'the trustpin policy file: lint it, explain which rule applies to an image, print its JSON Schema',
  );
for (const spec of policySpecs) addCommand(policy, program, spec);
for (const spec of AFTER_TRUST) addCommand(program, program, spec);
const serve = program
  .command('serve')
  .description('long-running enforcement: an admission webhook, a verifying registry mirror');
for (const spec of serveSpecs) addCommand(serve, program, spec);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const code = (e as { code?: string }).code ?? '';
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help')
    process.exitCode = 0;
  else process.exitCode = 2;
}
// Every resource was closed by its command; do not wait for idle keep-alive sockets and timers to wind down — but
// do wait for what is still queued for stdout/stderr: a pipe takes 64 KiB at a time, and exiting with more queued
// cut `verify --policy --format json … | jq` off mid-document.
const flushed = (s: NodeJS.WriteStream) =>
  new Promise<void>((r) => (s.writableLength > 0 && !s.destroyed ? s.write('', () => r()) : r()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(process.exitCode ?? 0);
