import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MemoryRegistry } from '../../../src/demo/registry-server.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { lookupCredential } from '../../../src/registry/credentials.js';

const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A fresh home dir (with ~/.docker/config.json when given) and an env that sees nothing else. */
async function home(dockerConfig?: unknown): Promise<{ home: string; env: NodeJS.ProcessEnv; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'trustpin-cred-'));
  roots.push(dir);
  const h = join(dir, 'home');
  await mkdir(join(h, '.docker'), { recursive: true });
  if (dockerConfig !== undefined) {
    const text = typeof dockerConfig === 'string' ? dockerConfig : JSON.stringify(dockerConfig);
    await writeFile(join(h, '.docker', 'config.json'), text);
  }
  return { home: h, env: { PATH: process.env.PATH }, dir };
}

async function fails(p: Promise<unknown>, code: string, check?: (message: string) => void): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTrustpinError(e), `expected TrustpinError, got ${String(e)}`);
    assert.equal(e.code, code);
    check?.(`${e.message}\n${e.hint ?? ''}\n${e.expected ?? ''}`);
    return true;
  });
}

test('auths entry with auth field: split at the first colon, NULs trimmed from the password', async () => {
  const h = await home({ auths: { 'reg.example.test:5000': { auth: b64('alice:pa:ss\0\0') } } });
  const c = await lookupCredential('reg.example.test:5000', { env: h.env, homedir: h.home });
  assert.deepEqual(c, {
    username: 'alice',
    password: 'pa:ss',
    source: `docker config ${join(h.home, '.docker', 'config.json')} (auths)`,
  });
  assert.equal(await lookupCredential('other.example.test', { env: h.env, homedir: h.home }), undefined);
});

test('username/password, identitytoken and registrytoken fields', async () => {
  const h = await home({
    auths: {
      'a.test': { username: 'bob', password: 'pw' },
      'b.test': { identitytoken: 'refresh' },
      'c.test': { registrytoken: 'bearer-tok' },
      'd.test': { email: 'left@over.after.logout' },
    },
  });
  const o = { env: h.env, homedir: h.home };
  const a = await lookupCredential('a.test', o);
  assert.equal(a?.username, 'bob');
  assert.equal(a?.password, 'pw');
  assert.equal((await lookupCredential('b.test', o))?.identityToken, 'refresh');
  assert.equal((await lookupCredential('c.test', o))?.registryToken, 'bearer-tok');
  assert.equal(await lookupCredential('d.test', o), undefined);
});

test('legacy keys written as URLs match by hostname', async () => {
  const h = await home({
    auths: {
      'https://legacy.example.test:5000/v1/': { auth: b64('u1:p1') },
      'http://plain.example.test': { auth: b64('u2:p2') },
    },
  });
  const o = { env: h.env, homedir: h.home };
  assert.equal((await lookupCredential('legacy.example.test:5000', o))?.username, 'u1');
  assert.equal((await lookupCredential('plain.example.test', o))?.username, 'u2');
  assert.equal(await lookupCredential('legacy.example.test', o), undefined);
});

test('every Docker Hub spelling uses the https://index.docker.io/v1/ key', async () => {
  const h = await home({ auths: { 'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') } } });
  for (const host of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']) {
    const c = await lookupCredential(host, { env: h.env, homedir: h.home });
    assert.equal(c?.username, 'hubuser', host);
  }
});

test('DOCKER_CONFIG overrides ~/.docker and DOCKER_AUTH_CONFIG is consulted first', async () => {
  const h = await home({ auths: { 'reg.test': { auth: b64('from-home:x') } } });
  const cfgDir = join(h.dir, 'custom');
  await mkdir(cfgDir);
  await writeFile(
    join(cfgDir, 'config.json'),
    JSON.stringify({ auths: { 'reg.test': { auth: b64('from-dir:x') } } }),
  );
  const env = { ...h.env, DOCKER_CONFIG: cfgDir };
  assert.equal((await lookupCredential('reg.test', { env, homedir: h.home }))?.username, 'from-dir');

  const withEnv = {
    ...env,
    DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'reg.test': { auth: b64('from-env:y') } } }),
  };
  const c = await lookupCredential('reg.test', { env: withEnv, homedir: h.home });
  assert.deepEqual(c, { username: 'from-env', password: 'y', source: 'DOCKER_AUTH_CONFIG' });
  // Hosts the variable does not name fall through to the config file.
  assert.equal(await lookupCredential('other.test', { env: withEnv, homedir: h.home }), undefined);
  await fails(
    lookupCredential('reg.test', { env: { ...env, DOCKER_AUTH_CONFIG: '{nope' }, homedir: h.home }),
    'USAGE',
  );
});

