// Platforms: parse `os/arch[/variant]`, normalise like containerd, and match index entries.
import { TrustpinError } from '../errors/index.js';

/** An OCI platform: os, architecture, variant and OS version/features. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
  'os.version'?: string | undefined;
  'os.features'?: string[] | undefined;
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  i386: '386',
};

function normArch(arch: string, variant: string | undefined): [string, string | undefined] {
  const a = ARCH_ALIASES[arch.toLowerCase()] ?? arch.toLowerCase();
  let v = variant?.toLowerCase() || undefined;
  if (a === 'arm64' && v === 'v8') v = undefined;
  if (a === 'amd64' && v === 'v1') v = undefined;
  if (a === 'arm' && v === undefined) v = 'v7';
  return [a, v];
}

export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new TrustpinError('USAGE', `invalid platform ${JSON.stringify(s)}`, {
      expected: 'OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8',
      found: s,
    });
  }
  const [os, arch, variant] = parts as [string, string, string | undefined];
  return { os: os.toLowerCase(), architecture: arch, variant };
}

/** `os/arch[/variant]`, or `unknown`. */
export function formatPlatform(p: Platform | undefined): string {
  if (!p) return 'unknown';
  const base = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  return p['os.version'] ? `${base} (${p['os.version']})` : base;
}

/** Does index entry platform `have` satisfy the requested platform `want`? */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  if (want.os !== have.os.toLowerCase()) return false;
  const [wa, wv] = normArch(want.architecture, want.variant);
  const [ha, hv] = normArch(have.architecture, have.variant);
  if (wa !== ha) return false;
  // No variant asked: any variant of the architecture matches (the index's first entry wins, as docker does).
  if (want.variant !== undefined && wv !== hv) return false;
  if (want['os.version'] !== undefined && have['os.version'] !== want['os.version']) return false;
  return true;
}

export function hostPlatform(): Platform {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return { os: 'linux', architecture: arch };
}
