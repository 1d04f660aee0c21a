// A report larger than a pipe holds (64 KiB) reaches a reader in whole: the CLI ends with process.exit, and
// exiting with output still queued cut `verify --policy --format json … | jq` off mid-document (found by the
// policy bench: 50 verdicts, 219 KB of JSON, parsed "Unterminated string").
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { trustpin } from './run.js';

const loaderMissing = existsSync(join(import.meta.dirname, '..', '..', 'src', 'policy', 'load.ts'))
  ? false
  : 'src/policy/load.ts (loadPolicy) not there yet';

test('verify --policy --format json with 1500 verdicts (over 1 MB) arrives whole through a pipe, exit 1', {
  skip: loaderMissing,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-stdout-pipe-'));
  try {
    const policy = join(dir, 'policy.yaml');
    // digest: require fails every tag reference NOT_PINNED before any network access
    await writeFile(
      policy,
      `apiVersion: trustpin.dev/v1alpha1
kind: TrustPolicy
defaults: { noMatch: deny, digest: require }
rules:
  - name: pinned
    scope: "**"
    require: [ { digestPinned: true } ]
`,
    );
    const refs = Array.from({ length: 1500 }, (_, i) => `127.0.0.1:1/x/app:v${i}`);
    const r = await trustpin(['verify', '--policy', policy, '--format', 'json', ...refs], {
      env: { TRUSTPIN_HOME: join(dir, 'home') },
    });
    assert.ok(r.raw.length > 1 << 20, `only ${r.raw.length} bytes arrived`);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      verdicts: { outcome: string; problems: { code: string }[] }[];
    };
    assert.equal(r.code, 1);
    assert.equal(report.ok, false);
    assert.equal(report.verdicts.length, 1500);
    assert.ok(report.verdicts.every((v) => v.outcome === 'fail' && v.problems[0]?.code === 'NOT_PINNED'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
