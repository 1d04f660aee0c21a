// Field-by-field differences between two image configs: what changes behaviour (entrypoint, env, user,
// ports, labels), what is content (diff_ids), and what is unproven metadata (history, created, author).
import { isDeepStrictEqual } from 'node:util';
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

export function configDifferences(a: ImageConfig, b: ImageConfig): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  const add = (field: string, x: unknown, y: unknown, cls: ConfigDifference['class']) => {
    if (!isDeepStrictEqual(x ?? null, y ?? null)) out.push({ field, a: x ?? null, b: y ?? null, class: cls });
  };
  add('diff_ids', a.diffIds, b.diffIds, 'content');
  for (const k of ['os', 'architecture', 'variant'] as const) add(k, a[k], b[k], 'platform');
  for (const k of BEHAVIOUR) add(`config.${k}`, a.config?.[k], b.config?.[k], 'behaviour');
  add('history', a.history, b.history, 'metadata');
  add('created', a.created, b.created, 'metadata');
  add('author', a.author, b.author, 'metadata');
  return out;
}
