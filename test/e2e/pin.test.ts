// `trustpin pin` end to end on the real docker-registry: a project's Dockerfile, compose file, Kubernetes manifest,
// Helm values and workflow pinned to the digests the registry's bytes hash to (checked against the digests the
// harness built), nothing else in the files changed, idempotent; `--check` and `--check=stale` exit codes and SARIF;
// a moved tag found and refreshed with `--update`; `--platform`; `--policy` pinning only what verifies and
// resolving a stale mirror's tag at its origin.
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trustpin } from '../cli/run.js';
import {
  cosignKey,
  makeTempDir,
  pushKeyedSignature,
  type RunningRegistry,
  type SeededImages,
  seedRegistry,
  startRegistry,
} from '../harness/index.js';
import { copyImage, writePolicyFile } from '../harness/policy.js';
import { sarifValidator } from '../harness/sarif.js';

interface Site {
  status: string;
  digest?: string;
  written?: string;
  problems: { code: string }[];
  site: { line: number; column: number; where: string; text: string };
}
interface Report {
  ok: boolean;
  counts: Record<string, number>;
  files: { path: string; changed: boolean; written: boolean; sites: Site[]; error?: { code: string } }[];
}

describe('trustpin pin against the real registry', () => {
  let reg: RunningRegistry;
  let images: SeededImages;
  let root: string;
  let keyFile: string;
  const json = async (args: string[]) => {
    const r = await trustpin(['pin', '--json', ...args]);
    try {
      return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
    } catch {
      return assert.fail(`no JSON (exit ${r.code}): ${r.stderr}${r.stdout}`);
    }
  };
  const put = async (repo: string, tag: string, bytes: Buffer, mediaType: string) => {
    const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body: new Uint8Array(bytes),
    });
    assert.equal(res.status, 201, `PUT ${repo}:${tag}`);
  };

  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    images = await seedRegistry(reg);
    root = await makeTempDir('tp-pin-e2e');
    const key = cosignKey('p256');
    keyFile = join(root, 'cosign.pub');
    await writeFile(keyFile, key.pem);
    const app = images.demoApp;
    await pushKeyedSignature(reg.host, 'demo/app', app.digest, `${reg.host}/demo/app`, key);
  });
  after(async () => {
    await reg?.stop();
  });

  /** A project with one file of each format, all naming `H/demo/app:1.0` and `H/demo/app:1.0-amd64`. */
  async function project(name: string): Promise<{ dir: string; files: Record<string, string> }> {
    const H = reg.host;
    const dir = join(root, name);
    const files: Record<string, string> = {
      Dockerfile: `# syntax is left alone here\r\nARG BASE=${H}/demo/app:1.0\r\nFROM --platform=$BUILDPLATFORM \${BASE} AS build\r\nRUN echo hi\r\nFROM build\r\nCOPY --from=${H}/demo/app:1.0-amd64 /etc/os-release /x\r\nFROM scratch\r\n`,
      'compose.yaml': `x-base: &base\n  image: ${H}/demo/app:1.0   # the app\n  restart: always\nservices:\n  web:\n    <<: *base\n  worker:\n    <<: *base\n    command: work\n  tool:\n    image: "${H}/demo/app:1.0-amd64"\n`,
      'k8s/deploy.yaml': `# the api\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: api }\nspec:\n  template:\n    spec:\n      initContainers: [{ name: init, image: ${H}/demo/app:1.0-amd64 }]\n      containers:\n        - name: api\n          image: '${H}/demo/app:1.0'\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata:\n  image: ${H}/demo/app:1.0\n`,
      'chart/values.yaml': `image:\n  registry: ${H}\n  repository: demo/app\n  tag: "1.0"\n  pullPolicy: IfNotPresent\n`,
      '.github/workflows/ci.yml': `on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: ${H}/demo/app:1.0\n    steps:\n      - uses: docker://${H}/demo/app:1.0-amd64\n`,
    };
    for (const [f, text] of Object.entries(files)) {
      await mkdir(join(dir, f, '..'), { recursive: true });
      await writeFile(join(dir, f), text);
    }
    return { dir, files };
  }

  /** The files as a correct pin writes them: computed from the harness's digests, not from trustpin. */
  function expected(
    files: Record<string, string>,
    app = images.demoApp.digest,
    amd = images.demoAppAmd64.digest,
  ) {
    const H = reg.host;
    const a = `${H}/demo/app:1.0`;
    const b = `${H}/demo/app:1.0-amd64`;
    const sub = (t: string) =>
      t
        .replaceAll(`${b}`, `${b}@${amd}`)
        .replace(new RegExp(`${a.replaceAll('.', '\\.')}(?![-@])`, 'g'), `${a}@${app}`);
    const out: Record<string, string> = {};
    for (const [f, t] of Object.entries(files)) out[f] = sub(t);
    // a ConfigMap's data is not an image; Helm gains a digest field
    out['k8s/deploy.yaml'] = out['k8s/deploy.yaml']!.replace(`  image: ${a}@${app}\n`, `  image: ${a}\n`);
    out['chart/values.yaml'] = files['chart/values.yaml']!.replace(
      '  tag: "1.0"\n',
      `  tag: "1.0"\n  digest: ${app}\n`,
    );
    return out;
  }

  test('pins every format to NAME:TAG@DIGEST computed from the bytes; nothing else changes; a second run changes nothing', async () => {
    const { dir, files } = await project('all');
    await chmod(join(dir, 'Dockerfile'), 0o640);
    const r = await json([dir]);
    assert.equal(r.code, 0, r.stderr);
    const want = expected(files);
    for (const f of Object.keys(files)) assert.equal(await readFile(join(dir, f), 'utf8'), want[f], f);
    assert.equal((await stat(join(dir, 'Dockerfile'))).mode & 0o777, 0o640, 'file mode kept');
    // Dockerfile: ARG default + COPY --from; compose: the anchor once + tool; k8s 2; helm 1; workflow 2
    assert.equal(r.report.counts.pinned, 9);
    const again = await json([dir]);
    assert.equal(again.code, 0);
    assert.equal(again.report.counts.pinned, 0);
    assert.equal(again.report.counts.current, 9);
    for (const f of Object.keys(files))
      assert.equal(await readFile(join(dir, f), 'utf8'), want[f], `${f} (second run)`);
    const check = await trustpin(['pin', '--check', dir]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });

  test('--check: exit 1 on unpinned references, each at file:line:column, as SARIF that validates; nothing written', async () => {
    const { dir, files } = await project('check');
    const text = await trustpin(['pin', '--check', dir]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /compose\.yaml:2:10 .*unpinned error\[NOT_PINNED\]/);
    const out = join(dir, 'pin.sarif');
    const sarif = await trustpin(['pin', '--check', '--format', 'sarif', '--output', out, dir]);
    assert.equal(sarif.code, 1);
    const log = JSON.parse(await readFile(out, 'utf8')) as {
      runs: {
        results: {
          ruleId: string;
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }[];
        }[];
      }[];
    };
    const validate = sarifValidator();
    assert.ok(validate(log), JSON.stringify(validate.errors?.slice(0, 3)));
    const results = log.runs[0]!.results;
    assert.equal(results.length, 9);
    assert.ok(results.every((x) => x.ruleId === 'NOT_PINNED'));
    const docker = results.find((x) =>
      x.locations[0]!.physicalLocation.artifactLocation.uri.endsWith('/Dockerfile'),
    );
    assert.ok(docker, 'a Dockerfile result');
    assert.equal(docker.locations[0]!.physicalLocation.region.startLine, 3);
    for (const f of Object.keys(files))
      assert.equal(await readFile(join(dir, f), 'utf8'), files[f], `${f} untouched`);
  });

  test('a moved tag: --check passes, --check=stale fails PIN_STALE, --update --dry-run shows the diff, --update refreshes it', async () => {
    const dir = join(root, 'moved');
    await mkdir(dir, { recursive: true });
    const app = images.demoApp;
    await put('demo/app', 'moving', app.bytes, app.mediaType);
    const file = join(dir, 'compose.yaml');
    await writeFile(file, `services:\n  app:\n    image: ${reg.host}/demo/app:moving\n`);
    assert.equal((await json([dir])).code, 0);
    assert.equal(
      await readFile(file, 'utf8'),
      `services:\n  app:\n    image: ${reg.host}/demo/app:moving@${app.digest}\n`,
    );
    // the tag now names another image (not one of the old index's platforms)
    const liar = images.demoLiar;
    await copyImage(reg.host, 'demo/liar:1.0', 'demo/app', 'moving');
    assert.equal((await trustpin(['pin', '--check', dir])).code, 0, 'no resolution without =stale');
    const stale = await json(['--check=stale', dir]);
    assert.equal(stale.code, 1);
    const s = stale.report.files[0]!.sites[0]!;
    assert.equal(s.status, 'stale');
    assert.deepEqual(
      s.problems.map((p) => p.code),
      ['PIN_STALE'],
    );
    const dry = await trustpin(['pin', '--update', '--dry-run', dir]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^-    image: .*@${app.digest}$`, 'm'));
    assert.match(dry.stdout, new RegExp(`^\\+    image: .*moving@${liar.digest}$`, 'm'));
    assert.equal(
      await readFile(file, 'utf8'),
      `services:\n  app:\n    image: ${reg.host}/demo/app:moving@${app.digest}\n`,
      'dry run wrote nothing',
    );
    const upd = await json(['--update', dir]);
    assert.equal(upd.code, 0);
    assert.equal(upd.report.counts.updated, 1);
    assert.equal(
      await readFile(file, 'utf8'),
      `services:\n  app:\n    image: ${reg.host}/demo/app:moving@${liar.digest}\n`,
    );
    assert.equal((await trustpin(['pin', '--check=stale', dir])).code, 0);
  });

  test('--platform pins the platform manifest digest and says so; a platform pin of a tag is current for --check=stale', async () => {
    const dir = join(root, 'platform');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'Dockerfile');
    await writeFile(file, `FROM ${reg.host}/demo/app:1.0\n`);
    const r = await trustpin(['pin', '--platform', 'linux/arm64', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /platform linux\/arm64 manifest digests/);
    assert.equal(
      await readFile(file, 'utf8'),
      `FROM ${reg.host}/demo/app:1.0@${images.demoAppArm64.digest}\n`,
    );
    assert.equal((await trustpin(['pin', '--check=stale', dir])).code, 0);
  });

  test('--policy: only what verifies is pinned (unsigned refused, left untouched, exit 1); a stale mirror tag is resolved at its origin; a re-encoding mirror gets its own digest, proven against the origin', async () => {
    const H = reg.host;
    // origin up/app:2.0 = the arm64 image; the mirror holds it by digest but its tag 2.0 is stale (amd64)
    await copyImage(H, 'demo/app:1.0-arm64', 'up/app', '2.0');
    await copyImage(H, 'demo/app:1.0-arm64', 'mir/app', 'old');
    await copyImage(H, 'demo/app:1.0-amd64', 'mir/app', '2.0');
    const dir = join(root, 'policy');
    await mkdir(dir, { recursive: true });
    const policy = await writePolicyFile(
      dir,
      'policy.yaml',
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny }
trustRoots:
  team: { publicKey: ${JSON.stringify(keyFile)} }
mirrors:
  - origin: ${H}/up
    mirrors: [${H}/mir]
    prove: config
  - origin: ${H}/demo
    mirrors: [${H}/mirror]
    prove: config
rules:
  - name: signed
    scope: "${H}/demo/**"
    require: [ { cosign: { trustRoot: team, tlog: optional } } ]
  - name: upstream
    scope: "${H}/up/**"
    require: [ { digestPinned: true } ]
`,
    );
    const file = join(dir, 'compose.yaml');
    const before = `services:\n  app: { image: ${H}/demo/app:1.0 }\n  liar: { image: ${H}/demo/liar:1.0 }\n  mirrored: { image: ${H}/mir/app:2.0 }\n  reencoded: { image: ${H}/mirror/app:1.0 }\n`;
    await writeFile(file, before);
    const r = await json(['--policy', policy, '--include', 'compose.yaml', dir]);
    assert.equal(r.code, 1, r.stderr);
    const sites = r.report.files[0]!.sites;
    assert.deepEqual(
      sites.map((s) => s.status),
      ['pinned', 'refused', 'pinned', 'pinned'],
    );
    assert.ok(sites[1]!.problems.length > 0);
    assert.equal(
      await readFile(file, 'utf8'),
      `services:\n  app: { image: ${H}/demo/app:1.0@${images.demoApp.digest} }\n  liar: { image: ${H}/demo/liar:1.0 }\n  mirrored: { image: ${H}/mir/app:2.0@${images.demoAppArm64.digest} }\n  reencoded: { image: ${H}/mirror/app:1.0@${images.mirrorApp.digest} }\n`,
    );
    // --check --policy judges every pinned reference again: they pass; the unpinned liar is the one finding
    const check = await json(['--check=stale', '--policy', policy, '--include', 'compose.yaml', dir]);
    assert.equal(check.code, 1, check.stderr);
    assert.deepEqual(
      check.report.files[0]!.sites.map((s) => s.status),
      ['current', 'unpinned', 'current', 'current'],
    );
    // a pin the policy refuses (a signed tag's digest swapped for an unsigned image's) fails the check
    await copyImage(H, 'demo/liar:1.0', 'demo/app', 'unsigned');
    const forged = `services:\n  app: { image: ${H}/demo/app:1.0@${images.demoLiar.digest} }\n`;
    await writeFile(file, forged);
    const refused = await json(['--check', '--policy', policy, '--include', 'compose.yaml', dir]);
    assert.equal(refused.code, 1);
    assert.equal(refused.report.files[0]!.sites[0]!.status, 'refused');
    assert.equal(await readFile(file, 'utf8'), forged);
  });
});
