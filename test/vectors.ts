// Access to the shared external test vectors (../shared/vectors beside the project). A fresh clone of the
// project has none: tests that need them skip with a message that says so.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const VECTORS = process.env.TRUSTPIN_VECTORS ?? resolve(here, '..', '..', 'shared', 'vectors');
export const haveVectors = existsSync(join(VECTORS, 'expectations.json'));
export const skipNoVectors = haveVectors
  ? false
  : `test vectors not found at ${VECTORS} (set TRUSTPIN_VECTORS)`;

export function vector(path: string): Buffer {
  return readFileSync(join(VECTORS, path));
}
export function vectorPath(path: string): string {
  return join(VECTORS, path);
}
