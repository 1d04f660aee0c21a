// `trustpin serve mirror` end to end with real clients: the CLI process in front of the real docker-registry, the
// origin named `origin.test` (reached through --upstream), a cosign-signed demo/app and an unsigned demo/liar.
// skopeo (c/image, fail-closed rewrite through the mirror) copies the signed image and is refused the unsigned one;
// containerd 1.6 (`ctr images pull`, the mirror as the only host) the same, when it can run here (root).
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliArgv, trustpin } from '../cli/run.js';
import { mirrorHostsDir, startContainerd } from '../harness/containerd.js';
import {
  cosignKey,
  freePort,
  type ManagedProcess,
  makeTempDir,
  pushKeyedSignature,
  type RunningRegistry,
  removeDir,
  requireBinary,
  run,
  type SeededImages,
  seedRegistry,
  startProcess,
  startRegistry,
  waitForUrl,
} from '../harness/index.js';

const ORIGIN = 'origin.test';

function binary(name: string, pkg: string): string | undefined {
  try {
    return requireBinary(name, pkg);
  } catch {
    return undefined;
  }
}
const skopeo = binary('skopeo', 'skopeo');
const containerd = binary('containerd', 'containerd');
const ctr = binary('ctr', 'containerd');
const isRoot = process.getuid?.() === 0;

/** The message of a command that must fail (run() rejects on a non-zero exit, with its stderr). */
async function failure(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => assert.fail('the command succeeded'),
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
}

