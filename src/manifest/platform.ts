// Platforms: parse `os[(os.version)]/arch[/variant]`, normalise like containerd's `platforms` package, and pick the
// best index entry for a request by containerd's `Only` order, so the choice never depends on index order.
//
// Where trustpin deliberately differs from containerd (which answers "what can this host run?", while trustpin
// answers "which image is the one asked for?", and pins or verifies that one):
// - No cross-architecture fallback. containerd's `Only(linux/amd64)` also matches linux/386, and `Only(linux/arm64)`
//   matches linux/arm/v8…v5. A 386 digest handed back for `--platform linux/amd64` would be pinned as the amd64
//   image, so trustpin only falls back to lower variants of the *same* architecture (amd64/v3 → v2 → v1,
//   arm/v7 → v6 → v5, arm64/v8.2 → v8.1 → v8).
// - os.version: containerd checks it only for Windows, by host/container ABI compatibility (a Windows Server 2025
//   host runs ltsc2022 builds). trustpin is not a host: an asked os.version (`windows(10.0.20348)/amd64`) must equal
//   the entry's or be a dot-bounded prefix of it (10.0.20348 matches 10.0.20348.2113), for any OS. Without one,
//   every os.version matches and the highest wins (containerd's Windows comparer orders them the same way).
// - Two *different* manifests at the same rank (e.g. two linux/amd64 entries) are PLATFORM_AMBIGUOUS; containerd
//   takes the first in index order, which lets whoever orders the index choose the image.
// - parsePlatform needs both os and architecture; containerd fills a missing one from the host, a pin must not.
// - An arm64 variant outside v8.x/v9.x matches itself only (containerd's `Only` matches nothing for it).
import { TrustpinError } from '../errors/index.js';

/**
 * Highest numbered variant (`v<N>`) a request may name: lower variants are enumerated for matching (amd64/v3 → v2 →
 * v1), so `linux/amd64/v999999999` would list a billion of them. No architecture has a level above v9. parsePlatform
 * refuses a higher one (USAGE); a Platform object with one matches its own variant only.
 */
export const MAX_VARIANT_LEVEL = 16;

/** An OCI platform: os, architecture, variant and OS version/features. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
  'os.version'?: string | undefined;
  'os.features'?: string[] | undefined;
}

/** Architecture and variant in containerd's canonical form (`normalizeArch`): the form two platforms compare in. */
function normArch(arch: string, variant: string | undefined): [string, string | undefined] {
  const a = arch.toLowerCase();
  const v = variant?.toLowerCase() ?? '';
  switch (a) {
    case 'i386':
      return ['386', undefined];
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return ['amd64', v === 'v1' || v === '' ? undefined : v];
    case 'aarch64':
    case 'arm64':
      // v8 is the base arm64: no variant and v8 are one platform
      if (v === '8' || v === 'v8' || v === 'v8.0' || v === '') return ['arm64', undefined];
      return ['arm64', v === '9' || v === '9.0' || v === 'v9.0' ? 'v9' : v];
    case 'armhf':
      return ['arm', 'v7'];
    case 'armel':
      return ['arm', 'v6'];
    case 'arm':
      if (v === '' || v === '7') return ['arm', 'v7'];
      return ['arm', v === '5' || v === '6' || v === '8' ? `v${v}` : v];
    default:
      return [a, v || undefined];
  }
}

function normOS(os: string): string {
  const o = os.toLowerCase();
  return o === 'macos' ? 'darwin' : o;
}

/** The canonical form of a platform (containerd's `Normalize`): lower case, aliases resolved, base variants dropped. */
export function normalizePlatform(p: Platform): Platform {
  const [architecture, variant] = normArch(p.architecture, p.variant);
  const out: Platform = { os: normOS(p.os), architecture };
  if (variant !== undefined) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']?.length) out['os.features'] = [...new Set(p['os.features'])].sort();
  return out;
}

// The OS part may carry `(os.version+feature+…)`, percent-encoded; the other parts are plain specifiers.
const OS_RE = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/;
const PART_RE = /^[A-Za-z0-9_.-]+$/;

function usage(s: string, why: string): TrustpinError {
  return new TrustpinError('USAGE', `invalid platform ${JSON.stringify(s)}: ${why}`, {
    expected: 'OS/ARCH[/VARIANT], e.g. linux/amd64, linux/arm64/v8 or windows(10.0.20348)/amd64',
    found: s,
  });
}

function decode(s: string, spec: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw usage(spec, `bad percent-encoding in ${JSON.stringify(s)}`);
  }
}

