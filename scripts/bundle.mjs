// Bundle the CLI: the entry (dist/trustpin.mjs, the package's `bin`) holds commander and the command specs; each
// command's action and library code are split into dist/chunks/ and loaded by `await import()` only when that
// command runs, so `--help`, `--version` and a small command do not parse the whole library.
// (The library in dist/ stays unbundled, with types, from tsc.)
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

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
});
