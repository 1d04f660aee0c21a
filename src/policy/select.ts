// Which rule applies to an image and which origin a mirrored image is judged as. Scopes are globs on the normalised
// reference (`*` one path segment, `**` any); the most specific scope wins, so exactly one rule applies.
import { formatReference, fullName, type Reference } from '../reference/index.js';
import type { MirrorSpec, Policy, Requirement, Rule } from './types.js';

/** The checks a requirement list makes, `anyOf`/`allOf` opened up to their leaves (depth first, in order). */
export function leafRequirements(reqs: Requirement[]): Requirement[] {
  return reqs.flatMap((r) => (r.kind === 'anyOf' || r.kind === 'allOf' ? leafRequirements(r.of) : [r]));
}

/** A scope split into its name glob and optional `:tag` / `@digest` glob. */
function splitScope(scope: string): { name: string; tag?: string; digest?: string } {
  const at = scope.indexOf('@');
  if (at >= 0) return { name: scope.slice(0, at), digest: scope.slice(at + 1) };
  const slash = scope.lastIndexOf('/');
  const colon = scope.indexOf(':', slash + 1);
  // a colon in the first segment is a port (`127.0.0.1:5000/x`), not a tag
  if (colon >= 0 && slash >= 0) return { name: scope.slice(0, colon), tag: scope.slice(colon + 1) };
  return { name: scope };
}

const cache = new Map<string, RegExp>();

/** `**` any characters, `*` any but `/`, everything else literal. */
function globRegExp(glob: string, segment = '[^/]*'): RegExp {
  const key = `${segment}\0${glob}`;
  let re = cache.get(key);
  if (!re) {
    let src = '';
    for (let i = 0; i < glob.length; i++) {
      const c = glob[i]!;
      if (c === '*' && glob[i + 1] === '*') {
        // `a/**` also matches `a` itself
        if (src.endsWith('/')) src = `${src.slice(0, -1)}(?:/.*)?`;
        else src += '.*';
        i++;
      } else if (c === '*') src += segment;
      else src += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
    re = new RegExp(`^${src}$`);
    if (cache.size > 4096) cache.clear();
    cache.set(key, re);
  }
  return re;
}

/** Whether `scope` matches the normalised reference `ref`. */
export function scopeMatches(scope: string, ref: Reference): boolean {
  const s = splitScope(scope);
  if (!globRegExp(s.name).test(fullName(ref))) return false;
  if (s.tag !== undefined && (ref.tag === undefined || !globRegExp(s.tag, '.*').test(ref.tag))) return false;
  if (s.digest !== undefined && (ref.digest === undefined || !globRegExp(s.digest, '.*').test(ref.digest)))
    return false;
  return true;
}

/**
 * How specific a scope is, compared lexicographically: a tag or digest part first, then literal characters, then
 * fewer `**`, then fewer `*`.
 */
export function specificity(scope: string): number[] {
  const s = splitScope(scope);
  const literal = scope.replace(/\*/g, '').length;
  const double = (scope.match(/\*\*/g) ?? []).length;
  const single = (scope.match(/\*/g) ?? []).length - 2 * double;
  return [s.tag !== undefined || s.digest !== undefined ? 1 : 0, literal, -double, -single];
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The rule for `ref` (most specific matching scope; among equals, the first), and the equally specific others. */
export function selectRule(policy: Policy, ref: Reference): { rule?: Rule; tied: Rule[] } {
  let best: Rule | undefined;
  let bestKey: number[] = [];
  let tied: Rule[] = [];
  for (const r of policy.rules) {
    if (!scopeMatches(r.scope, ref)) continue;
    const k = specificity(r.scope);
    const c = best ? compare(k, bestKey) : 1;
    if (c > 0) {
      best = r;
      bestKey = k;
      tied = [];
    } else if (c === 0) tied.push(r);
  }
  return { rule: best, tied };
}

/** A mirrored image: the mirror declaration, the prefix it matched, and the origin reference it is judged as. */
export interface MirrorMatch {
  spec: MirrorSpec;
  prefix: string;
  origin: Reference;
}

function underPrefix(name: string, prefix: string): boolean {
  return name === prefix || name.startsWith(`${prefix}/`);
}

/** The mirror declaration `ref` falls under (longest prefix), with the origin reference it stands for. */
export function mirrorOf(policy: Policy, ref: Reference): MirrorMatch | undefined {
  const name = fullName(ref);
  let found: MirrorMatch | undefined;
  for (const spec of policy.mirrors)
    for (const prefix of spec.mirrors) {
      if (!underPrefix(name, prefix) || (found && found.prefix.length >= prefix.length)) continue;
      const originName = spec.origin + name.slice(prefix.length);
      const slash = originName.indexOf('/');
      found = {
        spec,
        prefix,
        origin: {
          registry: originName.slice(0, slash),
          repository: originName.slice(slash + 1),
          tag: ref.tag,
          digest: ref.digest,
        },
      };
    }
  return found;
}

/** `docker.io/library/alpine:3.20` (tag and digest kept). */
export const normalized = (ref: Reference): string => formatReference(ref);
