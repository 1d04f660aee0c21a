// Reading signed targets the way docker does: all (role, target) pairs in notary's walk order, the tag → digest
// resolution of a trusted pull (targets/releases, then targets), and the `--signer` requirement.

import { type Digest, parseDigest } from '../../digest/index.js';
import { TrustpinError } from '../../errors/index.js';
import { canonicalKeyId, type TufKey } from './keys.js';
import { type FileMeta, pathAllowed } from './metadata.js';
import type { TrustedRepo } from './updater.js';

export const RELEASES = 'targets/releases';

export interface SignedTarget {
  role: string;
  name: string;
  meta: FileMeta;
  /** role keys (root.json IDs) and, for delegations, their canonical IDs */
  keyIds: string[];
}

export function sha256Hex(meta: FileMeta): string | undefined {
  const b = meta.hashes.sha256;
  return b ? Buffer.from(b, 'base64').toString('hex') : undefined;
}

/** Every target in every verified role, `targets` first then delegations in the order they were loaded. */
export function allTargets(repo: TrustedRepo, name?: string): SignedTarget[] {
  const out: SignedTarget[] = [];
  for (const [t, meta] of Object.entries(repo.targets.signed.targets)) {
    if (name === undefined || t === name)
      out.push({ role: 'targets', name: t, meta, keyIds: repo.root.signed.roles.targets.keyids });
  }
  for (const d of repo.delegations) {
    const keyIds = d.role.keyids.map((id) => canonicalKeyId(d.keys[id]!));
    for (const [t, meta] of Object.entries(d.doc.signed.targets)) {
      if ((name === undefined || t === name) && pathAllowed(d.paths, t))
        out.push({ role: d.role.name, name: t, meta, keyIds });
    }
  }
  return out;
}

/** Targets a delegation signed outside the paths its parent gave it (notary ignores them; we say so). */
export function outOfPathTargets(repo: TrustedRepo, name: string): string[] {
  return repo.delegations
    .filter((d) => d.doc.signed.targets[name] && !pathAllowed(d.paths, name))
    .map((d) => d.role.name);
}

export interface Resolution {
  tag: string;
  digest: Digest;
  length: number;
  role: string;
  /** the keys of the role that signed it (root.json IDs for targets, canonical IDs for delegations) */
  keyIds: string[];
  /** delegations (other than releases) that signed the same tag and digest */
  signers: { name: string; keyIds: string[] }[];
}

/** docker's trusted pull: the tag from targets/releases, else targets; any other role is not enough. */
export function resolveTag(repo: TrustedRepo, tag: string): Resolution {
  const all = allTargets(repo, tag);
  const hit = all.find((t) => t.role === RELEASES) ?? all.find((t) => t.role === 'targets');
  if (!hit) {
    const elsewhere = all.map((t) => t.role);
    const outside = outOfPathTargets(repo, tag);
    if (outside.length) {
      throw new TrustpinError(
        'TUF_DELEGATION_PATH',
        `${outside.join(', ')} signed ${tag} outside the paths it was delegated`,
        {
          expected: `a signature for ${tag} in ${RELEASES} or targets`,
          found: `only out-of-path signatures by ${outside.join(', ')}`,
          hint: 'a delegation may only sign the names its parent allows; this signature does not count',
        },
      );
    }
    throw new TrustpinError('TUF_TARGET_NOT_FOUND', `no trust data for ${repo.gun}:${tag}`, {
      expected: `${tag} signed in ${RELEASES} or targets`,
      found: elsewhere.length
        ? `only in ${elsewhere.join(', ')} (docker does not accept those for a pull)`
        : 'no signed tag of that name',
      hint: 'the tag is not signed; `trustpin trust inspect` lists the signed tags',
    });
  }
  const hex = sha256Hex(hit.meta);
  if (!hex) throw new TrustpinError('TUF_METADATA_INVALID', `signed target ${tag} has no sha256 hash`);
  const digest = parseDigest(`sha256:${hex}`);
  const signers = all
    .filter((t) => t.role !== RELEASES && t.role !== 'targets' && sha256Hex(t.meta) === hex)
    .map((t) => ({ name: t.role.slice('targets/'.length), keyIds: t.keyIds }));
  return { tag, digest, length: hit.meta.length, role: hit.role, keyIds: hit.keyIds, signers };
}

export interface SignerRequirement {
  name: string;
  keyId?: string;
}

export function parseSigner(s: string): SignerRequirement {
  const [name, keyId] = s.split(':');
  if (!name || !/^[-a-z0-9_]+$/.test(name)) {
    throw new TrustpinError('USAGE', `invalid signer requirement ${JSON.stringify(s)}`, {
      expected: 'NAME or NAME:KEYID (e.g. alice:2640e8054e04)',
    });
  }
  return keyId ? { name, keyId } : { name };
}

/** `--signer NAME[:KEYID]`: that signer's delegation must have signed this tag with this digest (with that key). */
export function requireSigner(repo: TrustedRepo, r: Resolution, req: SignerRequirement): void {
  const role = `targets/${req.name}`;
  const d = repo.delegations.find((x) => x.role.name === role);
  if (!d) {
    throw new TrustpinError('SIGNER_MISMATCH', `signer ${req.name} has no valid delegation in ${repo.gun}`, {
      expected: `a verified ${role} role`,
      found: repo.delegations.map((x) => x.role.name).join(', ') || 'no delegations',
      hint: repo.warnings.length
        ? repo.warnings.join('; ')
        : 'check the signer name with `trustpin trust inspect`',
    });
  }
  const meta = Object.hasOwn(d.doc.signed.targets, r.tag) ? d.doc.signed.targets[r.tag] : undefined;
  if (!meta || sha256Hex(meta) !== r.digest.slice(7) || !pathAllowed(d.paths, r.tag)) {
    throw new TrustpinError('SIGNER_MISMATCH', `${req.name} did not sign ${r.tag} as ${r.digest}`, {
      expected: `${role} signs ${r.tag} → ${r.digest}`,
      found: meta ? `${role} signs ${r.tag} → sha256:${sha256Hex(meta)}` : `${role} does not sign ${r.tag}`,
    });
  }
  if (req.keyId) {
    const valid = new Set(d.doc.signatures.map((s) => s.keyid));
    const keys = d.role.keyids
      .filter((id) => valid.has(id))
      .map((id) => ({ id, canon: canonicalKeyId(d.keys[id] as TufKey) }));
    if (!keys.some((k) => k.id.startsWith(req.keyId!) || k.canon.startsWith(req.keyId!))) {
      throw new TrustpinError(
        'SIGNER_MISMATCH',
        `${req.name}'s delegation is not signed with key ${req.keyId}`,
        {
          expected: req.keyId,
          found: keys.map((k) => k.canon).join(', ') || 'no signing key',
          hint: 'the signer uses another key than the one you pinned',
        },
      );
    }
  }
}
