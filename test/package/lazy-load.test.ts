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

/** The built chunks, their text, and the chunks one reaches through static imports (itself included). */
function bundle() {
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
  return { files, text, reaches };
}

test('only cosign commands load the Sigstore libraries', {
  skip: existsSync(chunks) ? false : 'dist/chunks not built (npm run build)',
}, () => {
  const { files, text, reaches } = bundle();
  const sigstore = files.filter((f) => text.get(f)!.includes('toTrustMaterial'));
  assert.ok(sigstore.length > 0, 'the Sigstore verifier is in some chunk');
  const commands = files.filter((f) => !f.startsWith('chunk-'));
  const loading = commands.filter((c) => [...reaches(c)].some((f) => sigstore.includes(f)));
  assert.deepEqual(
    loading.map((f) => f.replace(/-[A-Z0-9]+\.mjs$/, '')).sort(),
    // `cosign` is not a command: it is the cosign face itself, which the policy evaluator imports with `import()`
    // only when a policy's cosign requirement runs (verify-policy does not reach it statically)
    ['cosign', 'sigstore', 'verify-cosign'],
    'commands whose static imports reach @sigstore/verify',
  );
  // pkijs (CMS, for RFC 3161 timestamps and CRLs) is loaded by `import()` only when a timestamp or CRL is checked:
  // no command's static imports reach it, not even verify-notation's
  const pkijs = files.filter((f) => text.get(f)!.includes('EncapsulatedContentInfo'));
  assert.ok(pkijs.length > 0, 'pkijs is in some chunk');
  // the entry answers --version and imports the program, which imports each command when it runs
  const entry = readFileSync(join(root, 'dist', 'trustpin.mjs'), 'utf8');
  const program = /import\("\.\/chunks\/(program-[\w]+\.mjs)"\)/.exec(entry)?.[1];
  assert.ok(program, 'the entry imports the program lazily');
  const named = [...text.get(program)!.matchAll(/import\("\.\/([\w.-]+\.mjs)"\)/g)].map((m) => m[1]!);
  assert.ok(
    named.some((f) => f.startsWith('verify-')),
    'the CLI entry imports its commands lazily',
  );
  const loadingPkijs = [...new Set(named)].filter((c) => [...reaches(c)].some((f) => pkijs.includes(f)));
  assert.deepEqual(loadingPkijs, [], 'commands whose static imports reach pkijs');
  // cbor2 (COSE) is Notation's: of the commands, only `signatures` (which opens Notation envelopes) loads it
  // statically; `verify` reaches it only through its lazily imported verify-notation
  const cbor = files.filter((f) => text.get(f)!.includes('rejectDuplicateKeys'));
  assert.ok(cbor.length > 0, 'cbor2 is in some chunk');
  const loadingCbor = [...new Set(named)].filter((c) => [...reaches(c)].some((f) => cbor.includes(f)));
  assert.deepEqual(
    loadingCbor.map((f) => f.replace(/-[A-Z0-9]+\.mjs$/, '')).sort(),
    ['signatures'],
    'commands whose static imports reach cbor2',
  );
});

test('the single calls people type load only what they use: no validation library, tar, YAML or HTML report', {
  skip: existsSync(chunks) ? false : 'dist/chunks not built (npm run build)',
}, () => {
  const { files, text, reaches } = bundle();
  // esbuild marks each bundled file with a `// path` comment
  const heavy = ['node_modules/zod/', 'node_modules/tar-stream/', 'node_modules/yaml/', 'src/report/html.ts'];
  for (const command of ['digest', 'inspect', 'tags', 'compare', 'trust']) {
    // the command's own chunk (`trust-<hash>`, not `trust-flags-<hash>`)
    const start = files.find((f) => new RegExp(`^${command}-[A-Z0-9]+\\.mjs$`).test(f));
    assert.ok(start, `a ${command} chunk`);
    const loaded = [...reaches(start)].map((f) => text.get(f)!).join('\n');
    const found = heavy.filter((h) => loaded.includes(`// ${h}`));
    assert.deepEqual(found, [], `what \`trustpin ${command}\` loads`);
  }
  // commander's executable subcommands (unused) would load node:child_process at every start-up
  const entry = readFileSync(join(root, 'dist', 'trustpin.mjs'), 'utf8');
  assert.ok(entry.length < 4096, `the entry is a few lines that answer --version (${entry.length} bytes)`);
  const program = files.find((f) => f.startsWith('program-'));
  assert.ok(program, 'a program chunk');
  assert.doesNotMatch(
    text.get(program)!,
    /^\s*var \w+ = (__)?require\("(node:)?child_process"\)/m,
    'the entry requires child_process at load',
  );
});
