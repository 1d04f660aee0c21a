// `trustpin trust key-id FILE…`: the key IDs of public key and certificate files. Its own module, so the command
// loads the key parser and nothing of the verifier.
import { readFileSync } from 'node:fs';
import { TrustpinError } from '../errors/index.js';
import { canonicalKeyId, isX509, keyId, readKeyFile } from '../trust/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';

export const action: Action<Record<string, never>> = async (files) => {
  const out = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new TrustpinError('IO_ERROR', `cannot read ${file}: ${(e as Error).message}`);
    }
    const k = readKeyFile(text);
    return { file, keytype: k.keytype, id: keyId(k), ...(isX509(k) ? { canonical: canonicalKeyId(k) } : {}) };
  });
  const text = out
    .map(
      (o) =>
        `${o.id}${o.canonical ? `  (canonical ${o.canonical})` : ''}${files.length > 1 ? `  ${o.file}` : ''}`,
    )
    .join('\n');
  return { exit: EXIT.ok, json: out.length === 1 ? out[0] : out, text };
};
