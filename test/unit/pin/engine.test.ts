// pinFiles on the in-process registry: each distinct reference resolved once however many files name it, the digest
// computed from the bytes (a lying Docker-Content-Digest header is ignored), a platform manifest that does not
// match its digest refused with the file untouched, unreadable files reported without stopping the others.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DemoSet, demoImages, MemoryRegistry } from '../../../src/demo/index.js';
import { pinFiles } from '../../../src/pin/index.js';
import { RegistryClient } from '../../../src/registry/index.js';

describe('pinFiles on the in-process registry', () => {
  let reg: MemoryRegistry;
  let host: string;
  let set: DemoSet;
  let dir: string;
  let n = 0;
  const tagGets: string[] = [];
  const client = () => new RegistryClient();
  const fresh = async (files: Record<string, string>) => {
    const d = join(dir, `case-${n++}`);
    for (const [f, t] of Object.entries(files)) {
      await mkdir(join(d, f, '..'), { recursive: true });
      await writeFile(join(d, f), t);
    }
    return d;
  };

  before(async () => {
    set = await demoImages();
    reg = new MemoryRegistry();
    host = await reg.listen();
    reg.push('demo/app', set.app, '1.0');
    reg.push('demo/liar', set.liar, '1.0');
    reg.hook = (req, _res, url) => {
      if (/\/manifests\/[^/]+$/.test(url.pathname) && !url.pathname.includes('sha256:'))
        tagGets.push(`${req.method} ${url.pathname}`);
      return false;
    };
    dir = join(tmpdir(), `tp-pin-engine-${process.pid}`);
    await mkdir(dir, { recursive: true });
  });
  after(async () => {
    await reg.close();
  });

  test('one resolution per distinct reference, whatever the number of files and sites', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 6; i++)
      files[`s${i}/Dockerfile`] = `FROM ${host}/demo/app:1.0 AS a\nFROM ${host}/demo/liar:1.0\n`;
    const d = await fresh(files);
    tagGets.length = 0;
    const r = await pinFiles([d], { client: client() });
    assert.equal(r.counts.pinned, 12);
    assert.ok(r.ok);
    assert.equal(tagGets.length, 2, tagGets.join(', '));
    assert.equal(
      await readFile(join(d, 's3/Dockerfile'), 'utf8'),
      `FROM ${host}/demo/app:1.0@${set.app.index.digest} AS a\nFROM ${host}/demo/liar:1.0@${set.liar.manifest.digest}\n`,
    );
  });

  test('the digest comes from the bytes: a Docker-Content-Digest header naming other bytes changes nothing', async () => {
    const d = await fresh({ Dockerfile: `FROM ${host}/demo/app:1.0\n` });
    reg.hook = (_req, res, url) => {
      if (url.pathname.endsWith('/manifests/1.0'))
        res.setHeader('Docker-Content-Digest', set.liar.manifest.digest);
      return false;
    };
    try {
      const r = await pinFiles([d], { client: client() });
      assert.ok(r.ok);
      assert.equal(
        await readFile(join(d, 'Dockerfile'), 'utf8'),
        `FROM ${host}/demo/app:1.0@${set.app.index.digest}\n`,
      );
    } finally {
      reg.hook = undefined;
    }
  });

  test('--platform through a lying registry: a platform manifest whose bytes do not match its digest is refused, the file untouched', async () => {
    const before = `FROM ${host}/demo/app:1.0\n`;
    const d = await fresh({ Dockerfile: before });
    const arm = set.app.images.find((i) => i.platform.architecture === 'arm64')!;
    reg.hook = (_req, res, url) => {
      if (!url.pathname.endsWith(`/manifests/${arm.manifest.digest}`)) return false;
      res.writeHead(200, { 'content-type': arm.manifest.mediaType });
      const forged = Buffer.from(arm.manifest.bytes);
      forged.writeUInt8(forged.readUInt8(forged.length - 2) ^ 0x01, forged.length - 2); // same size, other bytes
      res.end(forged);
      return true;
    };
    try {
      const r = await pinFiles([d], { client: client(), platform: { os: 'linux', architecture: 'arm64' } });
      assert.equal(r.ok, false);
      const s = r.files[0]!.sites[0]!;
      assert.equal(s.status, 'refused');
      assert.deepEqual(
        s.problems.map((p) => p.code),
        ['DIGEST_MISMATCH'],
      );
      assert.equal(await readFile(join(d, 'Dockerfile'), 'utf8'), before);
    } finally {
      reg.hook = undefined;
    }
  });

  test('an unknown tag is an error at its site; the other sites and files are still pinned', async () => {
    const d = await fresh({
      Dockerfile: `FROM ${host}/demo/app:nope\nFROM ${host}/demo/app:1.0\n`,
      'compose.yaml': `services:\n  a:\n    image: ${host}/demo/liar:1.0\n`,
    });
    const r = await pinFiles([d], { client: client() });
    assert.equal(r.ok, false);
    assert.equal(r.counts.error, 1);
    assert.equal(r.counts.pinned, 2);
    assert.equal(
      await readFile(join(d, 'Dockerfile'), 'utf8'),
      `FROM ${host}/demo/app:nope\nFROM ${host}/demo/app:1.0@${set.app.index.digest}\n`,
    );
  });

  test('a file that is not UTF-8 or not YAML is reported and untouched; the others are pinned', async () => {
    const d = await fresh({
      'compose.yaml': `services:\n  a:\n    image: ${host}/demo/app:1.0\n`,
      'k8s/pod.yaml': 'apiVersion: v1\nkind: Pod\nspec: { containers: [ { image: x\n',
    });
    const good = Buffer.from(`FROM ${host}/demo/app:1.0\n# caf`);
    const bad = Buffer.concat([good, Buffer.from([0xe9, 0x0a])]);
    await writeFile(join(d, 'Dockerfile'), bad);
    const r = await pinFiles([d], { client: client() });
    const byName = Object.fromEntries(r.files.map((f) => [f.path.slice(d.length + 1), f]));
    assert.equal(byName.Dockerfile?.error?.code, 'PIN_FILE_INVALID');
    assert.equal(byName.Dockerfile!.error!.found, `invalid UTF-8 at byte ${good.length}`);
    assert.equal(byName['k8s/pod.yaml']?.error?.code, 'PIN_FILE_INVALID');
    assert.equal(byName['compose.yaml']?.sites[0]?.status, 'pinned');
    assert.deepEqual(await readFile(join(d, 'Dockerfile')), bad);
    assert.equal(r.ok, false);
  });

  test('check mode writes nothing; a digest-only reference is current without any request', async () => {
    const text = `services:\n  a:\n    image: ${host}/demo/app@${set.app.index.digest}\n  b:\n    image: ${host}/demo/app:1.0\n`;
    const d = await fresh({ 'compose.yaml': text });
    tagGets.length = 0;
    const r = await pinFiles([d], { client: client(), mode: 'check', stale: true });
    assert.deepEqual(
      r.files[0]!.sites.map((s) => s.status),
      ['current', 'unpinned'],
    );
    assert.equal(tagGets.length, 0);
    assert.equal(await readFile(join(d, 'compose.yaml'), 'utf8'), text);
  });
});
