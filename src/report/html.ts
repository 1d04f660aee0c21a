// A policy report as one self-contained HTML page: a summary table and, per verdict, the chains of trust drawn
// as inline SVG. No scripts, no external requests; every string from the report is escaped (it is hostile data).
import type { PolicyReport, PolicyVerdict, RequirementResult } from '../policy/index.js';
import type { ChainEdge, ChainGraph, ChainNode, SignerClaim, TrustVerdict } from '../trust/index.js';

/** Options of {@link policyHtml}. */
export interface PolicyHtmlOptions {
  title?: string | undefined;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text or attribute value, escaped for HTML and SVG. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]!);
}
const e = escapeHtml;

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const shortDigest = (d?: string) => (d ? clip(d, 19) : '');

const NODE_W = 230;
const NODE_H = 46;
const COL_GAP = 84;
const ROW_GAP = 22;
const PAD = 12;

/** Longest-path depth from the roots; `then` and `matches` edges keep the depth (a chain step, a twin). */
export function layerDepths(g: ChainGraph): Map<string, number> {
  const depth = new Map(g.nodes.map((n) => [n.id, 0]));
  // Bellman-Ford style relaxation, bounded so a cycle in hostile data cannot loop forever.
  for (let i = 0; i < g.nodes.length; i++) {
    let changed = false;
    for (const ed of g.edges) {
      const from = depth.get(ed.from);
      const to = depth.get(ed.to);
      if (from === undefined || to === undefined) continue;
      const want = from + (ed.kind === 'then' || ed.kind === 'matches' ? 0 : 1);
      if (want > to) {
        depth.set(ed.to, want);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return depth;
}

function signerText(claims: SignerClaim[]): string {
  return claims
    .map((c) => {
      switch (c.type) {
        case 'dct':
          return c.name;
        case 'cosign-key':
          return `key ${c.keyId.slice(0, 12)}`;
        case 'cosign-keyless':
          return `${c.subject} (${c.issuer})`;
        default:
          return c.subject;
      }
    })
    .join(', ');
}

/** One graph as inline SVG; `verdict` names the signature system and signers on the signed tag. */
function graphSvg(g: ChainGraph, title: string, verdict?: TrustVerdict): string {
  const depth = layerDepths(g);
  const cols = new Map<number, ChainNode[]>();
  for (const n of g.nodes) {
    const d = depth.get(n.id) ?? 0;
    cols.set(d, [...(cols.get(d) ?? []), n]);
  }
  const rank = (n: ChainNode) => (n.side === 'B' ? 2 : n.side === 'signature' ? 0 : 1);
  const pos = new Map<string, { x: number; y: number }>();
  let rows = 0;
  for (const [d, ns] of cols) {
    ns.sort((a, b) => rank(a) - rank(b));
    for (const [i, n] of ns.entries())
      pos.set(n.id, { x: PAD + d * (NODE_W + COL_GAP), y: PAD + i * (NODE_H + ROW_GAP) });
    rows = Math.max(rows, ns.length);
  }
  const width = PAD * 2 + Math.max(1, cols.size) * (NODE_W + COL_GAP) - COL_GAP;
  const height = PAD * 2 + Math.max(1, rows) * (NODE_H + ROW_GAP) - ROW_GAP;
  const edges = g.edges.map((ed) => edgeSvg(ed, pos)).join('');
  const nodes = g.nodes.map((n) => nodeSvg(n, pos.get(n.id)!, verdict)).join('');
  return `<figure class="graph"><figcaption>${e(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><title>${e(title)}</title>${edges}${nodes}</svg></figure>`;
}

function edgeSvg(ed: ChainEdge, pos: Map<string, { x: number; y: number }>): string {
  const a = pos.get(ed.from);
  const b = pos.get(ed.to);
  if (!a || !b) return '';
  const sameCol = a.x === b.x;
  const [x1, y1, x2, y2] = sameCol
    ? [a.x + NODE_W / 2, a.y + NODE_H, b.x + NODE_W / 2, b.y]
    : [a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2];
  const label = ed.kind === 'matches' ? (ed.ok ? '=' : '≠') : ed.kind;
  const cls = `edge ${ed.kind}${ed.ok ? '' : ' failed'}`;
  const tip = ed.reason ? `<title>${e(ed.reason)}</title>` : '';
  return `<g class="${cls}" data-edge="${e(ed.from)}→${e(ed.to)}">${tip}<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}"/><text x="${(x1 + x2) / 2 + (sameCol ? 6 : 0)}" y="${(y1 + y2) / 2 - 3}" text-anchor="${sameCol ? 'start' : 'middle'}">${e(label)}</text></g>`;
}

function nodeSvg(n: ChainNode, p: { x: number; y: number }, verdict?: TrustVerdict): string {
  let second = n.digest ? shortDigest(n.digest) : (n.detail ?? '');
  if (n.kind === 'signed-tag' && verdict) second = `${verdict.system}: ${signerText(verdict.claims)}`;
  const side = n.side ? ` side-${n.side}` : '';
  const tip = [n.label, n.digest, n.platform, n.detail].filter(Boolean).join('\n');
  return `<g class="node ${n.kind}${side}${n.ok ? '' : ' failed'}" data-node-id="${e(n.id)}"><title>${e(tip)}</title><rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="6"/><text x="${p.x + 8}" y="${p.y + 18}" class="label">${e(clip(n.label, 34))}</text><text x="${p.x + 8}" y="${p.y + 36}" class="sub">${e(clip(second, 38))}</text></g>`;
}

function requirementList(rs: RequirementResult[]): string {
  if (rs.length === 0) return '';
  const items = rs.map((r) => {
    const probs = r.problems
      .map((p) => `<li class="problem"><code>${e(p.code)}</code> ${e(p.message)}${expFound(p)}</li>`)
      .join('');
    return `<li class="req ${e(r.status)}"><span class="badge ${e(r.status)}">${e(r.status)}</span> ${e(r.summary)} <small>${e(r.path)} · ${e(r.at.file)}:${r.at.line}</small>${probs ? `<ul>${probs}</ul>` : ''}${requirementList(r.children ?? [])}</li>`;
  });
  return `<ul class="reqs">${items.join('')}</ul>`;
}

function expFound(p: { expected?: string | undefined; found?: string | undefined }): string {
  const parts = [
    p.expected !== undefined ? `expected <code>${e(p.expected)}</code>` : '',
    p.found !== undefined ? `found <code>${e(p.found)}</code>` : '',
  ].filter(Boolean);
  return parts.length ? ` <small>(${parts.join(', ')})</small>` : '';
}

function chainsOf(rs: RequirementResult[], out: string[]): void {
  for (const r of rs) {
    if (r.verdict && r.verdict.chain.nodes.length > 0)
      out.push(graphSvg(r.verdict.chain, `${r.verdict.system} — ${r.summary}`, r.verdict));
    chainsOf(r.children ?? [], out);
  }
}

function why(v: PolicyVerdict): string {
  if (!v.rule) return 'no rule matched the image';
  const m = v.mirror ? `; a mirror of ${v.mirror.origin}, to be proven at ${v.mirror.prove} level` : '';
  return `rule ${v.rule.name} (scope ${v.rule.scope}, ${v.rule.at.file}:${v.rule.at.line})${m}`;
}

function verdictSection(v: PolicyVerdict, i: number): string {
  const graphs: string[] = [];
  chainsOf(v.requirements, graphs);
  if (v.mirror?.graph)
    graphs.push(
      graphSvg(
        v.mirror.graph,
        `mirror proof against ${v.mirror.origin} (${v.mirror.ok ? 'proven' : 'not proven'})`,
      ),
    );
  const problems = v.problems
    .map((p) => `<li class="problem"><code>${e(p.code)}</code> ${e(p.message)}${expFound(p)}</li>`)
    .join('');
  const warnings = v.warnings
    .map((w) => `<li class="warning"><code>${e(w.code)}</code> ${e(w.message)}</li>`)
    .join('');
  return `<section class="verdict ${e(v.outcome)}" id="verdict-${i}" data-verdict="${e(v.reference)}">
<h2><span class="badge ${e(v.outcome)}">${e(v.outcome)}</span> <span class="badge mode">${e(v.mode)}</span> ${e(v.reference)}</h2>
<p>${e(why(v))}${v.digest ? ` · digest <code>${e(v.digest)}</code>` : ''}${v.pinned ? ` · pin <code>${e(v.pinned)}</code>` : ''}</p>
${problems ? `<ul class="problems">${problems}</ul>` : ''}${warnings ? `<ul class="warnings">${warnings}</ul>` : ''}
${requirementList(v.requirements)}
${graphs.join('\n')}
</section>`;
}

function summaryTable(r: PolicyReport): string {
  const rows = r.verdicts.map((v, i) => {
    const codes = [...new Set(v.problems.map((p) => p.code))].join(', ');
    return `<tr class="${e(v.outcome)}"><td><a href="#verdict-${i}">${e(v.reference)}</a></td><td><code>${e(shortDigest(v.digest))}</code></td><td>${e(v.rule?.name ?? '—')}</td><td>${e(v.mode)}</td><td><span class="badge ${e(v.outcome)}">${e(v.outcome)}</span></td><td>${e(codes)}</td></tr>`;
  });
  return `<table class="summary"><thead><tr><th>reference</th><th>digest</th><th>rule</th><th>mode</th><th>outcome</th><th>problems</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:20px}h2{font-size:16px;word-break:break-all}code{font:12px ui-monospace,monospace}
table.summary{border-collapse:collapse}table.summary td,table.summary th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;color:#fff;background:#57606a}
.badge.pass{background:#1a7f37}.badge.fail{background:#cf222e}.badge.error{background:#9a6700}.badge.skipped{background:#8c959f}
section.verdict{border-top:1px solid #d0d7de;margin-top:24px;padding-top:8px}
.problem code{color:#cf222e}figure.graph{overflow-x:auto;margin:12px 0}figcaption{font-weight:600}
svg .node rect{fill:#f6f8fa;stroke:#57606a}svg .node.side-B rect{fill:#eef4ff}svg .node.side-signature rect{fill:#fff8c5}
svg .node.failed rect{fill:#ffebe9;stroke:#cf222e;stroke-width:2}svg text{font:12px system-ui,sans-serif;fill:#1b1f24}
svg text.sub{font:11px ui-monospace,monospace;fill:#57606a}svg .edge line{stroke:#57606a;stroke-width:1.5}
svg .edge.matches line{stroke-dasharray:4 3}svg .edge text{font-size:11px;fill:#57606a}
svg .edge.failed line{stroke:#cf222e}svg .edge.failed text{fill:#cf222e;font-weight:700}`;

/** The report as one HTML document (a string; write it where you like). */
export function policyHtml(report: PolicyReport, o: PolicyHtmlOptions = {}): string {
  const title = o.title ?? `trustpin policy report — ${report.policy.source}`;
  const verdict = report.ok ? 'every image may be used' : 'some images are blocked';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title><style>${CSS}</style></head>
<body data-ok="${report.ok}"><h1>${e(title)}</h1>
<p>policy <code>${e(report.policy.source)}</code> (<code>${e(report.policy.digest)}</code>), at ${e(report.at)}: <span class="badge ${report.ok ? 'pass' : 'fail'}">${e(verdict)}</span></p>
${summaryTable(report)}
${report.verdicts.map(verdictSection).join('\n')}
</body></html>
`;
}
