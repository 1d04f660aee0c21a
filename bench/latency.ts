// Issue 17, in-process latency: what one verification costs once the trust material is loaded. For each system
// (DCT through the real notary-server, cosign keyed with a Rekor entry, Notation JWS under an intermediate) on the
// real docker-registry (loopback), two layers are measured:
//   webhook  — what `trustpin serve webhook` pays per AdmissionReview: `admit()` over a Pod with one image, judged
//              through the VerdictCache whose miss is `evaluate(policy, [ref], {client, home})`, as server.ts wires
//              it (the policy loaded once, one registry client, one trust store directory);
//   verifier — the library: `createXVerifier()` once, `verify(ref)` per call.
// "seen digest" asks for the same image again (SEEN times after a warm-up): at the webhook layer a VerdictCache
// hit — the layer that owns caching (it is keyed on the policy digest, bounded by TTLs, keeps no `error` verdict);
// the verifier keeps no verdicts, so its "seen" figure is a full re-verification (network included), shown for
// reference. "new digest" verifies N images never verified before by that layer, each once (distinct signed
// images, distinct digests). Goals: seen ≤ 1 ms, new ≤ 10 ms (p99 is printed; the mark is on p50 and p99 both).
// `npm run bench -- latency [--spans]`: --spans also prints where the new-digest time goes (performance.now spans
// around the verifier's and the evaluator's steps, taken in this process by wrapping the registry client).

import diagnostics from 'node:diagnostics_channel';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { VerdictCache } from '../src/admission/cache.js';
import { type AdmissionRequest, admit } from '../src/admission/index.js';
import { evaluate, loadPolicy, type Policy } from '../src/policy/index.js';
import { RegistryClient } from '../src/registry/index.js';
import { createCosignVerifier } from '../src/trust/cosign/index.js';
import { createDctVerifier, type TrustVerifier } from '../src/trust/index.js';
import { createNotationVerifier, trustStoreFromFiles } from '../src/trust/notation/index.js';
import { cosignKey, fakeSigstore, signImage } from '../test/harness/cosign.js';
import { fetchRootKey, startNotary } from '../test/harness/notary.js';
import { TRUST_PASSPHRASES } from '../test/harness/notary-seed.js';
import {
  NOTATION_JWS_MEDIA_TYPE,
  notationPki,
  pemOf,
  pushNotationSignature,
  signJws,
} from '../test/harness/notation.js';
import { writePolicyFile } from '../test/harness/policy.js';
import { makeTempDir, requireBinary } from '../test/harness/processes.js';
import { pushArtifacts } from '../test/harness/push.js';
import { startRegistry } from '../test/harness/registry.js';
import { percentile } from '../test/harness/webhook-load.js';
import { exec, pushImage } from './util.js';

/** new digests per system and layer (LATENCY_N: more for a p99 that is not simply the slowest of 30) */
const N = Number(process.env.LATENCY_N ?? 30);
/** calls on the seen digest */
const SEEN = Number(process.env.LATENCY_SEEN ?? 200);
const GOAL_SEEN_MS = 1;
const GOAL_NEW_MS = 10;
const LEAF = 'C=US, ST=WA, L=Seattle, O=Acme Bench, CN=Acme Bench Signer';

type System = 'dct' | 'cosign' | 'notation';
const SYSTEMS: System[] = ['dct', 'cosign', 'notation'];
/** per system: one seen image, N for the verifier layer, N for the webhook layer */
const IMAGES = 1 + 2 * N;

/** nearest-rank percentile (the webhook load harness's) */
const pct = percentile;

