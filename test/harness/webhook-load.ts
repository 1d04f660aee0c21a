// A load driver for the admission webhook, shared by the load test and `npm run bench -- webhook`: the real
// registry with N distinct cosign-signed images, R replicas of the real `trustpin serve webhook` (HTTPS), and W
// concurrent clients sending AdmissionReviews of Pods round-robin for S seconds, as API servers keep connections.
import { writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { cliArgv } from '../cli/run.js';
import { cosignKey, pushKeyedSignature } from './cosign.js';
import { seedRegistry } from './images.js';
import { copyImage } from './policy.js';
import { freePort } from './ports.js';
import { type ManagedProcess, makeTempDir, startProcess } from './processes.js';
import { type RunningRegistry, startRegistry } from './registry.js';
import { makeTestPki, type TestPki } from './tls.js';

/** The Service name the webhook's certificate is for (as in deploy/kubernetes). */
export const WEBHOOK_SVC = 'trustpin-webhook.trustpin-system.svc';
const SVC = WEBHOOK_SVC;

/**
 * Start the real `trustpin serve webhook` over HTTPS on a free loopback port with `pki`'s certificate for the
 * Service name; with `wait` (default), resolve once `/readyz` answers 200.
 */
export async function startWebhookProcess(o: {
  policy: string;
  pki: TestPki;
  name: string;
  dir: string;
  wait?: boolean;
}): Promise<{ proc: ManagedProcess; url: string }> {
  const port = await freePort();
  const leaf = o.pki.leaves[SVC]!;
  const proc = startProcess({
    name: o.name,
    command: process.execPath,
    args: cliArgv([
      'serve',
      'webhook',
      '--policy',
      o.policy,
      '--tls-cert',
      leaf.certFile,
      '--tls-key',
      leaf.keyFile,
      '--listen',
      `127.0.0.1:${port}`,
    ]),
    env: { ...process.env, TRUSTPIN_HOME: join(o.dir, 'home') },
    logFile: join(o.dir, `${o.name}.log`),
  });
  const url = `https://127.0.0.1:${port}`;
  for (let i = 0; o.wait !== false; i++) {
    const ok = await new Promise<boolean>((r) => {
      const req = request(`${url}/readyz`, { ca: o.pki.caPem, servername: SVC, agent: false }, (res) => {
        res.resume();
        r(res.statusCode === 200);
      });
      req.on('error', () => r(false));
      req.end();
    });
    if (ok) break;
    if (proc.exitStatus() || i > 150) {
      await proc.stop();
      throw new Error(`${o.name} did not start:\n${proc.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, url };
}

export interface LoadOptions {
  images: number;
  replicas: number;
  clients: number;
  seconds: number;
  /** each client waits this long between its requests (0: as fast as answers come) */
  pauseMs: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** the first few errors, as text */
  errorSamples: string[];
  denied: number;
  /** latencies (ms) of each image's first request, and of all the others */
  cold: number[];
  warm: number[];
  seconds: number;
  /** resident memory of each replica at the end (MiB) */
  rssMiB: number[];
  cacheHits: number;
  cacheMisses: number;
}

export const percentile = (xs: number[], p: number): number => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** Set up, run the load, tear down. */
export async function runWebhookLoad(o: LoadOptions): Promise<LoadResult> {
  const reg: RunningRegistry = await startRegistry({ mode: 'plain' });
  const procs: ManagedProcess[] = [];
  try {
    await seedRegistry(reg);
    const dir = await makeTempDir('tp-webhook-load');
    const pki = await makeTestPki(dir, [SVC]);
    const key = cosignKey('p256');
    await writeFile(join(dir, 'cosign.pub'), key.pem);
    const refs: string[] = [];
    for (let i = 0; i < o.images; i++) {
      const repo = `load/img-${i}`;
      const digest = await copyImage(reg.host, 'demo/app:1.0-amd64', repo, '1.0');
      await pushKeyedSignature(reg.host, repo, digest, `${reg.host}/${repo}`, key);
      refs.push(`${reg.host}/${repo}:1.0`);
    }
    const policy = join(dir, 'policy.yaml');
    await writeFile(
      policy,
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny }
trustRoots:
  team: { publicKey: ${JSON.stringify(join(dir, 'cosign.pub'))} }
rules:
  - name: signed
    scope: "${reg.host}/load/**"
    require: [ { cosign: { trustRoot: team, tlog: optional } } ]
`,
    );
    const urls: string[] = [];
    for (let r = 0; r < o.replicas; r++) {
      const w = await startWebhookProcess({ policy, pki, name: `webhook-${r}`, dir, wait: false });
      procs.push(w.proc);
      urls.push(w.url);
    }
    const agents = urls.map(
      () =>
        new Agent({
          keepAlive: true,
          maxSockets: Math.ceil(o.clients / o.replicas),
          ca: pki.caPem,
          servername: SVC,
        }),
    );
    const send = (i: number, image: string, uid: string) =>
      new Promise<{ status: number; allowed: boolean }>((resolve, reject) => {
        const body = JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {
            uid,
            kind: { group: '', version: 'v1', kind: 'Pod' },
            resource: { group: '', version: 'v1', resource: 'pods' },
            operation: 'CREATE',
            namespace: 'default',
            object: { kind: 'Pod', metadata: { name: uid }, spec: { containers: [{ name: 'app', image }] } },
          },
        });
        const req = request(
          `${urls[i]}/validate?timeout=10s`,
          {
            method: 'POST',
            agent: agents[i],
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              try {
                const j = JSON.parse(Buffer.concat(chunks).toString()) as {
                  response: { allowed: boolean; uid: string };
                };
                if (j.response.uid !== uid) reject(new Error('uid mismatch'));
                else resolve({ status: res.statusCode ?? 0, allowed: j.response.allowed });
              } catch (e) {
                reject(e);
              }
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    // wait for readiness
    for (const [i] of urls.entries())
      for (let k = 0; ; k++) {
        const ok = await new Promise<boolean>((r) => {
          const q = request(`${urls[i]}/readyz`, { agent: agents[i] }, (res) => {
            res.resume();
            r(res.statusCode === 200);
          });
          q.on('error', () => r(false));
          q.end();
        });
        if (ok) break;
        if (k > 150) throw new Error(`replica ${i} did not start:\n${procs[i]!.logTail()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    const result: LoadResult = {
      requests: 0,
      errors: 0,
      errorSamples: [],
      denied: 0,
      cold: [],
      warm: [],
      seconds: o.seconds,
      rssMiB: [],
      cacheHits: 0,
      cacheMisses: 0,
    };
    // a request is warm when it starts after its image's first answer came back from that replica
    const answered = new Map<string, number>();
    const end = performance.now() + o.seconds * 1000;
    let n = 0;
    await Promise.all(
      Array.from({ length: o.clients }, async (_, c) => {
        while (performance.now() < end) {
          const k = n++;
          const image = refs[k % refs.length]!;
          const replica = k % urls.length;
          const key = `${replica}\0${image}`;
          const t = performance.now();
          const warm = (answered.get(key) ?? Number.POSITIVE_INFINITY) <= t;
          try {
            const r = await send(replica, image, `u-${c}-${k}`);
            const done = performance.now();
            if (!answered.has(key)) answered.set(key, done);
            (warm ? result.warm : result.cold).push(done - t);
            if (r.status !== 200) result.errors++;
            else if (!r.allowed) result.denied++;
          } catch (e) {
            result.errors++;
            if (result.errorSamples.length < 5) result.errorSamples.push(String(e));
          }
          result.requests++;
          // jittered, as independent clients are: 0.5–1.5 × pauseMs
          if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs * (0.5 + Math.random())));
        }
      }),
    );
    for (const [i, p] of procs.entries()) {
      const status = await import('node:fs/promises')
        .then((fs) => fs.readFile(`/proc/${p.pid}/status`, 'utf8'))
        .catch(() => '');
      result.rssMiB.push(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
      const metrics = await new Promise<string>((resolve) => {
        const q = request(`${urls[i]}/metrics`, { agent: agents[i] }, (res) => {
          let s = '';
          res.on('data', (c) => (s += c));
          res.on('end', () => resolve(s));
        });
        q.on('error', () => resolve(''));
        q.end();
      });
      result.cacheHits += Number(/^trustpin_verdict_cache_hits_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      result.cacheMisses += Number(/^trustpin_verdict_cache_misses_total (\d+)/m.exec(metrics)?.[1] ?? 0);
    }
    for (const a of agents) a.destroy();
    return result;
  } finally {
    await Promise.allSettled(procs.map((p) => p.stop()));
    await reg.stop();
  }
}
