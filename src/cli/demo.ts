// `trustpin demo`: start the embedded registry on 127.0.0.1 with a generated two-platform image and a Docker-format
// mirror of it, then run inspect, digest and compare against them and show a tampered registry being caught; then a
// trust policy (DCT and cosign on an in-process notary and keys, a mirror proven by content, a digest-pin catch-all)
// judges the signed images and rejects each attack with its code; `pin` writes the accepted digests into a
// Dockerfile and a compose file and leaves the unsigned image's line alone. No network, no Docker needed.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosignSignature, demoImages, demoKey, forgeHistory, MemoryRegistry } from '../demo/index.js';
import { TrustpinError } from '../errors/index.js';
import { inspectJson, renderInspect, selectPlatform, walkImage } from '../image/index.js';
import { compareImages } from '../mirror/index.js';
import { evaluate, loadPolicy } from '../policy/index.js';
import { parseReference } from '../reference/index.js';
import { policyHtml, renderComparison, renderPinReport, renderPolicyReport } from '../report/index.js';
import { RegistrySource } from '../source/index.js';
import { DctPublisher, startTestNotary, type TestNotary } from '../testing/index.js';
import type { Action } from './command.js';
import { type Context, EXIT } from './common.js';

/** The policy demo's attacks: the image, what it is, and the code it must be rejected with. */
const ATTACKS = [
  ['tampered/app:1.0', 'a mirror serving another config under the same tag', 'MIRROR_NOT_PROVEN'],
  [
    'demo/app:patched',
    'the same layers, a config whose history claims a reviewed build',
    'REQUIREMENT_NOT_MET',
  ],
  ['demo/app:unsigned', 'an image nobody signed', 'REQUIREMENT_NOT_MET'],
  ['other/tool:latest', 'a tag where the catch-all rule requires a digest', 'NOT_PINNED'],
] as const;

// A walk-through printed as it goes (the lie is staged between steps), so it writes itself; -q keeps the verdicts.
export const action: Action<Record<string, never>> = async (_args, _flags, ctx) => ({
  exit: await demo(ctx),
});

async function demo(full: Context): Promise<0 | 1> {
  const ctx = { ...full, out: full.opts.quiet ? () => undefined : full.out, client: full.client };
  const verdict = full.out;
  const s = ctx.style;
  const set = await demoImages();
  const reg = new MemoryRegistry();
  const host = await reg.listen();
  reg.push('demo/app', set.app, '1.0');
  reg.push('mirror/app', set.mirror, '1.0');
  const ref = `${host}/demo/app:1.0`;
  const section = (t: string) => ctx.out(`\n${s.bold(`== ${t}`)}`);
  try {
    ctx.out(s.dim(`embedded registry on http://${host} serving ${ref} (linux/amd64 + linux/arm64)`));

    section(`trustpin inspect ${ref}`);
    const src = new RegistrySource(parseReference(ref), ctx.client);
    const tree = await walkImage(src, { configs: true, attestations: true });
    ctx.out(renderInspect(inspectJson(tree, src.name), s));

    section(`trustpin digest ${ref}`);
    ctx.out(`${host}/demo/app@${tree.root.descriptor.digest}`);
    section(`trustpin digest ${ref} --platform linux/arm64`);
    const arm = selectPlatform(tree, { os: 'linux', architecture: 'arm64' });
    ctx.out(`${host}/demo/app@${arm.descriptor.digest}`);

    section(`trustpin compare ${ref} ${host}/mirror/app:1.0`);
    const cmp = await compareImages(
      new RegistrySource(parseReference(ref), ctx.client),
      new RegistrySource(parseReference(`${host}/mirror/app:1.0`), ctx.client),
    );
    ctx.out(renderComparison(cmp, s));
    if (!cmp.equivalent) return EXIT.failed;

    section('a registry that lies: the arm64 manifest is swapped for the amd64 bytes');
    const amdBytes = set.app.images[0]!.manifest.bytes;
    reg.hook = (req, res, url) => {
      if (!url.pathname.endsWith(`/manifests/${arm.descriptor.digest}`)) return false;
      res.writeHead(200, {
        'Content-Type': set.app.images[0]!.manifest.mediaType,
        'Docker-Content-Digest': arm.descriptor.digest,
      });
      res.end(req.method === 'HEAD' ? undefined : amdBytes);
      return true;
    };
    const liar = new RegistrySource(parseReference(ref), ctx.client);
    try {
      await walkImage(liar, { configs: true });
      verdict(s.bad('✘ the lie was not detected — this is a bug'));
      return EXIT.failed;
    } catch (e) {
      if (!(e instanceof TrustpinError) || (e.code !== 'DIGEST_MISMATCH' && e.code !== 'SIZE_MISMATCH'))
        throw e;
      verdict(`${s.ok('✔ rejected')}: error[${e.code}] ${e.message}`);
      ctx.out(
        s.dim(
          `  expected ${e.expected}\n  found    ${e.found}\n  (the registry's Docker-Content-Digest header claimed the right digest; trustpin hashes the bytes)`,
        ),
      );
    }
    reg.hook = undefined;
    if ((await policyDemo(ctx, verdict, reg, host, set)) !== EXIT.ok) return EXIT.failed;
    verdict(
      `\n${s.ok('demo complete')}: every manifest and config above was fetched by digest and verified before parsing.`,
    );
    return EXIT.ok;
  } finally {
    await full.close();
    await reg.close();
  }
}

