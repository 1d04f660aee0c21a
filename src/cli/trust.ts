// `trustpin trust …`: inspect (docker trust inspect parity), archive, key-id, import-docker.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TrustpinError } from '../errors/index.js';
import { fullName, parseReference } from '../reference/index.js';
import { prettyTrustInfo, type TrustInfo, trustInfo } from '../trust/dct/inspect.js';
import { canonicalKeyId, isX509, keyId, readKeyFile } from '../trust/dct/keys.js';
import {
  ARCHIVE_FORMAT,
  type ArchiveFile,
  FileSet,
  NotaryServer,
  type TrustSource,
} from '../trust/dct/source.js';
import { updateTrust } from '../trust/dct/updater.js';
import { loadTrust, trustServerFor } from '../trust/dct/verify.js';
import { writeAtomic } from '../util/fs.js';
import { EXIT, type GlobalOptions, makeContext, printError } from './common.js';
import {
  addTrustFlags,
  dctOptions,
  parseAsOf,
  registriesOf,
  type TrustFlags,
  trustCa,
} from './trust-flags.js';

export function registerTrust(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  const trust = program
    .command('trust')
    .description('Docker Content Trust (Notary v1): inspect, archive, key IDs');

  addTrustFlags(
    trust
      .command('inspect')
      .description('what `docker trust inspect` printed: signed tags, signers and administrative keys')
      .argument('<repos...>', 'REPO[:TAG]')
      .option('--pretty', 'the three human-readable tables'),
  ).action((repos: string[], f: TrustFlags & { pretty?: boolean }) =>
    run(async () => {
      const g = program.opts<GlobalOptions>();
      const ctx = makeContext(g, trustCa(f, registriesOf(repos)));
      const opts = dctOptions(f, ctx);
      const infos: TrustInfo[] = [];
      let failed = false;
      try {
        for (const remote of repos) {
          try {
            const ref = parseReference(remote);
            const { repo } = await loadTrust(fullName(ref), ref.registry, opts);
            const info = trustInfo(repo, remote, ref.tag);
            infos.push(info);
            if (f.pretty) process.stdout.write(prettyTrustInfo(info));
            for (const w of repo.warnings) ctx.err(`warning: ${w}`);
          } catch (e) {
            failed = true;
            printError(e, false);
          }
        }
        if (!f.pretty) ctx.out(JSON.stringify(infos, null, 4));
        return failed ? EXIT.failed : EXIT.ok;
      } finally {
        await ctx.client.close();
      }
    }),
  );

  trust
    .command('archive')
    .description('save every signed document the notary server has (all root versions too), for offline use')
    .argument('<repos...>', 'REPO (the GUN is the full name, e.g. docker.io/nicolas/webdis)')
    .requiredOption('--out <path>', 'archive file to write')
    .option('--trust-server <url>', 'notary server')
    .option('--trust-ca <file>', 'CA certificate for the notary server')
    .option('--root-key-id <id>', 'pin the root key (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .action((repos: string[], f: TrustFlags & { out: string }) =>
      run(async () => {
        const g = program.opts<GlobalOptions>();
        const ctx = makeContext(g, trustCa(f, registriesOf(repos)));
        try {
          const doc: ArchiveFile = {
            format: ARCHIVE_FORMAT,
            createdAt: new Date().toISOString(),
            server: '',
            repositories: [],
          };
          for (const remote of repos) {
            const ref = parseReference(remote);
            const gun = fullName(ref);
            const server = trustServerFor(ref.registry, f.trustServer);
            doc.server = server;
            ctx.client.useCredentialsOf(new URL(server).host, ref.registry);
            const files = await archiveRepo(new NotaryServer(server, ctx.client), gun, f.rootKeyId ?? []);
            doc.repositories.push({
              gun,
              fetchedAt: new Date().toISOString(),
              files: Object.fromEntries([...files].map(([k, v]) => [k, v.toString('base64')])),
            });
            ctx.err(`${gun}: ${files.size} documents (${[...files.keys()].sort().join(', ')})`);
          }
          await writeAtomic(f.out, `${JSON.stringify(doc, null, 1)}\n`);
          ctx.out(f.out);
          return EXIT.ok;
        } finally {
          await ctx.client.close();
        }
      }),
    );

  trust
    .command('key-id')
    .description(
      'print the key ID of a public key or certificate file (docker/notary PEM, role: headers allowed)',
    )
    .argument('<files...>')
    .action((files: string[]) =>
      run(async () => {
        const g = program.opts<GlobalOptions>();
        const out = files.map((file) => {
          let text: string;
          try {
            text = readFileSync(file, 'utf8');
          } catch (e) {
            throw new TrustpinError('IO_ERROR', `cannot read ${file}: ${(e as Error).message}`);
          }
          const k = readKeyFile(text);
          return {
            file,
            keytype: k.keytype,
            id: keyId(k),
            ...(isX509(k) ? { canonical: canonicalKeyId(k) } : {}),
          };
        });
        if (g.json) process.stdout.write(`${JSON.stringify(out.length === 1 ? out[0] : out, null, 2)}\n`);
        else
          for (const o of out)
            process.stdout.write(
              `${o.id}${o.canonical ? `  (canonical ${o.canonical})` : ''}${files.length > 1 ? `  ${o.file}` : ''}\n`,
            );
        return EXIT.ok;
      }),
    );

  trust
    .command('import-docker')
    .description(
      "verify docker's cached trust data for a repository and make it trustpin's pin (TOFU from docker)",
    )
    .argument('<repos...>', 'REPO')
    .option(
      '--trust-dir <dir>',
      "docker's trust directory",
      join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'trust'),
    )
    .option('--trust-server <url>', 'the notary server this data came from')
    .option('--as-of <time>', 'judge expiry at this time')
    .action((repos: string[], f: TrustFlags & { trustDir: string }) =>
      run(async () => {
        const g = program.opts<GlobalOptions>();
        const ctx = makeContext(g);
        const opts = dctOptions(f, ctx);
        for (const remote of repos) {
          const ref = parseReference(remote);
          const gun = fullName(ref);
          const dir = join(f.trustDir, 'tuf', gun, 'metadata');
          if (!existsSync(join(dir, 'root.json'))) {
            throw new TrustpinError(
              'TRUST_DATA_NOT_FOUND',
              `docker has no trust data for ${gun} in ${f.trustDir}`,
            );
          }
          const { repo } = await loadTrust(gun, ref.registry, { ...opts, trustArchive: dir });
          const serverKey = new URL(trustServerFor(ref.registry, f.trustServer)).host;
          await opts.store.withLock(serverKey, gun, () => opts.store.save(serverKey, gun, repo.files));
          ctx.out(
            `${gun}: imported root v${repo.root.signed.version} from ${dir} into ${opts.store.dir(serverKey, gun)}`,
          );
        }
        await ctx.client.close();
        return EXIT.ok;
      }),
    );
}

/** Fetch every document (all root versions too), verified as a client would before it is written. */
async function archiveRepo(server: NotaryServer, gun: string, pins: string[]): Promise<Map<string, Buffer>> {
  const seen = new Map<string, Buffer>();
  const recording: TrustSource = {
    describe: server.describe,
    network: true,
    fetch: async (g, name, max) => {
      const b = await server.fetch(g, name, max);
      if (b) seen.set(name.replace(/\.[0-9a-f]{64,128}\.json$/, '.json'), b);
      return b;
    },
  };
  const repo = await updateTrust({ gun, source: recording, pinnedRootKeys: pins, now: parseAsOf(undefined) });
  for (let v = 1; v <= repo.root.signed.version; v++) {
    const b = await server.fetch(gun, `${v}.root.json`, 1024 * 1024);
    if (b) seen.set(`${v}.root.json`, b);
  }
  // the archive must verify offline on its own before it is written
  await updateTrust({
    gun,
    source: new FileSet('archive', new Map([[gun, seen]])),
    pinnedRootKeys: pins,
    now: parseAsOf(undefined),
  });
  return seen;
}
