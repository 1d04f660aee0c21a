// Refreshing the Sigstore trusted root from a TUF mirror (Sigstore's real root-signing repository, root v5 → v15):
// what a user gets is the signed trusted_root.json in a cache that offline checks read, and a refresh that fails —
// expired, tampered, unreachable — never costs them the trusted root they already had.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import {
  cachedTrustedRoot,
  cachedTrustedRootInfo,
  refreshTrustedRoot,
  sigstoreCacheDir,
} from '../../../src/trust/cosign/index.js';
import { tufError } from '../../../src/trust/cosign/tuf-errors.js';
import { skipNoVectors, vectorPath } from '../../vectors.js';

const skip = skipNoVectors;
const REPO = vectorPath('root-signing');
/** every root-signing document is valid then (timestamp v762 expires 2026-08-28, root v15 2026-11-20) */
const VALID = Date.parse('2026-08-01T00:00:00Z');
/** the day this was written: root v15 has expired */
const TODAY = Date.parse('2026-12-02T12:00:00Z');

const root5 = () => readFileSync(join(REPO, 'metadata/root_history/5.root.json'));
const home = () => mkdtempSync(join(tmpdir(), 'tp-tuf-'));
const at = (t: TestContext, now: number) => t.mock.timers.enable({ apis: ['Date'], now });
const signedDigest = () =>
  (
    JSON.parse(readFileSync(join(REPO, 'metadata/targets.json'), 'utf8')) as {
      signed: { targets: Record<string, { hashes: { sha256: string } }> };
    }
  ).signed.targets['trusted_root.json']!.hashes.sha256;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

/** a writable copy of root-signing, to tamper with */
function copyRepo(): string {
  const d = join(mkdtempSync(join(tmpdir(), 'tp-tuf-repo-')), 'repo');
  cpSync(REPO, d, { recursive: true });
  // the vectors are read-only, and so is a copy of them
  const chmod = (p: string) => {
    chmodSync(p, 0o755);
    for (const e of readdirSync(p, { withFileTypes: true })) {
      const f = join(p, e.name);
      if (e.isDirectory()) chmod(f);
      else chmodSync(f, 0o644);
    }
  };
  chmod(d);
  return d;
}

/** flip one character inside the signed part, keeping the length and the JSON valid */
function tamper(file: string, from: string, to: string): void {
  const s = readFileSync(file, 'utf8');
  assert.ok(s.includes(from), `${file} contains ${from}`);
  writeFileSync(file, s.replace(from, to));
}

test('refresh from root v5 reaches root v15 and caches the signed trusted_root.json', { skip }, async (t) => {
  at(t, VALID);
  const h = home();
  const r = await refreshTrustedRoot({ mirror: REPO, initialRoot: root5(), home: h });
  assert.equal(r.rootVersion, 15);
  assert.equal(sha256(r.trustedRoot), signedDigest());
  assert.equal(r.downloaded, true);
  assert.equal(r.expires, '2026-08-28T19:25:56Z');
  assert.deepEqual(readFileSync(r.path), r.trustedRoot);
  assert.equal(r.path, join(sigstoreCacheDir(REPO, h), 'trusted_root.json'));
  const info = cachedTrustedRootInfo({ mirror: REPO, home: h });
  assert.deepEqual(info, {
    trustedRoot: r.trustedRoot,
    path: r.path,
    rootVersion: 15,
    refreshedAt: '2026-08-01T00:00:00.000Z',
    expires: '2026-08-28T19:25:56Z',
  });
  // the same directory as a file: URL is the same mirror
  assert.deepEqual(cachedTrustedRoot({ mirror: `file://${REPO}/`, home: h }), r.trustedRoot);

  // the cache is reached from root v5: starting again from it (or from the cached v15) walks no roots again
  const again = await refreshTrustedRoot({ mirror: REPO, initialRoot: root5(), home: h });
  assert.equal(again.rootVersion, 15);
  assert.equal(again.downloaded, false);
  const fromV15 = await refreshTrustedRoot({
    mirror: REPO,
    initialRoot: readFileSync(join(REPO, 'metadata/root_history/15.root.json')),
    home: h,
  });
  assert.equal(fromV15.downloaded, false);
  assert.deepEqual(fromV15.trustedRoot, r.trustedRoot);
  // one generation, no temp files or lock left behind
  assert.deepEqual(
    readdirSync(sigstoreCacheDir(REPO, h))
      .filter((e) => !/^gen-/.test(e))
      .sort(),
    ['current', 'trusted_root.json'],
  );
  assert.equal(readdirSync(sigstoreCacheDir(REPO, h)).filter((e) => /^gen-/.test(e)).length, 1);
});