/**
 * Parse a platform specifier as containerd's `platforms.Parse` does (both os and architecture required).
 * Aliases are resolved (`aarch64`, `x86_64`, `armhf`, `armel`, `i386`, `macos`); the variant is kept as the user
 * means it (`linux/arm64/v8` stays v8, `linux/arm` has none), and matching normalises again.
 * @throws TrustpinError USAGE for a malformed specifier
 */
export function parsePlatform(s: string): Platform {
  const spec = s.trim();
  if (spec.includes('*')) throw usage(s, 'wildcards are not supported');
  const parts = spec.split('/');
  if (parts.length < 2 || parts.length > 3) throw usage(s, 'it needs an OS and an architecture');
  const [osPart, arch, variant] = parts as [string, string, string | undefined];
  const m = OS_RE.exec(osPart);
  if (!m) throw usage(s, `${JSON.stringify(osPart)} is not an OS (letters, digits, _ and -)`);
  for (const p of parts.slice(1)) {
    if (!PART_RE.test(p)) throw usage(s, `${JSON.stringify(p)} is not a platform component`);
  }
  const out: Platform = { os: normOS(m[1]!), architecture: '' };
  if (m[2]) out['os.version'] = decode(m[2], s);
  const features = (m[3] ?? '').split('+').filter(Boolean);
  if (features.length) out['os.features'] = features.map((f) => decode(f, s));
  let [a, v] = normArch(arch, variant);
  // keep the spelling the user chose: `linux/arm` is shown as asked, `linux/arm64/v8` keeps its v8
  if (variant === undefined && a === 'arm' && v === 'v7') v = undefined;
  if (variant !== undefined && a === 'arm64' && v === undefined) v = 'v8';
  const level = /^v(\d+)$/.exec(v ?? '');
  if (level && Number(level[1]) > MAX_VARIANT_LEVEL)
    throw usage(s, `variant ${v} is above v${MAX_VARIANT_LEVEL} (no architecture has one)`);
  out.architecture = a;
  if (v !== undefined) out.variant = v;
  return out;
}

/** `os/arch[/variant]`, or `unknown`. */
export function formatPlatform(p: Platform | undefined): string {
  if (!p) return 'unknown';
  const base = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  return p['os.version'] ? `${base} (${p['os.version']})` : base;
}

/** Lower variants of the same architecture that a request accepts, best first (containerd's `platformVector`). */
function variantsFor(architecture: string, variant: string | undefined): (string | undefined)[] {
  const n = /^v(\d+)$/.exec(variant ?? '');
  if (n && Number(n[1]) > MAX_VARIANT_LEVEL) return [variant];
  if (architecture === 'amd64' && n) return [...countdown(Number(n[1]), 2), undefined];
  if (architecture === 'arm' && n && Number(n[1]) >= 5) return countdown(Number(n[1]), 5);
  if (architecture === 'arm64') {
    const m = /^v(8|9)(?:\.(\d))?$/.exec(variant ?? 'v8');
    if (!m) return [variant];
    const major = Number(m[1]);
    const minor = Number(m[2] ?? 0);
    // arm64 v9.x includes v8.(x+5), capped at v8.9; v8 itself has no variant in canonical form
    const v8minor = major === 9 ? Math.min(minor + 5, 9) : minor;
    const nine = major === 9 ? minors(9, minor) : [];
    return [...nine, ...minors(8, v8minor)].map((x) => (x === 'v8' ? undefined : x));
  }
  return [variant];
}

function countdown(from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i >= to; i--) out.push(`v${i}`);
  return out;
}

function minors(major: number, from: number): string[] {
  const out: string[] = [];
  for (let i = from; i >= 0; i--) out.push(i === 0 ? `v${major}` : `v${major}.${i}`);
  return out;
}

/** A requested platform, ready to rank candidates: 0 is an exact match, higher is a lower compatible variant. */
export interface PlatformMatcher {
  /** the request, normalised */
  readonly want: Platform;
  /** the platforms accepted, best first */
  readonly order: Platform[];
  /** the rank of `have` in `order`, or undefined when it does not satisfy the request */
  rank(have: Platform | undefined): number | undefined;
  matches(have: Platform | undefined): boolean;
}

function osVersionMatches(want: string | undefined, have: string | undefined): boolean {
  if (!want) return true;
  return have === want || (have?.startsWith(`${want}.`) ?? false);
}

