// HTTP(S) proxy support end to end: the CLI against the real docker-registry through the in-process forward proxy.
// Loopback is never proxied, so the image references name a made-up host (registry.trustpin.test:5000) that only
// the proxy can reach: it maps that name to the registry (plain HTTP) or to a TLS front with a cert for the name.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trustpin } from '../cli/run.js';
import { makeTempDir, registryFixture, removeDir } from '../harness/index.js';
import {
  type ProxyOptions,
  type RunningProxy,
  startProxy,
  startTlsFront,
  type TlsFront,
} from '../harness/proxy.js';
import { makeTestPki } from '../harness/tls.js';

const NAME = 'registry.trustpin.test';
const FAKE = `${NAME}:5000`;
const REF = `${FAKE}/demo/app:1.0`;
const T = { timeout: 60_000 };

/** Every proxy variable unset, so the host's own settings cannot leak into a test (lowercase wins in trustpin). */
const NO_PROXY_VARS: NodeJS.ProcessEnv = {
  http_proxy: undefined,
  HTTP_PROXY: undefined,
  https_proxy: undefined,
  HTTPS_PROXY: undefined,
  no_proxy: undefined,
  NO_PROXY: undefined,
  all_proxy: undefined,
  ALL_PROXY: undefined,
};

async function withProxy(opts: ProxyOptions, fn: (p: RunningProxy) => Promise<void>): Promise<void> {
  const proxy = await startProxy(opts);
  try {
    await fn(proxy);
  } finally {
    await proxy.stop();
  }
}

/** `user:pass` in a proxy URL (percent-encoded as a URL needs it). */
function withCreds(proxyUrl: string, user: string, pass: string): string {
  return proxyUrl.replace('://', `://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@`);
}

const basic = (creds: string) => `Basic ${Buffer.from(creds).toString('base64')}`;
const lines = (p: RunningProxy) => p.requests.map((r) => `${r.method} ${r.target}`);

