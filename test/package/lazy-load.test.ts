// Commands load lazily: the built CLI's command chunks must not reach the Sigstore stack (≈ 200 ms of module
// loading) unless they are cosign commands, nor Notation's X.509/CMS/CBOR stack (pkijs, cbor2) unless they read
// Notation signatures. Reads the static import graph of dist/chunks (built by `npm ci`).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const chunks = join(root, 'dist', 'chunks');

test('only cosign commands load the Sigstore libraries', {
  skip: existsSync(chunks) ? false : 'dist/chunks not built (npm run build)',
}, () => {
  const files = readdirSync(chunks).filter((f) => f.endsWith('.mjs'));
  const text = new Map(files.map((f) => [f, readFileSync(join(chunks, f), 'utf8')]));
  const imports = (f: string) =>
    [...(text.get(f) ?? '').matchAll(/from\s*"\.\/([\w.-]+\.mjs)"|import\s*"\.\/([\w.-]+\.mjs)"/g)].map(
      (m) => (m[1] ?? m[2])!,
    );
  const reaches = (start: string): Set<string> => {
    const seen = new Set<string>([start]);
    const todo = [start];
    while (todo.length) {
      for (const n of imports(todo.pop()!)) {
        if (seen.has(n)) continue;
        seen.add(n);
        todo.push(n);
      }
    }
    return seen;
  };
  const sigstore = files.filter((f) => text.get(f)!.includes('toTrustMaterial'));
  assert.ok(sigstore.length > 0, 'the Sigstore verifier is in some chunk');
  const commands = files.filter((f) => !f.startsWith('chunk-'));
  const loading = commands.filter((c) => [...reaches(c)].some((f) => sigstore.includes(f)));
  assert.deepEqual(
    loading.map((f) => f.replace(/-[A-Z0-9]+\.mjs$/, '')).sort(),
    ['sigstore', 'verify-cosign'],
    'commands whose static imports reach @sigstore/verify',
  );
  // pkijs (SignedData for RFC 3161) and cbor2 (COSE) are Notation's; `signatures` opens Notation envelopes
  const notation = files.filter((f) => text.get(f)!.includes('EncapsulatedContentInfo'));
  assert.ok(notation.length > 0, 'pkijs is in some chunk');
  const loadingNotation = commands.filter((c) => [...reaches(c)].some((f) => notation.includes(f)));
  assert.deepEqual(
    loadingNotation.map((f) => f.replace(/-[A-Z0-9]+\.mjs$/, '')).sort(),
    ['signatures', 'verify-notation'],
    'commands whose static imports reach pkijs',
  );
});