test('today root v15 has expired: TUF_EXPIRED, and the trusted root cached before stays readable', {
  skip,
}, async (t) => {
  at(t, VALID);
  const h = home();
  const before = await refreshTrustedRoot({ mirror: REPO, initialRoot: root5(), home: h });
  const dir = sigstoreCacheDir(REPO, h);
  const listing = readdirSync(dir).sort();
  t.mock.timers.setTime(TODAY);
  await assert.rejects(refreshTrustedRoot({ mirror: REPO, initialRoot: root5(), home: h }), (e: unknown) => {
    const err = e as { code: string; found: string; expected: string; hint: string };
    assert.equal(err.code, 'TUF_EXPIRED');
    assert.equal(err.found, 'root v15 expires 2026-11-20T13:58:18Z');
    assert.match(err.expected, /2026-12-02/);
    assert.match(err.hint, /offline/);
    return true;
  });
  assert.deepEqual(readdirSync(dir).sort(), listing);
  assert.deepEqual(cachedTrustedRoot({ mirror: REPO, home: h }), before.trustedRoot);
  assert.deepEqual(readFileSync(before.path), before.trustedRoot);

  // with no cache, nothing is left that an offline check could mistake for a trusted root
  const fresh = home();
  await assert.rejects(
    refreshTrustedRoot({ mirror: REPO, initialRoot: root5(), home: fresh }),
    code('TUF_EXPIRED'),
  );
  assert.equal(cachedTrustedRoot({ mirror: REPO, home: fresh }), undefined);
  assert.deepEqual(readdirSync(sigstoreCacheDir(REPO, fresh)), []);
});

test('tampered metadata fails its signature check and replaces nothing', { skip }, async (t) => {
  at(t, VALID);
  const repo = copyRepo();
  const h = home();
  const good = await refreshTrustedRoot({ mirror: repo, initialRoot: root5(), home: h });
  const dir = sigstoreCacheDir(repo, h);
  const listing = readdirSync(dir).sort();

  // the timestamp is fetched on every refresh: a changed one is caught by its signature
  tamper(join(repo, 'metadata/timestamp.json'), '"version": 762', '"version": 763');
  await assert.rejects(refreshTrustedRoot({ mirror: repo, initialRoot: root5(), home: h }), (e: unknown) => {
    const err = e as { code: string; message: string; expected: string };
    assert.equal(err.code, 'TUF_SIGNATURE_INVALID');
    assert.match(err.message, /timestamp metadata/);
    assert.match(err.expected, /1 valid signature/);
    return true;
  });
  assert.deepEqual(readdirSync(dir).sort(), listing);
  assert.deepEqual(cachedTrustedRoot({ mirror: repo, home: h }), good.trustedRoot);

  // a changed intermediate root breaks the rotation chain from v5
  const repo2 = copyRepo();
  tamper(
    join(repo2, 'metadata/root_history/7.root.json'),
    '"2023-10-04T13:08:11Z"',
    '"2033-10-04T13:08:11Z"',
  );
  const h2 = home();
  await assert.rejects(
    refreshTrustedRoot({ mirror: repo2, initialRoot: root5(), home: h2 }),
    code('TUF_SIGNATURE_INVALID'),
  );
  assert.equal(cachedTrustedRoot({ mirror: repo2, home: h2 }), undefined);

  // targets.json pointing trusted_root.json at other bytes is not signed
  const repo3 = copyRepo();
  const digest = signedDigest();
  tamper(
    join(repo3, 'metadata/targets.json'),
    digest,
    `${digest.slice(0, -1)}${digest.endsWith('0') ? '1' : '0'}`,
  );
  await assert.rejects(
    refreshTrustedRoot({ mirror: repo3, initialRoot: root5(), home: home() }),
    code('TUF_SIGNATURE_INVALID'),
  );

  // other bytes for trusted_root.json itself (same length) are not the signed target
  const repo4 = copyRepo();
  tamper(join(repo4, 'targets/trusted_root.json'), 'rekor.sigstore.dev', 'rekor.sigstore.dew');
  const h4 = home();
  await assert.rejects(
    refreshTrustedRoot({ mirror: repo4, initialRoot: root5(), home: h4 }),
    code('TUF_HASH_MISMATCH'),
  );
  assert.equal(cachedTrustedRoot({ mirror: repo4, home: h4 }), undefined);
});

