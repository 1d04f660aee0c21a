// One verdict shape for every signature system (DCT now; cosign and Notation later), and the chain of trust
// it carries: nodes from the trust anchor down to the bytes, each edge checked (✔) or failed (✘).

export type ChainKind =
  | 'root'
  | 'role'
  | 'signed-tag'
  | 'index'
  | 'manifest'
  | 'config'
  | 'layer'
  | 'registry-tag';

export interface ChainNode {
  kind: ChainKind;
  label: string;
  digest?: string;
  detail?: string;
  ok: boolean;
  children?: ChainNode[];
}

export interface Signer {
  name: string;
  keyIds: string[];
}

export interface TrustVerdict {
  system: 'dct' | 'cosign' | 'notation';
  reference: string;
  subject: string;
  signers: Signer[];
  chain: ChainNode[];
  ok: boolean;
  warnings: string[];
}
