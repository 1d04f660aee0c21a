// Seeds shared by the Notation fuzz targets, made here with the test signer (test/harness/notation.ts): small PKIs
// (EC P-256 root → intermediate → leaf, RSA-2048 root → leaf, a self-signed P-384 key like notation's local key),
// two TSAs, JWS and COSE envelopes with and without timestamps, both signing schemes and an expiry; the notation-go
// envelopes and RFC 3161 tokens of ../shared/vectors when present. Each seed is recorded with what it signs
// (payload, signature bytes, leaf), read leniently here, so an oracle can tell "the seed" from "something else".
// A separate key (`resigner`) re-signs mutated protected headers: what it signs is ours, so only the header rules
// (not "unchanged bytes") apply to an envelope it signed.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as asn1js from 'asn1js';
import { decode, Tag } from 'cbor2';
import fc from 'fast-check';
import * as pkijs from 'pkijs';
import { type Certificate, parseCertificate } from '../../../src/trust/notation/x509.js';
import {
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  notationPki,
  type SignOptions,
  signCose,
  signJws,
  type TargetArtifact,
  type TestTsa,
  type TimestampOptions,
  testTsa,
} from '../../harness/notation.js';
import { haveVectors, vector, vectorPath } from '../../vectors.js';

export { NOTATION_COSE_MEDIA_TYPE, NOTATION_JWS_MEDIA_TYPE };

export const NOW = new Date('2026-12-02T12:00:00Z');
const YEAR = 365 * 24 * 3600 * 1000;

export const TARGET: TargetArtifact = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'ab'.repeat(32)}`,
  size: 1234,
  annotations: { 'org.example.k': 'v' },
};

/** What the test signer makes (random keys): cached so that a saved reproducer replays against the same keys. */
interface Generated {
  jws: Buffer[];
  cose: Buffer[];
  tokens: { name: string; token: Buffer; signature: Buffer; root: Buffer }[];
  resigner: { key: KeyObject; chain: Buffer[] };
}

function generate(): Generated {
  const ecPki = notationPki({ now: NOW, rootKey: 'ec-p256', intermediateKey: 'ec-p256', leafKey: 'ec-p256' });
  const rsaPki = notationPki({ now: NOW, intermediate: false, rootKey: 'rsa-2048', leafKey: 'rsa-2048' });
  const localKey = notationPki({ now: NOW, selfSignedLeaf: true, leafKey: 'ec-p384' });
  // the key that re-signs mutated protected headers (a self-signed P-256 code signing certificate)
  const re = notationPki({
    now: NOW,
    selfSignedLeaf: true,
    leafKey: 'ec-p256',
    subjects: { leaf: 'C=US, ST=WA, O=Fuzz, CN=Fuzz Resigner' },
  });
  const tsaRsa = testTsa({ now: NOW, rootKey: 'ec-p256' });
  const tsaEc = testTsa({ now: NOW, rootKey: 'ec-p256', key: 'ec-p256' });
  const signer = (p: { leaf: { key: KeyObject }; chain: Buffer[] }) => ({ key: p.leaf.key, chain: p.chain });
  // the envelopes the test signer makes, as options (each is written both as JWS and as COSE)
  const own: SignOptions[] = [
    { target: TARGET, signer: signer(ecPki), signingTime: NOW },
    {
      target: TARGET,
      signer: signer(ecPki),
      signingTime: NOW,
      timestamp: { tsa: tsaRsa, genTime: NOW, accuracySeconds: 1 },
    },
    {
      target: TARGET,
      signer: signer(rsaPki),
      signingScheme: 'notary.x509.signingAuthority',
      signingTime: NOW,
      expiry: new Date(NOW.getTime() + YEAR),
      timestamp: { tsa: tsaEc, genTime: NOW, certs: 'chain' },
    },
    {
      target: { ...TARGET, annotations: {} },
      signer: signer(localKey),
      signingTime: NOW,
      expiry: new Date(NOW.getTime() + 3600_000),
      signingAgent: '',
    },
  ];
  const sigOf = (o: SignOptions) => lenientJws('', signJws({ ...o, timestamp: undefined })).signature!;
  const ecSig = sigOf(own[0]!);
  const rsaSig = sigOf(own[2]!);
  const token = (name: string, tsa: TestTsa, signature: Buffer, o: TimestampOptions) => ({
    name,
    token: tsa.timestamp(signature, o),
    signature,
    root: tsa.root.der,
  });
  return {
    jws: own.map(signJws),
    cose: own.map(signCose),
    tokens: [
      token('own-rsa-tsa', tsaRsa, ecSig, { genTime: NOW, accuracySeconds: 1 }),
      token('own-rsa-tsa-chain-sha384', tsaRsa, rsaSig, { genTime: NOW, hash: 'sha384', certs: 'chain' }),
      token('own-ec-tsa-sha512', tsaEc, ecSig, { genTime: new Date(NOW.getTime() - 60_000), hash: 'sha512' }),
      token('own-ec-tsa-no-certs', tsaEc, rsaSig, { genTime: NOW, certs: 'none' }),
    ],
    resigner: { key: re.leaf.key, chain: re.chain },
  };
}

/** .fuzz/ (git-ignored), where the runner keeps its reproducers. */
const CACHE = fileURLToPath(new URL('../../../.fuzz/notation-seeds.json', import.meta.url));
const b64 = (b: Buffer) => b.toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64');

function cached(): Generated {
  try {
    const j = JSON.parse(readFileSync(CACHE, 'utf8'));
    return {
      jws: j.jws.map(unb64),
      cose: j.cose.map(unb64),
      tokens: j.tokens.map((t: Record<string, string>) => ({
        name: t.name,
        token: unb64(t.token!),
        signature: unb64(t.signature!),
        root: unb64(t.root!),
      })),
      resigner: { key: createPrivateKey(j.resigner.key), chain: j.resigner.chain.map(unb64) },
    };
  } catch {
    const g = generate();
    try {
      mkdirSync(dirname(CACHE), { recursive: true });
      const tmp = `${CACHE}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      writeFileSync(
        tmp,
        JSON.stringify({
          jws: g.jws.map(b64),
          cose: g.cose.map(b64),
          tokens: g.tokens.map((t) => ({
            ...t,
            token: b64(t.token),
            signature: b64(t.signature),
            root: b64(t.root),
          })),
          resigner: {
            key: g.resigner.key.export({ type: 'pkcs8', format: 'pem' }),
            chain: g.resigner.chain.map(b64),
          },
        }),
      );
      renameSync(tmp, CACHE);
    } catch {
      // a read-only tree: the seeds are still good for this process
    }
    return g;
  }
}

