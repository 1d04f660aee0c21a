// Concurrent DCT checks of one repository seen for the first time (a policy batch with several images of one
// unsigned repository): the first lock holder prunes the directory it made and left empty, and the others, waiting
// for the lock, must make it again rather than fail with a raw ENOENT.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TrustStore } from '../../../src/trust/dct/store.js';

test('eight concurrent lock holders of a new repository all run, one at a time', async () => {
  const home = await mkdtemp(join(tmpdir(), 'tp-lock-race-'));
  try {
    const store = new TrustStore(home);
    let inside = 0;
    let most = 0;
    let ran = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        store.withLock('127.0.0.1:5000/bench/unsigned', async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
          ran++;
        }),
      ),
    );
    assert.equal(ran, 8);
    assert.equal(most, 1, 'the lock was held by two at once');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
