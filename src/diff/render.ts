// Text and JSON views of an ImageDiff: verdict and summary first, then files, config, and the history kept apart
// under its "unproven metadata" label so nobody reads it as evidence.
import { humanSize, printable, type Style } from '../report/index.js';
import type { ImageDiff } from './diff.js';
import type { BenignClass, ChangedFile } from './files.js';

const CLASS_TEXT: Record<BenignClass, string> = {
  'mtime-only': 'only the mtime differs',
  'layer-only': 'same file, written by another layer',
  'same-size-content':
    'same size, other bytes (embedded timestamps or build IDs look like this; still a difference)',
  'nested-archive': 'an archive whose bytes differ (may be timestamps inside it; still a difference)',
};

const short = (h: string | undefined) => (h ? h.replace(/^sha256:/, '').slice(0, 12) : '-');

function detail(c: ChangedFile): string {
  const parts: string[] = [];
  for (const w of c.what) {
    switch (w) {
      case 'type':
        parts.push(`type ${c.a.type} → ${c.b.type}`);
        break;
      case 'content':
        parts.push(
          c.a.size === c.b.size
            ? `content ${short(c.a.sha256)} → ${short(c.b.sha256)} (same size ${humanSize(c.a.size)})`
            : `content ${humanSize(c.a.size)} → ${humanSize(c.b.size)}`,
        );
        break;
      case 'mode':
        parts.push(`mode ${c.a.mode} → ${c.b.mode}`);
        break;
      case 'owner':
        parts.push(`owner ${c.a.uid}:${c.a.gid} → ${c.b.uid}:${c.b.gid}`);
        break;
      case 'link':
        parts.push(
          `link ${c.a.linkname ?? c.a.hardlink ?? '(none)'} → ${c.b.linkname ?? c.b.hardlink ?? '(none)'}`,
        );
        break;
      case 'device':
        parts.push(`device ${c.a.device ?? '-'} → ${c.b.device ?? '-'}`);
        break;
      case 'xattrs':
        parts.push('xattrs');
        break;
      case 'mtime':
        parts.push(`mtime ${c.a.mtime} → ${c.b.mtime}`);
        break;
      case 'layer':
        parts.push(`layer ${c.a.layer} → ${c.b.layer}`);
        break;
    }
  }
  return parts.join(', ');
}

const fmt = (v: unknown) => (v === null ? '(unset)' : JSON.stringify(v));

