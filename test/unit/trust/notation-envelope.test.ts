// Regression tests for what the notation-jws / notation-cose fuzz targets found: signed times are read as Go's
// time.Parse(RFC3339) and notation-core-go read them (no rolled-over dates, tag-1 epoch only in COSE), and a
// verification-plugin header is refused whatever its value. Each envelope here is correctly signed: only the
// header breaks the rule, so only the rule can refuse it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode, Tag } from 'cbor2';
import { sortCoreDeterministic } from 'cbor2/sorts';
import { openEnvelope } from '../../../src/trust/notation/envelope.js';
import {
  hashOfKey,
  jwsAlgOf,
  keyTypeOf,
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  NOTATION_PAYLOAD_MEDIA_TYPE,
  notationPayload,
  notationPki,
  notationSignBytes,
} from '../../harness/notation.js';

const pki = notationPki({ rootKey: 'ec-p256', intermediate: false, leafKey: 'ec-p256' });
const key = pki.leaf.key;
const hash = hashOfKey(keyTypeOf(key));
const payload = notationPayload({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'ab'.repeat(32)}`,
  size: 100,
});

/** A JWS signed over a protected header with these extra fields. */
function jws(fields: Record<string, unknown>): Buffer {
  const p = Buffer.from(
    JSON.stringify({
      alg: jwsAlgOf(key),
      crit: ['io.cncf.notary.signingScheme'],
      cty: NOTATION_PAYLOAD_MEDIA_TYPE,
      'io.cncf.notary.signingScheme': 'notary.x509',
      ...fields,
    }),
  ).toString('base64url');
  const body = payload.toString('base64url');
  const sig = notationSignBytes(key, hash, Buffer.from(`${p}.${body}`));
  return Buffer.from(
    JSON.stringify({
      payload: body,
      protected: p,
      header: { x5c: pki.chain.map((c) => c.toString('base64')) },
      signature: sig.toString('base64url'),
    }),
  );
}

const cbor = (v: unknown) => new Uint8Array(encode(v, { sortKeys: sortCoreDeterministic }));

/** A COSE_Sign1 signed over a protected header with these extra labels. */
function cose(fields: [string, unknown][], crit: string[] = ['io.cncf.notary.signingScheme']): Buffer {
  const ph = new Map<unknown, unknown>([
    [1, -7],
    [2, crit],
    [3, NOTATION_PAYLOAD_MEDIA_TYPE],
    ['io.cncf.notary.signingScheme', 'notary.x509'],
    ...fields,
  ]);
  const protectedBytes = cbor(ph);
  const toSign = cbor(['Signature1', protectedBytes, new Uint8Array(0), new Uint8Array(payload)]);
  const sig = notationSignBytes(key, hash, Buffer.from(toSign));
  const unprotected = new Map<unknown, unknown>([[33, pki.chain.map((c) => new Uint8Array(c))]]);
  return Buffer.from(
    cbor(new Tag(18, [protectedBytes, unprotected, new Uint8Array(payload), new Uint8Array(sig)])),
  );
}

const refused = (f: () => unknown, re: RegExp) =>
  assert.throws(f, (e: { code?: string; message?: string }) => {
    assert.equal(e.code, 'ENVELOPE_INVALID', e.message);
    assert.match(e.message!, re);
    return true;
  });

describe('notation envelopes: signed times and plugins (fuzz regressions)', () => {
  test('a valid JWS and COSE open (the baseline)', () => {
    const j = openEnvelope(
      jws({ 'io.cncf.notary.signingTime': '2026-02-28T23:59:59Z' }),
      NOTATION_JWS_MEDIA_TYPE,
    );
    assert.equal(j.signingTime?.toISOString(), '2026-02-28T23:59:59.000Z');
    const c = openEnvelope(
      cose([['io.cncf.notary.signingTime', new Tag(1, 1_772_323_199)]]),
      NOTATION_COSE_MEDIA_TYPE,
    );
    assert.equal(c.signingTime?.toISOString(), '2026-02-28T23:59:59.000Z');
  });

  test('JWS: impossible dates and times are refused, not rolled over (Go time.Parse refuses them)', () => {
    for (const t of [
      '2026-02-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:60:00Z',
      '2026-01-01T00:00:60Z',
      '2026-01-01T00:00:00+24:00',
    ])
      refused(
        () => openEnvelope(jws({ 'io.cncf.notary.signingTime': t }), NOTATION_JWS_MEDIA_TYPE),
        /signingTime/,
      );
    refused(
      () =>
        openEnvelope(
          jws({
            'io.cncf.notary.signingTime': '2026-01-01T00:00:00Z',
            'io.cncf.notary.expiry': '2027-02-29T00:00:00Z',
            crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'],
          }),
          NOTATION_JWS_MEDIA_TYPE,
        ),
      /expiry/,
    );
  });

  test('JWS: header values that are objects with their own toString give a coded refusal, not a TypeError', () => {
    const hostile = { toString: 1, valueOf: 1 };
    for (const fields of [
      { cty: hostile, 'io.cncf.notary.signingTime': '2026-01-01T00:00:00Z' },
      { 'io.cncf.notary.signingScheme': hostile, 'io.cncf.notary.signingTime': '2026-01-01T00:00:00Z' },
    ])
      refused(() => openEnvelope(jws(fields), NOTATION_JWS_MEDIA_TYPE), /payload|scheme/);
  });

  test('COSE: a time must be a tag-1 epoch time; an RFC 3339 string or a tag-0 date is refused', () => {
    refused(
      () =>
        openEnvelope(
          cose([['io.cncf.notary.signingTime', '2026-02-28T23:59:59Z']]),
          NOTATION_COSE_MEDIA_TYPE,
        ),
      /signingTime/,
    );
    refused(
      () =>
        openEnvelope(
          cose([['io.cncf.notary.signingTime', new Tag(0, '2026-02-28T23:59:59Z')]]),
          NOTATION_COSE_MEDIA_TYPE,
        ),
      /signingTime/,
    );
  });

  test('COSE: a verification-plugin header is refused even when its value is undefined', () => {
    refused(
      () =>
        openEnvelope(
          cose(
            [
              ['io.cncf.notary.signingTime', new Tag(1, 1_772_323_199)],
              ['io.cncf.notary.verificationPlugin', undefined],
            ],
            ['io.cncf.notary.signingScheme', 'io.cncf.notary.verificationPlugin'],
          ),
          NOTATION_COSE_MEDIA_TYPE,
        ),
      /plugin/,
    );
  });
});
