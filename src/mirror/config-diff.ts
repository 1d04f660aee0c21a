// Field-by-field differences between two image configs: what changes behaviour (entrypoint, env, user,
// ports, labels), what is content (diff_ids), and what is unproven metadata (history, created, author).
import type { ImageConfig } from '../manifest/index.js';

export interface ConfigDifference {
  field: string;
  a: unknown;
  b: unknown;
  /** 'content' = layers; 'behaviour' = how it runs; 'metadata' = unproven descriptive data */
  class: 'content' | 'behaviour' | 'metadata' | 'platform';
}

const BEHAVIOUR = [
  'Entrypoint',
  'Cmd',
  'Env',
  'User',
  'WorkingDir',
  'ExposedPorts',
  'Volumes',
  'Labels',
  'StopSignal',
] as const;

/** Equality of JSON values without recursion (a parsed config is depth-bounded; one built in code need not be). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (x === y) continue;
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') {
      if (!Object.is(x, y)) return false;
      continue;
    }
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    const kx = Object.keys(x).filter((k) => (x as Record<string, unknown>)[k] !== undefined);
    const ky = Object.keys(y).filter((k) => (y as Record<string, unknown>)[k] !== undefined);
    if (kx.length !== ky.length) return false;
    for (const k of kx) {
      if (!Object.hasOwn(y, k)) return false;
      stack.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]]);
    }
  }
  return true;
}

export function configDifferences(a: ImageConfig, b: ImageConfig): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  const add = (field: string, x: unknown, y: unknown, cls: ConfigDifference['class']) => {
    if (!jsonEqual(x ?? null, y ?? null)) out.push({ field, a: x ?? null, b: y ?? null, class: cls });
  };
  add('diff_ids', a.diffIds, b.diffIds, 'content');
  for (const k of ['os', 'architecture', 'variant'] as const) add(k, a[k], b[k], 'platform');
  for (const k of BEHAVIOUR) add(`config.${k}`, a.config?.[k], b.config?.[k], 'behaviour');
  add('history', a.history, b.history, 'metadata');
  add('created', a.created, b.created, 'metadata');
  add('author', a.author, b.author, 'metadata');
  return out;
}
