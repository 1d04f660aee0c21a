// cosign verification: 20 keyed and 20 keyless-signed images in the real docker-registry, trusted root read offline.
// (1) the CLI, all 40 in one process (`verify --cosign REF…`) and one process per image; (2) in process, the
// verifier created once and `verify()` per image (network included); (3) in process, the check of one signature
// with the trust material loaded once (no network) — the goal is ≤ 5 ms per image. The anchor: cosign's ~2 s per
// image inside admission controllers (connaisseur#1526) cannot be measured here (no cosign binary), so the
// single-call reference is `docker trust inspect` on a DCT-signed image of the same registry.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage } from '../src/demo/build.js';
import { RegistryClient } from '../src/registry/index.js';
import {
  checkArtifact,
  createCosignVerifier,
  discoverArtifacts,
  loadPublicKey,
  loadTrustedRoot,
  registryAttachments,
} from '../src/trust/cosign/index.js';
import { cosignKey, fakeSigstore, signImage } from '../test/harness/cosign.js';
import { seedRegistry } from '../test/harness/images.js';
import { startNotary } from '../test/harness/notary.js';
import { seedTrust } from '../test/harness/notary-seed.js';
import { makeTempDir, requireBinary } from '../test/harness/processes.js';
import { pushArtifacts } from '../test/harness/push.js';
import { startRegistry } from '../test/harness/registry.js';
import { CLI, ensureBuilt, exec, row } from './util.js';

