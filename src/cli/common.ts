// What every command shares: global flags, the context they configure (registry client, opened sources, output),
// and one error printer that maps error codes to exit codes (0 ok, 1 verification failed, 2 usage or operational).
import { TrustpinError } from '../errors/index.js';
import type { RegistryClient, StaticCredential } from '../registry/index.js';
import { makeStyle, type Style, useColor } from '../report/index.js';
import type { ImageSource, openSource } from '../source/index.js';

export { collect } from './command.js';

export interface GlobalOptions {
  insecureRegistry?: string[];
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  timeout?: string;
  /** `USER:PASS` for the registry of the command's own image references */
  creds?: string;
  /** a docker config.json / podman auth.json to read credentials from */
  authfile?: string;
}

export const EXIT = { ok: 0, failed: 1, error: 2 } as const;

export interface Context {
  opts: GlobalOptions;
  style: Style;
  /** created on first use, so commands on local files never configure a registry */
  readonly client: RegistryClient;
  out: (s: string) => void;
  err: (s: string) => void;
  requests: number;
  /** open an image source (any transport); `close()` closes it */
  open: (spec: string) => Promise<ImageSource>;
  /** close every opened source, then the client */
  close: () => Promise<void>;
}

/** The registry login the CLI's `--creds`/`--authfile` turn into (names as in `RegistryOptions`). */
export interface LoginOptions {
  credentials?: Record<string, StaticCredential>;
  authFile?: string;
}

/** The registry client and the sources: loaded only for commands that may reach an image (not `trust key-id`). */
export interface Network {
  RegistryClient: typeof RegistryClient;
  openSource: typeof openSource;
}

export function makeContext(
  opts: GlobalOptions,
  extraCa: Record<string, Buffer[]> = {},
  login: LoginOptions = {},
  net?: Network,
): Context {
  const network = (): Network => {
    if (!net)
      throw new TrustpinError('INTERNAL', 'this command was declared local: it has no registry client');
    return net;
  };
  const timeoutMs = parseTimeout(opts.timeout);
  let client: RegistryClient | undefined;
  const sources: ImageSource[] = [];
  const ctx: Context = {
    opts,
    style: makeStyle(useColor(opts.color)),
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => {
      if (!opts.quiet) process.stderr.write(`${s}\n`);
    },
    requests: 0,
    get client() {
      client ??= new (network().RegistryClient)({
        insecureRegistries: opts.insecureRegistry ?? [],
        extraCa,
        timeoutMs,
        ...login,
        onRequest: (method, url, status) => {
          ctx.requests++;
          if (opts.verbose)
            process.stderr.write(
              `+${Math.round(performance.now())}ms ${method} ${redact(url)} → ${status}\n`,
            );
        },
      });
      return client;
    },
    open: async (spec) => {
      const src = await network().openSource(spec, ctx.client);
      sources.push(src);
      return src;
    },
    close: async () => {
      await Promise.all(sources.splice(0).map((s) => s.close().catch(() => undefined)));
      await client?.close();
    },
  };
  return ctx;
}

function parseTimeout(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = Number(v);
  if (v.trim() === '' || !Number.isFinite(s) || s <= 0)
    throw new TrustpinError('USAGE', `--timeout ${JSON.stringify(v)} is not a number of seconds`, {
      expected: 'a positive number of seconds, e.g. 30 or 2.5',
      found: v,
    });
  return s * 1000;
}

function redact(url: string): string {
  return url.replace(/([?&](?:X-Amz-Signature|X-Amz-Credential|sig|token)=)[^&]+/gi, '$1…');
}

/** Library hints name options (`option platform`); a CLI user needs the flag that sets it. */
const FLAGS: Record<string, string> = {
  platform: '--platform',
  allPlatforms: '--all-platforms',
  dest: '--dest',
  deep: '--deep',
  timeoutMs: '--timeout',
  insecureRegistries: '--insecure-registry',
  credentials: '--creds',
  authFile: '--authfile',
  rootKeyIds: '--root-key-id',
  trustServer: '--trust-server',
  trustArchive: '--trust-archive',
  trustCa: '--trust-ca',
  now: '--as-of',
  signers: '--signer',
  allowExpiredRoot: '--allow-expired-root',
  maxLayerBytes: '--max-layer-bytes',
  extraCa: '--trust-ca (for a notary server)',
  unpack: '--unpack',
  preserveSetid: '--preserve-setid',
  allowDevices: '--allow-devices',
};

/** A library text in CLI terms: `option NAME` becomes its flag, `trust pin` the command to type. */
export function cliText(s: string): string {
  return s
    .replace(/\boption (\w+)/g, (m, name: string) => FLAGS[name] ?? m)
    .replace(/\btrust (pin|import-docker)\b/g, '`trustpin trust $1`');
}

/** Any thrown value as a TrustpinError (hint in CLI terms): what is not one is a bug. */
export function asTrustpinError(e: unknown): TrustpinError {
  if (e instanceof TrustpinError) {
    const t = (s: string | undefined) => (s === undefined ? undefined : cliText(s));
    const [message, expected, found, hint] = [cliText(e.message), t(e.expected), t(e.found), t(e.hint)];
    if (message === e.message && expected === e.expected && found === e.found && hint === e.hint) return e;
    return new TrustpinError(e.code, message, { expected, found, hint, cause: e });
  }
  return new TrustpinError('INTERNAL', e instanceof Error ? e.message : String(e), {
    hint: 'this is a bug in trustpin; please report it with --verbose output',
  });
}

/** 1 for a verification failure, 2 for anything else. */
export function exitCodeOf(e: unknown): 1 | 2 {
  return asTrustpinError(e).isVerificationFailure ? EXIT.failed : EXIT.error;
}

/** The `error[CODE]: …` block on stderr; `subject` names which of several inputs failed. */
export function formatError(e: unknown, subject?: string): string {
  const te = asTrustpinError(e);
  const lines = [`error[${te.code}]: ${subject ? `${subject}: ` : ''}${te.message}`];
  if (te.expected !== undefined) lines.push(`  expected: ${te.expected}`);
  if (te.found !== undefined) lines.push(`  found:    ${te.found}`);
  if (te.hint !== undefined) lines.push(`  hint:     ${te.hint}`);
  return lines.join('\n');
}

export function printError(e: unknown, json: boolean | undefined): number {
  const te = asTrustpinError(e);
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: te.toJSON() }, null, 2)}\n`);
  } else {
    const tail = te.isVerificationFailure ? '\n  nothing was reported as verified.' : '';
    process.stderr.write(`${formatError(te)}${tail}\n`);
  }
  return exitCodeOf(te);
}
