// The command wrapper's run half (loaded only when a command runs): builds the context from the global flags,
// runs the action, prints its outcome as JSON, text or `-q` text, closes what was opened, returns the exit code.
import { TrustpinError } from '../errors/index.js';
import { parseDockerReference } from '../reference/index.js';
import type { CommandSpec, Outcome, Started } from './command.js';
import {
  type Context,
  formatError,
  type GlobalOptions,
  type LoginOptions,
  makeContext,
  printError,
} from './common.js';

export async function runCommand<F>(
  spec: CommandSpec<F>,
  args: string[],
  flags: F,
  g: GlobalOptions,
  started: Started<F>,
): Promise<number> {
  let ctx: Context | undefined;
  try {
    const login = loginOptions(g, spec.images?.(args, flags) ?? []);
    const [{ action }, ca, net] = await Promise.all([started.action, started.ca, started.net]);
    const context = makeContext(g, ca, login, net);
    ctx = context;
    const outcome = await action(args, flags, ctx);
    render(outcome, g);
    return outcome.exit;
  } catch (e) {
    return printError(e, g.json);
  } finally {
    await ctx?.close();
  }
}

function render(o: Outcome, g: GlobalOptions): void {
  if (o.raw) process.stdout.write(o.raw);
  else {
    const body = g.json
      ? o.json === undefined
        ? undefined
        : JSON.stringify(o.json, null, 2)
      : g.quiet
        ? (o.quiet ?? o.text)
        : o.text;
    if (body) process.stdout.write(`${body}\n`);
  }
  if (!g.json) for (const p of o.problems ?? []) process.stderr.write(`${formatError(p.error, p.subject)}\n`);
}

/**
 * `--creds USER:PASS` is one login, so it goes only to the registry the command's own references name: never to a
 * host it was not given for. A command that reaches two registries (compare A B across hosts) cannot say which
 * one the login is for, so that is a usage error pointing to `--authfile`, which names a login per host.
 */
export function loginOptions(g: GlobalOptions, images: string[]): LoginOptions {
  const login: LoginOptions = {};
  if (g.authfile !== undefined) login.authFile = g.authfile;
  if (g.creds === undefined) return login;
  const colon = g.creds.indexOf(':');
  if (colon <= 0)
    throw new TrustpinError('USAGE', '--creds needs a user name and a password', {
      expected: 'USER:PASS',
      found: colon === 0 ? ':… (no user name)' : 'no ":"',
    });
  const hosts = [...new Set(images.flatMap(registryOf))];
  if (hosts.length !== 1)
    throw new TrustpinError(
      'USAGE',
      hosts.length === 0
        ? '--creds was given but this command names no registry'
        : `--creds is one login but this command reaches ${hosts.length} registries`,
      {
        expected: 'image references on one registry',
        found: hosts.join(', ') || 'local transports only',
        hint: 'use --authfile FILE with one entry per registry (docker config.json format), or docker login',
      },
    );
  login.credentials = {
    [hosts[0]!]: { username: g.creds.slice(0, colon), password: g.creds.slice(colon + 1) },
  };
  return login;
}

/** The registry an image string reaches, if it is a registry reference. */
function registryOf(spec: string): string[] {
  if (/^(oci|docker-archive|oci-archive):/.test(spec)) return [];
  return [parseDockerReference(spec).registry];
}
