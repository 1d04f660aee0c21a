// `trustpin verify --policy FILE REF…` end to end: one YAML trust policy over the real docker-registry and the real
// notary-server/signer — cosign keyed signatures, Notation signatures, Docker Content Trust, digest pins, modes,
// noMatch, anyOf, mirrors proven by content — each case asserting the exit code and the verdict JSON; the SARIF and
// HTML reports; `policy explain` without a registry and `policy check` naming file:line:col.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trustpin } from '../cli/run.js';
import {
  cosignKey,
  makeTempDir,
  pushKeyedSignature,
  type RunningNotary,
  type RunningRegistry,
  type SeededImages,
  type SeededTrust,
  seedRegistry,
  seedTrust,
  startNotary,
  startRegistry,
} from '../harness/index.js';
import {
  NOTATION_JWS_MEDIA_TYPE,
  notationPki,
  pemOf,
  pushNotationSignature,
  signJws,
} from '../harness/notation.js';
import { copyImage, writePolicyFile } from '../harness/policy.js';
import { sarifValidator } from '../harness/sarif.js';

const LEAF = 'C=US, ST=WA, L=Seattle, O=Acme Test, CN=Acme Policy Signer';
const src = (f: string) => join(import.meta.dirname, '..', '..', 'src', f);
const loaderMissing = existsSync(src('policy/load.ts'))
  ? false
  : 'src/policy/load.ts (loadPolicy) not there yet';

interface Req {
  kind: string;
  status: string;
  path: string;
  problems: { code: string }[];
  children?: Req[];
}
interface Verdict {
  reference: string;
  rule?: { name: string };
  outcome: string;
  ok: boolean;
  mode: string;
  digest?: string;
  pinned?: string;
  problems: { code: string; message: string }[];
  requirements: Req[];
  mirror?: { origin: string; ok: boolean; level?: string; prove: string };
}
interface Report {
  ok: boolean;
  verdicts: Verdict[];
}

/** Which report renderers exist yet (another helper writes them): the face exports them, or their files exist. */
const face = (await import('../../src/report/index.js')) as Record<string, unknown>;
const renderers = {
  sarif: 'policySarif' in face || existsSync(src('report/sarif.ts')),
  html: 'policyHtml' in face || existsSync(src('report/html.ts')),
};

const codes = (v: Verdict) => [...new Set(v.problems.map((p) => p.code))].sort();
const statuses = (v: Verdict) => v.requirements.map((r) => `${r.kind}:${r.status}`);