export function renderDiff(d: ImageDiff, s: Style, opts: { benign?: boolean } = {}): string {
  const out: string[] = [];
  const verdict = d.equal ? s.ok(`EQUAL (${d.mode})`) : s.bad(`DIFFERENT (${d.mode})`);
  out.push(`${verdict}: ${d.summary}`);
  for (const [n, x] of [
    ['A', d.a],
    ['B', d.b],
  ] as const) {
    const plat = x.platform ? ` ${x.platform}` : '';
    out.push(s.dim(`  ${n} ${x.reference}  ${x.manifest ?? x.digest}${plat}`));
  }
  for (const w of d.warnings) out.push(s.warn(`  warning: ${w.side ? `${w.side}: ` : ''}${w.message}`));

  const f = d.files;
  const more = (listed: number, total: number) => {
    if (total > listed) out.push(s.dim(`  … ${total - listed} more (raise --max-entries)`));
  };
  if (f.changed.length) {
    out.push('', s.bold(`Changed (${f.counts.changed}):`));
    for (const c of f.changed) {
      const cls = opts.benign && c.class ? s.dim(`  [${CLASS_TEXT[c.class]}]`) : '';
      out.push(`  ~ ${printable(c.path)}  ${printable(detail(c))}${cls}`);
    }
    more(f.changed.length, f.counts.changed);
  }
  if (f.added.length) {
    out.push('', s.bold(`Added in B (${f.counts.added}):`));
    for (const p of f.added) out.push(s.ok(`  + ${printable(p)}`));
    more(f.added.length, f.counts.added);
  }
  if (f.removed.length) {
    out.push('', s.bold(`Removed in B (${f.counts.removed}):`));
    for (const p of f.removed) out.push(s.bad(`  - ${printable(p)}`));
    more(f.removed.length, f.counts.removed);
  }
  if (f.layers.length) {
    out.push('', s.bold('Layers (strict):'));
    for (const l of f.layers) out.push(`  ${printable(l)}`);
  }
  if (opts.benign) out.push(...benignSection(d, s));

  const behaviour = d.config.filter((c) => c.class !== 'metadata');
  const metadata = d.config.filter((c) => c.class === 'metadata');
  if (behaviour.length) {
    out.push('', s.bold('Config (changes how the container runs):'));
    for (const c of behaviour) out.push(printable(`  ${c.field}: ${fmt(c.a)} → ${fmt(c.b)}`));
  }
  if (metadata.length) {
    out.push(
      '',
      s.bold(`Config metadata (unproven${d.mode === 'semantic' ? '; ignored in semantic mode' : ''}):`),
    );
    for (const c of metadata) out.push(printable(`  ${c.field}: ${fmt(c.a)} → ${fmt(c.b)}`));
  }

  out.push('', s.bold('History (unproven metadata):'));
  const h = d.history;
  out.push(`  ${h.forged ? s.bad(`!! ${h.finding.message}`) : h.finding.message}`);
  if (!h.equal) {
    const n = Math.max(h.a.length, h.b.length);
    for (let i = 0; i < n; i++) {
      if (h.a[i] === h.b[i]) continue;
      out.push(
        s.bad(printable(`  - [${i}] ${h.a[i] ?? '(none)'}`)),
        s.ok(printable(`  + [${i}] ${h.b[i] ?? '(none)'}`)),
      );
    }
  } else if (h.timestampsDiffer) out.push(s.dim('  (only the recorded timestamps differ)'));
  return out.join('\n');
}

function benignSection(d: ImageDiff, s: Style): string[] {
  const counts = new Map<string, number>();
  for (const c of d.files.changed) {
    const k = c.class ? CLASS_TEXT[c.class] : 'no benign explanation';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  if (d.files.ignored.mtime) counts.set(`ignored: only the mtime differs`, d.files.ignored.mtime);
  if (d.files.ignored.layer) counts.set(`ignored: written by another layer`, d.files.ignored.layer);
  if (counts.size === 0) return [];
  return ['', s.bold('Classes:'), ...[...counts].map(([k, n]) => `  ${String(n).padStart(6)}  ${k}`)];
}

/**
 * What `trustpin diff --json` prints: the verdict and its coded differences, both sides, the files, the config,
 * the history (kept apart, with its coded finding), coded warnings, and with `--benign` the class counts.
 */
export interface DiffJson {
  equal: boolean;
  differences: ImageDiff['differences'];
  mode: ImageDiff['mode'];
  basis: ImageDiff['basis'];
  summary: string;
  a: ImageDiff['a'];
  b: ImageDiff['b'];
  files: ImageDiff['files'] & { classes?: Record<string, number> };
  config: ImageDiff['config'];
  history: ImageDiff['history'];
  warnings: ImageDiff['warnings'];
  layersRead: number;
}

/** The JSON document the CLI prints: the issue's shape, with the extra fields that explain it. */
export function diffJson(d: ImageDiff, opts: { benign?: boolean } = {}): DiffJson {
  const classes: Record<string, number> = {};
  if (opts.benign) {
    for (const c of d.files.changed) classes[c.class ?? 'none'] = (classes[c.class ?? 'none'] ?? 0) + 1;
  }
  return {
    equal: d.equal,
    differences: d.differences,
    mode: d.mode,
    basis: d.basis,
    summary: d.summary,
    a: d.a,
    b: d.b,
    files: { ...d.files, ...(opts.benign ? { classes } : {}) },
    config: d.config,
    history: d.history,
    warnings: d.warnings,
    layersRead: d.layersRead,
  };
}
