// `trustpin pull REF --dest oci:DIR[:TAG]`: a verified download into an OCI layout, diff_ids proven, optionally
// unpacked with no path escapes. Exit 0 ok, 1 when a proof or a safety check failed, 2 on operational errors.
import { TrustpinError } from '../errors/index.js';
import { DEFAULT_LIMITS } from '../layer/index.js';
import { parsePlatform } from '../manifest/index.js';
import { ProgressLines, type PullResult, pull } from '../pull/index.js';
import { parseOciRef } from '../source/index.js';
import type { UnpackWarning } from '../unpack/index.js';
import type { Action } from './command.js';
import { cliText, EXIT } from './common.js';
import type { PullFlags } from './specs.js';

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** `1073741824`, `512M`, `1GiB`, `64g`: binary units. */
export function parseBytes(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(s.trim());
  const n = m ? Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new TrustpinError('USAGE', `${flag} ${JSON.stringify(s)} is not a size`, {
      expected: 'a positive number of bytes, optionally with K, M, G or T (binary units)',
      found: s,
    });
  return n;
}

function parseDest(dest: string): { dir: string; tag: string | undefined } {
  if (!dest.startsWith('oci:'))
    throw new TrustpinError('USAGE', `--dest ${JSON.stringify(dest)} is not an OCI layout`, {
      expected: 'oci:DIR or oci:DIR:TAG',
      found: dest,
    });
  const ref = parseOciRef(dest.slice(4));
  if (ref.digest)
    throw new TrustpinError('USAGE', '--dest names a digest', {
      expected: 'oci:DIR or oci:DIR:TAG (the digest is what the pull proves, not an input)',
      found: dest,
    });
  return { dir: ref.dir, tag: ref.tag };
}

function mbps(bytes: number, s: number): number {
  return s > 0 ? Math.round((bytes / 1e6 / s) * 10) / 10 : 0;
}

function summary(r: PullResult): Record<string, unknown> {
  const uncompressed = r.images.flatMap((i) => i.layers).reduce((a, l) => a + (l.uncompressed ?? 0), 0);
  return {
    ok: true,
    ...r,
    throughput: {
      downloadMBps: mbps(r.blobs.bytesFetched, r.seconds.download),
      proveMBps: mbps(uncompressed, r.seconds.prove),
      ...(r.unpack ? { unpackMBps: mbps(r.unpack.bytes, r.seconds.prove) } : {}),
    },
  };
}

function text(r: PullResult): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const layers = r.images.reduce((a, i) => a + i.layers.filter((l) => l.diffId).length, 0);
  const lines = [
    `pulled ${r.source} → oci:${r.layout}${r.tag ? `:${r.tag}` : ''}`,
    `  digest   ${r.digest}`,
    `  blobs    ${r.blobs.total} verified: ${r.blobs.fetched} fetched (${mib(r.blobs.bytesFetched)} in ${r.seconds.download} s), ${r.blobs.reused} already present`,
    `  diff_ids ${layers} layer${layers === 1 ? '' : 's'} proven against ${r.images.length === 1 ? 'the config' : `${r.images.length} configs`}`,
  ];
  if (r.unpack)
    lines.push(
      `  rootfs   ${r.unpack.rootfs}: ${r.unpack.entries} entries, ${mib(r.unpack.bytes)}, ${r.unpack.warnings.length} warning${r.unpack.warnings.length === 1 ? '' : 's'}`,
    );
  lines.push(`  time     ${r.seconds.total} s`);
  return lines.join('\n');
}

export const action: Action<PullFlags> = async ([ref], o, ctx) => {
  const g = ctx.opts;
  const dest = parseDest(o.dest);
  const jobs = Number(o.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)
    throw new TrustpinError('USAGE', `--jobs ${o.jobs} is out of range`, {
      expected: '1 to 64',
      found: o.jobs,
    });
  if (o.unpack !== undefined && o.allPlatforms)
    throw new TrustpinError('USAGE', '--unpack needs exactly one image', {
      expected: 'one platform (--platform, or the host default)',
      found: '--all-platforms',
      hint: 'drop --all-platforms, or unpack each platform with its own pull',
    });
  if (o.platform && o.allPlatforms)
    throw new TrustpinError('USAGE', '--platform and --all-platforms exclude each other', {
      hint: 'give one platform, or all of them',
    });
  const limits = {
    ...DEFAULT_LIMITS,
    ...(o.maxLayerBytes ? { maxBytes: parseBytes(o.maxLayerBytes, '--max-layer-bytes') } : {}),
  };
  // a terminal gets a redrawn frame, a pipe or a log one line per finished layer (ProgressLines decides)
  const progress = !g.quiet && !g.json ? new ProgressLines(process.stderr) : undefined;
  const warn = (w: UnpackWarning) => ctx.err(`warning[${w.code}]: layer ${w.layer}: ${cliText(w.message)}`);
  let spec = ref!;
  if (o.policy !== undefined) {
    // judged first; then pulled by the digest that was judged, so the tag cannot move in between
    const { judgeOne } = await import('./verify-policy.js');
    const j = await judgeOne(o.policy, spec, ctx);
    if (!j.pinned) return j.refused;
    spec = j.pinned;
  }
  const src = await ctx.open(spec);
  try {
    const r = await pull(src, {
      dest: dest.dir,
      tag: dest.tag,
      platform: o.platform ? parsePlatform(o.platform) : undefined,
      allPlatforms: o.allPlatforms === true,
      jobs,
      unpack: o.unpack,
      allowDevices: o.allowDevices === true,
      preserveSetid: o.preserveSetid === true,
      limits,
      onEvent: progress?.onEvent,
      onWarning: g.json ? undefined : warn,
    });
    return { exit: EXIT.ok, json: summary(r), text: text(r), quiet: r.digest };
  } finally {
    progress?.stop();
  }
};
