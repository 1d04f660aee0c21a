// Every bound the package exports is documented in the README's Limits table, so a bound added later (by a new
// parser) cannot be left out of what users read (issue 11: each bound a named option with a documented default).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as api from '../../src/index.js';

const BOUND = /^(MAX_[A-Z0-9_]+|DEFAULT_[A-Z0-9_]*(LIMITS|CAP))$/;

test('every exported bound appears in the README Limits section, with its default', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## Limits');
  assert.ok(start >= 0, 'README has a Limits section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const bounds = Object.keys(api).filter((k) => BOUND.test(k));
  assert.ok(bounds.length >= 10, `found ${bounds.join(', ')}`);
  const missing = bounds.filter((k) => !section.includes(`\`${k}\``));
  assert.deepEqual(missing, [], 'bounds the README does not name');
});
