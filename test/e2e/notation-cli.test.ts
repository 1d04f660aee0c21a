// `trustpin verify --notation` from the CLI against the real docker-registry (tag-schema fallback: 2.8 has no
// referrers API), with signatures made by the project's own Notation signer: the printed chain of trust, the JSON
// verdict, several images in one call, notation's default file locations ($XDG_CONFIG_HOME/notation), a mirror in
// an OCI layout proven against its signed origin, and `signatures REF` listing the Notation signature.
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trustpin } from '../cli/run.js';
import {
  makeTempDir,
  type RunningRegistry,
  type SeededImages,
  seedRegistry,
  startRegistry,
} from '../harness/index.js';
import {
  defaultPolicy,
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  notationPki,
  pushNotationSignature,
  signCose,
  signJws,
  writeTrustPolicy,
  writeTrustStore,
} from '../harness/notation.js';

const LEAF = 'C=US, ST=WA, L=Seattle, O=Acme Test, CN=Acme CLI Signer';

describe('verify --notation against the real docker-registry', () => {
  let reg: RunningRegistry;
  let images: SeededImages;
  let dir: string;
  let policyFile: string;
  let store: string;
  let xdg: string;
  let layout: string;
  const tp = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    trustpin(args, { env: { TRUSTPIN_HOME: dir, XDG_CONFIG_HOME: join(dir, 'no-config'), ...env } });
  const ref = (r: string) => `${reg.host}/${r}`;
  const notation = (...rest: string[]) => [
    'verify',
    '--notation',
    '--trust-policy',
    policyFile,
    '--trust-store',
    store,
    ...rest,
  ];

  before(async () => {
    reg = await startRegistry({ mode: 'plain' });
    images = await seedRegistry(reg);
    dir = await makeTempDir('tp-notation-cli');
    const pki = notationPki({ subjects: { leaf: LEAF } });
    const statements = [
      defaultPolicy({
        name: 'acme-cli',
        registryScopes: [ref('demo/app'), ref('demo/liar')],
        trustStores: ['ca:acme'],
        trustedIdentities: [`x509.subject: ${LEAF}`],
      }),
    ];
    store = join(dir, 'truststore');
    await writeTrustStore(store, 'ca', 'acme', [pki.root.der]);
    policyFile = join(dir, 'policy.json');
    await writeTrustPolicy(policyFile, statements);
    // notation's own locations: $XDG_CONFIG_HOME/notation/{trustpolicy.json, truststore/x509/ca/acme/}
    xdg = join(dir, 'xdg');
    await writeTrustPolicy(join(xdg, 'notation', 'trustpolicy.json'), statements);
    await writeTrustStore(join(xdg, 'notation', 'truststore'), 'ca', 'acme', [pki.root.der]);
    const signer = { key: pki.leaf.key, chain: pki.chain };
    const app = images.demoApp;
    const appDesc = { mediaType: app.mediaType, digest: app.digest, size: app.size };
    await pushNotationSignature(
      reg.host,
      'demo/app',
      appDesc,
      signJws({ target: appDesc, signer }),
      NOTATION_JWS_MEDIA_TYPE,
      pki.chain,
    );
    const amd = images.demoAppAmd64;
    const amdDesc = { mediaType: amd.mediaType, digest: amd.digest, size: amd.size };
    await pushNotationSignature(
      reg.host,
      'demo/app',
      amdDesc,
      signCose({ target: amdDesc, signer }),
      NOTATION_COSE_MEDIA_TYPE,
      pki.chain,
    );
    // a mirror: the demo images copied into an OCI layout (no signatures: they are checked on the origin)
    layout = join(dir, 'mirror-layout');
    await cp(images.layout.dir, layout, { recursive: true });
  });
  after(async () => {
    await reg?.stop();
  });

  test('verify --notation REF: exit 0, the chain from the trust store to the manifests, the pinned digest', async () => {
    const r = await tp(notation(ref('demo/app:1.0')));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /trust store ca:acme/);
    assert.match(r.stdout, /signing certificate .*CN=Acme CLI Signer/);
    assert.match(r.stdout, /Notation signature \(JWS\)/);
    assert.match(r.stdout, /index fetched by digest/);
    assert.match(r.stdout, /linux\/arm64/);
    assert.match(r.stdout, /trust policy acme-cli \(strict\)/);
    assert.match(r.stdout, new RegExp(`verified: ${reg.host}/demo/app@${images.demoApp.digest}`));
    // the chain's order: trust store before the certificate before the signature before the index
    const at = (re: RegExp) => r.stdout.search(re);
    assert.ok(at(/trust store ca:acme/) < at(/signing certificate/));
    assert.ok(at(/signing certificate/) < at(/Notation signature/));
    assert.ok(at(/Notation signature/) < at(/index fetched by digest/));
    const cose = await tp(notation(ref('demo/app:1.0-amd64')));
    assert.equal(cose.code, 0, cose.stderr + cose.stdout);
    assert.match(cose.stdout, /Notation signature \(COSE\)/);
  });

  test('--json: system notation, ok, the x509 claim, the policy statement, the signatures checked', async () => {
    const r = await tp(['--json', ...notation(ref('demo/app:1.0'))]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.system, 'notation');
    assert.equal(j.ok, true);
    assert.equal(j.subject.digest, images.demoApp.digest);
    assert.equal(j.pinned, `${ref('demo/app')}@${images.demoApp.digest}`);
    assert.equal(j.claims.length, 1);
    assert.equal(j.claims[0].type, 'notation-x509');
    assert.match(j.claims[0].subject, /CN=Acme CLI Signer/);
    assert.match(j.claims[0].issuer, /CN=Acme Test Intermediate CA/);
    assert.match(j.claims[0].fingerprint, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      { name: j.policy.name, level: j.policy.level, source: j.policy.source },
      { name: 'acme-cli', level: 'strict', source: policyFile },
    );
    assert.equal(j.signatures[0].ok, true);
    assert.equal(j.signatures[0].format, 'jws');
    assert.deepEqual(j.problems, []);
    assert.ok(j.chain.nodes.some((n: { kind: string }) => n.kind === 'config'));
  });

  test('two references in one call: one unsigned → exit 1, each verdict in the JSON', async () => {
    const r = await tp(['--json', ...notation(ref('demo/app:1.0'), ref('demo/liar:1.0'))]);
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.ok, false);
    assert.deepEqual(
      j.verdicts.map((v: { ok: boolean; system: string }) => [v.system, v.ok]),
      [
        ['notation', true],
        ['notation', false],
      ],
    );
    assert.equal(j.verdicts[1].problems[0].code, 'SIGNATURE_NOT_FOUND');
    const text = await tp(notation(ref('demo/app:1.0'), ref('demo/liar:1.0')));
    assert.equal(text.code, 1);
    assert.match(text.stderr, /error\[SIGNATURE_NOT_FOUND\]/);
  });

  test('usage errors: two systems at once, exit 2', async () => {
    const r = await tp(['verify', '--notation', '--cosign', ref('demo/app:1.0')]);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /error\[USAGE\]/);
    assert.match(r.stderr, /--cosign and --notation|--notation and --cosign/);
  });

  test("notation's default locations: $XDG_CONFIG_HOME/notation/trustpolicy.json and truststore/", async () => {
    const r = await tp(['verify', '--notation', ref('demo/app:1.0')], { XDG_CONFIG_HOME: xdg });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /trust policy acme-cli \(strict\)/);
    const j = JSON.parse(
      (await tp(['--json', 'verify', '--notation', ref('demo/app:1.0')], { XDG_CONFIG_HOME: xdg })).stdout,
    );
    assert.equal(j.policy.source, join(xdg, 'notation', 'trustpolicy.json'));
    // with nothing there, the missing policy is an operational error, not a verification failure
    const none = await tp(['verify', '--notation', ref('demo/app:1.0')]);
    assert.equal(none.code, 2, none.stdout);
  });

  test('--mirror-of: the signature checked on the origin, the OCI layout proven the same image; another image is not', async () => {
    const r = await tp(notation('--mirror-of', ref('demo/app:1.0'), `oci:${layout}:app`));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /trusted: .* is .*demo\/app@sha256:/);
    const other = await tp(notation('--mirror-of', ref('demo/app:1.0'), `oci:${layout}:liar`));
    assert.equal(other.code, 1, other.stderr + other.stdout);
    assert.match(other.stderr, /MIRROR_NOT_PROVEN/);
    const unsigned = await tp(notation('--mirror-of', ref('demo/liar:1.0'), `oci:${layout}:liar`));
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /error\[SIGNATURE_NOT_FOUND\]/);
  });

  test('signatures REF: the Notation signature is listed as notation-signature', async () => {
    const r = await tp(['signatures', ref('demo/app:1.0')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /notation-signature/);
    const j = JSON.parse((await tp(['--json', 'signatures', ref('demo/app:1.0')])).stdout);
    const kinds = j.attachments.map((a: { kind: string }) => a.kind);
    assert.deepEqual(kinds, ['notation-signature']);
    const none = JSON.parse((await tp(['--json', 'signatures', ref('demo/liar:1.0')])).stdout);
    assert.deepEqual(none.attachments, []);
  });
});