describe('serve mirror with real clients', () => {
  let reg: RunningRegistry;
  let images: SeededImages;
  let dir: string;
  let mirror: ManagedProcess;
  let mirrorHost: string;

  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    images = await seedRegistry(reg);
    dir = await makeTempDir('mirror-e2e');
    const key = cosignKey('p256');
    await writeFile(join(dir, 'cosign.pub'), key.pem);
    // signed for the name clients use: the origin's, whichever host serves it
    await pushKeyedSignature(reg.host, 'demo/app', images.demoApp.digest, `${ORIGIN}/demo/app`, key);
    const policy = join(dir, 'policy.yaml');
    await writeFile(
      policy,
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny, digest: resolve }
trustRoots:
  team-key: { publicKey: ${JSON.stringify(join(dir, 'cosign.pub'))} }
rules:
  - name: signed-demo
    scope: "${ORIGIN}/demo/*"
    require:
      - cosign: { trustRoot: team-key, tlog: optional }
`,
    );
    const port = await freePort();
    mirrorHost = `127.0.0.1:${port}`;
    mirror = startProcess({
      name: 'trustpin mirror',
      command: process.execPath,
      args: cliArgv([
        'serve',
        'mirror',
        '--policy',
        policy,
        '--listen',
        mirrorHost,
        '--upstream',
        `${ORIGIN}=${reg.url}`,
        '--cache',
        join(dir, 'cache'),
      ]),
      env: { ...process.env, TRUSTPIN_HOME: join(dir, 'home') },
      logFile: join(dir, 'mirror.log'),
    });
    await waitForUrl(`http://${mirrorHost}/v2/`, {
      ready: (s) => s === 200,
      proc: mirror,
      timeoutMs: 30_000,
    });
  });
  after(async () => {
    await mirror?.stop();
    await reg?.stop();
    if (dir) await removeDir(dir);
  });

  type MirrorLine = {
    method: string;
    path: string;
    status: number;
    ms: number;
    decision: string;
    rule?: string;
  };
  /**
   * The mirror's JSON request lines, once `until` holds of them (or 10 s passed). The mirror logs a request when its
   * response closes, which can come after the client has read the status and exited: reading the log at once races.
   */
  const mirrorLog = async (until: (lines: MirrorLine[]) => boolean = () => true) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const lines = (await readFile(mirror.logFile, 'utf8'))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as MirrorLine);
      if (until(lines) || Date.now() > deadline) return lines;
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const registryLog = () => readFile(reg.process.logFile, 'utf8');

  test('usage errors exit 2 before listening: a bad --upstream, a missing policy, --tls-cert without --tls-key', async () => {
    const policy = join(dir, 'policy.yaml');
    const bad = await trustpin([
      'serve',
      'mirror',
      '--policy',
      policy,
      '--upstream',
      'docker.io',
      '--listen',
      '127.0.0.1:0',
    ]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /error\[USAGE\].*--upstream/);
    const missing = await trustpin([
      'serve',
      'mirror',
      '--policy',
      join(dir, 'nope.yaml'),
      '--listen',
      '127.0.0.1:0',
    ]);
    assert.equal(missing.code, 2, missing.stderr);
    const tls = await trustpin([
      'serve',
      'mirror',
      '--policy',
      policy,
      '--tls-cert',
      policy,
      '--listen',
      '127.0.0.1:0',
    ]);
    assert.equal(tls.code, 2, tls.stderr);
    assert.match(tls.stderr, /--tls-cert and --tls-key go together/);
  });

  test('the CLI says where it listens and answers the ping', async () => {
    assert.match(
      await readFile(mirror.logFile, 'utf8'),
      /trustpin mirror listening on http:\/\/127\.0\.0\.1:\d+/,
    );
  });

  test('skopeo through a fail-closed rewrite: the signed image copies, the unsigned one is refused (403)', {
    skip: skopeo ? false : 'skopeo not installed (apt-get install -y skopeo)',
  }, async (t) => {
    const conf = join(dir, 'registries.conf');
    await writeFile(
      conf,
      `unqualified-search-registries = []
[[registry]]
prefix = "${ORIGIN}"
location = "${mirrorHost}/${ORIGIN}"
insecure = true
`,
    );
    const pol = join(dir, 'containers-policy.json');
    await writeFile(pol, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const env = { ...process.env, HOME: dir };
    const common = [
      '--registries-conf',
      conf,
      '--policy',
      pol,
      '--override-os',
      'linux',
      '--override-arch',
      'amd64',
    ];
    const ok = await run(
      skopeo!,
      [...common, 'copy', `docker://${ORIGIN}/demo/app:1.0`, `oci:${join(dir, 'app')}:1.0`],
      { env },
    );
    void ok;
    const index = JSON.parse(await readFile(join(dir, 'app', 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    assert.equal(index.manifests[0]?.digest, images.demoAppAmd64.digest);
    const blobs = await readdir(join(dir, 'app', 'blobs', 'sha256'));
    assert.ok(blobs.length >= 3, blobs.join(', '));

    const liarLayer = images.demoLiar.layers[0]!;
    const logStart = (await registryLog()).length;
    const refused = await failure(
      run(skopeo!, [...common, 'copy', `docker://${ORIGIN}/demo/liar:1.0`, `oci:${join(dir, 'liar')}:1.0`], {
        env,
      }),
    );
    assert.match(refused, /403|denied/i);
    const lines = await mirrorLog((ls) =>
      ls.some((l) => l.path.includes('/demo/liar/') && l.decision === 'fail'),
    );
    const liar = lines.filter((l) => l.path.includes('/demo/liar/'));
    assert.ok(liar.length > 0 && liar.every((l) => l.status === 403), JSON.stringify(liar));
    assert.ok(
      liar.some((l) => l.decision === 'fail' && l.rule === 'signed-demo'),
      JSON.stringify(liar),
    );
    // the refused image's layers were never fetched from the origin, by the mirror or anyone
    const during = (await registryLog()).slice(logStart);
    assert.match(during, /demo\/liar\/manifests/, 'the origin was asked (by the mirror, to judge it)');
    assert.ok(!during.includes(liarLayer), "the refused image's layer was never fetched from the origin");
    const app = lines.filter((l) => l.path.includes('/demo/app/'));
    t.diagnostic(
      `mirror lines (ms): ${[...app, ...liar].map((l) => `${l.method} ${l.path.replace(/sha256:(.{8})\w+/, '$1')} ${l.status} ${l.ms}`).join('; ')}`,
    );
    assert.ok(
      app.some((l) => l.decision === 'pass' && l.rule === 'signed-demo'),
      JSON.stringify(app),
    );
  });

  test('containerd 1.6 (ctr pull, the mirror as the only host): the signed image pulls, the unsigned is refused', {
    skip:
      !containerd || !ctr
        ? 'containerd not installed (apt-get install -y containerd)'
        : !isRoot
          ? 'containerd needs root'
          : false,
  }, async () => {
    const base = join(dir, 'containerd');
    const hosts = await mirrorHostsDir(join(base, 'certs.d'), ORIGIN, mirrorHost);
    const { sock, daemon } = await startContainerd(containerd!, base);
    try {
      const pull = (ref: string) =>
        run(ctr!, [
          '--address',
          sock,
          'images',
          'pull',
          '--plain-http',
          '--hosts-dir',
          hosts,
          '--platform',
          'linux/amd64',
          ref,
        ]);
      await pull(`${ORIGIN}/demo/app:1.0`);
      const list = await run(ctr!, ['--address', sock, 'images', 'ls', '-q']);
      assert.match(list.stdout.toString(), /origin\.test\/demo\/app:1\.0/);
      const refused = await failure(pull(`${ORIGIN}/demo/liar:1.0`));
      assert.match(refused, /403 Forbidden|denied/i);
      const lines = await mirrorLog((ls) => ls.some((l) => l.path.includes('/demo/liar/')));
      assert.ok(
        lines.some((l) => l.method === 'HEAD' && l.path.includes('/demo/app/manifests/1.0?ns=origin.test')),
        'containerd sent ns=',
      );
    } finally {
      await daemon.stop();
    }
  });

  test('SIGTERM: the mirror closes and the CLI exits 0', async () => {
    await mirror.stop();
    assert.deepEqual(mirror.exitStatus(), { code: 0, signal: null }, mirror.logTail());
    assert.match(await readFile(mirror.logFile, 'utf8'), /SIGTERM, closing/);
  });
});
