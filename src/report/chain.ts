// The chain of trust as text: one line per link, anchor first, `then` steps at the same depth, contained and
// signed links indented beneath, ✔/✘ per node. Draws any ChainGraph (a verdict's or a mirror proof's).
import type { ChainGraph, ChainNode } from '../trust/index.js';
import { printable, type Style } from './style.js';

export function renderChain(g: ChainGraph, s: Style): string {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const drawn = new Set<string>();
  const incoming = new Set(g.edges.filter((e) => e.kind !== 'matches').map((e) => e.to));
  const out = (id: string, then: boolean) =>
    g.edges
      .filter((e) => e.from === id && (then ? e.kind === 'then' : e.kind !== 'then' && e.kind !== 'matches'))
      .map((e) => byId.get(e.to))
      .filter((n): n is ChainNode => n !== undefined);
  /** a node and the `then` steps after it */
  const sequence = (n: ChainNode): ChainNode[] => {
    const list: ChainNode[] = [];
    for (let cur: ChainNode | undefined = n; cur && !list.includes(cur); cur = out(cur.id, true)[0])
      list.push(cur);
    return list;
  };
  const lines: string[] = [];
  const walk = (n: ChainNode, prefix: string, last: boolean, depth: number) => {
    if (drawn.has(n.id)) return;
    drawn.add(n.id);
    const mark = n.ok ? s.ok('✔') : s.bad('✘');
    const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
    lines.push(
      `${prefix}${branch}${mark} ${s.bold(printable(n.label))}${n.digest ? ` ${printable(n.digest)}` : ''}`,
    );
    const childPrefix = depth === 0 ? prefix : prefix + (last ? '   ' : '│  ');
    if (n.detail) lines.push(`${childPrefix}${depth === 0 ? '  ' : '   '}${s.dim(printable(n.detail))}`);
    const kids = out(n.id, false).flatMap(sequence);
    for (const [i, c] of kids.entries())
      walk(c, depth === 0 ? `${childPrefix}  ` : childPrefix, i === kids.length - 1, depth + 1);
  };
  const top = g.nodes.filter((n) => !incoming.has(n.id)).flatMap(sequence);
  for (const [i, n] of top.entries()) walk(n, '', i === top.length - 1, 0);
  return lines.join('\n');
}
