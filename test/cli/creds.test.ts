// `--creds USER:PASS` and `--authfile FILE` against the real docker-registry with htpasswd auth, with no docker
// config around: the login reaches the registry the command names, and a command on two registries refuses it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { demoImages } from '../../src/demo/images.js';
import { MemoryRegistry } from '../../src/demo/registry-server.js';
import { makeTempDir, registryFixture } from '../harness/index.js';
import { trustpin } from './run.js';

describe('--creds and --authfile', () => {
  const fx = registryFixture('htpasswd');
  let other: MemoryRegistry;
  let otherHost: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    other = new MemoryRegistry();
    otherHost = await other.listen();
    other.push('demo/app', (await demoImages()).app, '1.0');
    const empty = await makeTempDir('no-login');
    env = {
      DOCKER_CONFIG: empty,
      HOME: empty,
      REGISTRY_AUTH_FILE: join(empty, 'none.json'),
      XDG_RUNTIME_DIR: empty,
    };
  });
  after(() => other.close());

  const codes = (stderr: string) => [...stderr.matchAll(/error\[([A-Z_]+)\]/g)].map((m) => m[1]);

  test('--creds logs in to the reference’s registry; a wrong password or none is an auth error (exit 2)', async () => {
    const ref = fx.images.demoApp.ref;
    const ok = await trustpin(['--creds', fx.registry.creds!, 'digest', ref], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), `${fx.registry.host}/demo/app@${fx.images.demoApp.digest}`);
    const tags = await trustpin(
      ['--creds', fx.registry.creds!, '--json', 'tags', `${fx.registry.host}/demo/app`],
      { env },
    );
    assert.equal(tags.code, 0, tags.stderr);
    assert.ok((JSON.parse(tags.stdout) as string[]).length > 0);
    const none = await trustpin(['digest', ref], { env });
    assert.equal(none.code, 2);
    assert.deepEqual(codes(none.stderr), ['AUTH_REQUIRED']);
    const wrong = await trustpin(['--creds', 'testuser:wrong', 'digest', ref], { env });
    assert.equal(wrong.code, 2);
    assert.doesNotMatch(wrong.stderr, /wrong/, 'the password is never printed');
  });

  test('--creds with two registries is a usage error; without a password too', async () => {
    const two = await trustpin(
      ['--creds', fx.registry.creds!, 'compare', fx.images.demoApp.ref, `${otherHost}/demo/app:1.0`],
      { env },
    );
    assert.equal(two.code, 2);
    assert.deepEqual(codes(two.stderr), ['USAGE']);
    assert.match(two.stderr, /--authfile/);
    assert.equal(other.requests.length, 0, 'nothing was sent to the other registry');
    const bare = await trustpin(['--creds', 'testuser', 'digest', fx.images.demoApp.ref], { env });
    assert.equal(bare.code, 2);
    assert.deepEqual(codes(bare.stderr), ['USAGE']);
  });

  test('--authfile reads the login from that file only', async () => {
    const dir = await makeTempDir('authfile');
    const file = join(dir, 'auth.json');
    const [user, pass] = fx.registry.creds!.split(':');
    writeFileSync(
      file,
      JSON.stringify({
        auths: { [fx.registry.host]: { auth: Buffer.from(`${user}:${pass}`).toString('base64') } },
      }),
    );
    const ok = await trustpin(['--authfile', file, 'digest', fx.images.demoApp.ref], { env });
    assert.equal(ok.code, 0, ok.stderr);
    const missing = await trustpin(['--authfile', join(dir, 'none.json'), 'digest', fx.images.demoApp.ref], {
      env,
    });
    assert.equal(missing.code, 2);
  });
});
