// Image references parsed and normalised exactly like docker (distribution/reference ParseNormalizedNamed):
// `docker.io` + `library/` defaults, `index.docker.io` aliasing, `host:port`, `localhost`, tag and digest.

import { type Digest, parseDigest } from '../digest/index.js';
import { TrustpinError } from '../errors/index.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const MAX_PATH_LENGTH = 255;

const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^((?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*)(?::(${tagPat}))?(?:@(${digestPat}))?$`,
);
const NAME = new RegExp(`^(?:(${domainAndPort})/)?(${pathComponent}(?:/${pathComponent})*)$`);
const IDENTIFIER = /^[a-f0-9]{64}$/;

/** A normalised image reference. */
export interface Reference {
  /** registry host as docker names it: `docker.io`, `ghcr.io`, `127.0.0.1:5000` */
  readonly registry: string;
  /** repository path on that registry: `library/alpine` */
  readonly repository: string;
  readonly tag?: string | undefined;
  readonly digest?: Digest | undefined;
}

function invalid(s: string, why: string, hint?: string): TrustpinError {
  return new TrustpinError('REFERENCE_INVALID', `invalid reference ${JSON.stringify(s)}: ${why}`, {
    expected: '[HOST[:PORT]/]NAME[:TAG][@DIGEST], lowercase name',
    found: s,
    hint: hint ?? 'examples: alpine, alpine:3.20, ghcr.io/org/app@sha256:…, 127.0.0.1:5000/demo/app:1.0',
  });
}

function splitDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let domain: string;
  let rest: string;
  const first = i < 0 ? '' : name.slice(0, i);
  if (i < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    rest = name;
  } else {
    domain = first;
    rest = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !rest.includes('/')) rest = OFFICIAL_PREFIX + rest;
  return [domain, rest];
}

/** Parse a reference the way `docker pull` does. No default tag is added: see `withDefaultTag`. */
export function parseReference(input: string): Reference {
  const s = input.trim();
  if (s === '') throw invalid(s, 'empty');
  if (IDENTIFIER.test(s)) {
    throw invalid(
      s,
      'a bare 64-character hex string is an image ID, not a repository',
      'use NAME@sha256:<hex>',
    );
  }
  const [domain, rest] = splitDomain(s);
  const tagSep = rest.indexOf(':');
  const atSep = rest.indexOf('@');
  const remoteEnd = [tagSep, atSep].filter((x) => x >= 0).reduce((a, b) => Math.min(a, b), rest.length);
  const remote = rest.slice(0, remoteEnd);
  if (remote.toLowerCase() !== remote) throw invalid(s, `repository name (${remote}) must be lowercase`);
  const full = `${domain}/${rest}`;
  const m = REFERENCE.exec(full);
  if (!m) throw invalid(s, 'does not match the reference grammar');
  const name = m[1]!;
  const n = NAME.exec(name);
  if (!n) throw invalid(s, 'does not match the name grammar');
  // the first component was taken as the registry: it must be a host name, or `g_hcr.io/o` would become the
  // repository `g_hcr.io/o` on a registry `g_hcr.io` (docker rejects it)
  if (domain !== DEFAULT_DOMAIN && n[1] !== domain)
    throw invalid(s, `${JSON.stringify(domain)} is not a valid registry host name`);
  const path = n[2]!;
  if (path.length > MAX_PATH_LENGTH) {
    throw invalid(s, `repository name is ${path.length} characters, more than ${MAX_PATH_LENGTH}`);
  }
  const tag = m[2];
  const digest = m[3] === undefined ? undefined : parseDigest(m[3]);
  return { registry: n[1] ?? domain, repository: path, tag, digest };
}

/** `parseReference` of an image named with or without its `docker://` transport prefix. */
export function parseDockerReference(input: string): Reference {
  return parseReference(input.replace(/^docker:\/\//, ''));
}

/** The reference with tag `latest` when it has neither tag nor digest. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** `docker.io/library/alpine` */
export function fullName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** `alpine`, `org/app`, `ghcr.io/org/app` — the short form docker prints. */
export function familiarName(ref: Reference): string {
  if (ref.registry !== DEFAULT_DOMAIN) return fullName(ref);
  // `docker.io/x.y/a` shortened to `x.y/a` would name repository `a` on a registry `x.y`: keep the registry
  const first = ref.repository.split('/')[0]!;
  if (ref.repository.includes('/') && (/[.:]/.test(first) || first === 'localhost')) return fullName(ref);
  if (!ref.repository.startsWith(OFFICIAL_PREFIX) || ref.repository.split('/').length !== 2)
    return ref.repository;
  const short = ref.repository.slice(OFFICIAL_PREFIX.length);
  // `library/<64 hex>` shortened to `<64 hex>` would read as an image ID, which is not a reference
  return IDENTIFIER.test(short) ? ref.repository : short;
}

function suffix(ref: Reference): string {
  return `${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The full reference: `docker.io/library/alpine:3.20@sha256:…`. */
export function formatReference(ref: Reference): string {
  return fullName(ref) + suffix(ref);
}

/** The reference as docker prints it (`alpine:3.20`). */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + suffix(ref);
}

/** The same repository pinned to `digest`. */
export function withDigest(ref: Reference, digest: Digest): Reference {
  return { registry: ref.registry, repository: ref.repository, tag: ref.tag, digest };
}

/** The host to talk HTTP to: Docker Hub's API lives on registry-1.docker.io. */
export function apiHost(registry: string): string {
  return registry === DEFAULT_DOMAIN ? DOCKER_HUB_API_HOST : registry;
}

const HUB_ALIASES = new Set([
  DEFAULT_DOMAIN,
  LEGACY_DEFAULT_DOMAIN,
  DOCKER_HUB_API_HOST,
  'registry.hub.docker.com',
]);
export function isDockerHub(host: string): boolean {
  return HUB_ALIASES.has(host);
}

/** True for hosts that may be spoken to over plain HTTP without being named insecure. */
export function isLoopbackHost(hostPort: string): boolean {
  const h = hostPort.startsWith('[')
    ? hostPort.slice(1, hostPort.indexOf(']'))
    : hostPort.replace(/:\d+$/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
