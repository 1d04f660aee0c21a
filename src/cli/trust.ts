// `trustpin trust inspect | archive | import-docker`: thin actions over the DCT library (key-id and pin/forget
// live in their own modules so they load no verifier).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fullName, parseDockerReference } from '../reference/index.js';
import {
  archiveTrust,
  importDockerTrust,
  inspectDctTrust,
  prettyTrustInfo,
  type TrustInfo,
  TrustStore,
  trustpinHome,
} from '../trust/index.js';
import type { Action } from './command.js';
import { asTrustpinError, EXIT, exitCodeOf, formatError } from './common.js';
import { parseAsOf, trustOptions } from './trust-flags.js';
import type { TrustFlags } from './trust-specs.js';

const gunOf = (remote: string) => {
  const ref = parseDockerReference(remote);
  return { ref, gun: fullName(ref) };
};

/** Worst exit over several repositories: an operational failure (2) outranks a verification failure (1). */
function worst(codes: number[]): 0 | 1 | 2 {
  return codes.includes(EXIT.error) ? EXIT.error : codes.includes(EXIT.failed) ? EXIT.failed : EXIT.ok;
}

export const inspect: Action<TrustFlags & { pretty?: boolean }> = async (repos, f, ctx) => {
  const opts = trustOptions(f, ctx);
  const infos: TrustInfo[] = [];
  const codes: number[] = [];
  let pretty = '';
  for (const remote of repos) {
    try {
      const { info, warnings } = await inspectDctTrust(remote, opts);
      infos.push(info);
      if (f.pretty) pretty += prettyTrustInfo(info);
      for (const w of warnings) ctx.err(`warning: ${w}`);
    } catch (e) {
      const err = asTrustpinError(e);
      codes.push(exitCodeOf(err));
      process.stderr.write(`${formatError(err)}\n`);
    }
  }
  const out = f.pretty && !ctx.opts.json ? pretty : `${JSON.stringify(infos, null, 4)}\n`;
  return { exit: worst(codes), raw: Buffer.from(out) };
};

export const archive: Action<TrustFlags & { out: string }> = async (repos, f, ctx) => {
  const doc = await archiveTrust(
    repos.map((r) => {
      const { ref, gun } = gunOf(r);
      return { gun, registry: ref.registry };
    }),
    f.out,
    {
      client: ctx.client,
      store: new TrustStore(trustpinHome()),
      trustServer: f.trustServer,
      rootKeyIds: f.rootKeyId,
      allowFirstUse: f.firstUse !== false,
      onRepository: (gun, files) => ctx.err(`${gun}: ${files.length} documents (${files.join(', ')})`),
    },
  );
  return { exit: EXIT.ok, json: doc, text: f.out, quiet: f.out };
};

export const importDocker: Action<TrustFlags & { trustDir?: string }> = async (repos, f, ctx) => {
  const store = new TrustStore(trustpinHome());
  const trustDir = f.trustDir ?? join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'trust');
  const now = parseAsOf(f.asOf);
  const lines: string[] = [];
  for (const remote of repos) {
    const { ref, gun } = gunOf(remote);
    const r = await importDockerTrust(gun, ref.registry, {
      client: ctx.client,
      store,
      trustDir,
      rootKeyIds: f.rootKeyId,
      allowFirstUse: f.firstUse !== false,
      now: () => now,
    });
    lines.push(`${gun}: imported root v${r.rootVersion} from ${r.from} into ${r.dir}`);
  }
  return { exit: EXIT.ok, text: lines.join('\n'), json: lines };
};
