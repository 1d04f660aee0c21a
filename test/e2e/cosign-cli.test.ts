// The cosign commands besides `verify`: `signatures REF` lists everything attached to an image in the real
// docker-registry (legacy tags, bundle referrers, a Notation signature, an SBOM), and `sigstore refresh|status`
// keep the Sigstore trusted root with TUF — against Sigstore's real root-signing repository, which expired on
// 2026-11-20, so today's refresh must fail as a verification failure and cache nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trustpin } from '../cli/run.js';
import {
  cosignKey,
  dsseBundle,
  fakeSigstore,
  inTotoStatement,
  legacyPushSet,
  makeTempDir,
  pushArtifacts,
  pushKeyedSignature,
  type RunningRegistry,
  referrersPushSet,
  type SeededImages,
  seedRegistry,
  signLegacyAttestation,
  startRegistry,
} from '../harness/index.js';
import { skipNoVectors, vectorPath } from '../vectors.js';

describe('signatures and sigstore commands', () => {
  let reg: RunningRegistry;
  let images: SeededImages;
  let home: string;
  const tp = (args: string[]) => trustpin(args, { env: { TRUSTPIN_HOME: home } });

  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    images = await seedRegistry(reg);
    home = await makeTempDir('tp-cosign-cli');
    const app = images.demoApp;
    const key = cosignKey('p256');
    const sigstore = fakeSigstore();
    const ci = sigstore.issue({ subject: 'ci@acme.example', issuer: 'https://accounts.example.com' });
    await pushKeyedSignature(reg.host, 'demo/app', app.digest, `${reg.host}/demo/app`, key);
    await pushArtifacts(
      reg.host,
      'demo/app',
      legacyPushSet(
        app.digest,
        [
          signLegacyAttestation({
            statement: inTotoStatement({ digest: app.digest, predicateType: 'https://spdx.dev/Document' }),
            signer: ci,
          }),
        ],
        'att',
      ),
    );
    await pushArtifacts(
      reg.host,
      'demo/app',
      referrersPushSet({ mediaType: app.mediaType, digest: app.digest, size: app.size }, [
        dsseBundle({ statement: inTotoStatement({ digest: app.digest }), signer: ci }),
      ]),
    );
  });
  after(async () => {
    await reg?.stop();
  });

  test('signatures REF: the .sig, .att and bundle referrer are listed with their types; an unsigned image has none', async () => {
    const r = await tp(['signatures', `${reg.host}/demo/app:1.0`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`demo/app:1\\.0 ${images.demoApp.digest}`));
    assert.match(r.stdout, /cosign-signature .*sha256-[0-9a-f]{64}\.sig/);
    assert.match(r.stdout, /cosign-attestation .*\.att/);
    assert.match(r.stdout, /sigstore-bundle .*application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json/);
    const j = JSON.parse((await tp(['--json', 'signatures', `${reg.host}/demo/app:1.0`])).stdout);
    assert.deepEqual(j.attachments.map((a: { kind: string }) => a.kind).sort(), [
      'cosign-attestation',
      'cosign-signature',
      'sigstore-bundle',
    ]);
    const none = await tp(['--json', 'signatures', `${reg.host}/demo/liar:1.0`]);
    assert.equal(none.code, 0, none.stderr);
    assert.deepEqual(JSON.parse(none.stdout).attachments, []);
  });

  test("sigstore refresh: Sigstore's real root-signing has expired by today — TUF_EXPIRED, exit 1, nothing cached", {
    skip: skipNoVectors,
  }, async () => {
    const mirror = vectorPath('root-signing');
    const root = join(mirror, 'metadata/root_history/5.root.json');
    const r = await tp(['sigstore', 'refresh', '--mirror', mirror, '--root', root]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /error\[TUF_EXPIRED\]/);
    const s = await tp(['sigstore', 'status', '--mirror', mirror]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /error\[NOT_FOUND\].*no cached Sigstore trusted root/s);
    const v = await tp([
      'verify',
      '--cosign',
      '--sigstore-mirror',
      mirror,
      '--certificate-identity',
      'ci@acme.example',
      '--certificate-oidc-issuer',
      'https://accounts.example.com',
      `${reg.host}/demo/app:1.0`,
    ]);
    assert.equal(v.code, 2);
    assert.match(v.stderr, /trustpin sigstore refresh/);
  });
});