test('a trust anchor that is not a self-signed root is refused before any download', { skip }, async (t) => {
  at(t, VALID);
  const bad = Buffer.from(root5().toString('utf8').replace('"version": 5', '"version": 6'));
  await assert.rejects(
    refreshTrustedRoot({ mirror: REPO, initialRoot: bad, home: home() }),
    code('TRUSTED_ROOT_INVALID'),
  );
  await assert.rejects(
    refreshTrustedRoot({ mirror: REPO, initialRoot: Buffer.from('{"signed":'), home: home() }),
    code('TRUSTED_ROOT_INVALID'),
  );
});

test('a refresh killed half-way leaves the cached trusted root as it was', { skip }, async (t) => {
  at(t, VALID);
  const h = home();
  const good = await refreshTrustedRoot({ mirror: REPO, initialRoot: root5(), home: h });
  const dir = sigstoreCacheDir(REPO, h);
  // what a killed refresh leaves: a generation that `current` never named, with half a file
  const dead = join(dir, 'gen-zzzzzzzz-deadbeef');
  mkdirSync(dead);
  writeFileSync(join(dead, 'trusted_root.json'), good.trustedRoot.subarray(0, 100));
  assert.deepEqual(cachedTrustedRoot({ mirror: REPO, home: h }), good.trustedRoot);
  await refreshTrustedRoot({ mirror: REPO, initialRoot: root5(), home: h });
  assert.equal(existsSync(dead), false);
  // a cached trusted root changed on disk is refused rather than used
  const gen = readFileSync(join(dir, 'current'), 'utf8').trim();
  writeFileSync(join(dir, gen, 'trusted_root.json'), good.trustedRoot.subarray(0, 100));
  assert.throws(() => cachedTrustedRoot({ mirror: REPO, home: h }), code('IO_ERROR'));
  // and the next refresh repairs it (starting from the anchor)
  await refreshTrustedRoot({ mirror: REPO, initialRoot: root5(), home: h });
  assert.deepEqual(cachedTrustedRoot({ mirror: REPO, home: h }), good.trustedRoot);
});

test('an aborted refresh rejects with ABORTED and caches nothing', { skip }, async (t) => {
  at(t, VALID);
  const h = home();
  const signal = AbortSignal.abort();
  await assert.rejects(
    refreshTrustedRoot({ mirror: REPO, initialRoot: root5(), home: h, signal }),
    code('ABORTED'),
  );
  assert.equal(cachedTrustedRoot({ mirror: REPO, home: h }), undefined);
});

/** Sigstore's CDN layout over loopback HTTP: metadata at the top (N.root.json, timestamp, N.snapshot…), targets/<hash>.name */
async function cdn(repo: string): Promise<{ url: string; log: string[]; server: Server }> {
  const log: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    log.push(path);
    const root = /^\/(\d+)\.root\.json$/.exec(path);
    const versioned = /^\/\d+\.(snapshot|targets)\.json$/.exec(path);
    const target = /^\/targets\/[0-9a-f]{64}\.([\w.-]+)$/.exec(path);
    const file = root
      ? join(repo, 'metadata/root_history', `${root[1]}.root.json`)
      : path === '/timestamp.json'
        ? join(repo, 'metadata/timestamp.json')
        : versioned
          ? join(repo, 'metadata', `${versioned[1]}.json`)
          : target
            ? join(repo, 'targets', target[1]!)
            : undefined;
    if (!file || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log, server };
}