const made = process.env.FUZZ_FRESH_SEEDS ? generate() : cached();
/** The key that re-signs mutated protected headers, and its chain (one self-signed certificate). */
export const resigner = {
  leaf: { key: made.resigner.key, der: made.resigner.chain[0]! },
  chain: made.resigner.chain,
};

/** An envelope seed and what it signs (read leniently: undefined where the seed itself is malformed). */
export interface EnvelopeSeed {
  name: string;
  bytes: Buffer;
  payload?: Buffer | undefined;
  signature?: Buffer | undefined;
  leaf?: Buffer | undefined;
}

function lenientJws(name: string, bytes: Buffer): EnvelopeSeed {
  try {
    const j = JSON.parse(bytes.toString('utf8')) as {
      payload?: string;
      signature?: string;
      header?: { x5c?: string[] };
    };
    return {
      name,
      bytes,
      payload: typeof j.payload === 'string' ? Buffer.from(j.payload, 'base64url') : undefined,
      signature: typeof j.signature === 'string' ? Buffer.from(j.signature, 'base64url') : undefined,
      leaf: typeof j.header?.x5c?.[0] === 'string' ? Buffer.from(j.header.x5c[0], 'base64') : undefined,
    };
  } catch {
    return { name, bytes };
  }
}

/** Decode CBOR as envelope.ts does (maps as Map), or undefined. */
export function decodeCbor(b: Uint8Array): unknown {
  try {
    return decode(b, { preferMap: true, rejectDuplicateKeys: false });
  } catch {
    return undefined;
  }
}

function lenientCose(name: string, bytes: Buffer): EnvelopeSeed {
  const t = decodeCbor(bytes);
  if (!(t instanceof Tag) || !Array.isArray(t.contents)) return { name, bytes };
  const [p, u, payload, sig] = t.contents as unknown[];
  const ph = p instanceof Uint8Array ? decodeCbor(p) : undefined;
  const x5 = (
    ph instanceof Map && ph.has(33) ? ph.get(33) : u instanceof Map ? u.get(33) : undefined
  ) as unknown;
  const leaf = x5 instanceof Uint8Array ? x5 : Array.isArray(x5) ? x5[0] : undefined;
  return {
    name,
    bytes,
    payload: payload instanceof Uint8Array ? Buffer.from(payload) : undefined,
    signature: sig instanceof Uint8Array ? Buffer.from(sig) : undefined,
    leaf: leaf instanceof Uint8Array ? Buffer.from(leaf) : undefined,
  };
}

