// `trustpin pin` without a registry: usage errors exit 2 with a named code and nothing written; `--check` on
// unpinned and unpinnable references exits 1 offline, each finding at file:line:column; `--check DIR` takes DIR as
// a path (commander's optional value); a file that is not UTF-8 is reported, untouched, exit 2.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { trustpin } from './run.js';

const D = `sha256:${'e'.repeat(64)}`;

function project(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tp-pin-cli-'));
  for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, f), t);
  return dir;
}

test('pin: usage errors exit 2 with their code and write nothing', async () => {
  const dir = project({ Dockerfile: 'FROM alpine:3.20\n' });
  for (const [args, what] of [
    [['--check', '--update', dir], '--check writes nothing'],
    [['--build-arg', 'NOVALUE', dir], 'has no value'],
    [['--format', 'html', dir], 'is not a pin report format'],
    [['--concurrency', '0', dir], '--concurrency'],
    [[join(dir, 'nope.txt')], 'cannot read'],
  ] as const) {
    const r = await trustpin(['pin', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /error\[(USAGE|NOT_FOUND)\]/);
    assert.ok(r.stderr.includes(what), r.stderr);
  }
  writeFileSync(join(dir, 'notes.txt'), 'FROM alpine\n');
  const unknown = await trustpin(['pin', join(dir, 'notes.txt')]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /error\[USAGE\].*not a file pin understands/);
  assert.equal(readFileSync(join(dir, 'Dockerfile'), 'utf8'), 'FROM alpine:3.20\n');
});

test('pin --check DIR, offline: unpinned and unpinnable references exit 1 at file:line:column; pinned ones pass', async () => {
  const dir = project({
    Dockerfile: `ARG V\nFROM alpine:\${V}\nFROM alpine:3.20@${D}\nFROM debian:12\n`,
    'compose.yaml': 'services:\n  a:\n    image: "redis:7"\n',
  });
  const r = await trustpin(['pin', '--check', dir]);
  assert.equal(r.code, 1, r.stderr + r.stdout);
  assert.match(r.stdout, new RegExp(`${dir}/Dockerfile:2:6 FROM: not pinnable error\\[NOT_PINNED\\] .*\\$V`));
  assert.match(r.stdout, new RegExp(`${dir}/Dockerfile:4:6 FROM: unpinned error\\[NOT_PINNED\\] debian:12`));
  assert.match(r.stdout, new RegExp(`${dir}/compose.yaml:3:13 services.a.image: unpinned`));
  assert.match(r.stdout, /4 references in 2 files: 1 current, 2 unpinned, 1 not pinnable/);
  const json = await trustpin(['pin', '--check', '--json', dir]);
  const report = JSON.parse(json.stdout) as { ok: boolean; counts: Record<string, number> };
  assert.equal(report.ok, false);
  assert.equal(report.counts.current, 1);
  const pinned = project({ Dockerfile: `FROM alpine:3.20@${D}\nFROM scratch\n` });
  const ok = await trustpin(['pin', '--check', pinned]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
});

test('pin: a file that is not UTF-8 is reported PIN_FILE_INVALID and left byte for byte; exit 2', async () => {
  const bytes = Buffer.concat([
    Buffer.from('services:\n  a:\n    image: redis:7 # caf'),
    Buffer.from([0xe9, 0x0a]),
  ]);
  const dir = project({ 'compose.yaml': bytes });
  const r = await trustpin(['pin', '--check', dir]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /compose\.yaml: error\[PIN_FILE_INVALID\] .* is not valid UTF-8 \(file untouched\)/);
  assert.deepEqual(readFileSync(join(dir, 'compose.yaml')), bytes);
});
