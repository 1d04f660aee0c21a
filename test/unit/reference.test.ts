import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrustpinError } from '../../src/errors/index.js';
import {
  familiarString,
  formatReference,
  isLoopbackHost,
  parseReference,
  withDefaultTag,
} from '../../src/reference/index.js';

const HEX = 'a'.repeat(64);

test('docker defaults: docker.io, library/, no implicit tag until asked', () => {
  const r = parseReference('alpine');
  assert.deepEqual(
    { ...r },
    { registry: 'docker.io', repository: 'library/alpine', tag: undefined, digest: undefined },
  );
  assert.equal(formatReference(withDefaultTag(r)), 'docker.io/library/alpine:latest');
  assert.equal(familiarString(withDefaultTag(r)), 'alpine:latest');
  assert.equal(parseReference('nicolas/webdis:0.1.19').repository, 'nicolas/webdis');
  assert.equal(familiarString(parseReference('nicolas/webdis:0.1.19')), 'nicolas/webdis:0.1.19');
  assert.equal(parseReference('index.docker.io/library/ubuntu').registry, 'docker.io');
  assert.equal(parseReference('docker.io/ubuntu').repository, 'library/ubuntu');
});

test('registry hosts: dots, ports, localhost, IPv6, uppercase first component', () => {
  assert.equal(parseReference('127.0.0.1:5000/demo/app:1.0').registry, '127.0.0.1:5000');
  assert.equal(parseReference('localhost/app').registry, 'localhost');
  assert.equal(parseReference('localhost:5000/app').registry, 'localhost:5000');
  assert.equal(parseReference('[::1]:5000/app').registry, '[::1]:5000');
  assert.equal(parseReference('ghcr.io/org/app').repository, 'org/app');
  assert.equal(parseReference('Example/app').registry, 'Example');
  const ecr = parseReference('123456789012.dkr.ecr.us-east-1.amazonaws.com/nicolas/webdis:0.1.19');
  assert.equal(ecr.registry, '123456789012.dkr.ecr.us-east-1.amazonaws.com');
  assert.equal(ecr.tag, '0.1.19');
});

test('tag and digest together are both kept; digest decides what is fetched', () => {
  const r = parseReference(`busybox:latest@sha256:${HEX}`);
  assert.equal(r.tag, 'latest');
  assert.equal(r.digest, `sha256:${HEX}`);
  assert.equal(formatReference(r), `docker.io/library/busybox:latest@sha256:${HEX}`);
});

test('rejects what docker rejects, with REFERENCE_INVALID and a hint', () => {
  for (const bad of [
    '',
    HEX,
    'Uppercase/Repo',
    'docker.io/Library/x',
    'a//b',
    'app:',
    'app:-tag',
    `app:${'t'.repeat(129)}`,
    'app@sha256:short',
    `x/${'a'.repeat(256)}`,
  ]) {
    assert.throws(
      () => parseReference(bad),
      (e: unknown) => isTrustpinError(e) && ['REFERENCE_INVALID', 'DIGEST_INVALID'].includes(e.code),
      bad,
    );
  }
  assert.ok(parseReference(`app:${'t'.repeat(128)}`).tag);
});

test('loopback detection decides when plain HTTP is allowed', () => {
  for (const h of ['127.0.0.1:5000', 'localhost', 'localhost:80', '[::1]:5000', '127.1.2.3'])
    assert.ok(isLoopbackHost(h), h);
  for (const h of ['registry.example.com', '10.0.0.1:5000', '127.0.0.1.nip.io', 'localhost.evil.com'])
    assert.ok(!isLoopbackHost(h), h);
});