describe('verify --policy against the real registry and notary', { skip: loaderMissing }, () => {
  let reg: RunningRegistry;
  let notary: RunningNotary;
  let images: SeededImages;
  let trust: SeededTrust;
  let dir: string;
  const files: Record<string, string> = {};
  const tp = (args: string[]) => trustpin(args, { env: { TRUSTPIN_HOME: join(dir, 'home') } });
  const ref = (r: string) => `${reg.host}/${r}`;
  const q = (s: string) => JSON.stringify(s);
  /** the trust roots every policy below shares */
  const roots = () => `trustRoots:
  team-key: { publicKey: ${q(files.key!)} }
  other-key: { publicKey: ${q(files.otherKey!)} }
  acme-notation: { notation: { ca: [${q(files.notationCa!)}] } }
  other-notation: { notation: { ca: [${q(files.otherCa!)}] } }
  liar-dct:
    dct:
      rootKeyIds: [${q(trust.keys.liar.root.keyId)}]
      server: ${q(notary.url)}
      ca: ${q(notary.caFile)}
`;
  const head = (
    defaults = 'mode: enforce, noMatch: deny, digest: resolve',
  ) => `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { ${defaults} }
${roots()}`;
  const cosign = (root = 'team-key') => `cosign: { trustRoot: ${root}, tlog: optional }`;
  const notation = (root = 'acme-notation') =>
    `notation: { trustRoot: ${root}, level: strict, identities: [${q(`x509.subject: ${LEAF}`)}] }`;
  const verify = async (policy: string, refs: string[], extra: string[] = []) => {
    const r = await tp(['verify', '--policy', policy, '--format', 'json', ...extra, ...refs]);
    let report: Report | undefined;
    try {
      report = JSON.parse(r.stdout) as Report;
    } catch {
      assert.fail(`no JSON report (exit ${r.code}): ${r.stderr}${r.stdout}`);
    }
    return { code: r.code, report, stderr: r.stderr };
  };

  before(async () => {
    [reg, notary] = await Promise.all([startRegistry({ mode: 'plain' }), startNotary()]);
    images = await seedRegistry(reg);
    dir = await makeTempDir('tp-policy-e2e');
    const [seeded] = await Promise.all([
      seedTrust(notary, reg.host, images),
      (async () => {
        const key = cosignKey('p256');
        files.key = join(dir, 'cosign.pub');
        files.otherKey = join(dir, 'other.pub');
        await writeFile(files.key, key.pem);
        await writeFile(files.otherKey, cosignKey('p256').pem);
        // cosign: the demo/app index (also the origin of the mirrors below)
        const app = images.demoApp;
        await pushKeyedSignature(reg.host, 'demo/app', app.digest, ref('demo/app'), key);
        // Notation: the arm64 manifest
        const pki = notationPki({ subjects: { leaf: LEAF } });
        files.notationCa = join(dir, 'acme-ca.pem');
        files.otherCa = join(dir, 'other-ca.pem');
        await writeFile(files.notationCa, pemOf(pki.root.der));
        await writeFile(files.otherCa, pemOf(notationPki().root.der));
        const arm = images.demoAppArm64;
        const desc = { mediaType: arm.mediaType, digest: arm.digest, size: arm.size };
        await pushNotationSignature(
          reg.host,
          'demo/app',
          desc,
          signJws({ target: desc, signer: { key: pki.leaf.key, chain: pki.chain } }),
          NOTATION_JWS_MEDIA_TYPE,
          pki.chain,
        );
        // a "mirror" holding another image under the same tag
        await copyImage(reg.host, 'demo/liar:1.0', 'evil/app', '1.0');
      })(),
    ]);
    trust = seeded;
  });
  after(async () => {
    await Promise.allSettled([reg?.stop(), notary?.stop()]);
  });

  test('one run, several systems: cosign (rule A) passes, unsigned fails SIGNATURE_NOT_FOUND, Notation (B) and DCT (C, real notary) pass; exit 1', async () => {
    const policy = await writePolicyFile(
      dir,
      'systems.yaml',
      `${head()}rules:
  - name: A-cosign
    scope: ${q(ref('demo/*'))}
    require:
      - ${cosign()}
  - name: B-notation
    scope: ${q(ref('demo/app:1.0-arm64'))}
    require:
      - ${notation()}
  - name: C-dct
    scope: ${q(ref('demo/liar'))}
    require:
      - dct: { trustRoot: liar-dct }
`,
    );
    const refs = [
      ref('demo/app:1.0'),
      ref('demo/app:1.0-amd64'),
      ref('demo/app:1.0-arm64'),
      ref('demo/liar:1.0'),
    ];
    const { code, report } = await verify(policy, refs);
    assert.equal(code, 1, JSON.stringify(report, null, 1));
    assert.equal(report!.ok, false);
    const [a, unsigned, b, c] = report!.verdicts;
    assert.deepEqual(
      report!.verdicts.map((v) => [v.reference, v.rule?.name, v.outcome, v.ok]),
      [
        [refs[0], 'A-cosign', 'pass', true],
        [refs[1], 'A-cosign', 'fail', false],
        [refs[2], 'B-notation', 'pass', true],
        [refs[3], 'C-dct', 'pass', true],
      ],
      JSON.stringify(report!.verdicts.map((v) => v.problems)),
    );
    assert.deepEqual(statuses(a!), ['cosign:pass']);
    assert.equal(a!.digest, images.demoApp.digest);
    assert.equal(a!.pinned, `${ref('demo/app')}@${images.demoApp.digest}`);
    assert.deepEqual(statuses(unsigned!), ['cosign:fail']);
    assert.deepEqual(codes(unsigned!), ['SIGNATURE_NOT_FOUND']);
    assert.equal(unsigned!.pinned, undefined);
    assert.deepEqual(statuses(b!), ['notation:pass']);
    assert.equal(b!.digest, images.demoAppArm64.digest);
    assert.deepEqual(statuses(c!), ['dct:pass']);
    assert.equal(c!.digest, images.demoLiar.digest);
    assert.deepEqual(
      [a, b, c].flatMap((v) => v!.problems),
      [],
    );
  });

  test("DCT with the real notary: a root pinned to another repository's key fails, exit 1", async () => {
    const policy = await writePolicyFile(
      dir,
      'dct-wrong-root.yaml',
      `${head()}  app-root-dct:
    dct:
      rootKeyIds: [${q(trust.keys.app.root.keyId)}]
      server: ${q(notary.url)}
      ca: ${q(notary.caFile)}
rules:
  - name: C-dct
    scope: ${q(ref('demo/liar'))}
    require:
      - dct: { trustRoot: app-root-dct }
`,
    );
    const { code, report } = await verify(policy, [ref('demo/liar:1.0')]);
    assert.equal(code, 1, JSON.stringify(report));
    const v = report!.verdicts[0]!;
    assert.deepEqual([v.rule?.name, v.outcome, v.ok, statuses(v)], ['C-dct', 'fail', false, ['dct:fail']]);
    assert.deepEqual(codes(v), ['ROOT_KEY_MISMATCH']);
    assert.equal(v.pinned, undefined);
  });

  test('the most specific scope wins: a tag under the ** catch-all fails NOT_PINNED, the same by digest passes', async () => {
    const policy = await writePolicyFile(
      dir,
      'specific.yaml',
      `${head()}rules:
  - name: everything-pinned
    scope: "**"
    require: [ { digestPinned: true } ]
  - name: app-cosign
    scope: ${q(ref('demo/app:1.0'))}
    require:
      - ${cosign()}
`,
    );
    const amd = images.demoAppAmd64.digest;
    const refs = [ref('demo/app:1.0-amd64'), ref(`demo/app@${amd}`), ref('demo/app:1.0')];
    const { code, report } = await verify(policy, refs);
    assert.equal(code, 1);
    const [tag, pinned, app] = report!.verdicts;
    assert.equal(tag!.rule?.name, 'everything-pinned');
    assert.equal(tag!.outcome, 'fail');
    assert.deepEqual(codes(tag!), ['NOT_PINNED']);
    assert.deepEqual(statuses(tag!), ['digestPinned:fail']);
    assert.equal(pinned!.rule?.name, 'everything-pinned');
    assert.equal(pinned!.outcome, 'pass');
    assert.deepEqual(statuses(pinned!), ['digestPinned:pass']);
    assert.equal(pinned!.pinned, `${ref('demo/app')}@${amd}`);
    // in scope of both: the tagged scope is more specific than "**", so no digest pin is asked of it
    assert.equal(app!.rule?.name, 'app-cosign');
    assert.equal(app!.outcome, 'pass');
    // only the digest passes: the pinned image alone is exit 0
    assert.equal((await verify(policy, [refs[1]!])).code, 0);
    // defaults.digest require: a tag is refused before any rule's requirement, even under the specific rule
    const strict = await writePolicyFile(
      dir,
      'digest-require.yaml',
      (await readFile(policy, 'utf8')).replace('digest: resolve', 'digest: require'),
    );
    const sr = await verify(strict, [ref('demo/app:1.0'), ref(`demo/app@${images.demoApp.digest}`)]);
    assert.equal(sr.code, 1);
    assert.deepEqual(
      sr.report!.verdicts.map((v) => [v.rule?.name, v.outcome, codes(v)]),
      [
        ['app-cosign', 'fail', ['NOT_PINNED']],
        ['everything-pinned', 'pass', []],
      ],
    );
  });

  test('mode warn: a failing image is reported (outcome fail, ok true) and exits 0; noMatch deny: NO_MATCHING_RULE, exit 1', async () => {
    const warn = await writePolicyFile(
      dir,
      'warn.yaml',
      `${head()}rules:
  - name: liar-warn
    scope: ${q(ref('demo/liar'))}
    mode: warn
    require:
      - ${cosign()}
`,
    );
    const w = await verify(warn, [ref('demo/liar:1.0')]);
    assert.equal(w.code, 0, w.stderr);
    const v = w.report!.verdicts[0]!;
    assert.deepEqual([v.rule?.name, v.mode, v.outcome, v.ok], ['liar-warn', 'warn', 'fail', true]);
    assert.deepEqual(codes(v), ['SIGNATURE_NOT_FOUND']);
    assert.equal(w.report!.ok, true);
    // an image no rule covers, defaults.noMatch deny
    const n = await verify(warn, [ref('demo/app:1.0')]);
    assert.equal(n.code, 1);
    const nv = n.report!.verdicts[0]!;
    assert.equal(nv.rule, undefined);
    assert.deepEqual([nv.outcome, nv.ok], ['fail', false]);
    assert.deepEqual(codes(nv), ['NO_MATCHING_RULE']);
    // noMatch allow lets the same image through
    const allow = await writePolicyFile(
      dir,
      'allow.yaml',
      (await readFile(warn, 'utf8')).replace('noMatch: deny', 'noMatch: allow'),
    );
    assert.equal((await verify(allow, [ref('demo/app:1.0')])).code, 0);
  });

  test('anyOf: a wrong cosign key or Notation passes by the second alternative; both wrong → REQUIREMENT_NOT_MET', async () => {
    const any = (cosignRoot: string, notationRoot: string) => `${head()}rules:
  - name: either
    scope: ${q(ref('demo/app'))}
    require:
      - anyOf:
          - ${cosign(cosignRoot)}
          - ${notation(notationRoot)}
`;
    const ok = await writePolicyFile(dir, 'any-ok.yaml', any('other-key', 'acme-notation'));
    const r = await verify(ok, [ref('demo/app:1.0-arm64')]);
    assert.equal(r.code, 0, JSON.stringify(r.report));
    const v = r.report!.verdicts[0]!;
    assert.deepEqual([v.rule?.name, v.outcome], ['either', 'pass']);
    assert.deepEqual(statuses(v), ['anyOf:pass']);
    assert.deepEqual(
      v.requirements[0]!.children!.map((c) => `${c.kind}:${c.status}`),
      ['cosign:fail', 'notation:pass'],
    );
    const bad = await writePolicyFile(dir, 'any-bad.yaml', any('other-key', 'other-notation'));
    const b = await verify(bad, [ref('demo/app:1.0-arm64')]);
    assert.equal(b.code, 1);
    const bv = b.report!.verdicts[0]!;
    assert.deepEqual([bv.outcome, bv.ok], ['fail', false]);
    assert.deepEqual(statuses(bv), ['anyOf:fail']);
    assert.equal(bv.requirements[0]!.problems[0]!.code, 'REQUIREMENT_NOT_MET');
    assert.ok(codes(bv).includes('REQUIREMENT_NOT_MET'), codes(bv).join());
    assert.deepEqual(
      bv.requirements[0]!.children!.map((c) => `${c.kind}:${c.status}`),
      ['cosign:fail', 'notation:fail'],
    );
  });

  test('mirrors: the v2s2 copy in mirror/app is judged as demo/app, signed at the origin and proven at config; other content under the tag → MIRROR_NOT_PROVEN', async () => {
    const policy = await writePolicyFile(
      dir,
      'mirrors.yaml',
      `${head()}mirrors:
  - origin: ${q(ref('demo'))}
    mirrors: [${q(ref('mirror'))}, ${q(ref('evil'))}]
    prove: config
    signaturesFrom: [origin]
rules:
  - name: app-cosign
    scope: ${q(ref('demo/app:1.0'))}
    require:
      - ${cosign()}
`,
    );
    const good = await verify(policy, [ref('mirror/app:1.0')]);
    assert.equal(good.code, 0, JSON.stringify(good.report));
    const g = good.report!.verdicts[0]!;
    assert.deepEqual([g.rule?.name, g.outcome, g.ok], ['app-cosign', 'pass', true]);
    assert.equal(g.digest, images.mirrorApp.digest);
    assert.notEqual(g.digest, images.demoApp.digest);
    assert.equal(g.mirror?.origin, ref('demo/app'));
    assert.equal(g.mirror?.ok, true);
    assert.equal(g.mirror?.level, 'config');
    assert.deepEqual(statuses(g), ['cosign:pass']);
    const evil = await verify(policy, [ref('evil/app:1.0')]);
    assert.equal(evil.code, 1);
    const e = evil.report!.verdicts[0]!;
    assert.equal(e.rule?.name, 'app-cosign');
    assert.deepEqual([e.outcome, e.ok], ['fail', false]);
    // the origin's signature holds; what fails is the proof that the mirror serves the origin's content
    assert.deepEqual(statuses(e), ['cosign:pass']);
    assert.deepEqual(codes(e), ['MIRROR_NOT_PROVEN']);
    assert.equal(e.mirror?.ok, false);
    // signatures read at the mirror only: mirror/app carries none, so the origin's signature does not count
    const atMirror = await writePolicyFile(
      dir,
      'mirrors-at-mirror.yaml',
      (await readFile(policy, 'utf8')).replace('signaturesFrom: [origin]', 'signaturesFrom: [mirror]'),
    );
    const m = await verify(atMirror, [ref('mirror/app:1.0')]);
    assert.equal(m.code, 1);
    const mv = m.report!.verdicts[0]!;
    assert.deepEqual([mv.outcome, statuses(mv)], ['fail', ['cosign:fail']]);
    assert.deepEqual(codes(mv), ['SIGNATURE_NOT_FOUND']);
  });

  const sarifMissing = renderers.sarif
    ? false
    : 'the SARIF renderer (src/report/sarif.ts) is not written yet';
  const htmlMissing = renderers.html ? false : 'the HTML renderer (src/report/html.ts) is not written yet';

  test('--format sarif --output F: one result per failing image, ruleId the rule name', {
    skip: sarifMissing,
  }, async () => {
    const policy = join(dir, 'systems.yaml');
    const out = join(dir, 'report.sarif');
    const refs = [ref('demo/app:1.0'), ref('demo/app:1.0-amd64'), ref('demo/app:1.0-arm64')];
    const r = await tp(['verify', '--policy', policy, '--format', 'sarif', '--output', out, ...refs]);
    assert.equal(r.code, 1, r.stderr);
    const sarif = JSON.parse(await readFile(out, 'utf8')) as {
      version: string;
      runs: { results: { ruleId: string; kind?: string; level?: string; message: { text: string } }[] }[];
    };
    assert.equal(sarif.version, '2.1.0');
    const valid = sarifValidator();
    assert.ok(valid(sarif), JSON.stringify(valid.errors?.slice(0, 5)));
    // failures only (SARIF's default kind is fail); passes, if listed, carry kind pass
    const results = sarif.runs
      .flatMap((run) => run.results)
      .filter((x) => (x.kind ?? 'fail') === 'fail' && x.level !== 'none');
    // one failing image (the unsigned amd64 manifest, with one failing requirement): one result
    assert.equal(results.length, 1, JSON.stringify(results));
    for (const x of results) {
      assert.equal(x.ruleId, 'A-cosign');
      assert.match(JSON.stringify(x), /1\.0-amd64|SIGNATURE_NOT_FOUND/);
    }
  });

  test('--format html --output F: a page naming every reference', { skip: htmlMissing }, async () => {
    const policy = join(dir, 'systems.yaml');
    const out = join(dir, 'report.html');
    const refs = [ref('demo/app:1.0'), ref('demo/app:1.0-amd64'), ref('demo/app:1.0-arm64')];
    const r = await tp(['verify', '--policy', policy, '--format', 'html', '--output', out, ...refs]);
    assert.equal(r.code, 1, r.stderr);
    const html = await readFile(out, 'utf8');
    assert.match(html, /<html/i);
    for (const x of refs) assert.ok(html.includes(x), `${x} in the HTML report`);
  });
});

