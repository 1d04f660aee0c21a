// `trustpin sigstore refresh|status`: the Sigstore trusted root kept current with TUF (tuf-js), cached under
// $TRUSTPIN_HOME for offline `verify --cosign`. The starting root.json is the user's trust anchor, never fetched.
import { readFileSync } from 'node:fs';
import { TrustpinError } from '../errors/index.js';
import {
  cachedTrustedRootInfo,
  refreshTrustedRoot,
  SIGSTORE_PUBLIC_GOOD_MIRROR,
} from '../trust/cosign/index.js';
import { trustpinHome } from '../trust/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';
import type { SigstoreFlags } from './cosign-specs.js';

export const refresh: Action<SigstoreFlags> = async (_args, f, ctx) => {
  const mirror = f.mirror ?? SIGSTORE_PUBLIC_GOOD_MIRROR;
  const home = trustpinHome();
  let initialRoot: Buffer;
  try {
    initialRoot = readFileSync(f.root!);
  } catch (e) {
    throw new TrustpinError('IO_ERROR', `cannot read --root ${f.root}: ${(e as Error).message}`);
  }
  const r = await refreshTrustedRoot({ mirror, initialRoot, home });
  const text = `${ctx.style.ok('refreshed')}: Sigstore trusted root from ${mirror} (root v${r.rootVersion}${r.downloaded ? ', downloaded' : ', unchanged'}; expires ${r.expires})\n  ${r.path}`;
  return {
    exit: EXIT.ok,
    json: { mirror, ...r, trustedRoot: undefined },
    text,
    quiet: r.path,
  };
};

export const status: Action<SigstoreFlags> = async (_args, f) => {
  const mirror = f.mirror ?? SIGSTORE_PUBLIC_GOOD_MIRROR;
  const info = cachedTrustedRootInfo({ mirror, home: trustpinHome() });
  if (!info)
    throw new TrustpinError('NOT_FOUND', `no cached Sigstore trusted root for ${mirror}`, {
      hint: 'trustpin sigstore refresh --root ROOT.json',
    });
  return {
    exit: EXIT.ok,
    json: {
      mirror,
      path: info.path,
      rootVersion: info.rootVersion,
      refreshedAt: info.refreshedAt,
      expires: info.expires,
    },
    text: `Sigstore trusted root for ${mirror}: root v${info.rootVersion}, refreshed ${info.refreshedAt}, expires ${info.expires}\n  ${info.path}`,
    quiet: info.path,
  };
};