describe('registry client through an HTTP(S) proxy', () => {
  const fx = registryFixture('plain');
  let dir = '';
  let certsD = '';
  let emptyCertsD = '';
  let front: TlsFront | undefined;
  /** what going to the registry directly on 127.0.0.1 prints */
  let direct = '';

  /** A hermetic environment: our certs.d, an empty docker config, no proxy unless `extra` sets one. */
  const env = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
    ...NO_PROXY_VARS,
    DOCKER_CONFIG: join(dir, 'docker'),
    REGISTRY_AUTH_FILE: join(dir, 'docker', 'none.json'),
    TRUSTPIN_CERTS_D: certsD,
    ...extra,
  });

  before(async () => {
    dir = await makeTempDir('proxy');
    await mkdir(join(dir, 'docker'));
    const pki = await makeTestPki(dir, [NAME]);
    certsD = join(dir, 'certs.d');
    emptyCertsD = join(dir, 'certs.d-empty');
    await mkdir(join(certsD, FAKE), { recursive: true });
    await mkdir(emptyCertsD);
    await copyFile(pki.caFile, join(certsD, FAKE, 'ca.crt'));
    const leaf = pki.leaves[NAME]!;
    front = await startTlsFront({
      cert: await readFile(leaf.certFile, 'utf8'),
      key: await readFile(leaf.keyFile, 'utf8'),
      target: fx.registry.host,
    });
    const r = await trustpin(['digest', `${fx.registry.host}/demo/app:1.0`], { env: env({}) });
    assert.equal(r.code, 0, r.stderr);
    direct = r.stdout.trim();
    assert.equal(direct, `${fx.registry.host}/demo/app@${fx.images.demoApp.digest}`);
  });

  after(async () => {
    await front?.stop();
    if (dir) await removeDir(dir);
  });

  /** `FAKE/demo/app@<digest>` with the digest the registry gave on the direct run */
  const expected = () => `${FAKE}/demo/app@${direct.slice(direct.indexOf('@') + 1)}`;

  test('plain HTTP through HTTP_PROXY: absolute-URI requests, the same digest as going direct', T, () =>
    withProxy({ routes: { [FAKE]: fx.registry.host } }, async (proxy) => {
      const r = await trustpin(['--insecure-registry', FAKE, 'digest', REF], {
        env: env({ HTTP_PROXY: proxy.url }),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), expected());
      const plain = proxy.requests.filter((q) => q.method !== 'CONNECT');
      assert.ok(
        plain.some((q) => q.method === 'GET' && q.target === `http://${FAKE}/v2/demo/app/manifests/1.0`),
        lines(proxy).join('\n'),
      );
      for (const q of plain) {
        assert.ok(q.target.startsWith(`http://${FAKE}/v2/`), `not an absolute URI for ${FAKE}: ${q.target}`);
        assert.equal(q.status, 200, q.target);
        assert.equal(q.proxyAuthorization, undefined);
      }
      // HTTPS is tried first for an insecure registry, but an HTTPS request never uses HTTP_PROXY (Go's rule):
      // that attempt went direct and failed to resolve the made-up name, so the proxy saw no tunnel
      assert.equal(proxy.requests.filter((q) => q.method === 'CONNECT').length, 0, lines(proxy).join('\n'));
    }),
  );

  test('HTTPS through HTTPS_PROXY: CONNECT, then verified TLS for the name inside the tunnel', T, () =>
    withProxy({ routes: { [FAKE]: front!.host } }, async (proxy) => {
      const seen = front!.servernames.length;
      const r = await trustpin(['digest', REF], { env: env({ HTTPS_PROXY: proxy.url }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), expected());
      assert.ok(proxy.requests.length >= 1);
      for (const l of lines(proxy)) assert.equal(l, `CONNECT ${FAKE}`);
      assert.ok(proxy.requests.every((q) => q.status === 200));
      // TLS really ran end to end inside the tunnel, with SNI naming the registry
      const sni = front!.servernames.slice(seen);
      assert.ok(sni.length >= 1);
      assert.deepEqual(new Set(sni), new Set([NAME]));

      // ... and it is verified: without the CA in certs.d the same tunnel ends in TLS_ERROR
      const n = proxy.requests.length;
      const untrusted = await trustpin(['digest', REF], {
        env: env({ HTTPS_PROXY: proxy.url, TRUSTPIN_CERTS_D: emptyCertsD }),
      });
      assert.equal(untrusted.code, 2, untrusted.stderr);
      assert.match(untrusted.stderr, /error\[TLS_ERROR\]/);
      assert.ok(proxy.requests.length > n, 'the untrusted attempt went through the proxy too');
    }),
  );

  test(
    'proxy credentials from the URL go out as Proxy-Authorization; a 407 is exit 2 naming the proxy',
    T,
    () =>
      withProxy({ routes: { [FAKE]: front!.host }, credentials: 'user:pass' }, async (proxy) => {
        const ok = await trustpin(['digest', REF], {
          env: env({ HTTPS_PROXY: withCreds(proxy.url, 'user', 'pass') }),
        });
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(ok.stdout.trim(), expected());
        assert.ok(proxy.requests.length >= 1);
        for (const q of proxy.requests) {
          assert.equal(`${q.method} ${q.target}`, `CONNECT ${FAKE}`);
          assert.equal(q.proxyAuthorization, basic('user:pass'));
          assert.equal(q.status, 200);
        }

        for (const [label, url] of [
          ['no credentials', proxy.url],
          ['wrong credentials', withCreds(proxy.url, 'user', 'wrong')],
        ] as const) {
          const n = proxy.requests.length;
          const no = await trustpin(['digest', REF], { env: env({ HTTPS_PROXY: url }) });
          assert.equal(no.code, 2, `${label}: ${no.stderr}`);
          assert.equal(no.stdout, '', label);
          assert.match(no.stderr, /error\[NETWORK_ERROR\]/, label);
          assert.ok(no.stderr.includes(`proxy ${proxy.host} refused CONNECT: 407`), `${label}: ${no.stderr}`);
          assert.match(no.stderr, /wants credentials[\s\S]*USER:PASS/, `${label}: the hint says what to do`);
          const refused = proxy.requests.slice(n);
          assert.equal(refused.length, 1, `${label}: a 407 is not retried: ${lines(proxy).join('\n')}`);
          assert.ok(
            refused.every((q) => q.method === 'CONNECT' && q.status === 407),
            `${label}: ${lines(proxy).join('\n')}`,
          );
        }
      }),
  );

  test('proxy credentials: percent-encoded in the URL, and on plain-HTTP absolute-URI requests too', T, () =>
    withProxy({ routes: { [FAKE]: fx.registry.host }, credentials: 'us@er:p:ss w' }, async (proxy) => {
      const r = await trustpin(['--insecure-registry', FAKE, 'digest', REF], {
        env: env({ HTTP_PROXY: withCreds(proxy.url, 'us@er', 'p:ss w') }),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), expected());
      const gets = proxy.requests.filter((q) => q.method === 'GET');
      assert.ok(gets.length >= 1, lines(proxy).join('\n'));
      for (const q of proxy.requests) assert.equal(q.proxyAuthorization, basic('us@er:p:ss w'), q.target);
      assert.ok(gets.every((q) => q.status === 200));
    }),
  );

  test('NO_PROXY: a matching entry sends the client straight to the (unresolvable) host', T, () =>
    withProxy({ routes: { [FAKE]: front!.host } }, async (proxy) => {
      for (const [name, value] of [
        ['NO_PROXY', NAME],
        ['no_proxy', `.trustpin.test`],
        ['NO_PROXY', `example.com, ${FAKE}`],
      ] as const) {
        const n = proxy.requests.length;
        const r = await trustpin(['digest', REF], {
          env: env({ HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, [name]: value }),
        });
        assert.equal(r.code, 2, `${name}=${value}: ${r.stderr}`);
        assert.match(r.stderr, /error\[NETWORK_ERROR\]/);
        // it tried to resolve the made-up name itself, which only the proxy could have done
        assert.match(r.stderr, new RegExp(`ENOTFOUND ${NAME.replace(/\./g, '\\.')}`), r.stderr);
        assert.equal(proxy.requests.length, n, `${name}=${value}: ${lines(proxy).join('\n')}`);
      }
      // entries that do not match (another port, a name that is only a string suffix, a leading dot, which
      // means subdomains only) leave the proxy in use
      for (const value of [`${NAME}:6000`, 'pin.test', `.${NAME}`, `*.${NAME}`]) {
        const n = proxy.requests.length;
        const r = await trustpin(['digest', REF], {
          env: env({ HTTPS_PROXY: proxy.url, NO_PROXY: value }),
        });
        assert.equal(r.code, 0, `NO_PROXY=${value}: ${r.stderr}`);
        assert.equal(r.stdout.trim(), expected());
        assert.ok(proxy.requests.length > n, `NO_PROXY=${value} bypassed the proxy`);
      }
    }),
  );

  test('proxy variables as Go reads them: upper case first, an empty value is unset', T, () =>
    withProxy({ routes: { [FAKE]: front!.host } }, async (proxy) => {
      for (const vars of [
        // an empty lower-case variable does not hide the upper-case one
        { https_proxy: '', HTTPS_PROXY: proxy.url },
        // the upper-case one wins over a (here unusable) lower-case one
        { HTTPS_PROXY: proxy.url, https_proxy: 'http://127.0.0.1:9' },
      ]) {
        const n = proxy.requests.length;
        const r = await trustpin(['digest', REF], { env: env(vars) });
        assert.equal(r.code, 0, `${JSON.stringify(vars)}: ${r.stderr}`);
        assert.equal(r.stdout.trim(), expected());
        assert.ok(proxy.requests.length > n, JSON.stringify(vars));
      }
    }),
  );

  test('an https:// or socks5:// proxy URL is refused before anything is sent to it', T, () =>
    withProxy({ routes: { [FAKE]: front!.host } }, async (proxy) => {
      for (const scheme of ['https', 'socks5']) {
        const url = `${scheme}://user:secret@${proxy.host}`;
        const r = await trustpin(['digest', REF], { env: env({ HTTPS_PROXY: url }) });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, new RegExp(`error\\[USAGE\\].*${scheme}:// proxies are not supported`));
        assert.doesNotMatch(r.stderr, /secret/, 'the proxy password is never printed');
      }
      assert.equal(proxy.requests.length, 0, lines(proxy).join('\n'));
    }),
  );

  test('a proxy that never answers CONNECT: TIMEOUT within --timeout, not a hang', T, () =>
    withProxy({ routes: { [FAKE]: front!.host }, stallConnect: true }, async (proxy) => {
      // if the CLI hangs, stop the proxy after 20 s: the refused reconnects end the CLI and the test fails below
      const guard = setTimeout(() => void proxy.stop(), 20_000);
      const t0 = Date.now();
      const r = await trustpin(['--timeout', '2', 'digest', REF], { env: env({ HTTPS_PROXY: proxy.url }) });
      const elapsed = Date.now() - t0;
      clearTimeout(guard);
      assert.ok(elapsed < 15_000, `the CLI took ${elapsed} ms with --timeout 2`);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(
        r.stderr.includes(`error[TIMEOUT]: https://${FAKE}/v2/: proxy ${proxy.host} did not answer CONNECT`),
        r.stderr,
      );
      assert.deepEqual(lines(proxy), [`CONNECT ${FAKE}`]);
    }),
  );

  test('loopback is never proxied: 127.0.0.1 goes direct with HTTP(S)_PROXY set', T, () =>
    // no routes: anything that did reach this proxy would get 502
    withProxy({ routes: {} }, async (proxy) => {
      const r = await trustpin(['digest', `${fx.registry.host}/demo/app:1.0`], {
        env: env({
          HTTPS_PROXY: proxy.url,
          HTTP_PROXY: proxy.url,
          https_proxy: proxy.url,
          http_proxy: proxy.url,
        }),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), direct);
      assert.deepEqual(lines(proxy), []);
    }),
  );
});
