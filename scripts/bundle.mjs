// Bundle the CLI: the entry (dist/trustpin.mjs, the package's `bin`) holds commander and the command specs; each
// command's action and library code are split into dist/chunks/ and loaded by `await import()` only when that
// command runs, so `--help`, `--version` and a small command do not parse the whole library.
// (The library in dist/ stays unbundled, with types, from tsc.)
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { directImports } from './direct-imports.mjs';

/**
 * commander requires node:child_process at load for executable subcommands, which trustpin does not have: that
 * one require (with node:net under it) was ~5 ms of every start-up. Commander gets a stand-in that loads the real
 * module on first use.
 */
const lazyChildProcess = {
  name: 'trustpin-lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
        ? { path: 'lazy-child-process', namespace: 'trustpin-lazy' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'trustpin-lazy' }, () => ({
      contents:
        "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
      loader: 'js',
    }));
  },
};

await rm('dist/chunks', { recursive: true, force: true });
await build({
  entryPoints: { trustpin: 'src/cli/main.ts' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  banner: {
    js: "import { createRequire as __trustpinRequire } from 'node:module';\nconst require = __trustpinRequire(import.meta.url);",
  },
  logLevel: 'warning',
  legalComments: 'none',
  // a command's chunks hold what it uses, not every file its imports' faces re-export
  plugins: [
    directImports({ srcDir: resolve('src'), tsconfig: resolve('tsconfig.build.json') }),
    lazyChildProcess,
  ],
});
