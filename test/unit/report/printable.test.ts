// Text from images, signatures and registries cannot drive the terminal: a hostile certificate SAN or attestation
// field with escape sequences is printed as visible `\u{…}` escapes in the chain of trust.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeStyle, printable, renderChain } from '../../../src/report/index.js';

test('control characters and bidi overrides are shown, not sent', () => {
  assert.equal(printable('plain text, tabs\tand ünïcode'), 'plain text, tabs\tand ünïcode');
  assert.equal(printable('a\x1b[2Jb'), 'a\\u{1b}[2Jb');
  assert.equal(printable('line\nbreak\r'), 'line\\u{a}break\\u{d}');
  assert.equal(printable('\u202eevil'), '\\u{202e}evil');
  assert.equal(printable('\x9b31m'), '\\u{9b}31m');
});

test('the chain of trust escapes what a signer wrote into its certificate', () => {
  const text = renderChain(
    {
      nodes: [
        {
          id: 'c',
          kind: 'certificate',
          label: 'certificate for \x1b]0;pwned\x07me',
          detail: 'ok\x1b[1A',
          ok: true,
        },
      ],
      edges: [],
    },
    makeStyle(false),
  );
  assert.ok(!text.includes('\x1b'), JSON.stringify(text));
  assert.match(text, /certificate for \\u\{1b\}\]0;pwned\\u\{7\}me/);
});

test('diff prints hostile file names, config values and history as visible escapes', async () => {
  const { renderDiff } = await import('../../../src/diff/index.js');
  const evil = 'etc/\x1b]0;owned\x07\x1b[2Jpasswd';
  const d = {
    equal: false,
    mode: 'strict',
    summary: 'differs',
    a: { reference: 'a', digest: 'sha256:a' },
    b: { reference: 'b', digest: 'sha256:b' },
    warnings: [],
    files: {
      changed: [],
      added: [evil],
      removed: [evil],
      layers: [evil],
      counts: { changed: 0, added: 1, removed: 1 },
      ignored: {},
    },
    config: [{ field: 'Env', class: 'behaviour', a: null, b: [evil] }],
    history: { equal: false, forged: false, finding: { message: 'history differs' }, a: [evil], b: [] },
  };
  const text = renderDiff(d as never, makeStyle(false));
  assert.ok(!text.includes('\x1b') && !text.includes('\x07'), JSON.stringify(text));
  assert.match(text, /\+ etc\/\\u\{1b\}\]0;owned/);
});
