// The mirror proof as a picture (80 columns, origin and mirror side by side, ✔/✘ per edge, the level reached)
// and as a graph of nodes and edges for --json.
import { shortDigest } from '../digest/index.js';
import type { Comparison, PlatformResult } from '../mirror/compare.js';
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
export type ComparisonJson = Comparison & { graph: ReturnType<typeof comparisonGraph> };

/** The `compare --json` document for a comparison. */
export function comparisonJson(c: Comparison): ComparisonJson {
  return { ...c, graph: comparisonGraph(c) };
}

export interface GraphNode {
  id: string;
  side: 'A' | 'B' | 'signature';
  kind: 'signed-tag' | 'index' | 'manifest' | 'config' | 'layer';
  digest: string;
  platform?: string;
}
export interface GraphEdge {
  from: string;
  to: string;
  kind: 'signs' | 'contains' | 'matches';
  ok: boolean;
  reason?: string;
}

/** The same picture as data: every node is a verified document; `contains` edges are digest references. */
export function comparisonGraph(
  c: Comparison,
  anchor?: SignedAnchor,
): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const node = (n: GraphNode) => {
    if (!nodes.has(n.id)) nodes.set(n.id, n);
    return n.id;
  };
  const ia = node({ id: `A:${c.a.digest}`, side: 'A', kind: 'index', digest: c.a.digest });
  const ib = node({ id: `B:${c.b.digest}`, side: 'B', kind: 'index', digest: c.b.digest });
  if (anchor) {
    const sig = node({
      id: `signed:${anchor.tag}`,
      side: 'signature',
      kind: 'signed-tag',
      digest: anchor.digest,
    });
    edges.push({ from: sig, to: ia, kind: 'signs', ok: anchor.digest === c.a.digest });
  }
  edges.push({ from: ia, to: ib, kind: 'matches', ok: c.a.digest === c.b.digest });
  for (const p of c.platforms) {
    for (const [sideName, sd, idx] of [
      ['A', p.a, ia],
      ['B', p.b, ib],
    ] as const) {
      const m = node({
        id: `${sideName}:${sd.manifest}`,
        side: sideName,
        kind: 'manifest',
        digest: sd.manifest,
        platform: p.platform,
      });
      if (m !== idx) edges.push({ from: idx, to: m, kind: 'contains', ok: true });
      if (sd.config) {
        const cf = node({
          id: `${sideName}:${sd.config}`,
          side: sideName,
          kind: 'config',
          digest: sd.config,
          platform: p.platform,
        });
        edges.push({ from: m, to: cf, kind: 'contains', ok: true });
      }
      for (const l of sd.layers)
        edges.push({
          from: m,
          to: node({
            id: `${sideName}:${l}`,
            side: sideName,
            kind: 'layer',
            digest: l,
            platform: p.platform,
          }),
          kind: 'contains',
          ok: true,
        });
    }
    edges.push({
      from: `A:${p.a.manifest}`,
      to: `B:${p.b.manifest}`,
      kind: 'matches',
      ok: p.a.manifest === p.b.manifest,
    });
    if (p.a.config && p.b.config) {
      edges.push({
        from: `A:${p.a.config}`,
        to: `B:${p.b.config}`,
        kind: 'matches',
        ok: p.a.config === p.b.config,
        reason: `level ${p.level}`,
      });
    }
  }
  return { nodes: [...nodes.values()], edges };
}
