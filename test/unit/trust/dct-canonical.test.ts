// Signatures cover the `signed` object exactly as received: a field trustpin does not model, or one it
// normalises, must verify as notary verifies it (canonical JSON of what came over the wire).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ecdsaKey, serialize, signEnvelope } from '../../../src/testing/index.js';
import { canonicalJson } from '../../../src/trust/dct/canonical.js';
import { parseEnvelope, verifyThreshold } from '../../../src/trust/dct/metadata.js';

const role = (k: ReturnType<typeof ecdsaKey>) => ({ keyids: [k.id], threshold: 1 });

test('targets with fields trustpin does not model verify over the canonical form as received', () => {
  const k = ecdsaKey();
  const delegate = ecdsaKey();
  const signed = {
    _type: 'Targets',
    version: 1,
    expires: '2030-01-01T00:00:00Z',
    // a target with an extra member and a delegation role with members notary knows and trustpin drops
    targets: { latest: { hashes: { sha256: 'q'.repeat(43) + '=' }, length: 12, 'x-extra': 'kept' } },
    delegations: {
      keys: {
        [delegate.id]: { keytype: 'ECDSA', keyval: { private: null, public: delegate.tuf.keyval.public } },
      },
      roles: [
        {
          name: 'targets/releases',
          keyids: [delegate.id],
          threshold: 1,
          paths: [''],
          path_hash_prefixes: [],
        },
      ],
    },
    future_field: { nested: [1, 2, 3] },
  };
  const doc = parseEnvelope('targets', serialize(signEnvelope(signed, [k])));
  assert.doesNotThrow(() => verifyThreshold(doc, { [k.id]: k.tuf as never }, role(k)));
  // and the check is real: the same bytes with one unmodelled field changed do not verify
  const tampered = JSON.parse(serialize(signEnvelope(signed, [k])).toString());
  tampered.signed.future_field.nested[0] = 9;
  const bad = parseEnvelope('targets', Buffer.from(JSON.stringify(tampered)));
  assert.throws(
    () => verifyThreshold(bad, { [k.id]: k.tuf as never }, role(k)),
    (e: { code?: string }) => e.code === 'TUF_SIGNATURE_INVALID',
  );
});

test('targets without a delegations member verify (no member is invented before the signature check)', () => {
  const k = ecdsaKey();
  const signed = { _type: 'Targets', version: 1, expires: '2030-01-01T00:00:00Z', targets: {} };
  const doc = parseEnvelope('targets', serialize(signEnvelope(signed, [k])));
  assert.doesNotThrow(() => verifyThreshold(doc, { [k.id]: k.tuf as never }, role(k)));
});

test('a leading byte-order mark, a key ID listed twice and a delegation listed twice are refused before any signature check', () => {
  const k = ecdsaKey();
  const base = { _type: 'Targets', version: 1, expires: '2030-01-01T00:00:00Z', targets: {} };
  const bytes = serialize(signEnvelope(base, [k]));
  const code = (f: () => unknown) => {
    try {
      f();
      return 'accepted';
    } catch (e) {
      return (e as { code?: string }).code;
    }
  };
  assert.equal(
    code(() => parseEnvelope('targets', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]))),
    'TUF_METADATA_INVALID',
  );
  const twice = {
    ...base,
    delegations: {
      keys: { [k.id]: k.tuf },
      roles: [{ name: 'targets/a', keyids: [k.id, k.id], threshold: 1, paths: [''] }],
    },
  };
  assert.equal(
    code(() => parseEnvelope('targets', serialize(signEnvelope(twice, [k])))),
    'TUF_METADATA_INVALID',
  );
  const role = { name: 'targets/a', keyids: [k.id], threshold: 1, paths: [''] };
  const dup = { ...base, delegations: { keys: { [k.id]: k.tuf }, roles: [role, role] } };
  assert.equal(
    code(() => parseEnvelope('targets', serialize(signEnvelope(dup, [k])))),
    'TUF_METADATA_INVALID',
  );
});

test('canonical JSON sorts keys without converting them to UTF-8 per comparison (a 1 MiB root of 100k keys took seconds)', () => {
  const obj: Record<string, number> = {};
  for (let i = 0; i < 10_000; i++) obj[((i * 7919) % 10_000).toString(36)] = i;
  const from = Buffer.from;
  let calls = 0;
  Buffer.from = ((...a: Parameters<typeof from>) => {
    calls++;
    return from(...a);
  }) as typeof from;
  try {
    canonicalJson(obj);
  } finally {
    Buffer.from = from;
  }
  assert.ok(calls < 100, `${calls} UTF-8 conversions for 10,000 keys`);
});

test('canonical key order is bytewise UTF-8 order, surrogate pairs and lone surrogates included', () => {
  const unit = fc.oneof(
    fc.integer({ min: 0x20, max: 0x7f }),
    fc.integer({ min: 0xd7f0, max: 0xe010 }),
    fc.integer({ min: 0xfff0, max: 0xffff }),
  );
  const key = fc.array(unit, { maxLength: 4 }).map((u) => String.fromCharCode(...u));
  fc.assert(
    fc.property(fc.uniqueArray(key, { maxLength: 12 }), (keys) => {
      const obj = Object.fromEntries(keys.map((k, i) => [k, i]));
      const got = canonicalJson(obj).toString('utf8');
      const want = [...keys]
        .sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
        .map((k) => `"${k.replace(/[\\"]/g, (c) => `\\${c}`)}":${obj[k]}`)
        .join(',');
      assert.equal(got, Buffer.from(`{${want}}`, 'utf8').toString('utf8'));
    }),
    { seed: 20261202, numRuns: 2000 },
  );
});
