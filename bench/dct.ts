// Docker Content Trust, cold (empty trust store) and warm (cached): `trustpin verify --dct` and
// `trustpin trust inspect` against `notary list` and `docker trust inspect` on the same repository, one run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedRegistry } from '../test/harness/images.js';
import { startNotary } from '../test/harness/notary.js';
import { seedTrust } from '../test/harness/notary-seed.js';
import { requireBinary } from '../test/harness/processes.js';
import { startRegistry } from '../test/harness/registry.js';
import { CLI, ensureBuilt, exec, row } from './util.js';

const RUNS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure(
  label: string,
  cmd: string,
  args: string[] | (() => Promise<string[]>),
  env: () => Promise<NodeJS.ProcessEnv>,
  ok = (o: string) => o.length > 0,
) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const e = await env();
    const a = typeof args === 'function' ? await args() : args;
    const t = performance.now();
    const r = await exec(cmd, a, { env: e });
    times.push(performance.now() - t);
    if (r.code !== 0 || !ok(r.stdout)) throw new Error(`${label} failed (${r.code}): ${r.stderr}${r.stdout}`);
  }
  return { label, ms: median(times) };
}

export async function main(): Promise<void> {
  await ensureBuilt();
  const notaryBin = requireBinary('notary', 'notary');
  const dockerBin = requireBinary('docker', 'docker-ce-cli');
  const [reg, notary] = await Promise.all([startRegistry({ mode: 'plain' }), startNotary()]);
  const tmp = await mkdtemp(join(tmpdir(), 'tp-bench-dct-'));
  try {
    const images = await seedRegistry(reg);
    const trust = await seedTrust(notary, reg.host, images);
    const gun = trust.guns.app;
    const ref = `${reg.host}/demo/app:1.0`;
    const tpFlags = ['--trust-server', notary.url, '--trust-ca', notary.caFile];
    const fresh = async (p: string) => mkdtemp(join(tmp, p));
    const warmHome = await fresh('warm-');
    const warmDocker = await fresh('docker-warm-');
    const warmNotary = await fresh('notary-warm-');
    const denv = (cfg: string) => ({ ...trust.env, DOCKER_CONFIG: cfg });
    const nargs = (d: string) => ['-d', d, '-s', notary.url, '--tlscacert', notary.caFile, 'list', gun];
    const results = [
      await measure(
        'trustpin verify --dct (cold)',
        process.execPath,
        [CLI, 'verify', '--dct', ...tpFlags, ref],
        async () => ({ TRUSTPIN_HOME: await fresh('c-') }),
      ),
      await measure(
        'trustpin verify --dct (warm)',
        process.execPath,
        [CLI, 'verify', '--dct', ...tpFlags, ref],
        async () => ({ TRUSTPIN_HOME: warmHome }),
      ),
      await measure(
        'trustpin trust inspect (cold)',
        process.execPath,
        [CLI, 'trust', 'inspect', ...tpFlags, ref],
        async () => ({ TRUSTPIN_HOME: await fresh('i-') }),
      ),
      await measure(
        'trustpin trust inspect (warm)',
        process.execPath,
        [CLI, 'trust', 'inspect', ...tpFlags, ref],
        async () => ({ TRUSTPIN_HOME: warmHome }),
      ),
    ];
    // notary's cold runs each get a fresh trust dir
    const notaryCold = await measure(
      'notary list (cold)',
      notaryBin,
      async () => nargs(await fresh('n-')),
      async () => trust.env,
    );
    const notaryWarm = await measure(
      'notary list (warm)',
      notaryBin,
      nargs(warmNotary),
      async () => trust.env,
    );
    const dockerCold = await measure(
      'docker trust inspect (cold)',
      dockerBin,
      ['trust', 'inspect', ref],
      async () => denv(await fresh('d-')),
    );
    const dockerWarm = await measure(
      'docker trust inspect (warm)',
      dockerBin,
      ['trust', 'inspect', ref],
      async () => denv(warmDocker),
    );
    const all = [...results, notaryCold, notaryWarm, dockerCold, dockerWarm];
    const base = (l: string) => all.find((r) => r.label === l)!.ms;
    console.log(
      `\nbench dct: ${ref} signed with the real notary-server (root v4, 2 delegations); median of ${RUNS} runs\n`,
    );
    for (const r of all) console.log(row(r.label, r.ms));
    console.log('');
    console.log(
      `trust inspect vs docker trust inspect: cold ${(base('docker trust inspect (cold)') / base('trustpin trust inspect (cold)')).toFixed(2)}× , warm ${(base('docker trust inspect (warm)') / base('trustpin trust inspect (warm)')).toFixed(2)}× (docker time / trustpin time)`,
    );
    console.log(
      `trust inspect vs notary list:          cold ${(base('notary list (cold)') / base('trustpin trust inspect (cold)')).toFixed(2)}× , warm ${(base('notary list (warm)') / base('trustpin trust inspect (warm)')).toFixed(2)}×`,
    );
    console.log(
      `verify --dct (also fetches and verifies the index, 2 manifests, 2 configs and re-resolves the tag) vs docker trust inspect: cold ${(base('docker trust inspect (cold)') / base('trustpin verify --dct (cold)')).toFixed(2)}×, warm ${(base('docker trust inspect (warm)') / base('trustpin verify --dct (warm)')).toFixed(2)}×`,
    );
  } finally {
    await Promise.allSettled([reg.stop(), notary.stop(), rm(tmp, { recursive: true, force: true })]);
  }
}
