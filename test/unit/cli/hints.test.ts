// Library errors name library options; the CLI shows the flag a user types instead.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asTrustpinError } from '../../../src/cli/common.js';
import { TrustpinError } from '../../../src/errors/index.js';

test('a library hint names the option; the CLI translates it to the flag', () => {
  const lib = new TrustpinError('PLATFORM_NOT_FOUND', 'no linux/s390x image', {
    expected: 'a platform (option platform)',
    hint: 'choose one with option platform (linux/amd64), or raise option timeoutMs; pin with trust pin',
  });
  const cli = asTrustpinError(lib);
  assert.equal(cli.code, 'PLATFORM_NOT_FOUND');
  assert.equal(cli.expected, 'a platform (--platform)');
  assert.equal(
    cli.hint,
    'choose one with --platform (linux/amd64), or raise --timeout; pin with `trustpin trust pin`',
  );
  assert.equal(cli.isVerificationFailure, lib.isVerificationFailure);
  // an option the CLI has no flag for stays as the library named it
  assert.equal(
    asTrustpinError(new TrustpinError('USAGE', 'x', { hint: 'set option fooBar' })).hint,
    'set option fooBar',
  );
});
