// Issue 17, the critical path of one new-digest verification, free of CPU contention: an in-process registry holds
// every answer RTT ms (LATENCY_RTT_MS, default 10), so a call's wall time ≈ its serial round trips × RTT + its CPU.
// On a shared 2-core machine the loopback figures of `bench latency` move with the other processes; these do not
// (much). cosign (keyed legacy .sig) and Notation (JWS through the tag-schema index, no referrers API), each
//   verifier          — `createXVerifier().verify(repo:tag)`, fetchImage on (configs verified);
//   evaluate (tag)    — `evaluate(policy, [repo:tag])` with one client (the webhook's miss), verifiers pooled;
//   evaluate (digest) — the same for `repo@digest` (a pod naming its image by digest).
// `npm run bench -- latency-rtt`; the floor is the dependent round trips: cosign tag → .sig → its layer (3; 2 by
// digest), Notation tag → tag-schema index → signature manifest → envelope (4; 3 by digest).
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildImage } from '../src/demo/build.js';
import { MemoryRegistry } from '../src/demo/index.js';
import type { Digest } from '../src/digest/index.js';
import { evaluate, loadPolicy } from '../src/policy/index.js';
import { RegistryClient } from '../src/registry/index.js';
import { createCosignVerifier } from '../src/trust/cosign/index.js';
import type { TrustVerifier } from '../src/trust/index.js';
import { createNotationVerifier, trustStoreFromFiles } from '../src/trust/notation/index.js';
import { cosignKey, signImage } from '../test/harness/cosign.js';
import { NOTATION_JWS_MEDIA_TYPE, notationPki, pemOf, signJws } from '../test/harness/notation.js';
import { makeTempDir, removeDir } from '../test/harness/processes.js';
import { percentile } from '../test/harness/webhook-load.js';

const RTT = Number(process.env.LATENCY_RTT_MS ?? 10);
const N = Number(process.env.LATENCY_N ?? 20);
const FLOOR = { cosign: { tag: 3, digest: 2 }, notation: { tag: 4, digest: 3 } } as const;

const blobOf = (bytes: Buffer, mediaType = 'application/octet-stream') => ({
  mediaType,
  digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest,
  size: bytes.length,
  bytes,
});
const json = (x: unknown) => Buffer.from(JSON.stringify(x));

