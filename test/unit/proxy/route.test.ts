// Request lines of containerd, c/image and dockerd parsed into origin, repository and reference; everything that
// is not a read of /v2/, a manifest or a blob refused with the status and OCI code to answer; --upstream parsed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseListen, parseRoute, parseUpstream } from '../../../src/proxy/index.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseRoute', () => {
  test('containerd: the origin is the ns query, the whole path the repository', () => {
    assert.deepEqual(
      parseRoute('HEAD', '/v2/demo/signed/manifests/v1?ns=origin.example%3A5000', 'docker.io'),
      {
        kind: 'manifest',
        origin: 'origin.example:5000',
        repository: 'demo/signed',
        ref: { tag: 'v1' },
      },
    );
    assert.deepEqual(parseRoute('GET', `/v2/library/alpine/blobs/${D}?ns=docker.io`, 'x.io'), {
      kind: 'blob',
      origin: 'docker.io',
      repository: 'library/alpine',
      ref: { digest: D },
    });
  });

  test('c/image: a first component that looks like a host is the origin; else the default origin (dockerd)', () => {
    const r = parseRoute('GET', '/v2/docker.io/library/alpine/manifests/3.20', 'unused.io');
    assert.deepEqual(r, {
      kind: 'manifest',
      origin: 'docker.io',
      repository: 'library/alpine',
      ref: { tag: '3.20' },
    });
    const h = parseRoute('GET', '/v2/localhost/demo/manifests/1', 'd.io');
    assert.equal(h.kind === 'manifest' && h.origin, 'localhost');
    const d = parseRoute('GET', '/v2/library/alpine/manifests/3.20', 'docker.io');
    assert.equal(d.kind === 'manifest' && `${d.origin}/${d.repository}`, 'docker.io/library/alpine');
    // named as docker names it: one name for the policy, the cache and the origin
    const hub = parseRoute('GET', '/v2/alpine/manifests/3.20?ns=index.docker.io', 'x.io');
    assert.equal(hub.kind === 'manifest' && `${hub.origin}/${hub.repository}`, 'docker.io/library/alpine');
    const prefixed = parseRoute('GET', '/v2/docker.io/alpine/manifests/3.20', 'x.io');
    assert.equal(
      prefixed.kind === 'manifest' && `${prefixed.origin}/${prefixed.repository}`,
      'docker.io/library/alpine',
    );
  });

  test('refusals: writes 405, other paths 404, bad names and digests 400, long targets 414', () => {
    const status = (m: string, t: string) => {
      const r = parseRoute(m, t, 'docker.io');
      return r.kind === 'refused' ? `${r.status} ${r.code}` : r.kind;
    };
    assert.equal(status('PUT', '/v2/a/manifests/1'), '405 UNSUPPORTED');
    assert.equal(status('POST', '/v2/a/blobs/uploads/'), '405 UNSUPPORTED');
    assert.equal(status('DELETE', `/v2/a/blobs/${D}`), '405 UNSUPPORTED');
    assert.equal(status('GET', '/v2/_catalog'), '404 UNSUPPORTED');
    assert.equal(status('GET', '/v2/a/tags/list'), '404 UNSUPPORTED');
    assert.equal(status('GET', '/v2/a/referrers/x'), '404 UNSUPPORTED');
    assert.equal(status('GET', '/v2/A/manifests/1'), '400 NAME_INVALID');
    assert.equal(status('GET', '/v2/a/manifests/sha256:zz'), '400 DIGEST_INVALID');
    assert.equal(status('GET', '/v2/a/blobs/latest'), '400 DIGEST_INVALID');
    assert.equal(status('GET', '/v2/a/manifests/-bad'), '400 NAME_INVALID');
    assert.equal(status('GET', '/v2/a/manifests/1?ns=bad/host'), '400 NAME_INVALID');
    assert.equal(status('GET', `/v2/${'a'.repeat(300)}/manifests/1`), '400 NAME_INVALID');
    assert.equal(status('GET', `/v2/a/manifests/1?x=${'y'.repeat(3000)}`), '414 NAME_INVALID');
    assert.equal(status('GET', '/v2/'), 'ping');
    assert.equal(status('HEAD', '/v2'), 'ping');
  });
});

describe('parseUpstream and parseListen', () => {
  test('HOST=URL: the host spoken to and the scheme; paths, credentials and other schemes are usage errors', () => {
    assert.deepEqual(parseUpstream('docker.io=https://mirror.gcr.io'), {
      host: 'docker.io',
      target: 'mirror.gcr.io',
      scheme: 'https',
    });
    assert.deepEqual(parseUpstream('origin.test=http://127.0.0.1:5000'), {
      host: 'origin.test',
      target: '127.0.0.1:5000',
      scheme: 'http',
    });
    for (const bad of ['docker.io', '=http://x', 'a.io=ftp://x', 'a.io=http://x/path', 'a.io=http://u:p@x'])
      assert.throws(() => parseUpstream(bad), { code: 'USAGE' }, bad);
  });

  test('HOST:PORT, [::]:PORT and :PORT', () => {
    assert.deepEqual(parseListen('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
    assert.deepEqual(parseListen('[::]:5000'), { host: '::', port: 5000 });
    assert.deepEqual(parseListen(':0'), { host: '0.0.0.0', port: 0 });
    assert.throws(() => parseListen('5000'), { code: 'USAGE' });
    assert.throws(() => parseListen('a:99999'), { code: 'USAGE' });
  });
});