const N = 20;
const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const GOAL_MS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function main(): Promise<void> {
  await ensureBuilt();
  const dockerBin = requireBinary('docker', 'docker-ce-cli');
  const [reg, notary] = await Promise.all([startRegistry({ mode: 'plain' }), startNotary()]);
  const dir = await makeTempDir('tp-bench-cosign');
  try {
    const sigstore = fakeSigstore();
    const key = cosignKey('p256');
    const ci = sigstore.issue({
      subject: SUBJECT,
      issuer: ISSUER,
      notAfter: new Date(Date.now() + 3600_000),
    });
    const keyFile = join(dir, 'cosign.pub');
    const rootFile = join(dir, 'trusted_root.json');
    await writeFile(keyFile, key.pem);
    await writeFile(rootFile, JSON.stringify(sigstore.trustedRoot));
    const keyed: string[] = [];
    const keyless: string[] = [];
    for (let i = 0; i < 2 * N; i++) {
      const kind = i < N ? 'keyed' : 'keyless';
      const repo = `bench/${kind}`;
      const img = await buildImage({
        platform: { os: 'linux', architecture: 'amd64' },
        layers: [[{ path: `app/${i}.txt`, content: `image ${i}\n` }]],
      });
      await pushArtifacts(reg.host, repo, {
        blobs: [img.config.bytes, ...img.layers.map((l) => l.bytes)],
        manifests: [{ bytes: img.manifest.bytes, mediaType: img.manifest.mediaType, tag: `v${i}` }],
      });
      const signed = signImage({
        image: { digest: img.manifest.digest, bytes: img.manifest.bytes, mediaType: img.manifest.mediaType },
        dockerReference: `${reg.host}/${repo}`,
        signer: kind === 'keyed' ? key : ci,
        format: kind === 'keyed' ? 'legacy' : 'bundle',
        tlog: sigstore,
      });
      await pushArtifacts(reg.host, repo, signed.push);
      (kind === 'keyed' ? keyed : keyless).push(`${reg.host}/${repo}:v${i}`);
    }
    const keyedFlags = ['verify', '--cosign', '--key', keyFile, '--trusted-root', rootFile];
    const keylessFlags = [
      'verify',
      '--cosign',
      '--trusted-root',
      rootFile,
      '--certificate-identity',
      SUBJECT,
      '--certificate-oidc-issuer',
      ISSUER,
    ];
    const run = async (args: string[]) => {
      const t = performance.now();
      const r = await exec(process.execPath, [CLI, ...args], { env: { TRUSTPIN_HOME: dir } });
      if (r.code !== 0) throw new Error(`trustpin ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return performance.now() - t;
    };
    // (1) CLI
    const batchKeyed = median([
      await run([...keyedFlags, ...keyed]),
      await run([...keyedFlags, ...keyed]),
      await run([...keyedFlags, ...keyed]),
    ]);
    const batchKeyless = median([
      await run([...keylessFlags, ...keyless]),
      await run([...keylessFlags, ...keyless]),
      await run([...keylessFlags, ...keyless]),
    ]);
    const oneKeyed: number[] = [];
    for (const r of keyed) oneKeyed.push(await run([...keyedFlags, r]));
    const oneKeyless: number[] = [];
    for (const r of keyless) oneKeyless.push(await run([...keylessFlags, r]));
    // (2) in process, network included
    const client = new RegistryClient();
    const trustedRoot = JSON.stringify(sigstore.trustedRoot);
    const vk = createCosignVerifier({ client, keys: [key.pem], trustedRoot });
    const vl = createCosignVerifier({
      client,
      trustedRoot,
      identities: [{ issuer: ISSUER, subject: SUBJECT }],
    });
    const inProc = async (v: typeof vk, refs: string[]) => {
      for (const r of refs) if (!(await v.verify(r)).ok) throw new Error(`${r} did not verify`); // warm-up
      const t = performance.now();
      for (const r of refs) await v.verify(r);
      return (performance.now() - t) / refs.length;
    };
    const procKeyed = await inProc(vk, keyed);
    const procKeyless = await inProc(vl, keyless);
    // (3) the check alone, trust material loaded once, artifacts already fetched
    const root = loadTrustedRoot(trustedRoot, 'bench');
    const trust = {
      keys: [loadPublicKey(key.pem, 'bench key')],
      identities: [{ issuer: ISSUER, subject: SUBJECT }],
      trustedRoot: root,
      requireTlog: true,
    };
    const checkTime = async (refs: string[]) => {
      const items = [];
      for (const r of refs) {
        const [repoPart, tag] = [r.slice(0, r.lastIndexOf(':')), r.slice(r.lastIndexOf(':') + 1)];
        const repository = repoPart.slice(reg.host.length + 1);
        const m = await client.getManifest(reg.host, repository, tag, 1 << 20);
        const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(m.bytes).digest('hex')}`;
        const found = await discoverArtifacts(
          registryAttachments(client, reg.host, repository),
          digest as never,
        );
        items.push({ digest, repository: `${reg.host}/${repository}`, artifacts: found.artifacts });
      }
      const rounds = 20;
      const t = performance.now();
      for (let k = 0; k < rounds; k++)
        for (const it of items)
          for (const a of it.artifacts) {
            const c = checkArtifact(a, {
              digest: it.digest,
              repository: it.repository,
              trust,
              now: new Date(),
            });
            if (!c.ok) throw new Error(`check failed: ${JSON.stringify(c.problems)}`);
          }
      return (performance.now() - t) / (rounds * items.length);
    };
    const warmKeyed = await checkTime(keyed);
    const warmKeyless = await checkTime(keyless);
    await client.close();
    // the single-call reference: docker trust inspect on the same registry (DCT-signed demo/app:1.0)
    const images = await seedRegistry(reg);
    const dct = await seedTrust(notary, reg.host, images);
    const dockerTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const cfg = await makeTempDir('tp-bench-docker');
      const t = performance.now();
      const r = await exec(dockerBin, ['trust', 'inspect', `${reg.host}/demo/app:1.0`], {
        env: { ...dct.env, DOCKER_CONFIG: cfg },
      });
      dockerTimes.push(performance.now() - t);
      if (r.code !== 0) throw new Error(`docker trust inspect failed: ${r.stderr}`);
    }
    const docker = median(dockerTimes);

    console.log(
      `\nbench cosign: ${N} keyed (legacy .sig + Rekor SET) and ${N} keyless (Sigstore bundle referrer, Fulcio + SCT + Rekor) images, real docker-registry, trusted root from a file\n`,
    );
    console.log(row(`trustpin verify --cosign, ${N} keyed in one call (per image)`, batchKeyed / N));
    console.log(row(`trustpin verify --cosign, ${N} keyless in one call (per image)`, batchKeyless / N));
    console.log(row('trustpin verify --cosign, one keyed image per call (median)', median(oneKeyed)));
    console.log(row('trustpin verify --cosign, one keyless image per call (median)', median(oneKeyless)));
    console.log(row('in process, verify() keyed (network included, per image)', procKeyed));
    console.log(row('in process, verify() keyless (network included, per image)', procKeyless));
    console.log(row('in process, warm check keyed (no network, per image)', warmKeyed));
    console.log(row('in process, warm check keyless (no network, per image)', warmKeyless));
    console.log(row('docker trust inspect (DCT, one image, cold; the single-call reference)', docker));
    console.log('');
    console.log(
      `warm check goal ≤ ${GOAL_MS} ms per image: keyed ${warmKeyed.toFixed(2)} ms, keyless ${warmKeyless.toFixed(2)} ms — ${Math.max(warmKeyed, warmKeyless) <= GOAL_MS ? 'met' : 'NOT met'}`,
    );
    console.log(
      `one image per call vs docker trust inspect: keyed ${(docker / median(oneKeyed)).toFixed(2)}×, keyless ${(docker / median(oneKeyless)).toFixed(2)}× (docker time / trustpin time); batched: ${(docker / (batchKeyed / N)).toFixed(1)}×, ${(docker / (batchKeyless / N)).toFixed(1)}×`,
    );
    console.log(
      `against cosign's ~2000 ms per image in admission controllers (connaisseur#1526, not measurable here): in-process verify() ${(2000 / procKeyed).toFixed(0)}× (keyed), ${(2000 / procKeyless).toFixed(0)}× (keyless) less`,
    );
  } finally {
    await Promise.allSettled([reg.stop(), notary.stop()]);
  }
}
