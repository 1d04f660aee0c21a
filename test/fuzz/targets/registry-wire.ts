// What a registry or token server sends before any digest can be checked: `WWW-Authenticate` challenges, token
// answers, and the auth JSON a user points trustpin at (DOCKER_AUTH_CONFIG). Oracles: a challenge formatted from
// generated parts parses back to exactly those parts; parsed schemes and keys are lower-case; an accepted token is
// header-safe; a credential found decodes to the user and password that were encoded.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { lookupCredential, parseChallenges, parseTokenResponse } from '../../../src/registry/index.js';
import {
  bufferCodec,
  check,
  coded,
  codedSync,
  defineTarget,
  type JsonValue,
  mutatedJson,
  mutatedStrings,
  stringCodec,
} from '../harness.js';

// ---- challenges ----

const TOKEN_CHARS = "abcXYZ019!#$%&'*+-.^_`|~".split('');
const token = fc
  .array(fc.constantFrom(...TOKEN_CHARS), { minLength: 1, maxLength: 8 })
  .map((a) => a.join(''));
const quotedText = fc.string({ maxLength: 12 }).filter((s) => !/[\x00-\x1f\x7f]/.test(s));
type Parts = { scheme: string; params: [string, string][] }[];
const parts: fc.Arbitrary<Parts> = fc.array(
  fc.record({
    scheme: token,
    params: fc.uniqueArray(fc.tuple(token, quotedText), {
      maxLength: 4,
      selector: ([k]) => k.toLowerCase(),
    }),
  }),
  { minLength: 1, maxLength: 3 },
);

function format(p: Parts): string {
  return p
    .map(
      (c) =>
        `${c.scheme}${c.params.length ? ' ' : ''}${c.params
          .map(([k, v]) => `${k}="${v.replace(/[\\"]/g, (m) => `\\${m}`)}"`)
          .join(', ')}`,
    )
    .join(', ');
}

const CHALLENGE_SEEDS = [
  'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
  'Basic realm="Registry Realm"',
  'Bearer realm="https://ghcr.io/token",service="ghcr.io", Basic realm="x"',
  'Bearer realm="a\\"b",error="insufficient_scope"',
];

type ChallengeInput = { kind: 'formatted'; parts: Parts } | { kind: 'raw'; text: string };

const challenge = defineTarget<ChallengeInput>({
  name: 'challenge',
  description:
    'parseChallenges (WWW-Authenticate); oracle: formatted generated challenges parse back exactly, lower-case schemes and keys',
  arbitrary: fc.oneof(
    parts.map((p): ChallengeInput => ({ kind: 'formatted', parts: p })),
    mutatedStrings(CHALLENGE_SEEDS).map((text): ChallengeInput => ({ kind: 'raw', text })),
  ),
  run(input) {
    const text = input.kind === 'raw' ? input.text : format(input.parts);
    const got = parseChallenges(text);
    for (const c of got) {
      check(c.scheme !== '' && c.scheme === c.scheme.toLowerCase(), `scheme ${JSON.stringify(c.scheme)}`);
      for (const k of Object.keys(c.params)) check(k === k.toLowerCase(), `param key ${JSON.stringify(k)}`);
    }
    if (input.kind === 'formatted') {
      const want = input.parts.map((c) => ({
        scheme: c.scheme.toLowerCase(),
        params: Object.fromEntries(c.params.map(([k, v]) => [k.toLowerCase(), v])),
      }));
      const plain = got.map((c) => ({ scheme: c.scheme, params: { ...c.params } }));
      check(isDeepStrictEqual(plain, want), () => `${JSON.stringify(text)} → ${JSON.stringify(plain)}`);
    }
  },
  encode: (i) => Buffer.from(JSON.stringify(i)),
  decode: (b) => JSON.parse(b.toString()) as ChallengeInput,
});

// ---- token answers ----

const TOKEN_SEEDS: JsonValue[] = [
  { token: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln', expires_in: 300, issued_at: '2026-12-02T00:00:00Z' },
  { access_token: 'opaque-token_1', expires_in: 60 },
  { token: '', access_token: 'x' },
];

const tokenAnswer = defineTarget<Buffer>({
  name: 'token-answer',
  description:
    'parseTokenResponse; oracle: an accepted token is visible ASCII and came from token/access_token',
  arbitrary: mutatedJson(TOKEN_SEEDS),
  run(body) {
    const t = codedSync(() => parseTokenResponse(body, 'registry.example'));
    if (!t) return;
    check(/^[\x21-\x7e]+$/.test(t.token), () => `token ${JSON.stringify(t.token)} is not header-safe`);
    const j = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    check(t.token === (j.token || j.access_token), 'the token is not the one in the answer');
  },
  ...bufferCodec,
});

// ---- auth JSON ----

const b64 = (s: string) => Buffer.from(s).toString('base64');
const AUTH_SEEDS: JsonValue[] = [
  { auths: { 'registry.example': { auth: b64('alice:s3cret') } } },
  { auths: { 'https://registry.example/v1/': { auth: b64('bob:pa:ss') } } },
  { auths: { 'registry.example': { identitytoken: 'refresh' } } },
  { auths: { 'registry.example': { username: 'u', password: 'p' }, other: {} } },
];

/** Helpers are programs run by name: the target never lets a mutated config name one. */
function withoutHelpers(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as unknown;
    if (j && typeof j === 'object' && ('credsStore' in j || 'credHelpers' in j)) return undefined;
  } catch {}
  return text;
}

const authConfig = defineTarget<string>({
  name: 'auth-config',
  description:
    'lookupCredential on DOCKER_AUTH_CONFIG; oracle: coded USAGE or a credential whose user:password round-trips',
  arbitrary: fc.oneof(
    mutatedJson(AUTH_SEEDS).map((b) => b.toString('utf8')),
    mutatedStrings(AUTH_SEEDS.map((s) => JSON.stringify(s))),
  ),
  async run(text) {
    const env = withoutHelpers(text);
    if (env === undefined || env === '') return;
    const c = await coded(() =>
      lookupCredential('registry.example', { env: { DOCKER_AUTH_CONFIG: env }, homedir: '/nonexistent' }),
    );
    if (!c) return;
    check(c.source === 'DOCKER_AUTH_CONFIG', `credential from ${c.source}`);
    const entry = (JSON.parse(env) as { auths: Record<string, { auth?: unknown }> }).auths;
    const own = Object.hasOwn(entry, 'registry.example') ? entry['registry.example'] : undefined;
    if (own && typeof own.auth === 'string' && c.username !== undefined && c.password !== undefined)
      check(
        Buffer.from(own.auth, 'base64').toString('utf8') === `${c.username}:${c.password}`,
        'auth did not round-trip',
      );
  },
  ...stringCodec,
});

export default [challenge, tokenAnswer, authConfig];
