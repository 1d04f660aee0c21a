// Issue 14: `verify --policy` over 50 references of the real docker-registry, signed through the real notary-server
// and signer (DCT), cosign (keyed, with the transparency log) and Notation, plus a mirror repository judged as its
// origin and unsigned images — 10 DCT, 15 cosign, 15 Notation, 5 mirror, 5 unsigned. trustpin in ONE process:
// `evaluate(loadPolicy(file), refs, {client})` cold (empty trust store) and warm, and the CLI once
// (`trustpin verify --policy F REF×50`); the anchor: 50 × `docker trust inspect` over the DCT subset in the same run
// (docker can judge DCT only). Goal: trustpin's batch of 50 ≤ 0.2 of docker's time for its batch of 50.
// The CLI is bundled into a temporary directory (as bench/notation.ts does): dist/ is left alone.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evaluate, loadPolicy, type PolicyReport } from '../src/policy/index.js';
import { RegistryClient } from '../src/registry/index.js';
import { cosignKey, fakeSigstore, signImage } from '../test/harness/cosign.js';
import { seedRegistry } from '../test/harness/images.js';
import { fetchRootKey, startNotary } from '../test/harness/notary.js';
import { seedTrust } from '../test/harness/notary-seed.js';
import {
  NOTATION_JWS_MEDIA_TYPE,
  notationPki,
  pemOf,
  pushNotationSignature,
  signJws,
} from '../test/harness/notation.js';
import { copyImage, writePolicyFile } from '../test/harness/policy.js';
import { makeTempDir, requireBinary } from '../test/harness/processes.js';
import { pushArtifacts } from '../test/harness/push.js';
import { startRegistry } from '../test/harness/registry.js';
import { bundleCli } from './notation.js';
import { exec, pushImage } from './util.js';

const COUNTS = { dct: 10, cosign: 15, notation: 15, mirror: 5, unsigned: 5 };
const DOCKER_CALLS = 50;
const GOAL = 0.2;
const WIDE = 16;
const LEAF = 'C=US, ST=WA, L=Seattle, O=Acme Bench, CN=Acme Bench Signer';

type Kind = keyof typeof COUNTS;

