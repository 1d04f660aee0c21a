// What every command shares: global flags, the registry client they configure, and one error printer that
// maps error codes to exit codes (0 ok, 1 verification failed, 2 usage or operational error).
import { TrustpinError } from '../errors/index.js';
import { RegistryClient } from '../registry/client.js';
import { makeStyle, type Style, useColor } from '../report/style.js';

export interface GlobalOptions {
  insecureRegistry?: string[];
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  timeout?: string;
}

export const EXIT = { ok: 0, failed: 1, error: 2 } as const;

export interface Context {
  opts: GlobalOptions;
  style: Style;
  client: RegistryClient;
  out: (s: string) => void;
  err: (s: string) => void;
  requests: number;
}

export function makeContext(opts: GlobalOptions, extraCa: Record<string, Buffer[]> = {}): Context {
  const ctx: Context = {
    opts,
    style: makeStyle(useColor(opts.color)),
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => {
      if (!opts.quiet) process.stderr.write(`${s}\n`);
    },
    requests: 0,
    client: undefined as unknown as RegistryClient,
  };
  const timeoutMs = opts.timeout ? Number(opts.timeout) * 1000 : undefined;
  ctx.client = new RegistryClient({
    insecureRegistries: opts.insecureRegistry ?? [],
    extraCa,
    timeoutMs,
    onRequest: (method, url, status) => {
      ctx.requests++;
      if (opts.verbose)
        process.stderr.write(`+${Math.round(performance.now())}ms ${method} ${redact(url)} → ${status}\n`);
    },
  });
  return ctx;
}

function redact(url: string): string {
  return url.replace(/([?&](?:X-Amz-Signature|X-Amz-Credential|sig|token)=)[^&]+/gi, '$1…');
}

export function printError(e: unknown, json: boolean | undefined): number {
  const te =
    e instanceof TrustpinError
      ? e
      : new TrustpinError('INTERNAL', e instanceof Error ? e.message : String(e), {
          hint: 'this is a bug in trustpin; please report it with --verbose output',
        });
  const code = te.isVerificationFailure ? EXIT.failed : EXIT.error;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: te.toJSON() }, null, 2)}\n`);
  } else {
    const lines = [`error[${te.code}]: ${te.message}`];
    if (te.expected !== undefined) lines.push(`  expected: ${te.expected}`);
    if (te.found !== undefined) lines.push(`  found:    ${te.found}`);
    if (te.hint !== undefined) lines.push(`  hint:     ${te.hint}`);
    if (te.isVerificationFailure) lines.push('  nothing was reported as verified.');
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  return code;
}

export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}
