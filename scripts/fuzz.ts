// `npm run fuzz -- TARGET|all [--seconds N] [--runs N] [--seed S] [--replay FILE]` (see test/fuzz/README.md).
import { fileURLToPath } from 'node:url';
import { child, main } from '../test/fuzz/runner.js';

const argv = process.argv.slice(2);
process.exitCode = argv.includes('--child')
  ? await child(argv.filter((a) => a !== '--child'))
  : await main(argv, fileURLToPath(import.meta.url));
