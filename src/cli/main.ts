#!/usr/bin/env node
// The trustpin command line. `--version` alone is answered here, before commander and the command specs load (it
// is what scripts call to probe the tool, and it needs neither); everything else is the program (program.ts).
import { VERSION } from './version.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) process.stdout.write(`${VERSION}\n`);
else await import('./program.js');