test('malformed files fail with IO_ERROR naming the file, never echoing secrets', async () => {
  const bad = await home('{"auths": {"reg.test": {"auth": "c2VjcmV0OnNlY3JldA=="}');
  const path = join(bad.home, '.docker', 'config.json');
  await fails(lookupCredential('reg.test', { env: bad.env, homedir: bad.home }), 'IO_ERROR', (m) => {
    assert.match(m, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.doesNotMatch(m, /c2VjcmV0|secret/);
  });
  const noColon = await home({ auths: { 'reg.test': { auth: b64('secretvalue') } } });
  await fails(lookupCredential('reg.test', { env: noColon.env, homedir: noColon.home }), 'IO_ERROR', (m) =>
    assert.doesNotMatch(m, /secretvalue|c2VjcmV0dmFsdWU/),
  );
  const wrongType = await home({ auths: ['reg.test'] });
  await fails(lookupCredential('reg.test', { env: wrongType.env, homedir: wrongType.home }), 'IO_ERROR');
});

test('missing or empty config files mean anonymous', async () => {
  const none = await home();
  assert.equal(await lookupCredential('reg.test', { env: none.env, homedir: none.home }), undefined);
  const empty = await home('');
  assert.equal(await lookupCredential('reg.test', { env: empty.env, homedir: empty.home }), undefined);
  // Single-label hosts that collide with Object.prototype members must not read inherited values.
  const proto = await home({ auths: {}, credHelpers: {} });
  assert.equal(await lookupCredential('constructor', { env: proto.env, homedir: proto.home }), undefined);
});

test('podman: REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR and ~/.config/containers, host/namespace keys', async () => {
  const h = await home({ auths: {} });
  const authFile = join(h.dir, 'auth.json');
  await writeFile(
    authFile,
    JSON.stringify({ auths: { 'quay.example.test/team': { auth: b64('pod:man') } } }),
  );
  const c = await lookupCredential('quay.example.test', {
    env: { ...h.env, REGISTRY_AUTH_FILE: authFile },
    homedir: h.home,
  });
  assert.deepEqual(c, { username: 'pod', password: 'man', source: `podman auth.json ${authFile}` });

  const runtime = join(h.dir, 'run');
  await mkdir(join(runtime, 'containers'), { recursive: true });
  await writeFile(
    join(runtime, 'containers', 'auth.json'),
    JSON.stringify({ auths: { 'docker.io': { auth: b64('rt:1') } } }),
  );
  const hub = await lookupCredential('docker.io', {
    env: { ...h.env, XDG_RUNTIME_DIR: runtime },
    homedir: h.home,
  });
  assert.equal(hub?.username, 'rt');

  await mkdir(join(h.home, '.config', 'containers'), { recursive: true });
  await writeFile(
    join(h.home, '.config', 'containers', 'auth.json'),
    JSON.stringify({ auths: { 'cfg.test': { auth: b64('cfg:2') } } }),
  );
  assert.equal((await lookupCredential('cfg.test', { env: h.env, homedir: h.home }))?.username, 'cfg');
});

const posix = process.platform !== 'win32';

/** Installs the fake `docker-credential-test` helper; it records the server URL it was asked about. */
async function withHelper(dockerConfig: unknown) {
  const h = await home(dockerConfig);
  const bin = join(h.dir, 'bin');
  await mkdir(bin);
  const seen = join(h.dir, 'seen');
  const script = `#!/bin/sh
url=$(cat)
printf '%s' "$url" > '${seen}'
case "$url" in
  helper.test) printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}' "$url" ;;
  token.test) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-tok"}' "$url" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hub","Secret":"hubpw"}' "$url" ;;
  slow.test) exec sleep 30 ;;
  broken.test) echo "error talking to keychain"; exit 3 ;;
  garbage.test) echo "Secret: s3cret-in-garbage" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
  for (const name of ['docker-credential-test', 'docker-credential-other']) {
    await writeFile(
      join(bin, name),
      name === 'docker-credential-test' ? script : '#!/bin/sh\necho "{}"\nexit 9\n',
    );
    await chmod(join(bin, name), 0o755);
  }
  const env = { ...h.env, PATH: `${bin}:${process.env.PATH}` };
  return { ...h, env, seen: () => readFile(seen, 'utf8') };
}

test('credential helper: found, <token> identity token, not found, Docker Hub server URL', {
  skip: !posix,
}, async () => {
  const h = await withHelper({ credsStore: 'test', auths: { 'missing.test': { auth: b64('ignored:x') } } });
  const o = { env: h.env, homedir: h.home };
  assert.deepEqual(await lookupCredential('helper.test', o), {
    username: 'alice',
    password: 's3cret',
    source: 'credential helper docker-credential-test',
  });
  assert.deepEqual(await lookupCredential('token.test', o), {
    identityToken: 'refresh-tok',
    source: 'credential helper docker-credential-test',
  });
  // Like docker: with a helper configured, the auths entry is not used and "not found" means anonymous.
  assert.equal(await lookupCredential('missing.test', o), undefined);
  assert.equal((await lookupCredential('registry-1.docker.io', o))?.username, 'hub');
  assert.equal(await h.seen(), 'https://index.docker.io/v1/');
});

test('credHelpers wins over credsStore; auths used when neither applies', { skip: !posix }, async () => {
  const h = await withHelper({
    credsStore: 'other',
    credHelpers: { 'helper.test': 'test' },
    auths: { 'helper.test': { auth: b64('file:x') } },
  });
  const c = await lookupCredential('helper.test', { env: h.env, homedir: h.home });
  assert.equal(c?.source, 'credential helper docker-credential-test');
  // credsStore applies to every other host: the "other" helper exits 9.
  await fails(lookupCredential('else.test', { env: h.env, homedir: h.home }), 'CREDENTIAL_HELPER_FAILED');

  const fileOnly = await withHelper({
    credHelpers: { 'helper.test': 'test' },
    auths: { 'plain.test': { auth: b64('file:x') } },
  });
  const c2 = await lookupCredential('plain.test', { env: fileOnly.env, homedir: fileOnly.home });
  assert.equal(c2?.username, 'file');
  assert.match(c2?.source ?? '', /\(auths\)$/);
});

test('helper failures: error exit, bad output, missing program, timeout', { skip: !posix }, async () => {
  const h = await withHelper({ credsStore: 'test' });
  const o = { env: h.env, homedir: h.home };
  await fails(lookupCredential('broken.test', o), 'CREDENTIAL_HELPER_FAILED', (m) => {
    assert.match(m, /docker-credential-test/);
    assert.match(m, /exit status 3/);
  });
  await fails(lookupCredential('garbage.test', o), 'CREDENTIAL_HELPER_FAILED', (m) =>
    assert.doesNotMatch(m, /s3cret/),
  );

  const missing = await withHelper({ credsStore: 'absent' });
  await fails(
    lookupCredential('x.test', { env: missing.env, homedir: missing.home }),
    'CREDENTIAL_HELPER_FAILED',
    (m) => assert.match(m, /not found on PATH[\s\S]*install docker-credential-absent/),
  );

  const started = Date.now();
  await fails(
    lookupCredential('slow.test', { ...o, helperTimeoutMs: 300 }),
    'CREDENTIAL_HELPER_FAILED',
    (m) => assert.match(m, /300 ms/),
  );
  assert.ok(Date.now() - started < 5000, 'timeout must not wait for the helper');
});

test('static credentials for a host win over every config file; other hosts still use the files', async () => {
  const h = await home({
    auths: { 'reg.test': { auth: b64('file:pw') }, 'other.test': { auth: b64('o:pw') } },
  });
  const o = {
    env: { ...h.env, DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'reg.test': { auth: b64('env:pw') } } }) },
    homedir: h.home,
    static: {
      'reg.test': { username: 'given', password: 'p' },
      'docker.io': { username: 'hub', password: 'h' },
    },
  };
  const c = await lookupCredential('reg.test', o);
  assert.equal(c?.username, 'given');
  assert.equal(c?.password, 'p');
  assert.equal((await lookupCredential('other.test', o))?.username, 'o');
  // the client asks for Docker Hub by its API host; a key spelled docker.io still applies
  assert.equal((await lookupCredential('registry-1.docker.io', o))?.username, 'hub');
});

test('authFile: only that file is read (not DOCKER_AUTH_CONFIG, config.json or podman files)', async () => {
  const h = await home({
    auths: { 'reg.test': { auth: b64('docker:pw') }, 'only-docker.test': { auth: b64('d:pw') } },
  });
  const authFile = join(h.dir, 'given-auth.json');
  await writeFile(authFile, JSON.stringify({ auths: { 'reg.test': { auth: b64('authfile:pw') } } }));
  const podman = join(h.dir, 'podman.json');
  await writeFile(podman, JSON.stringify({ auths: { 'only-podman.test': { auth: b64('p:pw') } } }));
  const env = {
    ...h.env,
    REGISTRY_AUTH_FILE: podman,
    DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'reg.test': { auth: b64('env:pw') } } }),
  };
  const o = { env, homedir: h.home, authFile };
  const c = await lookupCredential('reg.test', o);
  assert.equal(c?.username, 'authfile');
  assert.match(c?.source ?? '', /given-auth\.json/);
  assert.equal(await lookupCredential('only-docker.test', o), undefined);
  assert.equal(await lookupCredential('only-podman.test', o), undefined);
  // static credentials still come first
  const s = await lookupCredential('reg.test', {
    ...o,
    static: { 'reg.test': { username: 'flag', password: 'x' } },
  });
  assert.equal(s?.username, 'flag');
});

test('authFile missing → NOT_FOUND naming it; empty → anonymous; malformed → IO_ERROR', async () => {
  const h = await home();
  const missing = join(h.dir, 'nope.json');
  await fails(
    lookupCredential('reg.test', { env: h.env, homedir: h.home, authFile: missing }),
    'NOT_FOUND',
    (m) => assert.match(m, /nope\.json/),
  );
  const empty = join(h.dir, 'empty.json');
  await writeFile(empty, '');
  assert.equal(
    await lookupCredential('reg.test', { env: h.env, homedir: h.home, authFile: empty }),
    undefined,
  );
  const bad = join(h.dir, 'bad.json');
  await writeFile(bad, '{"auths": {"reg.test": {"auth": "c2VjcmV0"}}');
  await fails(lookupCredential('reg.test', { env: h.env, homedir: h.home, authFile: bad }), 'IO_ERROR');
});

/** A registry that wants Basic `user:pass`; returns the Authorization headers the manifest requests carried. */
async function basicRegistry(user: string, pass: string) {
  const reg = new MemoryRegistry();
  const host = await reg.listen();
  const want = `Basic ${b64(`${user}:${pass}`)}`;
  reg.hook = (req, res) => {
    if (req.headers.authorization === want) {
      res.writeHead(200, { 'Content-Length': 2 });
      res.end('{}');
    } else {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="r"', 'Content-Length': 0 });
      res.end();
    }
    return true;
  };
  return { reg, host };
}

test('RegistryClient: credentials (per host) and authFile options reach the registry', async () => {
  const { reg, host } = await basicRegistry('alice', 's3cret');
  const h = await home();
  const authFile = join(h.dir, 'auth.json');
  await writeFile(authFile, JSON.stringify({ auths: { [host]: { auth: b64('alice:s3cret') } } }));
  try {
    for (const o of [{ credentials: { [host]: { username: 'alice', password: 's3cret' } } }, { authFile }]) {
      const client = new RegistryClient({ attempts: 1, env: h.env, ...o });
      try {
        const res = await client.request(host, 'demo/app', 'GET', 'tags/list');
        await res.body.dump();
        assert.equal(res.status, 200, JSON.stringify(Object.keys(o)));
      } finally {
        await client.close();
      }
    }
  } finally {
    await reg.close();
  }
});
