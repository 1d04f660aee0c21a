// `docker trust inspect`, reproduced: the same rows, signers and administrative keys, in docker's JSON and
// `--pretty` forms (CLI-T common.go, inspect.go, inspect_pretty.go, formatter.go).
import { fullName, parseDockerReference } from '../../reference/index.js';
import { canonicalKeyId } from './keys.js';
import { type DctTrustOptions, loadTrust } from './load.js';
import { allTargets, RELEASES, sha256Hex } from './targets.js';
import type { TrustedRepo } from './updater.js';

/** One repository as `docker trust inspect` printed it (its JSON field names). */
export interface TrustInfo {
  Name: string;
  SignedTags: { SignedTag: string; Digest: string; Signers: string[] }[];
  Signers: { Name: string; Keys: { ID: string }[] }[];
  AdministrativeKeys: { Name: string; Keys: { ID: string }[] }[];
}

const signerName = (role: string) =>
  role === 'targets' || role === RELEASES ? 'Repo Admin' : role.slice('targets/'.length);
const isReleased = (role: string) => role === 'targets' || role === RELEASES;

/** Go's sortorder.NaturalLess: digit runs compare as numbers. */
export function naturalLess(a: string, b: string): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a[i]!;
    const cb = b[j]!;
    const da = ca >= '0' && ca <= '9';
    const db = cb >= '0' && cb <= '9';
    if (da && db) {
      let ei = i;
      while (ei < a.length && a[ei]! >= '0' && a[ei]! <= '9') ei++;
      let ej = j;
      while (ej < b.length && b[ej]! >= '0' && b[ej]! <= '9') ej++;
      const na = a.slice(i, ei).replace(/^0+/, '');
      const nb = b.slice(j, ej).replace(/^0+/, '');
      if (na.length !== nb.length) return na.length < nb.length;
      if (na !== nb) return na < nb;
      if (ei - i !== ej - j) return ei - i < ej - j;
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca < cb;
    i++;
    j++;
  }
  return a.length - i < b.length - j;
}

const byNatural = (a: string, b: string) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0);

interface Row {
  tag: string;
  digest: string;
  signers: string[];
}

function signedRows(repo: TrustedRepo, tag: string | undefined): Row[] {
  const all = allTargets(repo, tag);
  const rows = new Map<string, Row>();
  for (const t of all) {
    if (!isReleased(t.role)) continue;
    const hex = sha256Hex(t.meta) ?? '';
    rows.set(`${t.name}\u0000${hex}`, { tag: t.name, digest: hex, signers: [] });
  }
  for (const t of all) {
    const row = rows.get(`${t.name}\u0000${sha256Hex(t.meta) ?? ''}`);
    if (row && !isReleased(t.role)) row.signers.push(signerName(t.role));
  }
  return [...rows.values()]
    .map((r) => ({ ...r, signers: r.signers.sort() }))
    .sort((a, b) => byNatural(a.tag, b.tag));
}

/** Delegations other than targets/releases, with canonical key IDs, as `GetDelegationRoles` lists them. */
function signerRoles(repo: TrustedRepo): { name: string; keys: string[] }[] {
  const parents = [repo.targets, ...repo.delegations.map((d) => d.doc)];
  const out: { name: string; keys: string[] }[] = [];
  for (const p of parents) {
    for (const r of p.signed.delegations?.roles ?? []) {
      if (r.name === RELEASES) continue;
      out.push({
        name: signerName(r.name),
        keys: r.keyids.map((id) => canonicalKeyId(p.signed.delegations!.keys[id]!)),
      });
    }
  }
  return out;
}

/** The `docker trust inspect` document of verified trust data; `tag` limits it to one signed tag. */
export function trustInfo(repo: TrustedRepo, remote: string, tag: string | undefined): TrustInfo {
  const rows = signedRows(repo, tag);
  return {
    Name: remote,
    SignedTags: rows.map((r) => ({
      SignedTag: r.tag,
      Digest: r.digest,
      Signers: r.signers.length ? r.signers : ['Repo Admin'],
    })),
    Signers: signerRoles(repo)
      .sort((a, b) => (a.name > b.name ? -1 : a.name < b.name ? 1 : 0))
      .map((s) => ({ Name: s.name, Keys: s.keys.map((ID) => ({ ID })) })),
    AdministrativeKeys: [
      { Name: 'Root', Keys: repo.root.signed.roles.root.keyids.map((ID) => ({ ID })) },
      { Name: 'Repository', Keys: repo.root.signed.roles.targets.keyids.map((ID) => ({ ID })) },
    ],
  };
}

/** Go's text/tabwriter with minwidth 10, tabwidth 1, padding 3: every column but the last is padded. */
export function table(rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const cols = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: cols - 1 }, (_, c) =>
    Math.max(10, Math.max(...rows.map((r) => width(r[c] ?? ''))) + 3),
  );
  return rows
    .map((r) =>
      r.map((cell, c) => (c < cols - 1 ? cell + ' '.repeat(widths[c]! - width(cell)) : cell)).join(''),
    )
    .join('\n');
}

const truncateId = (id: string) => {
  const i = id.indexOf(':');
  return (i >= 0 ? id.slice(i + 1) : id).slice(0, 12);
};

/** `docker trust inspect --pretty`: the signed-tags, signers and administrative-keys tables, byte for byte. */
export function prettyTrustInfo(info: TrustInfo): string {
  const remote = info.Name;
  let out = '';
  if (info.SignedTags.length) {
    out += `\nSignatures for ${remote}\n\n`;
    const rows = [['SIGNED TAG', 'DIGEST', 'SIGNERS']];
    for (const t of info.SignedTags) {
      const signers = t.Signers.filter((s) => s !== 'Repo Admin');
      rows.push([t.SignedTag, t.Digest, signers.length ? signers.join(', ') : '(Repo Admin)']);
    }
    out += `${table(rows)}\n`;
  } else {
    out += `\nNo signatures for ${remote}\n\n`;
  }
  if (info.Signers.length) {
    out += `\nList of signers and their keys for ${remote}\n\n`;
    const signers = [...info.Signers].sort((a, b) => byNatural(a.Name, b.Name));
    const rows = [
      ['SIGNER', 'KEYS'],
      ...signers.map((s) => [
        s.Name,
        s.Keys.map((k) => k.ID)
          .sort()
          .map(truncateId)
          .join(', '),
      ]),
    ];
    out += `${table(rows)}\n`;
  }
  out += `\nAdministrative keys for ${remote}\n\n`;
  const admin = info.AdministrativeKeys.map((a) => ({
    label: a.Name === 'Root' ? 'Root Key' : 'Repository Key',
    role: a.Name === 'Root' ? 'root' : 'targets',
    ids: a.Keys.map((k) => k.ID).sort(),
  }));
  for (const a of admin.sort((x, y) => (x.role > y.role ? -1 : 1)))
    out += `  ${a.label}:\t${a.ids.join(', ')}\n`;
  return out;
}

/**
 * `trust inspect` as a library call: load and verify the trust data of `remote` (`REPO[:TAG]`) under the store's
 * pin, and describe it as docker did. Verification and operational failures both throw (there is no verdict).
 */
export async function inspectDctTrust(
  remote: string,
  o: DctTrustOptions,
): Promise<{ info: TrustInfo; warnings: string[] }> {
  const ref = parseDockerReference(remote);
  const { repo } = await loadTrust(fullName(ref), ref.registry, o);
  return { info: trustInfo(repo, remote, ref.tag), warnings: repo.warnings };
}