const MOCK = 'notation-go/internal/mock/testdata';
const SIGENV = 'notation-go/verifier/testdata/timestamp/sigEnv';
const present = (p: string) => haveVectors && existsSync(vectorPath(p));

function vectorFiles(dir: string, keep: (f: string) => boolean): string[] {
  if (!present(dir)) return [];
  return readdirSync(vectorPath(dir))
    .filter(keep)
    .sort()
    .map((f) => `${dir}/${f}`);
}

export const jwsSeeds: EnvelopeSeed[] = [
  ...made.jws.map((b, i) => lenientJws(`own-jws-${i}`, b)),
  ...[
    ...vectorFiles(MOCK, (f) => f.endsWith('.json')),
    ...vectorFiles(SIGENV, (f) => f.endsWith('.sig')),
    ...(present('notation-go/internal/testdata/jws_signature.sig')
      ? ['notation-go/internal/testdata/jws_signature.sig']
      : []),
  ]
    .map((p) => ({ p, b: vector(p) }))
    .filter(({ b }) => b[0] === 0x7b)
    .map(({ p, b }) => lenientJws(p, b)),
];

export const coseSeeds: EnvelopeSeed[] = [
  ...made.cose.map((b, i) => lenientCose(`own-cose-${i}`, b)),
  ...[
    ...vectorFiles(SIGENV, (f) => f.endsWith('.sig')),
    ...(present('notation-go/internal/testdata/cose_signature.sig')
      ? ['notation-go/internal/testdata/cose_signature.sig']
      : []),
  ]
    .map((p) => ({ p, b: vector(p) }))
    .filter(({ b }) => b[0] === 0xd2)
    .map(({ p, b }) => lenientCose(p, b)),
];

/** The seed whose payload, signature and leaf an opened envelope carries, if any. */
export function seedOf(
  seeds: readonly EnvelopeSeed[],
  e: { payload: Buffer; signature: Buffer },
): EnvelopeSeed | undefined {
  return seeds.find((s) => s.payload?.equals(e.payload) && s.signature?.equals(e.signature));
}

// ---- timestamp tokens ----

/** A token seed: the bytes it stamps and the TSA roots it is verified under. */
export interface TokenSeed {
  name: string;
  token: Buffer;
  signature: Buffer;
  roots: Certificate[];
  /** the seed's TSTInfo genTime (read here, not by the code under test), when it parses */
  genTime?: Date | undefined;
}

function readDer(file: string): Buffer {
  const b = readFileSync(file);
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(b.toString('latin1'));
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') : b;
}

const ab = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;

/** genTime of a TimeStampToken, read with pkijs directly. */
export function genTimeOf(token: Buffer): Date | undefined {
  try {
    const ci = new pkijs.ContentInfo({ schema: asn1js.fromBER(ab(token)).result });
    const sd = new pkijs.SignedData({ schema: ci.content });
    const raw = sd.encapContentInfo.eContent!.getValue();
    return new pkijs.TSTInfo({ schema: asn1js.fromBER(raw).result }).genTime;
  } catch {
    return undefined;
  }
}

const root = (der: Buffer, what: string) => parseCertificate(der, what);
const TS = 'notation-go/verifier/testdata/timestamp';
const GLOBALSIGN = 'notation-go/verifier/testdata/truststore/x509/tsa/test-timestamp/globalsignRoot.cer';
const CORE = 'notation-core-go/internal/timestamp/testdata';

function vectorTokens(): Omit<TokenSeed, 'genTime'>[] {
  if (!present(GLOBALSIGN)) return [];
  const gs = [root(readDer(vectorPath(GLOBALSIGN)), 'globalsignRoot.cer')];
  const out: Omit<TokenSeed, 'genTime'>[] = vectorFiles(`${TS}/countersignature`, (f) =>
    f.endsWith('.p7s'),
  ).map((p) => ({ name: p, token: vector(p), signature: Buffer.from('notation'), roots: gs }));
  if (present(`${CORE}/TimeStampTokenWithInvalidSignature.p7s`) && present(`${CORE}/tsaRootCert.cer`))
    out.push({
      name: `${CORE}/TimeStampTokenWithInvalidSignature.p7s`,
      token: vector(`${CORE}/TimeStampTokenWithInvalidSignature.p7s`),
      signature: Buffer.from('notation'),
      roots: [root(readDer(vectorPath(`${CORE}/tsaRootCert.cer`)), 'tsaRootCert.cer')],
    });
  // the tokens inside notation-go's timestamped envelopes, over their signatures
  for (const s of [...jwsSeeds, ...coseSeeds]) {
    if (!s.name.startsWith(SIGENV) || !s.signature) continue;
    const token = timestampTokenOf(s.bytes);
    if (token) out.push({ name: `${s.name} timestamp`, token, signature: s.signature, roots: gs });
  }
  return out;
}