type Out = (line: string) => void;

// Issue 14's story: one policy file over DCT, cosign, a mirror proven by content, and a digest-pin catch-all; every
// attack below must be rejected with its code. The notary, its CA, the keys and TRUSTPIN_HOME live in a temp dir.
async function policyDemo(
  ctx: Context,
  verdict: Out,
  reg: MemoryRegistry,
  host: string,
  set: Awaited<ReturnType<typeof demoImages>>,
): Promise<0 | 1> {
  const s = ctx.style;
  const section = (t: string) => ctx.out(`\n${s.bold(`== ${t}`)}`);
  const dir = await mkdtemp(join(tmpdir(), 'trustpin-demo-'));
  let notary: TestNotary | undefined;
  try {
    // the origin, signed twice: Docker Content Trust (tag 1.0 -> index digest) and a keyed cosign signature
    const digest = set.app.index.digest;
    notary = await startTestNotary();
    const dct = new DctPublisher(`${host}/demo/app`).sign('1.0', digest, set.app.index.size);
    notary.serve(dct);
    const key = demoKey();
    const sig = cosignSignature(key, `${host}/demo/app`, digest);
    for (const b of sig.blobs) reg.putBlob('demo/app', b);
    reg.putManifest('demo/app', sig.manifest, sig.tag);
    // the amd64 image alone, signed with cosign only: the anyOf's second alternative decides
    const amd = set.app.images[0]!;
    reg.push('demo/app', amd, 'amd64');
    const amdSig = cosignSignature(key, `${host}/demo/app`, amd.manifest.digest);
    for (const b of amdSig.blobs) reg.putBlob('demo/app', b);
    reg.putManifest('demo/app', amdSig.manifest, amdSig.tag);
    // the attacks: a tampered mirror, a forged history, an unsigned image, a tag under the catch-all
    reg.push('tampered/app', set.liar, '1.0');
    reg.push(
      'demo/app',
      forgeHistory(set.app.images[0]!, '/bin/sh -c #(nop) COPY file:hello.txt # security review #42 passed'),
      'patched',
    );
    reg.push('demo/app', set.liar, 'unsigned');
    reg.push('other/tool', set.app.images[1]!, 'latest');

    await writeFile(join(dir, 'notary-ca.pem'), notary.ca);
    await writeFile(join(dir, 'cosign.pub'), key.pem);
    const q = JSON.stringify;
    const yaml = `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny, digest: resolve }
trustRoots:
  demo-dct:
    dct:
      rootKeyIds: [${q(dct.rootKeyId)}]
      server: ${q(notary.url)}
      ca: ./notary-ca.pem
  demo-key: { publicKey: ./cosign.pub }
mirrors:
  - origin: ${q(`${host}/demo`)}
    mirrors: [${q(`${host}/mirror`)}, ${q(`${host}/tampered`)}]
    prove: config
    signaturesFrom: [origin]
rules:
  - name: demo-app-signed
    scope: ${q(`${host}/demo/app`)}
    require:
      - anyOf:
          - dct: { trustRoot: demo-dct }
          - cosign: { trustRoot: demo-key, tlog: optional }
  - name: everything-else-pinned
    scope: "**"
    require: [ { digestPinned: true } ]
`;
    const file = join(dir, 'trustpin-policy.yaml');
    await writeFile(file, yaml);
    section(`a trust policy (${file})`);
    ctx.out(s.dim(yaml.trimEnd()));

    const refs = [
      `${host}/demo/app:1.0`,
      `${host}/mirror/app:1.0`,
      `${host}/demo/app:amd64`,
      `${host}/other/tool@${set.app.images[1]!.manifest.digest}`,
      ...ATTACKS.map(([r]) => `${host}/${r}`),
    ];
    section(`trustpin verify --policy ${file} ${refs.length} images`);
    const policy = loadPolicy(file);
    const report = await evaluate(policy, refs, { client: ctx.client, home: join(dir, 'home') });
    ctx.out(renderPolicyReport(report, s));

    let caught = true;
    for (const [i, v] of report.verdicts.entries()) {
      if (i < 4 && v.outcome !== 'pass') {
        verdict(s.bad(`✘ ${v.normalized} should pass — this is a bug`));
        caught = false;
      }
    }
    ctx.out('');
    for (const [i, [r, what, code]] of ATTACKS.entries()) {
      const v = report.verdicts[4 + i]!;
      const codes = v.problems.map((p) => p.code);
      if (v.ok || !codes.includes(code)) {
        verdict(s.bad(`✘ ${r} (${what}) was not rejected with ${code} — this is a bug`));
        caught = false;
      } else verdict(`${s.ok('✔ rejected')}: ${r} — ${what}: error[${code}]`);
    }
    ctx.out(
      s.dim(
        '  (demo/app:patched has the layers of demo/app:1.0 (linux/amd64) and a history saying it passed a review: history\n   is what the builder wrote about itself, not evidence; trustpin judges content and signatures, and nobody signed it)',
      ),
    );
    const html = join(dir, 'policy-report.html');
    await writeFile(html, policyHtml(report));
    ctx.out(`\n${s.dim('HTML report:')} ${html}`);
    if (!(await pinDemo(ctx, verdict, host, file, dir))) caught = false;
    return caught ? EXIT.ok : EXIT.failed;
  } finally {
    await notary?.close();
    // the temp dir holds the policy and the HTML report the user may open; only the trust store is removed
    await rm(join(dir, 'home'), { recursive: true, force: true });
  }
}

