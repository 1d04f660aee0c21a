// The rewriter replaces ranges and nothing else; pin's files are size-capped before reading, strict UTF-8, found
// by name or content, and written back atomically with their mode kept — through a symlink to the file it names.
import assert from 'node:assert/strict';
import {
  chmod,
  lstat,
  mkdir,
  readFile,
  readlink,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { readPinFile, writePinFile } from '../../../src/pin/files.js';
import { applyEdits, findPinFiles, MAX_PIN_FILE_BYTES, pinnedText } from '../../../src/pin/index.js';

const D = `sha256:${'a'.repeat(64)}`;
const E = `sha256:${'b'.repeat(64)}`;

describe('pinnedText', () => {
  test('appends the digest, keeps the tag, adds the :latest it was resolved as, replaces an old digest', () => {
    assert.equal(pinnedText('nginx:1.25', D), `nginx:1.25@${D}`);
    assert.equal(pinnedText('nginx', D), `nginx:latest@${D}`);
    assert.equal(pinnedText('localhost:5000/a/b', D), `localhost:5000/a/b:latest@${D}`);
    assert.equal(pinnedText(`nginx:1.25@${D}`, E), `nginx:1.25@${E}`);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile template, as written
    assert.equal(pinnedText('alpine:${V}', D), `alpine:\${V}@${D}`);
  });
});

describe('applyEdits', () => {
  test('replaces exactly the ranges, in any order; identical edits count once', () => {
    const t = 'a\r\nFROM x # c\r\nFROM y\r\n';
    const x = t.indexOf('x');
    const y = t.indexOf('y');
    const out = applyEdits(t, [
      { start: y, end: y + 1, text: 'Y' },
      { start: x, end: x + 1, text: 'X' },
      { start: x, end: x + 1, text: 'X' },
    ]);
    assert.equal(out, 'a\r\nFROM X # c\r\nFROM Y\r\n');
  });
  test('overlapping different edits are refused (an extractor defect), not merged', () => {
    assert.throws(
      () =>
        applyEdits('abcdef', [
          { start: 1, end: 3, text: 'X' },
          { start: 2, end: 4, text: 'Y' },
        ]),
      { code: 'INTERNAL' },
    );
    assert.throws(() => applyEdits('abc', [{ start: 2, end: 9, text: 'X' }]), { code: 'INTERNAL' });
  });
});

describe('pin files', () => {
  let dir: string;
  before(async () => {
    dir = join(tmpdir(), `tp-pin-files-${process.pid}`);
    await mkdir(join(dir, 'proj/.github/workflows'), { recursive: true });
    await mkdir(join(dir, 'proj/node_modules/x'), { recursive: true });
    await mkdir(join(dir, 'proj/.hidden'), { recursive: true });
    await mkdir(join(dir, 'proj/deploy'), { recursive: true });
    const w = (f: string, t: string) => writeFile(join(dir, 'proj', f), t);
    await w('Dockerfile', 'FROM alpine\n');
    await w('build.Dockerfile', 'FROM alpine\n');
    await w('compose.override.yaml', 'services: {}\n');
    await w('.github/workflows/ci.yml', 'on: push\njobs: {}\n');
    await w('node_modules/x/Dockerfile', 'FROM alpine\n');
    await w('.hidden/Dockerfile', 'FROM alpine\n');
    await w('deploy/app.yaml', 'apiVersion: v1\nkind: Pod\nspec: {}\n');
    await w('deploy/notes.yaml', 'just: data\n');
    // a chart template is not YAML until rendered: a walk leaves it out instead of failing on it
    await w(
      'deploy/tpl.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nspec:\n  image: {{ .Values.image }}\n',
    );
    await w('README.md', '# FROM alpine\n');
  });

  test('a walk finds files by name and by content, skips node_modules, dot-directories but .github, and templated YAML', async () => {
    const found = await findPinFiles([join(dir, 'proj')]);
    const rel = found.map((f) => `${f.path.slice(dir.length + 6)}:${f.format}`).sort();
    assert.deepEqual(rel, [
      '.github/workflows/ci.yml:workflow',
      'Dockerfile:dockerfile',
      'build.Dockerfile:dockerfile',
      'compose.override.yaml:compose',
      'deploy/app.yaml:kubernetes',
    ]);
  });

  test('--include and --exclude narrow a walk (a pattern without / matches the base name)', async () => {
    const only = await findPinFiles([join(dir, 'proj')], { include: ['*Dockerfile'], exclude: ['build.*'] });
    assert.deepEqual(
      only.map((f) => f.path.slice(dir.length + 6)),
      ['Dockerfile'],
    );
    const deep = await findPinFiles([join(dir, 'proj')], { include: ['deploy/**'] });
    assert.deepEqual(
      deep.map((f) => f.path.slice(dir.length + 6)),
      ['deploy/app.yaml'],
    );
  });

  test('a file named explicitly must be of a known format', async () => {
    await assert.rejects(findPinFiles([join(dir, 'proj/README.md')]), { code: 'USAGE' });
    await assert.rejects(findPinFiles([join(dir, 'proj/nope')]), { code: 'NOT_FOUND' });
  });

  test('a file over the cap is refused before it is read; invalid UTF-8 is refused with the offset', async () => {
    const big = join(dir, 'big.yaml');
    // 50 MB (sparse): refused from its size, before a byte is read
    await writeFile(big, '');
    await truncate(big, 50 * 1024 * 1024);
    assert.ok(50 * 1024 * 1024 > MAX_PIN_FILE_BYTES);
    await assert.rejects(readPinFile(big), { code: 'PIN_FILE_INVALID' });
    assert.equal((await stat(big)).size, 50 * 1024 * 1024, 'untouched');
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, Buffer.from([0x61, 0x62, 0xc3, 0x28]));
    await assert.rejects(readPinFile(bad), (e: { code: string; found?: string }) => {
      assert.equal(e.code, 'PIN_FILE_INVALID');
      assert.equal(e.found, 'invalid UTF-8 at byte 2');
      return true;
    });
  });

  test('a BOM and CRLF survive a read-write round trip byte for byte; the mode is kept', async () => {
    const f = join(dir, 'bom.yaml');
    const bytes = Buffer.from('\ufeffa: 1\r\nb: 2\r\n');
    await writeFile(f, bytes);
    await chmod(f, 0o600);
    const r = await readPinFile(f);
    await writePinFile(r, r.text);
    assert.deepEqual(await readFile(f), bytes);
    assert.equal((await stat(f)).mode & 0o777, 0o600);
  });

  test('a symlinked file is written through: the link stays a link', async () => {
    const real = join(dir, 'real.yaml');
    const link = join(dir, 'link.yaml');
    await writeFile(real, 'a: 1\n');
    await symlink(real, link);
    const r = await readPinFile(link);
    await writePinFile(r, 'a: 2\n');
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal(await readlink(link), real);
    assert.equal(await readFile(real, 'utf8'), 'a: 2\n');
  });
});
