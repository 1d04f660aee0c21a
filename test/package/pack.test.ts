// The package as a user gets it: `npm pack`, installed into a fresh project, then a plain ESM consumer and a
// strict TypeScript consumer import `trustpin` and `trustpin/testing` and prove an image by digest and by DCT.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const here = join(root, 'test', 'package', 'consumer');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Newest mtime of the files under `dir` with one of the extensions. */
async function newest(dir: string, ext: RegExp): Promise<number> {
  let t = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && ext.test(e.name)) t = Math.max(t, (await stat(join(e.parentPath, e.name))).mtimeMs);
  }
  return t;
}

/** `npm ci` builds dist/ (the `prepare` script); build again only when a source is newer than the build. */
async function ensureBuilt(): Promise<void> {
  const built = await stat(join(root, 'dist', 'index.js')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (built > (await newest(join(root, 'src'), /\.ts$/))) return;
  await run(npm, ['run', 'build'], { cwd: root, maxBuffer: 64 << 20 });
}

interface Output {
  digest: string;
  pinned: string;
  platforms: string[];
  dct: { ok: boolean; pinned?: string };
}

function parse(stdout: string): Output {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Output;
}

describe('the packed package', { timeout: 240_000 }, () => {
  let dir: string;
  let project: string;
  let tarball: string;
  let expected: string;

  before(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'trustpin-pack-'));
    const packed = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: root,
      maxBuffer: 64 << 20,
    });
    const info = (
      JSON.parse(packed.stdout) as { filename: string; size: number; files: { path: string }[] }[]
    )[0]!;
    tarball = join(dir, info.filename);
    console.log(`# tarball ${info.filename}: ${info.size} bytes, ${info.files.length} files`);
    project = join(dir, 'project');
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd: project,
      maxBuffer: 64 << 20,
    });
    for (const f of ['consumer.mjs', 'consumer.ts']) await copyFile(join(here, f), join(project, f));
    // the digest the demo image has, computed in this process from the sources
    const { demoImages } = await import('../../src/demo/index.js');
    expected = (await demoImages()).app.index.digest;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('ships the library, its types, trustpin/testing and the LICENSE, without source maps or the CLI tree', async () => {
    const packed = await run('tar', ['-tzf', tarball]);
    const files = packed.stdout.trim().split('\n');
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/testing/index.d.ts',
    ]) {
      assert.ok(files.includes(`package/${f}`), `${f} is not in the tarball`);
    }
    assert.ok(files.includes('package/LICENSE'));
    assert.ok(files.includes('package/dist/trustpin.mjs'));
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map') || f.startsWith('package/dist/cli/') || f.includes('/test/')),
      [],
    );
  });

  it('its declarations import only node:, relative paths and runtime dependencies', async () => {
    const pkg = join(project, 'node_modules', 'trustpin');
    const deps = Object.keys(
      (JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8')) as { dependencies: object })
        .dependencies,
    );
    const bad: string[] = [];
    for (const e of await readdir(join(pkg, 'dist'), { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || !e.name.endsWith('.d.ts')) continue;
      const text = await readFile(join(e.parentPath, e.name), 'utf8');
      for (const m of text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)) {
        const spec = m[1]!;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!spec.startsWith('.') && !spec.startsWith('node:') && !deps.includes(name))
          bad.push(`${e.name}: ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('a plain ESM consumer proves the image by digest and by Docker Content Trust', async () => {
    const { stdout } = await run(process.execPath, ['consumer.mjs'], {
      cwd: project,
      env: { ...process.env },
    });
    const out = parse(stdout);
    assert.equal(out.digest, expected);
    assert.match(out.pinned, new RegExp(`/demo/app@${expected}$`));
    assert.deepEqual(out.platforms, ['linux/amd64', 'linux/arm64']);
    assert.equal(out.dct.ok, true);
    assert.match(out.dct.pinned ?? '', new RegExp(`/demo/app@${expected}$`));
  });

  it('a strict NodeNext TypeScript consumer compiles against the declarations and runs', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    // the project has no @types/node of its own: lend it this repository's
    await run(
      process.execPath,
      [
        tsc,
        ...['--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'],
        // checking @types/node and zod's own declarations takes most of a minute; ours are checked below
        '--skipLibCheck',
        ...['--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node', 'consumer.ts'],
      ],
      { cwd: project },
    ).catch((e: { stdout?: string }) => assert.fail(`tsc failed:\n${e.stdout}`));
    const { stdout } = await run(process.execPath, ['consumer.js'], { cwd: project });
    const out = parse(stdout);
    assert.equal(out.digest, expected);
    assert.equal(out.dct.ok, true);
  });
});