// Issue 15's story: the files people deploy from, pinned to the digests the policy accepted; the unsigned image is
// refused and its line left as it was; `pin --check` then finds exactly that one.
async function pinDemo(
  ctx: Context,
  verdict: Out,
  host: string,
  policyFile: string,
  dir: string,
): Promise<boolean> {
  const s = ctx.style;
  const { pinFiles } = await import('../pin/index.js');
  const project = join(dir, 'project');
  await mkdir(project, { recursive: true });
  const files: Record<string, string> = {
    Dockerfile: `# syntax and comments are kept\nFROM --platform=$BUILDPLATFORM ${host}/demo/app:1.0 AS build\nRUN true\nFROM ${host}/mirror/app:1.0\nCOPY --from=build /app /app\n`,
    'compose.yaml': `services:\n  web:\n    image: ${host}/demo/app:1.0   # the app\n  sidecar:\n    image: "${host}/demo/app:unsigned"\n`,
  };
  for (const [f, t] of Object.entries(files)) await writeFile(join(project, f), t);
  ctx.out(`\n${s.bold(`== trustpin pin --policy ${policyFile} ${project}`)}`);
  const policy = loadPolicy(policyFile);
  const report = await pinFiles([project], { policy, client: ctx.client, home: join(dir, 'home') });
  ctx.out(renderPinReport(report, s));
  for (const f of Object.keys(files))
    ctx.out(`${s.dim(`--- ${f} now:`)}\n${await readFile(join(project, f), 'utf8')}`);
  const sites = report.files.flatMap((f) => f.sites);
  const refused = sites.filter((x) => x.status === 'refused');
  const ok =
    sites.filter((x) => x.status === 'pinned').length === 3 &&
    refused.length === 1 &&
    refused[0]!.site.text.endsWith('demo/app:unsigned');
  const check = await pinFiles([project], {
    mode: 'check',
    policy,
    client: ctx.client,
    home: join(dir, 'home'),
  });
  const found = check.files.flatMap((f) => f.sites).filter((x) => x.status !== 'current');
  if (!ok || found.length !== 1) {
    verdict(s.bad('✘ pin did not pin exactly the images the policy accepts — this is a bug'));
    return false;
  }
  verdict(
    `${s.ok('✔ rejected')}: demo/app:unsigned — pinned nowhere, its line left as it was; \`pin --check\` reports it: error[${found[0]!.problems[0]!.code}]`,
  );
  return true;
}
