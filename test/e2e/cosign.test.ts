// `trustpin verify --cosign` from the CLI against the real docker-registry, with signatures made by the project's
// own cosign-format signer (keyed, and keyless with a fake Fulcio/CT/Rekor): legacy `.sig`/`.att` tags, Sigstore
// bundles as referrers through the tag-schema fallback (docker-registry 2.8 has no referrers API), a signature
// repository, several images in one call, a mirror proven against its signed origin, and an OCI layout offline.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trustpin } from '../cli/run.js';
import {
  built,
  type CosignKey,
  cosignKey,
  dsseBundle,
  type FakeSigstore,
  fakeSigstore,
  inTotoStatement,
  legacyPushSet,
  makeTempDir,
  pushArtifacts,
  type RunningRegistry,
  referrersPushSet,
  type SeededImages,
  SLSA_PROVENANCE_V1,
  seedRegistry,
  signLegacy,
  signLegacyAttestation,
  simpleSigningPayload,
  slsaProvenance,
  startRegistry,
  writeOciLayout,
} from '../harness/index.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';

describe('verify --cosign against the real docker-registry', () => {
  let reg: RunningRegistry;
  let images: SeededImages;
  let sigstore: FakeSigstore;
  let key: CosignKey;
  let dir: string;
  let keyFile: string;
  let rootFile: string;
  const tp = (args: string[]) => trustpin(args, { env: { TRUSTPIN_HOME: dir } });
  const ref = (r: string) => `${reg.host}/${r}`;
  /** `verify --cosign` with the cosign.pub key and the fake trusted root, then `rest` */
  const keyed = (...rest: string[]) => [
    'verify',
    '--cosign',
    '--key',
    keyFile,
    '--trusted-root',
    rootFile,
    ...rest,
  ];

  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    images = await seedRegistry(reg);
    dir = await makeTempDir('tp-cosign');
    sigstore = fakeSigstore();
    key = cosignKey('p256');
    keyFile = join(dir, 'cosign.pub');
    rootFile = join(dir, 'trusted_root.json');
    await writeFile(keyFile, key.pem);
    await writeFile(rootFile, JSON.stringify(sigstore.trustedRoot));
    const app = images.demoApp;
    const arm = images.demoAppArm64;
    // demo/app:1.0 (the index): keyed, logged in Rekor; and a keyless SLSA provenance attestation
    const keyed = signLegacy({
      payload: simpleSigningPayload({ digest: app.digest, dockerReference: ref('demo/app') }),
      key,
      tlog: sigstore,
    });
    const ci = sigstore.issue({
      subject: WORKFLOW,
      issuer: ISSUER,
      extensions: { githubWorkflowRepository: 'acme/app', githubWorkflowRef: 'refs/heads/main' },
    });
    const provenance = signLegacyAttestation({
      statement: inTotoStatement({
        digest: app.digest,
        predicateType: SLSA_PROVENANCE_V1,
        predicate: slsaProvenance({ sourceRepository: 'https://github.com/acme/app', commit: 'c0ffee' }),
      }),
      signer: ci,
    });
    await pushArtifacts(reg.host, 'demo/app', legacyPushSet(app.digest, [keyed]));
    await pushArtifacts(reg.host, 'demo/app', legacyPushSet(app.digest, [provenance], 'att'));
    // demo/app:1.0-arm64: cosign v3's default — a keyless DSSE bundle as a referrer (tag-schema fallback)
    const bundle = dsseBundle({
      statement: inTotoStatement({ digest: arm.digest }),
      signer: ci,
    });
    await pushArtifacts(reg.host, 'demo/app', referrersPushSet(arm, [bundle]));
    // demo/app:1.0-amd64: keyed, not logged (cosign sign --tlog-upload=false)
    const amd = images.demoAppAmd64;
    const unlogged = signLegacy({
      payload: simpleSigningPayload({ digest: amd.digest, dockerReference: ref('demo/app') }),
      key,
    });
    await pushArtifacts(reg.host, 'demo/app', legacyPushSet(amd.digest, [unlogged]));
    // demo/liar:1.0: signed, but its signatures live in another repository (COSIGN_REPOSITORY)
    const liar = images.demoLiar;
    const elsewhere = signLegacy({
      payload: simpleSigningPayload({ digest: liar.digest, dockerReference: ref('demo/liar') }),
      key,
      tlog: sigstore,
    });
    await pushArtifacts(reg.host, 'sigs/store', legacyPushSet(liar.digest, [elsewhere]));
  });
  after(async () => {
    await reg?.stop();
  });

  test('keyed: key → signature (Rekor entry) → index → platform manifests → configs; exit 0, pinned digest', async () => {
    const r = await tp(keyed(ref('demo/app:1.0')));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /public key/);
    assert.match(r.stdout, /cosign signature/);
    assert.match(r.stdout, /logged at/);
    assert.match(r.stdout, /index fetched by digest/);
    assert.match(r.stdout, /linux\/arm64/);
    assert.match(r.stdout, new RegExp(`verified: ${reg.host}/demo/app@${images.demoApp.digest}`));
    const j = JSON.parse((await tp(['--json', ...keyed(ref('demo/app:1.0'))])).stdout);
    assert.equal(j.ok, true);
    assert.equal(j.system, 'cosign');
    assert.deepEqual(j.claims, [{ type: 'cosign-key', keyId: key.keyId }]);
    assert.equal(j.subject.digest, images.demoApp.digest);
    assert.ok(j.chain.nodes.some((n: { kind: string }) => n.kind === 'config'));
  });

  test('keyed without a log: refused by default (cosign requires Rekor), accepted with --insecure-ignore-tlog', async () => {
    const amd = ref('demo/app:1.0-amd64');
    const strict = await tp(keyed(amd));
    assert.equal(strict.code, 1, strict.stdout);
    assert.match(strict.stderr, /error\[TLOG_INVALID\]/);
    const noRoot = await tp(['verify', '--cosign', '--key', keyFile, amd]);
    assert.equal(noRoot.code, 2);
    assert.match(noRoot.stderr, /error\[USAGE\].*transparency-log/s);
    assert.match(noRoot.stderr, /--insecure-ignore-tlog/);
    const lax = await tp(['verify', '--cosign', '--key', keyFile, '--insecure-ignore-tlog', amd]);
    assert.equal(lax.code, 0, lax.stderr);
  });

  test('keyless bundle referrer: identity and issuer (exact, regexp, workflow repository) decide; a wrong one is SIGNER_MISMATCH', async () => {
    const arm = ref('demo/app:1.0-arm64');
    const base = ['verify', '--cosign', '--trusted-root', rootFile, '--certificate-oidc-issuer', ISSUER];
    const ok = await tp([...base, '--certificate-identity', WORKFLOW, arm]);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /Sigstore trusted root/);
    assert.match(ok.stdout, /certificate for https:\/\/github\.com\/acme\/app/);
    assert.match(ok.stdout, /Sigstore bundle/);
    const re = await tp([
      ...base,
      '--certificate-identity-regexp',
      '^https://github\\.com/acme/',
      '--certificate-github-workflow-repository',
      'acme/app',
      '--json',
      arm,
    ]);
    assert.equal(re.code, 0, re.stderr);
    const claim = JSON.parse(re.stdout).claims[0];
    assert.equal(claim.type, 'cosign-keyless');
    assert.equal(claim.issuer, ISSUER);
    assert.equal(claim.subject, WORKFLOW);
    assert.equal(claim.extensions.githubWorkflowRepository, 'acme/app');
    const wrong = await tp([...base, '--certificate-identity', 'mallory@example.com', arm]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /error\[SIGNER_MISMATCH\]/);
    const otherRepo = await tp([
      ...base,
      '--certificate-identity',
      WORKFLOW,
      '--certificate-github-workflow-repository',
      'evil/fork',
      arm,
    ]);
    assert.equal(otherRepo.code, 1);
    assert.match(otherRepo.stderr, /error\[SIGNER_MISMATCH\]/);
  });

  test('attestation: the verified SLSA provenance is returned as data; another predicate type is not found', async () => {
    const args = [
      '--json',
      'verify',
      '--cosign',
      '--trusted-root',
      rootFile,
      '--certificate-oidc-issuer',
      ISSUER,
      '--certificate-identity',
      WORKFLOW,
    ];
    const r = await tp([...args, '--attestation', 'slsaprovenance1', ref('demo/app:1.0')]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const j = JSON.parse(r.stdout);
    assert.equal(j.attestations.length, 1);
    assert.equal(j.attestations[0].predicateType, 'https://slsa.dev/provenance/v1');
    assert.match(JSON.stringify(j.attestations[0].predicate), /acme\/app/);
    assert.equal(j.attestations[0].subject[0].digest.sha256, images.demoApp.digest.slice('sha256:'.length));
    const spdx = await tp([...args, '--attestation', 'spdx', ref('demo/app:1.0')]);
    assert.equal(spdx.code, 1);
    assert.equal(JSON.parse(spdx.stdout).problems[0].code, 'SIGNATURE_NOT_FOUND');
  });

  test('several images in one call: exit 1 if any fails, each verdict in the JSON', async () => {
    const r = await tp(['--json', ...keyed(ref('demo/app:1.0'), ref('demo/liar:1.0'))]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout);
    assert.equal(j.ok, false);
    assert.deepEqual(
      j.verdicts.map((v: { ok: boolean }) => v.ok),
      [true, false],
    );
    assert.equal(j.verdicts[1].problems[0].code, 'SIGNATURE_NOT_FOUND');
  });

  test('--signature-repository: signatures stored in another repository are found there, and only there', async () => {
    const liar = ref('demo/liar:1.0');
    const there = await tp(keyed('--signature-repository', ref('sigs/store'), liar));
    assert.equal(there.code, 0, there.stderr + there.stdout);
    const here = await tp(keyed(liar));
    assert.equal(here.code, 1);
    assert.match(here.stderr, /error\[SIGNATURE_NOT_FOUND\]/);
    assert.match(here.stderr, /--signature-repository/);
  });

  test('--mirror-of: the signature is checked on the origin, the mirror proven the same image by content', async () => {
    const r = await tp(keyed('--mirror-of', ref('demo/app:1.0'), ref('mirror/app:1.0')));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /trusted: .*mirror\/app:1\.0 is .*demo\/app@sha256:/);
    const unsigned = await tp(keyed('--mirror-of', ref('demo/liar:1.0'), ref('mirror/app:1.0')));
    assert.equal(unsigned.code, 1);
  });

  test('OCI layout and archive, offline: the image and its .sig tag from files, docker-reference checked when named', async () => {
    const layoutDir = join(dir, 'layout');
    const app = images.demoApp;
    const sig = signLegacy({
      payload: simpleSigningPayload({ digest: app.digest, dockerReference: ref('demo/app') }),
      key,
    });
    const set = legacyPushSet(app.digest, [sig]);
    const demo = images.layout.built;
    const blobs = [
      ...[demo.app.index, ...demo.app.images.flatMap((i) => [i.manifest, i.config, ...i.layers])],
      ...set.blobs.map((b) => built(b, '')),
    ];
    const sigManifest = set.manifests[0]!;
    const manifestBlob = built(sigManifest.bytes, sigManifest.mediaType);
    await writeOciLayout(layoutDir, [...blobs, manifestBlob] as never, [
      { name: '1.0', target: demo.app.index },
      { name: sigManifest.tag!, target: manifestBlob as never },
    ]);
    const base = ['verify', '--cosign', '--key', keyFile, '--insecure-ignore-tlog', '--offline'];
    const named = await tp([...base, '--identity-repository', ref('demo/app'), `oci:${layoutDir}:1.0`]);
    assert.equal(named.code, 0, named.stderr + named.stdout);
    const unnamed = await tp([...base, `oci:${layoutDir}:1.0`]);
    assert.equal(unnamed.code, 0, unnamed.stderr);
    assert.match(unnamed.stderr, /docker-reference was not checked/);
    const other = await tp([...base, '--identity-repository', ref('demo/liar'), `oci:${layoutDir}:1.0`]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /error\[IDENTITY_MISMATCH\]/);
    // the same layout as an oci-archive (a tar of the directory)
    const archive = join(dir, 'layout.tar');
    execFileSync('tar', ['-C', layoutDir, '-cf', archive, '.']);
    const tarred = await tp([
      ...base,
      '--identity-repository',
      ref('demo/app'),
      `oci-archive:${archive}:1.0`,
    ]);
    assert.equal(tarred.code, 0, tarred.stderr + tarred.stdout);
    const reg2 = await tp([...base, ref('demo/app:1.0')]);
    assert.equal(reg2.code, 2);
    assert.match(reg2.stderr, /error\[OFFLINE\]/);
  });
});