test('over loopback HTTP (Sigstore CDN layout) the same refresh works, and a second one fetches two files', {
  skip,
}, async (t) => {
  at(t, VALID);
  const { url, log, server } = await cdn(REPO);
  t.after(() => server.close());
  const h = home();
  const r = await refreshTrustedRoot({ mirror: url, initialRoot: root5(), home: h, http: { attempts: 1 } });
  assert.equal(r.rootVersion, 15);
  assert.equal(sha256(r.trustedRoot), signedDigest());
  assert.equal(
    r.path,
    join(h, 'sigstore', url.slice('http://'.length).replace(':', '_'), 'trusted_root.json'),
  );
  assert.ok(log.includes(`/targets/${signedDigest()}.trusted_root.json`));
  assert.deepEqual(
    log.slice(0, 11),
    [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16].map((v) => `/${v}.root.json`),
  );
  assert.deepEqual(cachedTrustedRoot({ mirror: url, home: h }), r.trustedRoot);

  log.length = 0;
  const again = await refreshTrustedRoot({
    mirror: url,
    initialRoot: root5(),
    home: h,
    http: { attempts: 1 },
  });
  assert.equal(again.downloaded, false);
  assert.deepEqual(log, ['/16.root.json', '/timestamp.json']);
});

test('a mirror that is not there or not TUF is an operational error; plain HTTP off loopback is refused', {
  skip,
}, async (t) => {
  at(t, VALID);
  const { url, server } = await cdn(join(tmpdir(), 'tp-tuf-no-such-repo'));
  t.after(() => server.close());
  await assert.rejects(
    refreshTrustedRoot({ mirror: url, initialRoot: root5(), home: home(), http: { attempts: 1 } }),
    (e: unknown) => code('NOT_FOUND')(e) && /timestamp\.json/.test((e as Error).message),
  );
  const closed = await cdn(REPO);
  const gone = closed.url;
  await new Promise((r) => closed.server.close(r));
  await assert.rejects(
    refreshTrustedRoot({ mirror: gone, initialRoot: root5(), home: home(), http: { attempts: 1 } }),
    code('NETWORK_ERROR'),
  );
  await assert.rejects(
    refreshTrustedRoot({ mirror: 'http://tuf-repo-cdn.sigstore.dev', initialRoot: root5(), home: home() }),
    code('INSECURE_REFUSED'),
  );
  await assert.rejects(
    refreshTrustedRoot({ mirror: 'ftp://example.com/tuf', initialRoot: root5(), home: home() }),
    code('USAGE'),
  );
});

test('tuf-js failures that the vectors cannot produce map to their codes', () => {
  const m = (msg: string) => tufError(new Error(msg), 'https://m.example').code;
  assert.equal(m('New timestamp version 761 is less than current version 762'), 'TUF_ROLLBACK');
  assert.equal(
    m(
      'Unable to load snapshot metadata error Error: New version 3 of targets.json is less than current version 4',
    ),
    'TUF_ROLLBACK',
  );
  assert.equal(m('Expected version 7, got 9'), 'TUF_ROOT_ROTATION_FAILED');
  assert.equal(
    m('Unable to load targets error Error: targets was signed by 1/3 keys'),
    'TUF_THRESHOLD_NOT_MET',
  );
  assert.equal(m('Unable to load snapshot metadata error Error: snapshot.json is expired'), 'TUF_EXPIRED');
  assert.equal(m("Snapshot version doesn't match timestamp"), 'TUF_METADATA_INVALID');
});

test('a mirror sending more than the cap is cut off with SIZE_EXCEEDED; a caller’s fetcher’s errors are coded', {
  skip,
}, async (t) => {
  at(t, VALID);
  const big = createServer((req, res) => {
    if (req.url === '/timestamp.json') {
      res.writeHead(200);
      // endless: only the cap ends it
      const more = () => {
        while (res.write(Buffer.alloc(64 * 1024, 0x20)));
      };
      res.on('drain', more);
      more();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => big.listen(0, '127.0.0.1', r));
  t.after(() => big.close());
  const url = `http://127.0.0.1:${(big.address() as AddressInfo).port}`;
  await assert.rejects(
    refreshTrustedRoot({ mirror: url, initialRoot: root5(), home: home(), http: { attempts: 1 } }),
    (e: unknown) => code('SIZE_EXCEEDED')(e) && /16384/.test((e as Error).message),
  );

  const failing = {
    downloadBytes: async () => {
      throw new DownloadHTTPError('down', 503);
    },
    downloadFile: async () => {
      throw new DownloadHTTPError('down', 503);
    },
  };
  await assert.rejects(
    refreshTrustedRoot({
      mirror: 'https://tuf.example',
      initialRoot: root5(),
      home: home(),
      fetcher: failing,
    }),
    code('NETWORK_ERROR'),
  );
});