export async function main(): Promise<void> {
  const reg = new MemoryRegistry();
  const host = await reg.listen();
  reg.hook = async () => {
    await new Promise((r) => setTimeout(r, RTT));
    return false;
  };
  const dir = await makeTempDir('tp-bench-rtt');
  const client = new RegistryClient({ credentials: async () => undefined });
  try {
    const key = cosignKey('p256');
    const pki = notationPki();
    const systems = ['cosign', 'notation'] as const;
    const digests: Record<(typeof systems)[number], string[]> = { cosign: [], notation: [] };
    // per layer (three) one warm-up image and N more, none verified twice
    for (let i = 0; i < 3 * N + 1; i++)
      for (const sys of systems) {
        const img = await buildImage({
          platform: { os: 'linux', architecture: 'amd64' },
          layers: [[{ path: `app/${sys}-${i}`, content: `${sys} ${i}\n` }]],
        });
        const repo = `bench/${sys}`;
        reg.putBlob(repo, img.config);
        for (const l of img.layers) reg.putBlob(repo, l);
        reg.putManifest(repo, img.manifest, `v${i}`);
        digests[sys].push(img.manifest.digest);
        const desc = {
          mediaType: img.manifest.mediaType,
          digest: img.manifest.digest,
          size: img.manifest.size,
        };
        if (sys === 'cosign') {
          const set = signImage({
            image: { digest: desc.digest, bytes: img.manifest.bytes, mediaType: desc.mediaType },
            dockerReference: `${host}/${repo}`,
            signer: key,
            format: 'legacy',
          }).push;
          for (const b of set.blobs) reg.putBlob(repo, blobOf(b));
          for (const m of set.manifests) reg.putManifest(repo, blobOf(m.bytes, m.mediaType), m.tag);
          continue;
        }
        const envelope = blobOf(
          signJws({ target: desc, signer: { key: pki.leaf.key, chain: pki.chain } }),
          NOTATION_JWS_MEDIA_TYPE,
        );
        const empty = blobOf(Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
        reg.putBlob(repo, envelope);
        reg.putBlob(repo, empty);
        const sig = blobOf(
          json({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            artifactType: 'application/vnd.cncf.notary.signature',
            config: { mediaType: empty.mediaType, digest: empty.digest, size: empty.size },
            layers: [{ mediaType: NOTATION_JWS_MEDIA_TYPE, digest: envelope.digest, size: envelope.size }],
            subject: desc,
          }),
          'application/vnd.oci.image.manifest.v1+json',
        );
        reg.putManifest(repo, sig);
        const index = json({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: sig.mediaType,
              digest: sig.digest,
              size: sig.size,
              artifactType: 'application/vnd.cncf.notary.signature',
            },
          ],
        });
        reg.putManifest(
          repo,
          blobOf(index, 'application/vnd.oci.image.index.v1+json'),
          desc.digest.replace(':', '-'),
        );
      }
    await writeFile(join(dir, 'cosign.pub'), key.pem);
    await writeFile(join(dir, 'ca.pem'), pemOf(pki.root.der));
    await writeFile(
      join(dir, 'policy.yaml'),
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny }
trustRoots:
  team-key: { publicKey: ${JSON.stringify(join(dir, 'cosign.pub'))} }
  acme: { notation: { ca: [${JSON.stringify(join(dir, 'ca.pem'))}] } }
rules:
  - name: cosign
    scope: ${JSON.stringify(`${host}/bench/cosign`)}
    require: [ { cosign: { trustRoot: team-key, tlog: optional } } ]
  - name: notation
    scope: ${JSON.stringify(`${host}/bench/notation`)}
    require: [ { notation: { trustRoot: acme, level: strict, identities: ["*"] } } ]
`,
    );
    const policy = loadPolicy(join(dir, 'policy.yaml'));
    const verifiers: Record<(typeof systems)[number], TrustVerifier> = {
      cosign: createCosignVerifier({ client, keys: [key.pem], requireTlog: false }),
      notation: createNotationVerifier({
        client,
        trustPolicy: {
          version: '1.0',
          trustPolicies: [
            {
              name: 'bench',
              registryScopes: ['*'],
              signatureVerification: { level: 'strict' },
              trustStores: ['ca:bench'],
              trustedIdentities: ['*'],
            },
          ],
        },
        trustStores: [
          trustStoreFromFiles('ca', 'bench', [{ path: 'ca.pem', bytes: Buffer.from(pemOf(pki.root.der)) }]),
        ],
      }),
    };
    console.log(
      `\nbench latency-rtt: every registry answer held ${RTT} ms; ${N} new digests per row; wall in round trips (RTT units)\n`,
    );
    console.log(
      `${'system'.padEnd(9)} ${'layer'.padEnd(18)} ${'p50 ms'.padStart(7)} ${'p50 RTT'.padStart(8)} ${'floor'.padStart(6)} ${'req'.padStart(4)}`,
    );
    for (const sys of systems) {
      const d = digests[sys];
      const layers: [string, number, (i: number) => Promise<void>][] = [
        [
          'verifier (tag)',
          FLOOR[sys].tag,
          async (i) => {
            const v = await verifiers[sys].verify(`${host}/bench/${sys}:v${i}`);
            if (!v.ok) throw new Error(`${sys} v${i}: ${JSON.stringify(v.problems)}`);
          },
        ],
        ...(['tag', 'digest'] as const).map((form, k): [string, number, (i: number) => Promise<void>] => [
          `evaluate (${form})`,
          FLOOR[sys][form],
          async (i) => {
            const ref =
              form === 'tag'
                ? `${host}/bench/${sys}:v${i + (k + 1) * N}`
                : `${host}/bench/${sys}@${d[i + (k + 1) * N]}`;
            const v = (await evaluate(policy, [ref], { client, home: dir })).verdicts[0]!;
            if (v.outcome !== 'pass') throw new Error(`${ref}: ${JSON.stringify(v.problems)}`);
          },
        ]),
      ];
      for (const [name, floor, call] of layers) {
        await call(0); // warm-up: connections, lazy loads (a digest of its own)
        const ms: number[] = [];
        const r0 = reg.requests.length;
        for (let i = 1; i <= N; i++) {
          const t = performance.now();
          await call(i);
          ms.push(performance.now() - t);
        }
        const p50 = percentile(ms, 50);
        console.log(
          `${sys.padEnd(9)} ${name.padEnd(18)} ${p50.toFixed(1).padStart(7)} ${(p50 / RTT).toFixed(1).padStart(8)} ${String(floor).padStart(6)} ${((reg.requests.length - r0) / N).toFixed(1).padStart(4)}`,
        );
      }
    }
    console.log(
      '\nfloor = the dependent round trips (what the signature format makes serial); the rest of p50 RTT is CPU and timers.',
    );
  } finally {
    await client.close();
    await reg.close();
    await removeDir(dir);
  }
}
