// The chain of trust as one graph model: nodes are trust anchors, signed documents and verified content; edges
// say how one vouches for the next. Every signature system's verdict and the mirror proof draw the same graph.

/** What a node in the chain stands for. */
export type ChainNodeKind =
  | 'root'
  | 'role'
  | 'key'
  | 'certificate'
  | 'signature'
  | 'signed-tag'
  | 'index'
  | 'manifest'
  | 'config'
  | 'layer'
  | 'registry-tag'
  | 'attestation';

/** One link of the chain: a document, key or piece of content, and whether it held. */
export interface ChainNode {
  /** unique within its graph */
  id: string;
  kind: ChainNodeKind;
  label: string;
  digest?: string | undefined;
  detail?: string | undefined;
  /** in a mirror proof: which image the node belongs to ('A' origin, 'B' mirror) or the signature side */
  side?: 'A' | 'B' | 'signature' | undefined;
  platform?: string | undefined;
  /** false when the check this node stands for failed */
  ok: boolean;
}

/**
 * How `from` vouches for `to`: `signs` (a key or role signed it), `delegates` (a role handed trust down),
 * `contains` (a digest reference inside verified content), `matches` (two images compared equal),
 * `serves` (a registry tag resolves to it), `then` (the next step of the same chain, drawn at the same depth).
 */
export type ChainEdgeKind = 'signs' | 'delegates' | 'contains' | 'matches' | 'serves' | 'then';

/** A directed link between two nodes of a {@link ChainGraph}. */
export interface ChainEdge {
  from: string;
  to: string;
  kind: ChainEdgeKind;
  ok: boolean;
  reason?: string | undefined;
}

/** The whole chain of trust: what `--json` prints and what every renderer draws. */
export interface ChainGraph {
  nodes: ChainNode[];
  edges: ChainEdge[];
}

/** Builds a {@link ChainGraph}; adding a node with an id already present keeps the first. */
export class ChainBuilder {
  private readonly nodes = new Map<string, ChainNode>();
  private readonly edges: ChainEdge[] = [];

  /** Add a node (first one wins for an id); returns its id. */
  node(n: ChainNode): string {
    if (!this.nodes.has(n.id)) this.nodes.set(n.id, n);
    return n.id;
  }

  /** Add an edge; `ok` defaults to true. */
  edge(from: string, to: string, kind: ChainEdgeKind, ok = true, reason?: string): void {
    this.edges.push({ from, to, kind, ok, ...(reason !== undefined ? { reason } : {}) });
  }

  /** Mark a node failed (the check it stands for did not hold). */
  fail(id: string, detail?: string): void {
    const n = this.nodes.get(id);
    if (!n) return;
    n.ok = false;
    if (detail !== undefined) n.detail = detail;
  }

  has(id: string): boolean {
    return this.nodes.has(id);
  }

  graph(): ChainGraph {
    return { nodes: [...this.nodes.values()], edges: [...this.edges] };
  }
}

/** Append `next` to the end of a `then` chain started by `prev` (undefined starts it). Returns `next`. */
export function chainStep(b: ChainBuilder, prev: string | undefined, next: ChainNode): string {
  const id = b.node(next);
  if (prev !== undefined) b.edge(prev, id, 'then', next.ok);
  return id;
}
