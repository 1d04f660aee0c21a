// Start-up: the single calls people type and CI scripts run, one process each, against the tool they would run
// otherwise, in one run: `--version` vs `node -e 0`, `trust inspect` (cold trust store) vs `docker trust inspect`,
// one `digest REF` vs one `skopeo inspect`, `compare` vs the 6-call `skopeo inspect --raw` walk. Median of RUNS,
// runs interleaved so a slow moment of the machine hits both sides. Goals from issue 17.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedRegistry } from '../test/harness/images.js';
import { startNotary } from '../test/harness/notary.js';
import { seedTrust } from '../test/harness/notary-seed.js';
import { requireBinary } from '../test/harness/processes.js';
import { startRegistry } from '../test/harness/registry.js';
import { CLI as BUILT, ensureBuilt, exec } from './util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 11);
/** the CLI measured: dist's, or BENCH_CLI (a bundle of its own, which no concurrent `npm run build` removes mid-run) */
const CLI = process.env.BENCH_CLI ?? BUILT;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * The floor of a one-call command in node: a bare ES module that makes the same round trips as trustpin with
 * node's own http/https and hashes the answer, and nothing else (no parsing, no verification, no output format).
 * What trustpin takes beyond it is its own code; what the floor takes beyond the anchor is node.
 */
const DIGEST_FLOOR = `
import { request } from 'node:http';
import { createHash } from 'node:crypto';
const [host, port] = process.argv[1].split(':');
const get = (path, accept) => new Promise((res, rej) => request({ host, port, path, headers: { accept } }, (r) => {
  const c = []; r.on('data', (d) => c.push(d)); r.on('end', () => res(Buffer.concat(c)));
}).on('error', rej).end());
await get('/v2/', '*/*');
const b = await get('/v2/demo/app/manifests/1.0', 'application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json');
process.stdout.write('sha256:' + createHash('sha256').update(b).digest('hex') + '\\n');
`;
const TRUST_FLOOR = `
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
const [server, ca, gun] = process.argv.slice(1);
const get = (name) => new Promise((res, rej) => request(server + '/v2/' + gun + '/_trust/tuf/' + name, { ca: readFileSync(ca) }, (r) => {
  const c = []; r.on('data', (d) => c.push(d)); r.on('end', () => res(Buffer.concat(c)));
}).on('error', rej).end());
const files = await Promise.all(['root.json', 'timestamp.json', 'snapshot.json', 'targets.json'].map(get));
for (const f of files) createHash('sha256').update(f).digest('hex');
process.stdout.write('ok\\n');
`;

/** One step of a side: a command (or a few, for the manual walk) that must exit 0. */
type Side = () => Promise<void>;

