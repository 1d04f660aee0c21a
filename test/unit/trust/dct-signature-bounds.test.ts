// Signatures and role keys are bounded before they are checked: one valid timestamp signature repeated 2,000
// times verified 2,000 times (a third of a second of CPU per update, and a hostile notary server holds the timestamp key),
// and a role may list at most MAX_ROLE_KEYS keys (issue 11).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Publisher } from '../../../src/testing/publisher.js';
import {
  MAX_DELEGATION_PATHS,
  MAX_DELEGATIONS,
  MAX_ROLE_KEYS,
  MAX_SIGNATURES,
  parseEnvelope,
} from '../../../src/trust/dct/metadata.js';
import { FileSet } from '../../../src/trust/dct/source.js';
import { updateTrust } from '../../../src/trust/dct/updater.js';

const GUN = 'registry.example/org/app';
const NOW = Date.UTC(2026, 0, 1);

function published(): Map<string, Buffer> {
  const pub = new Publisher(GUN, { now: NOW });
  pub.addTarget('targets', '1.0', { digest: 'a'.repeat(64), length: 1 });
  return new Map([...pub.publish()].filter(([k]) => !/\.[0-9a-f]{64,128}\.json$/.test(k)));
}

test(`a document with more than MAX_SIGNATURES (${MAX_SIGNATURES}) signatures is refused before any is verified`, async () => {
  const files = published();
  const ts = JSON.parse(files.get('timestamp.json')!.toString()) as { signatures: unknown[] };
  ts.signatures = Array.from({ length: 2000 }, () => ts.signatures[0]);
  files.set('timestamp.json', Buffer.from(JSON.stringify(ts)));
  const t = performance.now();
  await assert.rejects(
    updateTrust({
      gun: GUN,
      source: new FileSet('x', new Map([[GUN, files]])),
      cached: undefined,
      now: NOW + 3_600_000,
    }),
    { code: 'TUF_METADATA_INVALID', message: /2000 signatures, more than 256/ },
  );
  assert.ok(performance.now() - t < 1000, `${(performance.now() - t).toFixed(0)} ms`);
});

test('the same signature a few times still verifies, once', async () => {
  const files = published();
  const ts = JSON.parse(files.get('timestamp.json')!.toString()) as { signatures: unknown[] };
  ts.signatures = Array.from({ length: 5 }, () => ts.signatures[0]);
  files.set('timestamp.json', Buffer.from(JSON.stringify(ts)));
  const repo = await updateTrust({
    gun: GUN,
    source: new FileSet('x', new Map([[GUN, files]])),
    cached: undefined,
    now: NOW + 3_600_000,
  });
  assert.ok(repo);
});

test(`a role listing more than MAX_ROLE_KEYS (${MAX_ROLE_KEYS}) keys is TUF_METADATA_INVALID`, () => {
  const root = JSON.parse(published().get('root.json')!.toString()) as {
    signed: { keys: Record<string, unknown>; roles: { root: { keyids: string[] } } };
  };
  const k0 = root.signed.roles.root.keyids[0]!;
  for (let i = 0; i < MAX_ROLE_KEYS + 1; i++) {
    const id = i.toString(16).padStart(64, '0');
    root.signed.keys[id] = root.signed.keys[k0];
    root.signed.roles.root.keyids.push(id);
  }
  assert.throws(() => parseEnvelope('root', Buffer.from(JSON.stringify(root))), {
    code: 'TUF_METADATA_INVALID',
    message: /more than 256/,
  });
});

test(`delegations are bounded: more than MAX_DELEGATIONS (${MAX_DELEGATIONS}) roles or MAX_DELEGATION_PATHS paths in a role is TUF_METADATA_INVALID`, () => {
  const doc = (roles: unknown[]) =>
    Buffer.from(
      JSON.stringify({
        signed: {
          _type: 'Targets',
          version: 1,
          expires: '2030-01-01T00:00:00Z',
          targets: {},
          delegations: { keys: {}, roles },
        },
        signatures: [],
      }),
    );
  const role = (name: string, paths: string[]) => ({ name, keyids: [], threshold: 1, paths });
  // within the bounds: parsed (signatures are checked later)
  assert.ok(parseEnvelope('targets', doc([role('targets/releases', ['a', 'b'])])));
  const many = Array.from({ length: MAX_DELEGATIONS + 1 }, (_, i) => role(`targets/r${i}`, ['']));
  assert.throws(() => parseEnvelope('targets', doc(many)), {
    code: 'TUF_METADATA_INVALID',
    message: /1025 delegation roles, more than 1024/,
  });
  const paths = Array.from({ length: MAX_DELEGATION_PATHS + 1 }, (_, i) => `p${i}/`);
  assert.throws(() => parseEnvelope('targets', doc([role('targets/releases', paths)])), {
    code: 'TUF_METADATA_INVALID',
    message: /lists 1025 paths, more than 1024/,
  });
});
