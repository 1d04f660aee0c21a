// The mirror proof as a picture (80 columns, origin and mirror side by side, ✔/✘ per edge, the level reached)
// and as a graph of nodes and edges for --json.
import { shortDigest } from '../digest/index.js';
import type { Comparison, PlatformResult } from '../mirror/index.js';
import { ChainBuilder, type ChainGraph } from '../trust/index.js';
import type { Style } from './style.js';

export interface SignedAnchor {
  system: string;
  tag: string;
  digest: string;
  signers: string[];
}

const W = 15;
const d12 = (d: string | undefined) => (d ? shortDigest(d, 12) : '—'.padEnd(19));
// a label longer than its column still gets one space before the next column
const pad = (s: string, n: number) => s + ' '.repeat(Math.max(1, n - [...s].length));

function row(s: Style, label: string, a: string | undefined, b: string | undefined, note = ''): string {
  const same = a !== undefined && a === b;
  const mark = a === undefined || b === undefined ? ' ' : same ? s.ok('=') : s.bad('≠');
  return `${pad(label, W)}${pad(d12(a), 20)}${mark} ${pad(d12(b), 20)}${note ? s.dim(note) : ''}`.trimEnd();
}

const LEVEL_TEXT: Record<string, string> = {
  index: 'same index',
  manifest: 'same manifest',
  config: 'same config (image ID)',
  diff_ids: 'same layer contents',
  none: 'NOT the same image',
};

function platformLines(p: PlatformResult, s: Style, ok: boolean): string[] {
  const mark = ok ? s.ok('✔') : s.bad('✘');
  const lines = [
    `${mark} ${s.bold(pad(p.platform, W - 2))} ${ok ? s.ok(LEVEL_TEXT[p.level]!) : s.bad(LEVEL_TEXT[p.level]!)} ${s.dim(`(level: ${p.level})`)}`,
  ];
  lines.push(row(s, '  manifest', p.a.manifest, p.b.manifest));
  lines.push(row(s, '  config', p.a.config, p.b.config));
  const n = Math.max(p.a.layers.length, p.b.layers.length);
  for (let i = 0; i < n; i++) lines.push(row(s, `  layer ${i + 1}`, p.a.layers[i], p.b.layers[i]));
  if (p.diffIds) {
    for (let i = 0; i < Math.max(p.diffIds.a.length, p.diffIds.b.length); i++)
      lines.push(row(s, `  diff_id ${i + 1}`, p.diffIds.a[i], p.diffIds.b[i]));
  }
  for (const r of p.reasons) lines.push(`    ${s.dim(`· ${r.message}`)}`);
  for (const w of p.warnings) lines.push(`    ${s.warn(`⚠ ${w.message}`)}`);
  return lines;
}