function podReview(uid: string, image: string): AdmissionRequest {
  return {
    apiVersion: 'admission.k8s.io/v1',
    uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    namespace: 'default',
    operation: 'CREATE',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p-${uid}`, namespace: 'default' },
      spec: { containers: [{ name: 'app', image }] },
    },
  };
}

interface Row {
  system: System;
  layer: 'webhook' | 'webhook@' | 'verifier';
  seen: number[];
  fresh: number[];
  /** per new-digest call: HTTP requests, and this process's CPU time (all threads) */
  per: { requests: number; cpu: number; main: number; connections: number };
  /** each new-digest call, for the breakdown of the slowest */
  calls: Call[];
  note: string;
}

interface Call {
  ms: number;
  cpu: number;
  main: number;
  requests: number;
  from: number;
  to: number;
}

export async function main(): Promise<void> {
  const spans = process.argv.includes('--spans');
  const notaryBin = requireBinary('notary', 'notary');
  const t0 = performance.now();
  const [reg, notary] = await Promise.all([startRegistry({ mode: 'plain' }), startNotary()]);
  const dir = await makeTempDir('tp-bench-latency');
  try {
    const host = reg.host;
    const refs: Record<System, string[]> = { dct: [], cosign: [], notation: [] };
    /** the same images by digest (DCT: tag@digest, the form pinning tools write) */
    const pinned: Record<System, string[]> = { dct: [], cosign: [], notation: [] };

    // DCT: one repository, IMAGES tags staged and published once with the real notary CLI
    const gun = `${host}/bench/dct`;
    const trustDir = join(dir, 'notary-trust');
    const { root, repository } = TRUST_PASSPHRASES;
    const notaryEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NOTARY_|DOCKER_)/.test(k))),
      HOME: dir,
      NOTARY_ROOT_PASSPHRASE: root,
      NOTARY_TARGETS_PASSPHRASE: repository,
      NOTARY_SNAPSHOT_PASSPHRASE: repository,
    };
    const n = async (args: string[]) => {
      const r = await exec(
        notaryBin,
        ['-d', trustDir, '-s', notary.url, '--tlscacert', notary.caFile, ...args],
        { env: notaryEnv },
      );
      if (r.code !== 0) throw new Error(`notary ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    };
    await n(['init', '-p', gun]);
    for (let i = 0; i < IMAGES; i++) {
      const m = await pushImage(host, 'bench/dct', `v${i}`, `dct-${i}`);
      await n(['addhash', gun, `v${i}`, String(m.bytes.length), '--sha256', m.digest.slice(7)]);
      refs.dct.push(`${gun}:v${i}`);
      pinned.dct.push(`${gun}:v${i}@${m.digest}`);
    }
    await n(['publish', gun]);
    const rootKey = await fetchRootKey(notary, gun);

    // cosign, keyed, legacy .sig with a Rekor SET (the policy requires the transparency log)
    const sigstore = fakeSigstore();
    const key = cosignKey('p256');
    const keyFile = join(dir, 'cosign.pub');
    const rootFile = join(dir, 'trusted_root.json');
    await writeFile(keyFile, key.pem);
    await writeFile(rootFile, JSON.stringify(sigstore.trustedRoot));
    let seenManifest = '';
    for (let i = 0; i < IMAGES; i++) {
      const m = await pushImage(host, 'bench/keyed', `v${i}`, `cosign-${i}`);
      seenManifest ||= m.digest;
      const signed = signImage({
        image: { digest: m.digest, bytes: m.bytes, mediaType: m.mediaType },
        dockerReference: `${host}/bench/keyed`,
        signer: key,
        format: 'legacy',
        tlog: sigstore,
      });
      await pushArtifacts(host, 'bench/keyed', signed.push);
      refs.cosign.push(`${host}/bench/keyed:v${i}`);
      pinned.cosign.push(`${host}/bench/keyed@${m.digest}`);
    }

    // Notation, JWS, RSA-3072 leaf under an intermediate (docker-registry 2.8: the tag-schema index)
    const pki = notationPki({ subjects: { leaf: LEAF } });
    const caFile = join(dir, 'notation-ca.pem');
    await writeFile(caFile, pemOf(pki.root.der));
    for (let i = 0; i < IMAGES; i++) {
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
      refs.notation.push(`${host}/bench/notation:v${i}`);
      pinned.notation.push(`${host}/bench/notation@${m.digest}`);
    }

    const q = JSON.stringify;
    const policyFile = await writePolicyFile(
      dir,
      'policy.yaml',
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny, digest: resolve }
trustRoots:
  bench-dct:
    dct: { rootKeyIds: [${q(rootKey.keyId)}, ${q(rootKey.canonicalId)}], server: ${q(notary.url)}, ca: ${q(notary.caFile)} }
  team-key: { publicKey: ${q(keyFile)} }
  rekor: { sigstore: { trustedRoot: ${q(rootFile)} } }
  acme-notation: { notation: { ca: [${q(caFile)}] } }
rules:
  - name: dct
    scope: ${q(gun)}
    require: [ { dct: { trustRoot: bench-dct } } ]
  - name: cosign
    scope: ${q(`${host}/bench/keyed`)}
    require: [ { cosign: { trustRoot: [team-key, rekor], tlog: required } } ]
  - name: notation
    scope: ${q(`${host}/bench/notation`)}
    require: [ { notation: { trustRoot: acme-notation, level: strict, identities: [${q(`x509.subject: ${LEAF}`)}] } } ]
`,
    );
    const setupS = (performance.now() - t0) / 1000;

    // --- the verifier layer: each verifier created once (trust material loaded once) ---
    // --spans: every request of a traced call, with its time since the call began (response headers received)
    let trace: string[] | undefined;
    let traceStart = 0;
    let requests = 0;
    // new TCP connections this process opens (keep-alive working means ~0 per call once warm)
    let connections = 0;
    const onSocket = () => {
      connections++;
    };
    diagnostics.subscribe('net.client.socket', onSocket);
    const onRequest = (method: string, url: string, status: number) => {
      requests++;
      trace?.push(
        `  ${(performance.now() - traceStart).toFixed(2).padStart(7)} ms  ${method} ${url.replace(/^https?:\/\/[^/]+/, '')} ${status}`,
      );
    };
    const traced: string[] = [];
    const vClient = new RegistryClient({ credentials: async () => undefined, onRequest });
    const verifiers: Record<System, TrustVerifier> = {
      dct: createDctVerifier({
        client: vClient,
        home: join(dir, 'home-verifier'),
        trustServer: notary.url,
        rootKeyIds: [rootKey.keyId],
        allowFirstUse: false,
      }),
      cosign: createCosignVerifier({ client: vClient, keys: [key.pem], trustedRoot: rootFile }),
      notation: createNotationVerifier({
        client: vClient,
        trustPolicy: {
          version: '1.0',
          trustPolicies: [
            {
              name: 'bench',
              registryScopes: ['*'],
              signatureVerification: { level: 'strict' },
              trustStores: ['ca:bench'],
              trustedIdentities: [`x509.subject: ${LEAF}`],
            },
          ],
        },
        trustStores: [
          trustStoreFromFiles('ca', 'bench', [{ path: caFile, bytes: Buffer.from(pemOf(pki.root.der)) }]),
        ],
      }),
    };

    // --- the webhook layer: the policy loaded once, the VerdictCache over evaluate() as server.ts makes it ---
    const wClient = new RegistryClient({ credentials: async () => undefined, onRequest });
    const home = join(dir, 'home-webhook');
    const policy: Policy = loadPolicy(policyFile);
    const cache = new VerdictCache(
      async (p, ref) => (await evaluate(p, [ref], { client: wClient, home })).verdicts[0]!,
    );
    let uid = 0;
    const review = async (ref: string) => {
      const d = await admit(podReview(String(uid++), ref), {
        policy,
        judge: (r) => cache.judge(policy, r),
        mutate: false,
        budgetMs: 9000,
      });
      if (!d.review.response.allowed)
        throw new Error(`webhook denied ${ref}: ${d.review.response.status?.message}`);
    };
    const verify = async (s: System, ref: string) => {
      const v = await verifiers[s].verify(ref);
      if (!v.ok) throw new Error(`${s} ${ref} did not verify: ${q(v.problems).slice(0, 500)}`);
    };

    let cpuMs = 0;
    let mainMs = 0;
    // every GC pause of this process (main thread), to say how much of a slow call was the collector's
    const gcs: { start: number; end: number }[] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    /** per call of the current loop: wall, CPU, event-loop-busy ms, requests, and its window for the GC pauses */
    let calls: Call[] = [];
    const timed = async (f: () => Promise<void>, label?: string) => {
      const r0 = requests;
      if (label && spans) {
        trace = [];
        traceStart = performance.now();
      }
      const t = performance.now();
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      await f();
      const ms = performance.now() - t;
      const used = process.cpuUsage(cpu);
      cpuMs += (used.user + used.system) / 1000;
      const busy = performance.eventLoopUtilization(elu).active;
      mainMs += busy;
      calls.push({
        ms,
        cpu: (used.user + used.system) / 1000,
        main: busy,
        requests: requests - r0,
        from: t,
        to: t + ms,
      });
      if (trace) {
        const c = used;
        traced.push(
          `${label}: ${ms.toFixed(2)} ms, of which this process on CPU ${((c.user + c.system) / 1000).toFixed(2)} ms; ${trace.length} requests`,
          ...trace,
        );
        trace = undefined;
      }
      return ms;
    };
    // LATENCY_PROFILE=FILE: a CPU profile (.cpuprofile) of the new-digest calls only (setup and seen calls are
    // left out, so the profile says where a new digest's time goes), taken in this process through the inspector
    const profileFile = process.env.LATENCY_PROFILE;
    const inspector = profileFile ? new (await import('node:inspector/promises')).Session() : undefined;
    if (inspector) {
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    }
    const profiled = async <T>(f: () => Promise<T>): Promise<T> => {
      if (!inspector) return f();
      await inspector.post('Profiler.start');
      try {
        return await f();
      } finally {
        const { profile } = await inspector.post('Profiler.stop');
        profiles.push(profile);
      }
    };
    const profiles: { nodes: unknown[]; samples?: number[]; timeDeltas?: number[] }[] = [];
    const rows: Row[] = [];
    // LATENCY_SYSTEMS=dct,cosign measures only those (for profiling one system)
    const only = process.env.LATENCY_SYSTEMS?.split(',');
    for (const s of SYSTEMS.filter((x) => !only || only.includes(x))) {
      const [seenRef, ...rest] = refs[s];
      const forVerifier = rest.slice(0, N);
      const forWebhook = rest.slice(N, 2 * N);
      // verifier: warm-up on the seen image (first contact: connections, the DCT trust store's first fetch)
      await verify(s, seenRef!);
      await verify(s, seenRef!);
      const vFresh: number[] = [];
      calls = [];
      let [r0, c0, n0, m0] = [requests, cpuMs, connections, mainMs];
      await profiled(async () => {
        for (const [i, r] of forVerifier.entries())
          vFresh.push(await timed(() => verify(s, r), i === N - 1 ? `${s} verifier, new digest` : undefined));
      });
      const vPer = {
        requests: (requests - r0) / N,
        cpu: (cpuMs - c0) / N,
        main: (mainMs - m0) / N,
        connections: (connections - n0) / N,
      };
      const vCalls = calls;
      calls = [];
      const vSeen: number[] = [];
      for (let i = 0; i < SEEN; i++) vSeen.push(await timed(() => verify(s, seenRef!)));
      rows.push({
        system: s,
        layer: 'verifier',
        seen: vSeen,
        fresh: vFresh,
        calls: vCalls,
        per: vPer,
        note: 'no verdict cache: seen = full re-verification',
      });
      // webhook: warm-up review of the seen image (a miss), then misses on new images, then hits
      await review(seenRef!);
      const wFresh: number[] = [];
      calls = [];
      [r0, c0, n0, m0] = [requests, cpuMs, connections, mainMs];
      await profiled(async () => {
        for (const [i, r] of forWebhook.entries())
          wFresh.push(await timed(() => review(r), i === N - 1 ? `${s} webhook, new digest` : undefined));
      });
      const wPer = {
        requests: (requests - r0) / N,
        cpu: (cpuMs - c0) / N,
        main: (mainMs - m0) / N,
        connections: (connections - n0) / N,
      };
      const wCalls = calls;
      calls = [];
      const wSeen: number[] = [];
      for (let i = 0; i < SEEN; i++) wSeen.push(await timed(() => review(seenRef!)));
      rows.push({
        system: s,
        layer: 'webhook',
        seen: wSeen,
        fresh: wFresh,
        calls: wCalls,
        per: wPer,
        note: 'seen = VerdictCache hit; new = miss → evaluate()',
      });
      // webhook, pods naming their images by digest: the verifier layer's images, never reviewed (a new digest for
      // this layer: the VerdictCache and the policy's verifiers have not seen them)
      const pFresh: number[] = [];
      calls = [];
      [r0, c0, n0, m0] = [requests, cpuMs, connections, mainMs];
      const byDigest = pinned[s].slice(1, 1 + N);
      await profiled(async () => {
        for (const [i, r] of byDigest.entries())
          pFresh.push(
            await timed(() => review(r), i === N - 1 ? `${s} webhook, new digest by digest` : undefined),
          );
      });
      rows.push({
        system: s,
        layer: 'webhook@',
        seen: [],
        fresh: pFresh,
        calls,
        per: {
          requests: (requests - r0) / N,
          cpu: (cpuMs - c0) / N,
          main: (mainMs - m0) / N,
          connections: (connections - n0) / N,
        },
        note: 'the pod names the image by digest (tag@digest for DCT)',
      });
      calls = [];
    }
    // the environment: one registry round trip (a small manifest by digest, keep-alive) on this machine now
    const rtt: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      await vClient.getManifest(host, 'bench/keyed', seenManifest, 1 << 20);
      rtt.push(performance.now() - t);
    }
    if (inspector && profileFile) {
      inspector.disconnect();
      // one profile per measured loop, in the order system × layer; each is a .cpuprofile of its own
      await Promise.all(
        profiles.map((p, i) =>
          writeFile(profileFile.replace(/(\.cpuprofile)?$/, `.${i}.cpuprofile`), JSON.stringify(p)),
        ),
      );
    }
    const stats = cache.stats;
    await Promise.all([vClient.close(), wClient.close()]);

    const f = (x: number) => (x < 10 ? x.toFixed(3) : x.toFixed(1)).padStart(7);
    const mark = (xs: number[], goal: number) =>
      pct(xs, 50) <= goal && pct(xs, 99) <= goal ? 'pass' : pct(xs, 50) <= goal ? 'p99 MISS' : 'MISS';
    console.log(
      `\nbench latency: in process, trust material loaded once; real docker-registry and notary-server on loopback; ` +
        `${N} new digests per system and layer, ${SEEN} calls on a seen digest; setup ${setupS.toFixed(1)} s\n`,
    );
    console.log(
      `${'system'.padEnd(9)} ${'layer'.padEnd(9)} ${'seen p50'.padStart(8)} ${'p99'.padStart(7)}  ${'goal'.padEnd(6)} ${'mark'.padEnd(9)}` +
        ` ${'new p50'.padStart(8)} ${'p99'.padStart(7)}  ${'goal'.padEnd(6)} ${'mark'.padEnd(9)} ${'req'.padStart(4)} ${'conn'.padStart(4)} ${'cpu'.padStart(6)} ${'main'.padStart(5)}  note`,
    );
    for (const r of rows) {
      // the by-digest webhook row has no seen calls of its own (a hit is a hit whatever the reference's form)
      const none = r.seen.length === 0;
      const seenMark = none ? '-' : r.layer === 'verifier' ? '(info)' : mark(r.seen, GOAL_SEEN_MS);
      const seen = none
        ? `${'-'.padStart(8)} ${'-'.padStart(7)}`
        : `${f(pct(r.seen, 50)).padStart(8)} ${f(pct(r.seen, 99))}`;
      console.log(
        `${r.system.padEnd(9)} ${r.layer.padEnd(9)} ${seen}  ${`≤${GOAL_SEEN_MS} ms`.padEnd(6)} ${seenMark.padEnd(9)}` +
          ` ${f(pct(r.fresh, 50)).padStart(8)} ${f(pct(r.fresh, 99))}  ${`≤${GOAL_NEW_MS} ms`.padEnd(6)} ${mark(r.fresh, GOAL_NEW_MS).padEnd(9)} ${r.per.requests.toFixed(1).padStart(4)} ${r.per.connections.toFixed(1).padStart(4)} ${r.per.cpu.toFixed(1).padStart(6)} ${r.per.main.toFixed(1).padStart(5)}  ${r.note}`,
      );
    }
    console.log(
      `\nms throughout; req = HTTP requests per new-digest call, conn = new TCP connections per call, cpu = this process's CPU ms per new-digest call (all threads), main = of the wall time, ms the event loop was busy (JavaScript).` +
        `\nwebhook VerdictCache: ${stats.hits} hits, ${stats.misses} misses. "seen" at the verifier layer is not judged: a verifier keeps no verdicts (the webhook's cache does).` +
        `\none registry round trip on this machine during the run (manifest by digest, keep-alive): p50 ${pct(rtt, 50).toFixed(2)} ms, p90 ${pct(rtt, 90).toFixed(2)} ms; load average ${loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')} on ${availableParallelism()} CPUs.` +
        `\nunder tsx each lazy import() of the cosign/Notation verifier in evaluate() also costs ~0.4 ms that the bundled CLI does not pay.`,
    );
    gcObserver.disconnect();
    // where the slowest new-digest calls' time went (p99 of N calls is the slowest): GC pauses inside the call,
    // this process's CPU, the event loop busy, the rest = waiting (the registry, the scheduler on a shared machine)
    const gcIn = (c: Call) =>
      gcs.reduce((sum, g) => sum + Math.max(0, Math.min(g.end, c.to) - Math.max(g.start, c.from)), 0);
    console.log(
      `\nthe 3 slowest new-digest calls of each row: wall ms = GC pause inside the call + rest of main-thread busy + waiting; CPU all threads`,
    );
    for (const r of rows) {
      const slow = [...r.calls].sort((a, b) => b.ms - a.ms).slice(0, 3);
      const all = r.calls.reduce((n, c) => n + gcIn(c), 0) / Math.max(1, r.calls.length);
      console.log(
        `  ${r.system.padEnd(9)}${r.layer.padEnd(9)} ${slow
          .map((c) => {
            const gc = gcIn(c);
            return `${c.ms.toFixed(1)} = gc ${gc.toFixed(1)} + js ${Math.max(0, c.main - gc).toFixed(1)} + wait ${Math.max(0, c.ms - c.main).toFixed(1)} (cpu ${c.cpu.toFixed(1)}, ${c.requests} req)`;
          })
          .join('; ')}; mean gc per call ${all.toFixed(2)}`,
      );
    }
    if (spans)
      console.log(`\nrequests of one new-digest call (time since the call began):\n${traced.join('\n')}`);
  } finally {
    await Promise.allSettled([reg.stop(), notary.stop()]);
  }
}
