// Seeds shared by the cosign fuzz targets, made here (no vectors needed): a P-256 signer, a Rekor log of our own
// with its trusted root, a keyed simple-signing layer with a SET, a DSSE attestation and a keyed DSSE bundle.
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { TrustpinError } from '../../../src/errors/index.js';
import {
  type CheckContext,
  type LoadedTrustedRoot,
  loadPublicKey,
  loadTrustedRoot,
  type SignatureArtifact,
  type SignatureCheck,
} from '../../../src/trust/cosign/index.js';
import { pae, rekorBundleFor } from '../../harness/cosign.js';
import { recordRejection } from '../harness.js';

export const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
export const DIGEST = `sha256:${sha('fuzz image manifest')}`;
export const REPO = 'registry.example/team/app';
export const NOW = new Date('2026-12-02T12:00:00Z');
const SIGNED_AT = Math.floor(Date.UTC(2026, 11, 1) / 1000);

export const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const log = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
export const signerPem = signer.publicKey.export({ type: 'spki', format: 'pem' }) as string;
export const key = loadPublicKey(signerPem, 'fuzz.pub');

export const ROOT_JSON = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [
    {
      baseUrl: 'https://rekor.test',
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: spki(log.publicKey).toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start: '2020-01-01T00:00:00Z', end: '2030-01-01T00:00:00Z' },
      },
      logId: { keyId: createHash('sha256').update(spki(log.publicKey)).digest('base64') },
    },
  ],
  ctlogs: [],
  certificateAuthorities: [],
  timestampAuthorities: [],
};
export const root: LoadedTrustedRoot = loadTrustedRoot(ROOT_JSON, 'fuzz root');

export function ctx(o: Partial<CheckContext> = {}): CheckContext {
  return {
    digest: DIGEST,
    repository: REPO,
    trust: { keys: [key], identities: [], requireTlog: true, trustedRoot: root },
    now: NOW,
    ...o,
  };
}

export const SIMPLE = {
  critical: {
    identity: { 'docker-reference': REPO },
    image: { 'docker-manifest-digest': DIGEST },
    type: 'cosign container image signature',
  },
  optional: { creator: 'fuzz', n: 1 },
};
export const simpleBytes = Buffer.from(JSON.stringify(SIMPLE));

export function rekorBundle(payload: Buffer, sig: string): string {
  return rekorBundleFor({
    log,
    payload,
    signature: sig,
    keyPem: signerPem,
    integratedTime: SIGNED_AT,
    logIndex: 7,
  });
}

/** A keyed legacy `.sig` layer over `payload`, with a Rekor SET from our log. */
export function signedLayer(payload: Buffer): SignatureArtifact {
  const sig = sign('sha256', payload, signer.privateKey).toString('base64');
  return {
    format: 'legacy-signature',
    origin: 'fuzz .sig layer',
    manifestDigest: 'sha256:0',
    layerDigest: `sha256:${sha(payload)}`,
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    annotations: {
      'dev.cosignproject.cosign/signature': sig,
      'dev.sigstore.cosign/bundle': rekorBundle(payload, sig),
    },
    bytes: payload,
  };
}

export const STATEMENT = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: REPO, digest: { sha256: DIGEST.slice(7) } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: { buildDefinition: { buildType: 'x' } },
};
const TYPE = 'application/vnd.in-toto+json';
export function envelope(statement: Buffer, type = TYPE): Buffer {
  return Buffer.from(
    JSON.stringify({
      payloadType: type,
      payload: statement.toString('base64'),
      signatures: [
        { keyid: '', sig: sign('sha256', pae(type, statement), signer.privateKey).toString('base64') },
      ],
    }),
  );
}
export function dsseBundle(statement: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: 'fuzz' }, tlogEntries: [] },
      dsseEnvelope: JSON.parse(envelope(statement).toString('utf8')),
    }),
  );
}

/** Count a check's problems as the runner counts coded rejections (checkArtifact reports, it does not throw). */
export function count(c: SignatureCheck): void {
  for (const p of c.problems) recordRejection(new TrustpinError(p.code, p.message));
}