export function renderComparison(c: Comparison, s: Style, anchor?: SignedAnchor): string {
  const okLevels = c.deep ? ['index', 'manifest', 'config', 'diff_ids'] : ['index', 'manifest', 'config'];
  const out: string[] = [];
  out.push(`${s.bold('A')} ${c.a.reference}`);
  out.push(`${s.bold('B')} ${c.b.reference}`);
  out.push('');
  out.push(s.dim(`${pad('', W)}${pad('A', 21)} ${pad('B', 20)}`));
  if (anchor) {
    out.push(
      `${s.ok('✔')} ${pad(`signed ${anchor.tag}`, W - 2)}${pad(d12(anchor.digest), 20)}  ${s.dim(`${anchor.system}${anchor.signers.length ? `, by ${anchor.signers.join(', ')}` : ''}`)}`,
    );
  }
  const single =
    !c.a.mediaType.includes('index') &&
    !c.a.mediaType.includes('list') &&
    !c.b.mediaType.includes('index') &&
    !c.b.mediaType.includes('list');
  if (!single) out.push(row(s, 'index', c.a.digest, c.b.digest));
  for (const r of c.indexReasons) out.push(`    ${s.dim(`· ${r.message}`)}`);
  for (const p of c.platforms) out.push(...platformLines(p, s, okLevels.includes(p.level)));
  for (const k of c.onlyInA) out.push(`${s.bad('✘')} ${pad(k, W - 2)} ${s.bad('only in A')}`);
  for (const k of c.onlyInB) out.push(`${s.bad('✘')} ${pad(k, W - 2)} ${s.bad('only in B')}`);
  for (const [name, list] of [
    ['A', c.attestations.a],
    ['B', c.attestations.b],
  ] as const) {
    for (const a of list)
      out.push(
        s.dim(
          `  ${a.kind} in ${name} (not a platform): ${shortDigest(a.digest, 12)}${a.refersTo ? ` for ${shortDigest(a.refersTo, 12)}` : ''}`,
        ),
      );
  }
  out.push('');
  if (c.equivalent) {
    const levels = [...new Set(c.platforms.map((p) => p.level))];
    out.push(`${s.ok('equivalent')}: every compared platform matches at ${levels.join('/')} level`);
  } else {
    const bad = [
      ...c.platforms.filter((p) => !okLevels.includes(p.level)).map((p) => p.platform),
      ...c.onlyInA,
      ...c.onlyInB,
    ];
    out.push(`${s.bad('not equivalent')}: ${bad.join(', ') || 'no platform in common'}`);
  }
  return out.join('\n');
}

/** What `trustpin compare --json` prints: the comparison, with coded reasons and warnings, and its graph. */
/** `compare --json`: the comparison and its chain graph. */
export type ComparisonJson = Comparison & { graph: ChainGraph };

/** The `compare --json` document for a comparison. */
export function comparisonJson(c: Comparison): ComparisonJson {
  return { ...c, graph: comparisonGraph(c) };
}

/**
 * The same picture as a {@link ChainGraph}: every node is a verified document; `contains` edges are digest
 * references, `matches` edges compare origin (side A) and mirror (side B), `signs` ties the signature to A.
 */
export function comparisonGraph(c: Comparison, anchor?: SignedAnchor): ChainGraph {
  const b = new ChainBuilder();
  const ia = b.node({
    id: `A:${c.a.digest}`,
    side: 'A',
    kind: 'index',
    label: c.a.reference,
    digest: c.a.digest,
    ok: true,
  });
  const ib = b.node({
    id: `B:${c.b.digest}`,
    side: 'B',
    kind: 'index',
    label: c.b.reference,
    digest: c.b.digest,
    ok: true,
  });
  if (anchor) {
    const sig = b.node({
      id: `signed:${anchor.tag}`,
      side: 'signature',
      kind: 'signed-tag',
      label: `signed ${anchor.tag} (${anchor.system})`,
      digest: anchor.digest,
      ok: true,
    });
    b.edge(sig, ia, 'signs', anchor.digest === c.a.digest);
  }
  b.edge(ia, ib, 'matches', c.a.digest === c.b.digest);
  for (const p of c.platforms) {
    for (const [side, sd, idx] of [
      ['A', p.a, ia],
      ['B', p.b, ib],
    ] as const) {
      const part = (kind: 'manifest' | 'config' | 'layer', digest: string) =>
        b.node({
          id: `${side}:${digest}`,
          side,
          kind,
          label: `${kind} ${p.platform}`,
          digest,
          platform: p.platform,
          ok: true,
        });
      const m = part('manifest', sd.manifest);
      if (m !== idx) b.edge(idx, m, 'contains');
      if (sd.config) b.edge(m, part('config', sd.config), 'contains');
      for (const l of sd.layers) b.edge(m, part('layer', l), 'contains');
    }
    b.edge(`A:${p.a.manifest}`, `B:${p.b.manifest}`, 'matches', p.a.manifest === p.b.manifest);
    if (p.a.config && p.b.config)
      b.edge(`A:${p.a.config}`, `B:${p.b.config}`, 'matches', p.a.config === p.b.config, `level ${p.level}`);
  }
  return b.graph();
}