async function ok(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await exec(cmd, args, { env });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Median wall time of each side, the sides interleaved run by run. */
async function race(sides: Side[]): Promise<number[]> {
  const times = sides.map(() => [] as number[]);
  for (const s of sides) await s(); // warm the page cache and the registry
  for (let i = 0; i < RUNS; i++) {
    for (const [k, s] of sides.entries()) {
      const t = performance.now();
      await s();
      times[k]!.push(performance.now() - t);
    }
  }
  return times.map(median);
}

export async function main(): Promise<void> {
  await ensureBuilt();
  const skopeo = requireBinary('skopeo', 'skopeo');
  const docker = requireBinary('docker', 'docker-ce-cli');
  const node = process.execPath;
  const [reg, notary] = await Promise.all([startRegistry({ mode: 'plain' }), startNotary()]);
  const tmp = await mkdtemp(join(tmpdir(), 'tp-bench-startup-'));
  try {
    const images = await seedRegistry(reg);
    const trust = await seedTrust(notary, reg.host, images);
    const ref = `${reg.host}/demo/app:1.0`;
    const fresh = (p: string) => mkdtemp(join(tmp, p));
    const tpTrust = ['--trust-server', notary.url, '--trust-ca', notary.caFile];
    const a = images.demoApp.ref;
    const b = images.mirrorApp.ref;
    const raw = (r: string) => ok(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${r}`]);
    const walk = async () => {
      const configs: string[][] = [];
      for (const r of [a, b]) {
        const idx = JSON.parse(await raw(r)) as { manifests: { digest: string }[] };
        const repo = r.slice(0, r.lastIndexOf(':'));
        const c: string[] = [];
        for (const m of idx.manifests) {
          c.push(
            (JSON.parse(await raw(`${repo}@${m.digest}`)) as { config: { digest: string } }).config.digest,
          );
        }
        configs.push(c);
      }
      if (configs[0]!.join() !== configs[1]!.join())
        throw new Error('the manual walk found different configs');
    };

    // NODE_EXTRA_CA_CERTS makes every node process parse that bundle at start (≈ 30 ms for a system bundle); the Go
    // anchors do not read it. Each row is measured with the environment as it is and, when it is set, without it
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    type Row = {
      what: string;
      tp: number;
      anchor: number;
      anchorLabel: string;
      goal: number;
      bare?: number;
      /** the node floor for the same round trips (see DIGEST_FLOOR), with the environment as it is and bare */
      floor?: number;
      floorBare?: number;
    };
    const rows: Row[] = [];
    let nodeBare: number | undefined;
    const add = async (
      what: string,
      tp: (env?: NodeJS.ProcessEnv) => Promise<void>,
      anchorLabel: string,
      anchor: Side,
      goal: number,
      floor?: (env?: NodeJS.ProcessEnv) => Promise<void>,
    ) => {
      const [t, b, f] = await race([() => tp(), anchor, ...(floor ? [() => floor()] : [])]);
      const row: Row = {
        what,
        tp: t!,
        anchor: b!,
        anchorLabel,
        goal,
        ...(f === undefined ? {} : { floor: f }),
      };
      if (extra) {
        const bare = { NODE_EXTRA_CA_CERTS: undefined };
        const [tb, fb] = await race([() => tp(bare), ...(floor ? [() => floor(bare)] : [])]);
        row.bare = tb;
        if (fb !== undefined) row.floorBare = fb;
      }
      rows.push(row);
    };
    const nodeFloor = (script: string, args: string[]) => async (env?: NodeJS.ProcessEnv) =>
      void (await ok(node, ['--input-type=module', '-e', script, ...args], env));
    await add(
      'trustpin --version',
      async (env) => void (await ok(node, [CLI, '--version'], env)),
      'node -e 0',
      async () => void (await ok(node, ['-e', '0'])),
      1.3,
    );
    if (extra)
      [nodeBare] = await race([
        async () => void (await ok(node, ['-e', '0'], { NODE_EXTRA_CA_CERTS: undefined })),
      ]);
    await add(
      'trustpin trust inspect (cold trust store)',
      async (env) =>
        void (await ok(node, [CLI, 'trust', 'inspect', ...tpTrust, ref], {
          ...env,
          TRUSTPIN_HOME: await fresh('tp-'),
        })),
      'docker trust inspect (cold)',
      async () =>
        void (await ok(docker, ['trust', 'inspect', ref], {
          ...trust.env,
          DOCKER_CONFIG: await fresh('d-'),
        })),
      2.5,
      nodeFloor(TRUST_FLOOR, [notary.url, notary.caFile, `${reg.host}/demo/app`]),
    );
    await add(
      'trustpin digest REF (one call)',
      async (env) => void (await ok(node, [CLI, 'digest', ref], env)),
      'skopeo inspect --format {{.Digest}}',
      async () =>
        void (await ok(skopeo, [
          'inspect',
          '--tls-verify=false',
          '--format',
          '{{.Digest}}',
          `docker://${ref}`,
        ])),
      2,
      nodeFloor(DIGEST_FLOOR, [reg.host]),
    );
    await add(
      'trustpin compare A B',
      async (env) => void (await ok(node, [CLI, 'compare', a, b], env)),
      'skopeo inspect --raw × 6 (manual walk)',
      walk,
      1,
    );

    console.log(
      `\nbench startup: one process per call, median of ${RUNS} interleaved runs (registry, notary on loopback)\n`,
    );
    console.log(
      `${'trustpin'.padEnd(42)} ${'ms'.padStart(6)}   ${'anchor'.padEnd(38)} ${'ms'.padStart(6)}  ratio  goal`,
    );
    for (const r of rows) {
      const ratio = r.tp / r.anchor;
      console.log(
        `${r.what.padEnd(42)} ${r.tp.toFixed(0).padStart(6)}   ${r.anchorLabel.padEnd(38)} ${r.anchor.toFixed(0).padStart(6)}  ${ratio.toFixed(2).padStart(5)}  ≤ ${r.goal.toFixed(1)} ${ratio <= r.goal ? 'met' : 'MISSED'}`,
      );
    }
    if (extra) {
      console.log(
        `\nthe same without NODE_EXTRA_CA_CERTS (set here to ${extra}; docker and skopeo do not read it):`,
      );
      for (const [i, r] of rows.entries()) {
        // node -e 0 reads the variable too: the first row's anchor is node without it
        const anchor = i === 0 && nodeBare !== undefined ? nodeBare : r.anchor;
        const ratio = r.bare! / anchor;
        console.log(
          `${r.what.padEnd(42)} ${r.bare!.toFixed(0).padStart(6)}   ${r.anchorLabel.padEnd(38)} ${anchor.toFixed(0).padStart(6)}  ${ratio.toFixed(2).padStart(5)}  ≤ ${r.goal.toFixed(1)} ${ratio <= r.goal ? 'met' : 'MISSED'}`,
        );
      }
    }
    console.log(
      '\nnode floors (a bare script making the same round trips with node:http/https, no verification):',
    );
    for (const r of rows.filter((r) => r.floor !== undefined)) {
      const goalMs = r.goal * r.anchor;
      console.log(
        `${r.what.padEnd(42)} floor ${r.floor!.toFixed(0).padStart(4)} ms${r.floorBare === undefined ? '' : ` (${r.floorBare.toFixed(0)} ms†)`}  = ${(r.floor! / r.anchor).toFixed(2)}× the anchor; the goal allows ${goalMs.toFixed(0)} ms; trustpin above the floor ${(r.tp - r.floor!).toFixed(0)} ms${r.bare === undefined || r.floorBare === undefined ? '' : ` (${(r.bare - r.floorBare).toFixed(0)} ms†)`}`,
      );
    }
    if (extra) console.log('† without NODE_EXTRA_CA_CERTS');
    const floor = rows[0]!.anchor;
    console.log(
      `\nfloor: node itself starts in ${floor.toFixed(0)} ms here${nodeBare === undefined ? '' : ` (${nodeBare.toFixed(0)} ms without NODE_EXTRA_CA_CERTS)`}; ratio = trustpin time / anchor time (lower is better)`,
    );
  } finally {
    await Promise.allSettled([reg.stop(), notary.stop(), rm(tmp, { recursive: true, force: true })]);
  }
}
