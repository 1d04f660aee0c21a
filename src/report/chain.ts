// The chain of trust as text: one line per link, anchor first, children indented, ✔/✘ per edge.
import type { ChainNode } from '../trust/verdict.js';
import type { Style } from './style.js';

export function renderChain(nodes: ChainNode[], s: Style): string {
  const lines: string[] = [];
  const walk = (n: ChainNode, prefix: string, last: boolean, depth: number) => {
    const mark = n.ok ? s.ok('✔') : s.bad('✘');
    const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
    const head = `${prefix}${branch}${mark} ${s.bold(n.label)}${n.digest ? ` ${n.digest}` : ''}`;
    lines.push(head);
    const childPrefix = depth === 0 ? prefix : prefix + (last ? '   ' : '│  ');
    if (n.detail) lines.push(`${childPrefix}${depth === 0 ? '  ' : '   '}${s.dim(n.detail)}`);
    const kids = n.children ?? [];
    for (const [i, c] of kids.entries())
      walk(c, depth === 0 ? `${childPrefix}  ` : childPrefix, i === kids.length - 1, depth + 1);
  };
  for (const [i, n] of nodes.entries()) walk(n, '', i === nodes.length - 1, 0);
  return lines.join('\n');
}