describe('policy explain and check, no registry', { skip: loaderMissing }, () => {
  test('explain names the rule for a registry that does not exist; check names file:line:col of an unknown field', async () => {
    const dir = await makeTempDir('tp-policy-explain');
    const good = await writePolicyFile(
      dir,
      'p.yaml',
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { mode: enforce, noMatch: deny, digest: resolve }
rules:
  - name: catch-all
    scope: "**"
    require: [ { digestPinned: true } ]
  - name: unreachable-x
    scope: "127.0.0.1:1/x"
    mode: warn
    require: [ { digestPinned: true } ]
`,
    );
    // nothing listens on 127.0.0.1:1: had explain contacted the registry it would have failed, exit 2
    const r = await trustpin(['--json', 'policy', 'explain', good, '127.0.0.1:1/x:latest']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { rule?: { name: string; mode: string } };
    assert.equal(j.rule?.name, 'unreachable-x');
    const text = await trustpin(['policy', 'explain', good, '127.0.0.1:1/x:latest']);
    assert.match(text.stdout, /rule unreachable-x \(scope 127\.0\.0\.1:1\/x, warn/);
    assert.match(text.stdout, /also in scope, less specific: catch-all/);
    const bad = await writePolicyFile(
      dir,
      'bad.yaml',
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
rules:
  - name: r
    scope: "**"
    requir: [ { digestPinned: true } ]
`,
    );
    const c = await trustpin(['policy', 'check', bad]);
    assert.equal(c.code, 1, c.stdout + c.stderr);
    assert.match(c.stdout + c.stderr, new RegExp(`${bad.replace(/[.\\/]/g, '\\$&')}:6:5: .*requir`));
    assert.equal((await trustpin(['policy', 'check', good])).code, 0);
  });
});
