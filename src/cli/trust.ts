// `trustpin trust …`: inspect (docker trust inspect parity), archive, key-id, import-docker, pin, forget — thin
// actions over the DCT library.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TrustpinError } from '../errors/index.js';
import { fullName, parseReference } from '../reference/index.js';
import {
  archiveTrust,
  canonicalKeyId,
  importDockerTrust,
  inspectDctTrust,
  isX509,
  keyId,
  prettyTrustInfo,
  readKeyFile,
  type TrustInfo,
  TrustStore,
  trustpinHome,
} from '../trust/index.js';
import type { Action } from './command.js';
import { asTrustpinError, EXIT, exitCodeOf, formatError } from './common.js';
import { parseAsOf, trustOptions } from './trust-flags.js';
import type { TrustFlags } from './trust-specs.js';

const gunOf = (remote: string) => {
  const ref = parseReference(remote.replace(/^docker:\/\//, ''));
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

export const keyId_: Action<Record<string, never>> = async (files, _f, ctx) => {
  const out = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new TrustpinError('IO_ERROR', `cannot read ${file}: ${(e as Error).message}`);
    }
    const k = readKeyFile(text);
    return { file, keytype: k.keytype, id: keyId(k), ...(isX509(k) ? { canonical: canonicalKeyId(k) } : {}) };
  });
  const text = out
    .map(
      (o) =>
        `${o.id}${o.canonical ? `  (canonical ${o.canonical})` : ''}${files.length > 1 ? `  ${o.file}` : ''}`,
    )
    .join('\n');
  void ctx;
  return { exit: EXIT.ok, json: out.length === 1 ? out[0] : out, text };
};
export { keyId_ as keyId };

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

export const pin: Action<Record<string, never>> = async ([repo, ...ids]) => {
  const { gun } = gunOf(repo!);
  for (const id of ids) {
    if (!/^[0-9a-f]{12,64}$/.test(id)) {
      throw new TrustpinError('USAGE', `${JSON.stringify(id)} is not a root key ID`, {
        expected:
          '12 to 64 lower-case hex characters (as `docker trust inspect` or `trustpin trust key-id` print)',
        found: id,
      });
    }
  }
  const store = new TrustStore(trustpinHome());
  await store.setPin(gun, ids);
  const text = `${gun}: root pinned to ${ids.join(', ')}; a cached root not signed by it is replaced by the next verification that passes under the pin`;
  return { exit: EXIT.ok, text, json: { gun, rootKeyIds: ids }, quiet: '' };
};

export const forget: Action<Record<string, never>> = async (repos) => {
  const store = new TrustStore(trustpinHome());
  const result: { gun: string; forgotten: boolean }[] = [];
  for (const r of repos) {
    const { gun } = gunOf(r);
    result.push({ gun, forgotten: await store.forget(gun) });
  }
  const text = result.map((r) => `${r.gun}: ${r.forgotten ? 'forgotten' : 'nothing stored'}`).join('\n');
  return { exit: EXIT.ok, text, json: result, quiet: '' };
};
