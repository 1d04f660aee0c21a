// A trust archive is a file someone handed over: null, missing or mistyped members are a coded error, never a
// TypeError, and nothing from a malformed archive is used.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTrustArchive } from '../../../src/trust/index.js';

const F = 'trustpin-trust-archive/v1';

test('malformed trust archives are USAGE or SOURCE_INVALID, not a crash', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-archive-'));
  const cases: Record<string, [unknown, string]> = {
    'JSON null': [null, 'USAGE'],
    'a number': [42, 'USAGE'],
    'no format': [{ repositories: [] }, 'USAGE'],
    // found by the trust-archive long fuzz run: String() of an object whose toString is not a function threw
    'a format object with toString: 0': [{ format: { toString: 0 }, repositories: {} }, 'USAGE'],
    'null repository': [{ format: F, repositories: [null] }, 'SOURCE_INVALID'],
    'repository without gun': [{ format: F, repositories: [{ files: {} }] }, 'SOURCE_INVALID'],
    'null files': [{ format: F, repositories: [{ gun: 'a/b', files: null }] }, 'SOURCE_INVALID'],
    'files as a list': [{ format: F, repositories: [{ gun: 'a/b', files: ['x'] }] }, 'SOURCE_INVALID'],
    'a number as a file': [
      { format: F, repositories: [{ gun: 'a/b', files: { 'root.json': 7 } }] },
      'SOURCE_INVALID',
    ],
  };
  for (const [name, [doc, code]] of Object.entries(cases)) {
    const p = join(dir, `${name.replace(/ /g, '-')}.json`);
    await writeFile(p, JSON.stringify(doc));
    assert.throws(
      () => openTrustArchive(p, 'a/b'),
      (e: { code?: string }) => e.code === code,
      name,
    );
  }
  // and a well-formed one still opens
  const ok = join(dir, 'ok.json');
  await writeFile(
    ok,
    JSON.stringify({
      format: F,
      server: 's',
      createdAt: 'c',
      repositories: [{ gun: 'a/b', files: { 'root.json': 'e30=' } }],
    }),
  );
  assert.equal((await openTrustArchive(ok, 'a/b').fetch('a/b', 'root.json', 100))?.toString(), '{}');
});