/** The RFC 3161 token an envelope seed carries in its unprotected header, read leniently. */
function timestampTokenOf(bytes: Buffer): Buffer | undefined {
  const name = 'io.cncf.notary.timestampSignature';
  if (bytes[0] === 0x7b) {
    const t = (JSON.parse(bytes.toString('utf8')) as { header?: Record<string, unknown> }).header?.[name];
    return typeof t === 'string' && t !== '' ? Buffer.from(t, 'base64') : undefined;
  }
  const t = decodeCbor(bytes);
  const u = t instanceof Tag && Array.isArray(t.contents) ? t.contents[1] : undefined;
  const v = u instanceof Map ? u.get(name) : undefined;
  return v instanceof Uint8Array && v.length > 0 ? Buffer.from(v) : undefined;
}

export const tokenSeeds: TokenSeed[] = [
  ...made.tokens.map((t) => ({
    name: t.name,
    token: t.token,
    signature: t.signature,
    roots: [root(t.root, `${t.name} root`)],
  })),
  ...vectorTokens(),
].map((s) => ({ ...s, genTime: genTimeOf(s.token) }));

// ---- oracles shared by notation-jws and notation-cose ----

const H = {
  scheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  plugin: 'io.cncf.notary.verificationPlugin',
  pluginMin: 'io.cncf.notary.verificationPluginMinVersion',
} as const;
/** NSPEC: the headers a verifier may understand as critical, and those that must be critical when present. */
const KNOWN_CRITICAL = new Set<string>(Object.values(H));
const MUST_BE_CRITICAL = [H.scheme, H.authenticSigningTime, H.expiry, H.plugin, H.pluginMin];
const PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

/** What an opened envelope returned (the fields the oracles look at). */
export interface Opened {
  payload: Buffer;
  signature: Buffer;
  chain: Buffer[];
  certificates: { der: Buffer }[];
  signingScheme: string;
  algorithm: string;
  signingTime?: Date | undefined;
  expiry?: Date | undefined;
}

/** A protected header as the oracle reads it (independently of envelope.ts). */
export interface HeaderView {
  crit: unknown;
  /** the content type (JWS `cty`, COSE label 3) */
  cty: unknown;
  get(name: string): unknown;
  has(name: string): boolean;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Go's time.Parse(time.RFC3339, s) accepts s: a real calendar date and clock time (no Feb 31, no 24:00, no :60). */
function goRfc3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const off = m[8]!;
  const offOk = off === 'Z' || (Number(off.slice(1, 3)) < 24 && Number(off.slice(4, 6)) < 60);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h < 24 && mi < 60 && se < 60 && offOk;
}

/**
 * The oracle of an opened envelope. Not signed by the resigner: its payload and signature bytes are a seed's and
 * so is its leaf (the test keys are ours alone; a forgery cannot verify). Signed by the resigner (a mutated
 * protected header, re-signed): the NSPEC header rules hold for what was accepted.
 */
export function checkOpened(
  e: Opened,
  seeds: readonly EnvelopeSeed[],
  header: () => HeaderView | undefined,
  ok: (cond: boolean, message: string | (() => string)) => void,
): void {
  ok(e.chain.length === e.certificates.length && e.chain.length > 0, 'chain and certificates differ');
  ok(
    e.chain.every((c, i) => c.equals(e.certificates[i]!.der)),
    'returned chain is not the parsed certificates',
  );
  const leaf = e.chain[0]!;
  if (leaf.equals(resigner.leaf.der)) {
    const h = header();
    ok(h !== undefined, 'accepted an envelope whose protected header the oracle cannot read');
    headerRules(e, h!, ok);
    return;
  }
  const s = seedOf(seeds, e);
  ok(s !== undefined, 'accepted an envelope whose payload or signature bytes are no seed’s (a forgery?)');
  ok(s!.leaf?.equals(leaf) === true, () => `accepted ${s!.name} with another leaf certificate`);
}