function featuresMatch(want: Platform, have: Platform): boolean {
  // Windows images mark win32k, which every Windows host has; containerd ignores it the same way
  const hf = (have['os.features'] ?? []).filter((f) => !(have.os === 'windows' && f === 'win32k'));
  const wf = new Set(want['os.features'] ?? []);
  return hf.every((f) => wf.has(f));
}

/** containerd's `Only(want)` without its cross-architecture fallbacks (see the module comment). */
export function platformMatcher(want: Platform): PlatformMatcher {
  const w = normalizePlatform(want);
  const order = variantsFor(w.architecture, w.variant).map((variant) => ({ ...w, variant }));
  const rank = (have: Platform | undefined): number | undefined => {
    if (!have?.os || !have.architecture) return undefined;
    const h = normalizePlatform(have);
    if (h.os !== w.os || h.architecture !== w.architecture) return undefined;
    if (!osVersionMatches(w['os.version'], h['os.version']) || !featuresMatch(w, h)) return undefined;
    const i = order.findIndex((o) => o.variant === h.variant);
    return i < 0 ? undefined : i;
  };
  return { want: w, order, rank, matches: (have) => rank(have) !== undefined };
}

/** Does platform `have` (an index entry's, or an image config's) satisfy the requested platform `want`? */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  return platformMatcher(want).matches(have);
}

/**
 * Are `a` and `b` one platform, spelled either way (`aarch64` = `arm64/v8`, `arm` = `arm/v7`)? For filters that
 * mean "exactly this platform", where {@link platformMatches} would also accept lower variants.
 */
export function samePlatform(a: Platform | undefined, b: Platform | undefined): boolean {
  if (!a || !b) return false;
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return (
    x.os === y.os &&
    x.architecture === y.architecture &&
    x.variant === y.variant &&
    (x['os.version'] ?? '') === (y['os.version'] ?? '')
  );
}

/** Compare dotted version strings numerically (10.0.20348.2113 > 10.0.17763.9999). */
function compareVersions(a: string | undefined, b: string | undefined): number {
  const pa = (a ?? '').split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = (b ?? '').split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The entry that best satisfies `want`, by containerd's `Only` order (exact variant first, then lower ones), then
 * the highest os.version; undefined when none does. Index order never decides.
 * @throws TrustpinError PLATFORM_AMBIGUOUS when different manifests tie for the best place
 */
export function bestPlatformMatch<T extends { platform?: Platform | undefined; digest?: string }>(
  want: Platform,
  entries: readonly T[],
): T | undefined {
  const m = platformMatcher(want);
  let top: T[] = [];
  let topRank = Number.POSITIVE_INFINITY;
  for (const e of entries) {
    const r = m.rank(e.platform);
    if (r === undefined || r > topRank) continue;
    // at the same rank the higher os.version is better
    const c = r < topRank ? 1 : compareVersions(e.platform?.['os.version'], top[0]!.platform?.['os.version']);
    if (c > 0) {
      top = [e];
      topRank = r;
    } else if (c === 0) top.push(e);
  }
  const digests = new Set(top.map((e) => e.digest));
  if (digests.size > 1) {
    throw new TrustpinError(
      'PLATFORM_AMBIGUOUS',
      `${top.length} different manifests are ${formatPlatform(top[0]!.platform)}`,
      {
        expected: `one manifest for ${formatPlatform(want)}`,
        found: [...digests].join(', '),
        hint: 'choose the image by digest (NAME@sha256:…)',
      },
    );
  }
  return top[0];
}

/**
 * Check the platform an image says it is (its verified config's os/architecture/variant) against a request, for an
 * image that is not in an index and so has no entry to choose.
 * @throws TrustpinError PLATFORM_NOT_FOUND when it does not satisfy `want`
 */
export function requirePlatform(want: Platform, have: Platform | undefined, name: string): void {
  if (platformMatches(want, have)) return;
  throw new TrustpinError(
    'PLATFORM_NOT_FOUND',
    `${name} is a single ${formatPlatform(have)} image, not ${formatPlatform(want)}`,
    {
      expected: formatPlatform(want),
      found: formatPlatform(have),
      hint: 'it has no other platform: drop option platform, or use an image built for it',
    },
  );
}

/** The platform this process runs on, as an image platform (images are Linux whatever the host OS). */
export function hostPlatform(): Platform {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  if (arch !== 'arm') return { os: 'linux', architecture: arch };
  const v = (process.config.variables as { arm_version?: string }).arm_version;
  return { os: 'linux', architecture: 'arm', variant: v ? `v${v}` : undefined };
}
