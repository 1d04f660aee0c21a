// The import rule: a folder of src/ is used by other folders only through its face, `src/<folder>/index.ts`, or
// through the face of one of its subfolders, `src/<folder>/<sub>/index.ts` (so a command can load one signature
// system — `trust/cosign` — without the others). Inside a folder (subfolders included) imports are free.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

/**
 * Imports that may bypass a face, `importer → target` (paths under src/), each with the reason. A barrel that
 * would create an import cycle that breaks at load time is the only accepted reason.
 */
const ALLOWED = new Map<string, string>([]);

/** The top-level folder a file of src/ belongs to ('' for src/index.ts). */
function folderOf(file: string): string {
  const rel = relative(src, file).split('/');
  return rel.length > 1 ? rel[0]! : '';
}

/** Relative module specifiers of `import … from`, `export … from`, `import '…'` and `import('…')`. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const re =
    /(?:^\s*(?:import|export)\b[^;]*?\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;
  for (const m of text.matchAll(re)) out.push(m[2]!);
  return out;
}

/** `importer → target` for every import of src/ that reaches into another folder past its face. */
function violations(files: { path: string; text: string }[]): string[] {
  const bad: string[] = [];
  for (const { path, text } of files) {
    const from = folderOf(path);
    for (const spec of specifiers(text)) {
      const target = resolve(dirname(path), spec).replace(/\.js$/, '.ts');
      if (!target.startsWith(`${src}/`)) continue;
      const to = folderOf(target);
      if (to === from || to === '') continue;
      if (target === join(src, to, 'index.ts')) continue;
      if (dirname(dirname(target)) === join(src, to) && target.endsWith('/index.ts')) continue;
      const edge = `${relative(src, path)} → ${relative(src, target)}`;
      if (!ALLOWED.has(edge)) bad.push(edge);
    }
  }
  return bad;
}

function sources(dir: string): { path: string; text: string }[] {
  return (
    readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => join(e.parentPath, e.name))
      // comments may quote imports (`import … from 'trustpin'`); only code counts
      .map((path) => ({
        path,
        text: readFileSync(path, 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/^\s*\/\/.*$/gm, ''),
      }))
  );
}

test('the rule catches an import past a face, and allows faces and same-folder imports', () => {
  const f = (name: string, text: string) => ({ path: join(src, name), text });
  assert.deepEqual(
    violations([
      f(
        'pull/pull.ts',
        "import { a } from '../registry/client.js';\nimport { b } from '../registry/index.js';",
      ),
      f('trust/dct/x.ts', "import { c } from '../verdict.js';\nexport { d } from '../../layer/tar.js';"),
      f('cli/main.ts', "const m = await import('../source/open.js');\nimport './run.js';"),
      f('index.ts', "export * from './errors/index.js';"),
      f(
        'cli/verify.ts',
        "import { a } from '../trust/cosign/index.js';\nimport { b } from '../trust/cosign/check.js';",
      ),
    ]),
    [
      'pull/pull.ts → registry/client.ts',
      'trust/dct/x.ts → layer/tar.ts',
      'cli/main.ts → source/open.ts',
      'cli/verify.ts → trust/cosign/check.ts',
    ],
  );
});

test('folders of src/ import each other only through their index.ts', () => {
  const bad = violations(sources(src));
  assert.deepEqual(
    bad,
    [],
    `imports past a folder's face (use ../<folder>/index.js):\n  ${bad.join('\n  ')}`,
  );
});

test('every folder of src/ has a face (cli is the program, imported by no one)', () => {
  const folders = readdirSync(src, { withFileTypes: true }).filter(
    (e) => e.isDirectory() && e.name !== 'cli',
  );
  assert.deepEqual(
    folders.filter((e) => !existsSync(join(src, e.name, 'index.ts'))).map((e) => e.name),
    [],
  );
});

test('src/ imports only node built-ins and runtime dependencies; src/testing no test runner', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: object };
  const deps = Object.keys(pkg.dependencies);
  const bad: string[] = [];
  for (const { path, text } of sources(src)) {
    for (const m of text.matchAll(
      /(?:^\s*(?:import|export)\b[^;]*?\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'".][^'"]*)\1/gm,
    )) {
      const spec = m[2]!;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      const runner = /^node:(test|assert)/.test(spec) && path.startsWith(join(src, 'testing'));
      if (runner || (!spec.startsWith('node:') && !deps.includes(name)))
        bad.push(`${relative(src, path)}: ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('every allow-listed exception still exists (a fixed one leaves the list)', () => {
  const all = new Set<string>();
  for (const { path, text } of sources(src)) {
    for (const spec of specifiers(text)) {
      all.add(
        `${relative(src, path)} → ${relative(src, resolve(dirname(path), spec).replace(/\.js$/, '.ts'))}`,
      );
    }
  }
  assert.deepEqual(
    [...ALLOWED.keys()].filter((e) => !all.has(e)),
    [],
  );
});