export async function main(): Promise<void> {
  const dockerBin = requireBinary('docker', 'docker-ce-cli');
  const started = performance.now();
  const [reg, notary] = await Promise.all([startRegistry({ mode: 'plain' }), startNotary()]);
  const dir = await makeTempDir('tp-bench-policy');
  try {
    const cli = await bundleCli(join(dir, 'cli'));
    const host = reg.host;
    // the seed gives the passphrase environment and the notary/docker helpers (and demo/app's own DCT data)
    const trust = await seedTrust(notary, host, await seedRegistry(reg));
    const refs: { ref: string; kind: Kind }[] = [];

    // DCT: one repository per reference, signed with the notary CLI on its own trust dir (one root key for all)
    const trustDir = join(dir, 'notary-trust');
    const dctGuns: string[] = [];
    const signDct = async (i: number) => {
      const repo = `dct/r${i}`;
      const m = await pushImage(host, repo, 'v1', `dct-${i}`);
      const gun = `${host}/${repo}`;
      const hex = m.digest.replace(/^sha256:/, '');
      for (const args of [
        ['init', '-p', gun],
        ['addhash', gun, 'v1', String(m.bytes.length), '--sha256', hex, '-p'],
      ]) {
        const r = await trust.notary(args, { trustDir });
        if (r.code !== 0) throw new Error(`notary ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      }
      dctGuns.push(gun);
      return `${gun}:v1`;
    };
    const dctRefs = [await signDct(0)]; // the first makes the root key the others reuse
    dctRefs.push(...(await Promise.all(Array.from({ length: COUNTS.dct - 1 }, (_, i) => signDct(i + 1)))));
    const rootKeyIds = [
      ...new Set(
        (await Promise.all(dctGuns.map((g) => fetchRootKey(notary, g)))).flatMap((k) => [
          k.keyId,
          k.canonicalId,
        ]),
      ),
    ];

    // cosign, keyed, with a Rekor entry (the policy requires the transparency log)
    const sigstore = fakeSigstore();
    const key = cosignKey('p256');
    const keyFile = join(dir, 'cosign.pub');
    const rootFile = join(dir, 'trusted_root.json');
    await writeFile(keyFile, key.pem);
    await writeFile(rootFile, JSON.stringify(sigstore.trustedRoot));
    const cosignRefs: string[] = [];
    for (let i = 0; i < COUNTS.cosign; i++) {
      const m = await pushImage(host, 'bench/keyed', `v${i}`, `cosign-${i}`);
      const signed = signImage({
        image: { digest: m.digest, bytes: m.bytes, mediaType: m.mediaType },
        dockerReference: `${host}/bench/keyed`,
        signer: key,
        format: 'legacy',
        tlog: sigstore,
      });
      await pushArtifacts(host, 'bench/keyed', signed.push);
      cosignRefs.push(`${host}/bench/keyed:v${i}`);
    }

    // Notation, JWS, RSA leaf under an intermediate
    const pki = notationPki({ subjects: { leaf: LEAF } });
    const caFile = join(dir, 'notation-ca.pem');
    await writeFile(caFile, pemOf(pki.root.der));
    const notationRefs: string[] = [];
    for (let i = 0; i < COUNTS.notation; i++) {
      const m = await pushImage(host, 'bench/notation', `v${i}`, `notation-${i}`);
      const desc = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
      await pushNotationSignature(
        host,
        'bench/notation',
        desc,
        signJws({ target: desc, signer: { key: pki.leaf.key, chain: pki.chain } }),
        NOTATION_JWS_MEDIA_TYPE,
        pki.chain,
      );
      notationRefs.push(`${host}/bench/notation:v${i}`);
    }

    // a mirror of the cosign repository (same bytes, same tags), judged as the origin and proven at config level
    const mirrorRefs: string[] = [];
    for (let i = 0; i < COUNTS.mirror; i++) {
      await copyImage(host, `bench/keyed:v${i}`, 'mirror/keyed', `v${i}`);
      mirrorRefs.push(`${host}/mirror/keyed:v${i}`);
    }
    const unsignedRefs: string[] = [];
    for (let i = 0; i < COUNTS.unsigned; i++) {
      await pushImage(host, 'bench/unsigned', `v${i}`, `unsigned-${i}`);
      unsignedRefs.push(`${host}/bench/unsigned:v${i}`);
    }
    // mixed order: the kinds interleaved as a deployment's images would be
    const lists: [Kind, string[]][] = [
      ['dct', dctRefs],
      ['cosign', cosignRefs],
      ['notation', notationRefs],
      ['mirror', mirrorRefs],
      ['unsigned', unsignedRefs],
    ];
    for (let i = 0; refs.length < 50; i++)
      for (const [kind, l] of lists) if (l[i]) refs.push({ ref: l[i]!, kind });
    const all = refs.map((r) => r.ref);

    const q = JSON.stringify;
    const policyFile = await writePolicyFile(
      dir,
      'policy.yaml',
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny, digest: resolve }
trustRoots:
  bench-dct:
    dct: { rootKeyIds: [${rootKeyIds.map((k) => q(k)).join(', ')}], server: ${q(notary.url)}, ca: ${q(notary.caFile)} }
  team-key: { publicKey: ${q(keyFile)} }
  rekor: { sigstore: { trustedRoot: ${q(rootFile)} } }
  acme-notation: { notation: { ca: [${q(caFile)}] } }
mirrors:
  - { origin: ${q(`${host}/bench/keyed`)}, mirrors: [${q(`${host}/mirror/keyed`)}], prove: config, signaturesFrom: [origin] }
rules:
  - name: dct
    scope: ${q(`${host}/dct/*`)}
    require: [ { dct: { trustRoot: bench-dct } } ]
  - name: cosign
    scope: ${q(`${host}/bench/keyed`)}
    require: [ { cosign: { trustRoot: [team-key, rekor], tlog: required } } ]
  - name: notation
    scope: ${q(`${host}/bench/notation`)}
    require: [ { notation: { trustRoot: acme-notation, level: strict, identities: [${q(`x509.subject: ${LEAF}`)}] } } ]
  - name: unsigned
    scope: ${q(`${host}/bench/unsigned`)}
    require: [ { anyOf: [ { cosign: { trustRoot: team-key, tlog: optional } }, { dct: { trustRoot: bench-dct } } ] } ]
`,
    );
    const setupMs = performance.now() - started;

    /** Every signed reference passed and every unsigned one failed, else the bench measured the wrong thing. */
    const check = (report: PolicyReport, label: string) => {
      if (report.verdicts.length !== all.length)
        throw new Error(`${label}: ${report.verdicts.length} verdicts`);
      report.verdicts.forEach((v, i) => {
        const want = refs[i]!.kind === 'unsigned' ? 'fail' : 'pass';
        if (v.outcome !== want)
          throw new Error(
            `${label}: ${v.reference} ${v.outcome}, expected ${want}: ${JSON.stringify(v.problems).slice(0, 600)}`,
          );
      });
    };

    // (1) in process: the policy loaded, evaluated cold (fresh trust store, fresh client), then warm
    const home = join(dir, 'home-lib');
    let t = performance.now();
    const policy = loadPolicy(policyFile);
    const loadMs = performance.now() - t;
    let requests = 0;
    const client = new RegistryClient({
      credentials: async () => undefined,
      onRequest: () => void requests++,
    });
    let libCold: number;
    let libWarm: number;
    let libDct: number;
    let libWide: number;
    const byKind: [Kind, number, number, number][] = [];
    try {
      t = performance.now();
      const cold = await evaluate(policy, all, { client, home });
      libCold = performance.now() - t;
      check(cold, 'evaluate (cold)');
      t = performance.now();
      const warm = await evaluate(policy, all, { client, home });
      libWarm = performance.now() - t;
      check(warm, 'evaluate (warm)');
      t = performance.now();
      await evaluate(policy, dctRefs, { client, home: join(dir, 'home-dct') });
      libDct = performance.now() - t;
      // where the time goes: each kind alone (warm), and the batch with more images at once
      for (const [kind, l] of lists) {
        requests = 0;
        t = performance.now();
        await evaluate(policy, l, { client, home });
        byKind.push([kind, performance.now() - t, l.length, requests]);
      }
      t = performance.now();
      check(await evaluate(policy, all, { client, home, concurrency: WIDE }), 'evaluate (wide)');
      libWide = performance.now() - t;
    } finally {
      await client.close();
    }

    // (2) the CLI once, 50 references, empty trust store (exit 1: the unsigned images fail)
    t = performance.now();
    const r = await exec(
      process.execPath,
      [cli, 'verify', '--policy', policyFile, '--format', 'json', ...all],
      {
        env: { TRUSTPIN_HOME: join(dir, 'home-cli') },
      },
    );
    const cliMs = performance.now() - t;
    let cliReport: PolicyReport;
    try {
      cliReport = JSON.parse(r.stdout) as PolicyReport;
    } catch (e) {
      throw new Error(
        `trustpin verify --policy gave no JSON (exit ${r.code}, ${r.stdout.length} chars, ${(e as Error).message}): ${r.stderr}${r.stdout.slice(-400)}`,
      );
    }
    if (r.code !== 1) throw new Error(`trustpin verify --policy exited ${r.code}, expected 1: ${r.stderr}`);
    check(cliReport, 'CLI');

    // (3) docker trust inspect, 50 calls over the DCT subset: cold (a fresh DOCKER_CONFIG each) and warm (one)
    const inspect = async (ref: string[], cfg: string) => {
      const x = await exec(dockerBin, ['trust', 'inspect', ...ref], {
        env: { ...trust.env, DOCKER_CONFIG: cfg },
      });
      if (x.code !== 0) throw new Error(`docker trust inspect ${ref.join(' ')}: ${x.stderr}`);
    };
    t = performance.now();
    for (let i = 0; i < DOCKER_CALLS; i++)
      await inspect([dctRefs[i % dctRefs.length]!], await makeTempDir('tp-d'));
    const dockerCold = performance.now() - t;
    const warmCfg = await makeTempDir('tp-dw');
    for (const d of dctRefs) await inspect([d], warmCfg);
    t = performance.now();
    for (let i = 0; i < DOCKER_CALLS; i++) await inspect([dctRefs[i % dctRefs.length]!], warmCfg);
    const dockerWarm = performance.now() - t;
    t = performance.now();
    await inspect(dctRefs, await makeTempDir('tp-db'));
    const dockerOneCall = performance.now() - t;

    const per = (ms: number, n = all.length) => `${(ms / n).toFixed(1).padStart(7)} ms/ref`;
    const line = (label: string, ms: number, n?: number) =>
      console.log(`${label.padEnd(70)} ${ms.toFixed(0).padStart(7)} ms ${n === 0 ? '' : per(ms, n)}`);
    console.log(
      `\nbench policy: verify --policy over ${all.length} references (${Object.entries(COUNTS)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}), real docker-registry and notary-server; setup ${(setupMs / 1000).toFixed(1)} s\n`,
    );
    line('loadPolicy(file)', loadMs, 0);
    line(`evaluate(), ${all.length} refs, one process, empty trust store (cold)`, libCold);
    line(`evaluate(), ${all.length} refs, same process and trust store again (warm)`, libWarm);
    line(`evaluate(), the ${dctRefs.length} DCT refs alone, empty trust store`, libDct, dctRefs.length);
    for (const [kind, ms, n, reqs] of byKind)
      line(`  by kind: the ${n} ${kind} refs alone (warm), ${(reqs / n).toFixed(1)} HTTP req/ref`, ms, n);
    line(`evaluate(), ${all.length} refs, concurrency ${WIDE} (warm)`, libWide);
    line(`trustpin verify --policy F REF×${all.length} (CLI once, cold)`, cliMs);
    line(
      `docker trust inspect ×${DOCKER_CALLS} over the DCT subset, fresh DOCKER_CONFIG each`,
      dockerCold,
      DOCKER_CALLS,
    );
    line(
      `docker trust inspect ×${DOCKER_CALLS} over the DCT subset, one warm DOCKER_CONFIG`,
      dockerWarm,
      DOCKER_CALLS,
    );
    line(
      `docker trust inspect REF×${dctRefs.length} (the DCT subset, one call, cold)`,
      dockerOneCall,
      dctRefs.length,
    );
    console.log('');
    const ratio = (a: number, b: number) => a / b;
    const verdict = (x: number) => (x <= GOAL ? 'met' : 'NOT met');
    for (const [label, ms] of [
      ['evaluate() cold', libCold],
      ['evaluate() warm', libWarm],
      ['CLI once (cold)', cliMs],
    ] as const) {
      const c = ratio(ms, dockerCold);
      const w = ratio(ms, dockerWarm);
      console.log(
        `${label.padEnd(16)} / docker ×${DOCKER_CALLS}: ${c.toFixed(3)} of docker cold, ${w.toFixed(3)} of docker warm — goal ≤ ${GOAL}: ${verdict(c)} (cold), ${verdict(w)} (warm)`,
      );
    }
    console.log(
      `DCT only, per reference: evaluate() ${(libDct / dctRefs.length).toFixed(1)} ms vs docker trust inspect ${(dockerCold / DOCKER_CALLS).toFixed(1)} ms cold, ${(dockerWarm / DOCKER_CALLS).toFixed(1)} ms warm, ${(dockerOneCall / dctRefs.length).toFixed(1)} ms batched (docker judges DCT only; trustpin's batch also judges cosign, Notation and the mirror)`,
    );
  } finally {
    await Promise.allSettled([reg.stop(), notary.stop()]);
  }
}