function headerRules(e: Opened, h: HeaderView, ok: (c: boolean, m: string | (() => string)) => void): void {
  const crit = h.crit;
  ok(Array.isArray(crit) && crit.length > 0, 'accepted a protected header without a crit list');
  const list = crit as unknown[];
  for (const c of list) {
    ok(typeof c === 'string' && KNOWN_CRITICAL.has(c), () => `accepted unknown critical header ${String(c)}`);
    ok(h.has(c as string), () => `accepted crit naming absent header ${String(c)}`);
  }
  ok(new Set(list).size === list.length, 'accepted a crit list that repeats a header');
  for (const n of MUST_BE_CRITICAL)
    ok(!h.has(n) || list.includes(n), () => `accepted ${n} not marked critical`);
  ok(h.cty === PAYLOAD_TYPE, 'accepted another content type');
  ok(h.get(H.scheme) === e.signingScheme, 'returned a signing scheme other than the signed one');
  ok(!h.has(H.plugin), 'accepted a signature that requires a plugin');
  ok(e.algorithm === 'ES256', () => `the resigner's P-256 key accepted as ${e.algorithm}`);
  const timeName = e.signingScheme === 'notary.x509' ? H.signingTime : H.authenticSigningTime;
  ok(h.has(timeName), () => `accepted a ${e.signingScheme} signature without ${timeName}`);
  ok(
    e.signingTime instanceof Date && !Number.isNaN(e.signingTime.getTime()),
    'returned an invalid signing time',
  );
  for (const n of [timeName, H.expiry]) {
    const v = h.get(n);
    if (typeof v === 'string')
      ok(goRfc3339(v), () => `accepted ${n} ${JSON.stringify(v)}, not an RFC 3339 time`);
  }
  if (h.has(H.expiry)) ok(e.expiry instanceof Date, 'dropped the signed expiry');
  if (e.expiry) ok(e.expiry > e.signingTime!, 'accepted an expiry before the signing time');
}

// ---- protected header edits (for re-signed envelopes: small, meaningful changes the header rules decide) ----

const TIMES = [
  '2026-12-02T12:00:00Z',
  '2026-12-02T12:00:00.123456789+01:00',
  '2026-02-31T00:00:00Z',
  '2026-12-02T24:00:00Z',
  '2026-12-02T12:00:60Z',
  '2026-12-02T12:00:00+24:00',
  '2026-12-02t12:00:00z',
  '2026-12-02 12:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '2026-12-02T11:59:59Z',
  '2026-12-02',
  '',
];
const HEADER_NAMES = [...Object.values(H), 'io.cncf.notary.timestampSignature', 'cty', 'alg', 'x', 'crit'];

/** One edit of a protected header: set a header to a value, delete it, or change the crit list. */
export type HeaderEdit = { kind: number; name: number; value: number };
export const headerEdit = fc.record({ kind: fc.nat(5), name: fc.nat(), value: fc.nat() });

/**
 * Apply `edits` to a protected header seen as get/set/delete over string names (JWS object or COSE map); `time`
 * turns an RFC 3339 string into the format's time (a string for JWS, a tag 1 Date for COSE, or the string itself).
 */
export function editHeader(
  h: { get(n: string): unknown; set(n: string, v: unknown): void; delete(n: string): void },
  crit: { get(): unknown; set(v: unknown): void },
  edits: readonly HeaderEdit[],
  time: (s: string, i: number) => unknown,
): void {
  for (const e of edits) {
    const name = HEADER_NAMES[e.name % HEADER_NAMES.length]!;
    const list = Array.isArray(crit.get()) ? [...(crit.get() as unknown[])] : [];
    switch (e.kind) {
      case 0: // a time header set
        h.set(
          [H.signingTime, H.authenticSigningTime, H.expiry][e.name % 3]!,
          time(TIMES[e.value % TIMES.length]!, e.value),
        );
        break;
      case 1: // the scheme
        h.set(H.scheme, ['notary.x509', 'notary.x509.signingAuthority', 'notary.x509 ', '', 1][e.value % 5]);
        break;
      case 2:
        h.delete(name);
        break;
      case 3: // a name added to crit (known, unknown, repeated)
        crit.set([...list, name]);
        break;
      case 4: // a name dropped from crit
        crit.set(list.filter((_, i) => i !== e.value % Math.max(1, list.length)));
        break;
      default: // a header set to a value of another type
        h.set(name, [true, 0, 'x', null, [], {}, 'io.cncf.notary.plugin'][e.value % 7]);
    }
  }
}

/** `arb` one time in `1 + none`, else undefined (fc.option's freq is the other way round and easy to misread). */
export function sometimes<T>(arb: fc.Arbitrary<T>, none: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: none }, { arbitrary: arb, weight: 1 });
}
