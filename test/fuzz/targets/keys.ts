// Key files and certificates: readKeyFile (docker/notary PEM with role/gun headers), the key objects built from a
// TUF key's `public` (DER, PEM, certificates), signature checks, root certificate checks, and the DER reader for a
// certificate's signature algorithm. Inputs are valid keys and certificates mutated in their DER and in their text.
// Oracle: coded rejection only (signature checks say false, never throw); the DER reader never throws; a
// certificate's canonical key ID is the key ID of its public key written as a key file.
import { type createPublicKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { goPem, p256, rootCert } from '../../../src/testing/index.js';
import { canonicalKeyId, isX509, keyId, readKeyFile, type TufKey } from '../../../src/trust/dct/index.js';
import { certChain, publicKey, verifySignature } from '../../../src/trust/dct/keys.js';
import type { Envelope, RootSigned } from '../../../src/trust/dct/metadata.js';
import { signatureAlgorithmOid, usableRootKeys } from '../../../src/trust/dct/root.js';
import {
  byteMutations,
  check,
  codedSync,
  defineTarget,
  mutateBytes,
  mutatedBytes,
  stringCodec,
} from '../harness.js';

const GUN = 'fuzz.example/org/app';
const NOW = Date.UTC(2026, 0, 1);
const ec = p256();
const cert = rootCert(GUN, ec.privateKey, NOW - 3_600_000, NOW + 86_400_000 * 3650);
const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
const ed = generateKeyPairSync('ed25519').publicKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;

const DERS: { label: string; der: Buffer }[] = [
  { label: 'CERTIFICATE', der: cert.der },
  { label: 'PUBLIC KEY', der: spki(ec.publicKey) },
  { label: 'PUBLIC KEY', der: spki(ed) },
  { label: 'PUBLIC KEY', der: spki(rsa) },
];
const withHeaders = (pem: string) =>
  pem.replace(/-----\n/, '-----\nrole: root\ngun: fuzz.example/org/app\n\n');
const TEXTS = [...DERS.map((d) => goPem(d.der, d.label)), withHeaders(goPem(DERS[1]!.der, 'PUBLIC KEY'))];

/** Mutate the DER, then armour it again (mutating base64 text mostly breaks the base64, not the DER). */
const derMutated = fc
  .tuple(fc.nat(DERS.length - 1), byteMutations(4), fc.boolean())
  .map(([i, ops, headers]) => {
    const d = DERS[i]!;
    const pem = goPem(
      mutateBytes(
        d.der,
        ops,
        DERS.map((x) => x.der),
      ),
      d.label,
    );
    return headers ? withHeaders(pem) : pem;
  });

const KEYTYPES = ['ecdsa', 'rsa', 'ed25519', 'ecdsa-x509', 'rsa-x509', 'bogus'];
const METHODS = ['ecdsa', 'rsapss', 'rsapkcs1v15', 'eddsa', 'pycrypto-pkcs#1 pss', 'ECDSA', 'none'];

function derOf(text: string): Buffer {
  const m = /-----BEGIN [A-Z ]+-----\r?\n([\s\S]*?)-----END/.exec(text);
  return Buffer.from((m?.[1] ?? '').replace(/^[A-Za-z-]+:.*$/gm, ''), 'base64');
}

/** Every use of a TUF key whose `public` is hostile: key objects, IDs, certificates, signature checks. */
function useKey(k: TufKey): void {
  keyId(k);
  codedSync(() => canonicalKeyId(k));
  const key = codedSync(() => publicKey(k));
  if (isX509(k)) codedSync(() => certChain(k));
  for (const m of key ? METHODS : METHODS.slice(0, 1)) {
    const ok = codedSync(() =>
      verifySignature(k, m, Buffer.from('msg'), Buffer.alloc(64, 1).toString('base64')),
    );
    check(ok !== true, 'a garbage signature verified');
  }
  const id = keyId(k);
  const root = {
    role: 'root',
    signed: { keys: { [id]: k }, roles: { root: { keyids: [id], threshold: 1 } } },
  } as unknown as Envelope<RootSigned>;
  codedSync(() => usableRootKeys(root, { gun: GUN, now: NOW }));
}

export default defineTarget<string>({
  name: 'keys',
  description:
    'readKeyFile, TUF key objects, certificates, signature checks, usableRootKeys and the DER reader; oracle: coded rejection only, canonical ID = key file ID',
  arbitrary: fc.oneof(
    { arbitrary: derMutated, weight: 4 },
    {
      arbitrary: mutatedBytes(
        TEXTS.map((t) => Buffer.from(t)),
        { random: false },
      ).map((b) => b.toString('latin1')),
      weight: 2,
    },
    { arbitrary: fc.constantFrom(...TEXTS), weight: 1 },
  ),
  run(text) {
    const der = derOf(text);
    check(typeof signatureAlgorithmOid(der) === 'string', 'the DER reader returned no string');
    const k = codedSync(() => readKeyFile(text));
    // the same bytes as a key trustpin reads from metadata: base64 of the DER, and of the PEM text
    const keytype = KEYTYPES[text.length % KEYTYPES.length]!;
    useKey({ keytype, keyval: { public: der.toString('base64'), private: null } });
    const other = KEYTYPES[(text.length + 1) % KEYTYPES.length]!;
    useKey({
      keytype: other,
      keyval: { public: Buffer.from(text, 'latin1').toString('base64'), private: null },
    });
    if (!k) return;
    useKey(k);
    if (isX509(k)) {
      const cid = codedSync(() => canonicalKeyId(k));
      const pub = codedSync(() => publicKey(k));
      if (cid && pub) {
        const asFile = readKeyFile(goPem(spki(pub), 'PUBLIC KEY'));
        check(keyId(asFile) === cid, "a certificate's canonical key ID is not its public key's key ID");
      }
    }
  },
  ...stringCodec,
});
