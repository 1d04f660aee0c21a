// `docker trust inspect --pretty` formatting against docker/cli's own golden files, and natural tag order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { naturalLess, prettyTrustInfo, type TrustInfo } from '../../../src/trust/dct/inspect.js';
import { skipNoVectors, vector } from '../../vectors.js';

const GOLDEN = 'docker-cli/cmd/docker-trust/trust/testdata/';

const info = (name: string, tags: TrustInfo['SignedTags'], signers: TrustInfo['Signers']): TrustInfo => ({
  Name: name,
  SignedTags: tags,
  Signers: signers,
  AdministrativeKeys: [
    { Name: 'Root', Keys: [{ ID: 'rootID' }] },
    { Name: 'Repository', Keys: [{ ID: 'targetsID' }] },
  ],
});

test('pretty output is byte-identical to docker/cli goldens', { skip: skipNoVectors }, () => {
  const full = JSON.parse(
    vector(`${GOLDEN}trust-inspect-full-repo-with-signers.golden`).toString(),
  )[0] as TrustInfo;
  assert.equal(
    prettyTrustInfo(full),
    vector(`${GOLDEN}trust-inspect-pretty-full-repo-with-signers.golden`).toString(),
  );
  const unsigned = info('signed-repo:unsigned', [], full.Signers);
  assert.equal(
    prettyTrustInfo(unsigned),
    vector(`${GOLDEN}trust-inspect-pretty-unsigned-tag-with-signers.golden`).toString(),
  );
  const one = info(
    'signed-repo:green',
    [{ SignedTag: 'green', Digest: '677265656e2d646967657374', Signers: ['Repo Admin'] }],
    [],
  );
  assert.equal(
    prettyTrustInfo(one),
    vector(`${GOLDEN}trust-inspect-pretty-one-tag-no-signers.golden`).toString(),
  );
});

test('tags sort naturally, as docker sorts them', () => {
  const tags = ['1.10', '1.2', 'latest', '1.9-alpine', '1.9', 'v2', 'v10'];
  const sorted = [...tags].sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0));
  assert.deepEqual(sorted, ['1.2', '1.9', '1.9-alpine', '1.10', 'latest', 'v2', 'v10']);
});
