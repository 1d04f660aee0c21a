// `trustpin pin [PATH…]`: pin the image references of Dockerfiles, compose, Kubernetes, Helm values and workflows
// in place (default), show the change as a diff (`--dry-run`), refresh moved tags (`--update`), or only check
// (`--check`, `--check=stale`) with findings as text, JSON or SARIF. Exit 0 nothing failed; 1 a finding or a refused
// image; 2 a file or a reference could not be read or resolved.
import { TrustpinError } from '../errors/index.js';
import { parsePlatform } from '../manifest/index.js';
import { type PinMode, type PinReport, pinFiles } from '../pin/index.js';
import { pinSarif, printable, renderPinReport } from '../report/index.js';
import { writeAtomic } from '../util/index.js';
import type { Action, ExitCode } from './command.js';
import { EXIT } from './common.js';
import type { PinFlags } from './specs.js';
import { VERSION } from './version.js';

const FORMATS = ['text', 'json', 'sarif'] as const;

export const action: Action<PinFlags> = async (args, f, ctx) => {
  // commander's optional value takes the next word: `--check DIR` is `--check` and the path DIR
  const paths = typeof f.check === 'string' && f.check !== 'stale' ? [f.check, ...args] : args;
  if (typeof f.check === 'string' && f.check !== 'stale') f.check = true;
  const mode = modeOf(f);
  const format = f.format ?? (ctx.opts.json ? 'json' : 'text');
  if (!(FORMATS as readonly string[]).includes(format))
    throw new TrustpinError('USAGE', `--format ${JSON.stringify(format)} is not a pin report format`, {
      expected: FORMATS.join(' | '),
      found: format,
    });
  const concurrency = Number(f.concurrency ?? '8');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new TrustpinError('USAGE', '--concurrency must be a whole number from 1 to 64', {
      found: String(f.concurrency),
    });
  const report = await pinFiles(paths.length ? paths : ['.'], {
    mode,
    stale: f.check === 'stale',
    dryRun: f.dryRun === true,
    platform: f.platform ? parsePlatform(f.platform) : undefined,
    policy: f.policy ? (await import('../policy/index.js')).loadPolicy(f.policy) : undefined,
    buildArgs: buildArgs(f.buildArg ?? []),
    include: f.include,
    exclude: f.exclude,
    client: ctx.client,
    concurrency,
  });
  const exit = exitOf(report);
  const summary = renderPinReport(report, ctx.style, { verbose: ctx.opts.verbose === true });
  const body =
    format === 'sarif'
      ? `${JSON.stringify(pinSarif(report, { toolVersion: VERSION }), null, 2)}\n`
      : format === 'json'
        ? `${JSON.stringify(jsonOf(report), null, 2)}\n`
        : undefined;
  if (f.output !== undefined) {
    await writeAtomic(f.output, body ?? `${summary}\n`);
    return {
      exit,
      text: `${summary}\n${format} report written to ${f.output}`,
      json: jsonOf(report),
      quiet: '',
    };
  }
  if (body !== undefined) return { exit, raw: Buffer.from(body) };
  const diff = f.dryRun ? await diffOf(report) : '';
  return { exit, text: `${diff}${summary}`, json: jsonOf(report), quiet: diff.trimEnd() };
};

function modeOf(f: PinFlags): PinMode {
  if (f.check !== undefined && (f.update || f.dryRun))
    throw new TrustpinError('USAGE', '--check writes nothing', {
      expected: 'either --check or --update/--dry-run',
      found: `--check with ${f.update ? '--update' : '--dry-run'}`,
    });
  return f.check !== undefined ? 'check' : f.update ? 'update' : 'pin';
}

function buildArgs(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq <= 0)
      throw new TrustpinError('USAGE', `--build-arg ${JSON.stringify(a)} has no value`, {
        expected: 'NAME=VALUE (pin cannot read the build environment)',
        found: a,
      });
    out[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return out;
}

/** 2 when a file or a reference could not be read or resolved; else 1 on a refused image or a check finding. */
function exitOf(r: PinReport): ExitCode {
  if (r.files.some((f) => f.error) || r.counts.error > 0) return EXIT.error;
  return r.ok ? EXIT.ok : EXIT.failed;
}

/** The changes as one unified diff, `a/PATH` → `b/PATH` like git (the diff library loads only for it). */
async function diffOf(r: PinReport): Promise<string> {
  const { createTwoFilesPatch } = await import('diff');
  let out = '';
  for (const f of r.files) {
    if (!f.changed || f.before === undefined || f.after === undefined) continue;
    const path = printable(f.path);
    out += createTwoFilesPatch(`a/${path}`, `b/${path}`, f.before, f.after, undefined, undefined, {
      context: 3,
    })
      .split('\n')
      .slice(1)
      .join('\n');
  }
  return out;
}

/** The report for `--json`: the files' texts are left out (they are the files themselves). */
function jsonOf(r: PinReport): unknown {
  return {
    ...r,
    files: r.files.map(({ before: _b, after: _a, ...f }) => f),
  };
}
