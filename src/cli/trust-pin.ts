// `trustpin trust pin REPO KEYID…` and `trust forget REPO…`: the trust store's pins, without the verifier.
import { TrustpinError } from '../errors/index.js';
import { fullName, parseDockerReference } from '../reference/index.js';
import { TrustStore, trustpinHome } from '../trust/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';

const gunOf = (remote: string) => ({ gun: fullName(parseDockerReference(remote)) });

export const pin: Action<Record<string, never>> = async ([repo, ...ids]) => {
  const { gun } = gunOf(repo!);
  for (const id of ids) {
    if (!/^[0-9a-f]{12,64}$/.test(id)) {
      throw new TrustpinError('USAGE', `${JSON.stringify(id)} is not a root key ID`, {
        expected:
          '12 to 64 lower-case hex characters (as `docker trust inspect` or `trustpin trust key-id` print)',
        found: id,
      });
    }
  }
  const store = new TrustStore(trustpinHome());
  await store.setPin(gun, ids);
  const text = `${gun}: root pinned to ${ids.join(', ')}; a cached root not signed by it is replaced by the next verification that passes under the pin`;
  return { exit: EXIT.ok, text, json: { gun, rootKeyIds: ids }, quiet: '' };
};

export const forget: Action<Record<string, never>> = async (repos) => {
  const store = new TrustStore(trustpinHome());
  const result: { gun: string; forgotten: boolean }[] = [];
  for (const r of repos) {
    const { gun } = gunOf(r);
    result.push({ gun, forgotten: await store.forget(gun) });
  }
  const text = result.map((r) => `${r.gun}: ${r.forgotten ? 'forgotten' : 'nothing stored'}`).join('\n');
  return { exit: EXIT.ok, text, json: result, quiet: '' };
};
