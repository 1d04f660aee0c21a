// The command wrapper's light half: a command is a spec (what commander must know up front) plus an action
// module imported only when the command runs, so `--help` and `--version` never load a command's library.
import type { Command } from 'commander';
import { settleLater } from '../util/index.js';
import type { Context, Network } from './common.js';

/** 0 verified/equal, 1 verification failed/different, 2 usage or operational error. */
export type ExitCode = 0 | 1 | 2;

/** One failure among several results (e.g. one of the refs given to `digest`): printed, not thrown. */
export interface Problem {
  /** what failed, as the user named it */
  subject: string;
  error: unknown;
}

/** What an action hands the wrapper; the wrapper picks what to print from the global flags. */
export interface Outcome {
  exit: ExitCode;
  /** printed (pretty JSON) with `--json` */
  json?: unknown;
  /** printed otherwise */
  text?: string;
  /** printed with `-q` instead of `text` (results only); `''` prints nothing */
  quiet?: string;
  /** exact bytes to stdout, in every mode (`inspect --raw`) */
  raw?: Uint8Array;
  /** failures reported on stderr as `error[CODE]` lines (in `--json`, they belong in `json`) */
  problems?: Problem[];
}

/** A command's action module exports `action`; positional arguments arrive flattened, in order. */
export type Action<F> = (args: string[], flags: F, ctx: Context) => Promise<Outcome>;

export interface OptionSpec {
  /** commander syntax: `--platform <os/arch[/variant]>` */
  flags: string;
  description: string;
  default?: string;
  /** `collect` for a repeatable flag */
  parse?: (value: string, previous: string[] | undefined) => unknown;
  required?: boolean;
}

export interface CommandSpec<F = Record<string, unknown>> {
  name: string;
  description: string;
  /** commander syntax: `<ref>`, `[refs...]` */
  args?: { name: string; description: string }[];
  options?: OptionSpec[];
  /** the image references the command reaches, so `--creds` goes to their registries only */
  images?: (args: string[], flags: F) => string[];
  /** the command never reaches a registry or an image: the registry client and sources are not even loaded */
  local?: boolean;
  /** extra CA certificates per host (e.g. `--trust-ca` for the notary server), read when the command runs */
  ca?: (args: string[], flags: F) => Promise<Record<string, Buffer[]>>;
  load: () => Promise<{ action: Action<F> }>;
}

export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/** What a command needs loaded before its action runs, started at once when it is invoked. */
export interface Started<F> {
  action: Promise<{ action: Action<F> }>;
  /** `spec.ca`'s extra CA certificates per host (none: `{}`) */
  ca: Promise<Record<string, Buffer[]>>;
  /** the registry client and the sources; undefined for a `local` command */
  net: Promise<Network | undefined>;
}

/** Load {@link Network} (only for commands that are not `local`). */
async function loadNetwork(): Promise<Network> {
  const [r, s] = await Promise.all([import('../registry/index.js'), import('../source/index.js')]);
  return { RegistryClient: r.RegistryClient, openSource: s.openSource };
}

/** Declare `spec` on `parent`; its modules load when it runs. */
export function addCommand<F>(parent: Command, program: Command, spec: CommandSpec<F>): Command {
  const cmd = parent.command(spec.name).description(spec.description);
  for (const a of spec.args ?? []) cmd.argument(a.name, a.description);
  for (const o of spec.options ?? []) {
    if (o.required) cmd.requiredOption(o.flags, o.description, o.default);
    else if (o.parse) cmd.option(o.flags, o.description, o.parse as never, o.default as never);
    else cmd.option(o.flags, o.description, o.default);
  }
  cmd.action(async (...params: unknown[]) => {
    const flags = params[params.length - 2] as F;
    const args = params
      .slice(0, -2)
      .flat()
      .filter((a): a is string => typeof a === 'string');
    // one round of module loading instead of two or three in a row: the action, the registry client and the
    // extra CAs (their module and files) start loading beside the run wrapper, which awaits them and reports
    // their failures
    const started: Started<F> = {
      action: settleLater(spec.load()),
      ca: settleLater(spec.ca?.(args, flags) ?? Promise.resolve({})),
      net: settleLater(spec.local ? Promise.resolve(undefined) : loadNetwork()),
    };
    const { runCommand } = await import('./run.js');
    process.exitCode = await runCommand(spec, args, flags, program.opts(), started);
  });
  return cmd;
}
