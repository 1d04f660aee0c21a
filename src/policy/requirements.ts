// Requirements of a rule (digestPinned, dct, cosign, notation, anyOf/allOf): each checked against the trust roots
// it names — declared, of a kind that can decide it — with its position and its path in the rule.
import { isScalar, isSeq, type Node } from 'yaml';
import { describe, type Reader } from './reader.js';
import type { RootEntry } from './roots.js';
import type { CosignIdentity, Requirement, SourcePosition } from './types.js';

/** How deep `anyOf`/`allOf` may nest. */
export const MAX_REQUIREMENT_DEPTH = 16;
const REQ_KINDS = ['digestPinned', 'dct', 'cosign', 'notation', 'anyOf', 'allOf'] as const;
const IDENTITY_FIELDS = ['issuer', 'issuerRegExp', 'subject', 'subjectRegExp', 'extensions'] as const;

export interface Ctx {
  roots: Map<string, RootEntry>;
  declared: Set<string>;
}

function rootRef(
  r: Reader,
  ctx: Ctx,
  node: Node,
  name: string,
  what: string,
  kinds: readonly string[],
): RootEntry | undefined {
  if (!ctx.declared.has(name)) {
    r.error(node, 'unknown-trust-root', `${what}: no trust root named ${JSON.stringify(name)}`, {
      expected: [...ctx.declared].join(', ') || 'a name under trustRoots',
    });
    return undefined;
  }
  const root = ctx.roots.get(name);
  if (root && !kinds.includes(root.kind))
    r.error(
      node,
      'wrong-trust-root-kind',
      `${what}: trust root ${name} is a ${root.kind} root; this needs ${kinds.join(' or ')}`,
      {
        expected: kinds.join(' | '),
        found: root.kind,
      },
    );
  return root;
}

export function requirement(
  r: Reader,
  ctx: Ctx,
  node: Node | null,
  path: string,
  depth: number,
): Requirement | undefined {
  const at = r.pos(node);
  if (depth > MAX_REQUIREMENT_DEPTH) {
    r.error(node, 'too-deep', `${path}: requirements nest deeper than ${MAX_REQUIREMENT_DEPTH}`);
    return undefined;
  }
  const f = r.fields(node, path, REQ_KINDS);
  if (!f) return undefined;
  if (f.size !== 1) {
    r.error(
      node,
      f.size ? 'ambiguous-requirement' : 'missing-field',
      `${path} must have exactly one of ${REQ_KINDS.join(', ')}`,
      {
        found: [...f.keys()].join(', ') || 'none',
      },
    );
    return undefined;
  }
  const [kind, e] = [...f.entries()][0]!;
  const base = { at, path };
  const before = r.findings.length;
  switch (kind) {
    case 'digestPinned':
      if (!(isScalar(e.value) && e.value.value === true))
        r.error(e.value ?? e.key, 'bad-value', `${path}.digestPinned must be true`, {
          found: describe(e.value),
        });
      return { kind, ...base };
    case 'anyOf':
    case 'allOf': {
      if (!isSeq(e.value) || !e.value.items.length) {
        r.error(e.value ?? e.key, 'wrong-type', `${path}.${kind} must be a non-empty list of requirements`, {
          found: describe(e.value),
        });
        return undefined;
      }
      const of = (e.value.items as Node[]).map((n, i) =>
        requirement(r, ctx, n, `${path}.${kind}[${i}]`, depth + 1),
      );
      return r.findings.length === before ? { kind, of: of as Requirement[], ...base } : undefined;
    }
    case 'dct': {
      const w = `${path}.dct`;
      const g = r.fields(e.value, w, ['trustRoot', 'signers', 'roles', 'threshold']);
      if (!g) return undefined;
      const tr = r.str(g, 'trustRoot', w, true);
      if (tr) rootRef(r, ctx, g.get('trustRoot')!.value!, tr, w, ['dct']);
      const signers = g.has('signers')
        ? r.strings(g.get('signers')!.value, `${w}.signers`).map((s) => s.value)
        : [];
      const roleList = g.has('roles') ? r.strings(g.get('roles')!.value, `${w}.roles`) : [];
      // "targets" among the roles means any signer of the repository's targets
      const anySigner = roleList.some((s) => s.value === 'targets');
      for (const s of roleList) {
        if (s.value === 'targets') continue;
        if (s.value.startsWith('targets/') && s.value.length > 8) {
          if (!anySigner) signers.push(s.value.slice(8));
        } else
          r.error(s.node, 'bad-value', `${w}.roles: ${JSON.stringify(s.value)} is not a targets role`, {
            expected: 'targets or targets/NAME',
          });
      }
      const th = g.get('threshold');
      if (th && !(isScalar(th.value) && th.value.value === 1))
        r.error(th.value ?? th.key, 'bad-value', `${w}.threshold: only 1 is accepted`, {
          found: describe(th.value),
          hint: 'notary thresholds live in the signed metadata (root.json, delegations), not in the policy',
        });
      return r.findings.length === before && tr
        ? { kind, trustRoot: tr, signers: [...new Set(signers)], ...base }
        : undefined;
    }
    case 'cosign':
      return cosign(r, ctx, e, path, base, before);
    case 'notation': {
      const w = `${path}.notation`;
      const g = r.fields(e.value, w, ['trustRoot', 'level', 'identities', 'userMetadata']);
      if (!g) return undefined;
      const tr = r.str(g, 'trustRoot', w, true);
      if (tr) rootRef(r, ctx, g.get('trustRoot')!.value!, tr, w, ['notation', 'x509']);
      const level = r.oneOf(g, 'level', w, ['strict', 'permissive', 'audit', 'skip'] as const, 'strict');
      const idE = g.get('identities');
      if (!idE) r.missing(g, 'identities', w, e.key);
      const identities = idE ? r.strings(idE.value, `${w}.identities`) : [];
      for (const s of identities)
        if (s.value !== '*' && !/^x509\.subject:\s*\S/.test(s.value))
          r.error(
            s.node,
            'bad-value',
            `${w}.identities: ${JSON.stringify(s.value)} is neither "*" nor "x509.subject: …"`,
          );
      if (idE && !identities.length && isSeq(idE.value))
        r.error(idE.value, 'bad-value', `${w}.identities must not be empty`);
      const userMetadata = r.stringMap(g.get('userMetadata'), `${w}.userMetadata`);
      return r.findings.length === before && tr
        ? { kind, trustRoot: tr, level, identities: identities.map((s) => s.value), userMetadata, ...base }
        : undefined;
    }
  }
  return undefined;
}

function cosign(
  r: Reader,
  ctx: Ctx,
  e: { key: Node; value: Node | null },
  path: string,
  base: { at: SourcePosition; path: string },
  before: number,
): Requirement | undefined {
  const w = `${path}.cosign`;
  const g = r.fields(e.value, w, [
    'trustRoot',
    'identity',
    'identities',
    'tlog',
    'annotations',
    'attestations',
    'signedIdentity',
  ]);
  if (!g) return undefined;
  const trE = g.get('trustRoot');
  if (!trE) r.missing(g, 'trustRoot', w, e.key);
  const names = trE ? r.strings(trE.value, `${w}.trustRoot`, true) : [];
  const roots = names.map((s) => rootRef(r, ctx, s.node, s.value, w, ['publicKey', 'sigstore']));
  const sigstore = roots.filter((x) => x?.kind === 'sigstore');
  const keys = roots.filter((x) => x?.kind === 'publicKey');
  if (sigstore.length > 1)
    r.error(trE!.value, 'bad-value', `${w}.trustRoot: at most one sigstore trust root`);
  const identities: CosignIdentity[] = [];
  const idNodes: Node[] = [];
  if (g.has('identity')) idNodes.push(g.get('identity')!.value ?? g.get('identity')!.key);
  const ids = g.get('identities');
  if (ids) {
    if (isSeq(ids.value)) idNodes.push(...(ids.value.items as Node[]));
    else
      r.error(ids.value ?? ids.key, 'wrong-type', `${w}.identities must be a list`, {
        found: describe(ids.value),
      });
  }
  for (const n of idNodes) {
    const h = r.fields(n, `${w}.identity`, IDENTITY_FIELDS);
    if (!h) continue;
    const id: CosignIdentity = {};
    for (const k of ['issuer', 'issuerRegExp', 'subject', 'subjectRegExp'] as const) {
      const v = r.str(h, k, `${w}.identity`);
      if (v === undefined) continue;
      id[k] = v;
      if (k.endsWith('RegExp'))
        try {
          new RegExp(v, 'u');
        } catch (err) {
          r.error(
            h.get(k)!.value,
            'bad-regexp',
            `${w}.identity.${k} does not compile: ${(err as Error).message}`,
            { found: v },
          );
        }
    }
    id.extensions = r.stringMap(h.get('extensions'), `${w}.identity.extensions`);
    if (id.extensions === undefined) delete id.extensions;
    if (!id.issuer && !id.issuerRegExp)
      r.error(n, 'missing-field', `${w}.identity needs issuer or issuerRegExp`);
    if (!id.subject && !id.subjectRegExp)
      r.error(n, 'missing-field', `${w}.identity needs subject or subjectRegExp`);
    identities.push(id);
  }
  const tlog = r.oneOf(g, 'tlog', w, ['required', 'optional'] as const, 'required');
  const complete = roots.every((x) => x !== undefined);
  if (complete && names.length) {
    if (identities.length && !sigstore.length)
      r.error(
        idNodes[0],
        'keyless-without-sigstore',
        `${w}: keyless identities need a sigstore trust root (Fulcio certificates)`,
        {
          hint: 'add a trust root of kind sigstore: {trustedRoot: trusted_root.json} to trustRoot',
        },
      );
    if (tlog === 'required' && !sigstore.length)
      r.error(
        g.get('tlog')?.value ?? trE!.value,
        'tlog-without-sigstore',
        `${w}: tlog: required needs a sigstore trust root (the Rekor keys)`,
        {
          hint: 'add a sigstore trust root, or set tlog: optional for keys used without the transparency log',
        },
      );
    if (!identities.length && !keys.length)
      r.error(
        trE!.value,
        'missing-field',
        `${w}: a sigstore trust root alone needs an identity (issuer and subject) or a publicKey root`,
      );
  }
  const annotations = r.stringMap(g.get('annotations'), `${w}.annotations`);
  const attestations: { predicateType: string }[] = [];
  const att = g.get('attestations');
  if (att) {
    if (!isSeq(att.value)) r.error(att.value ?? att.key, 'wrong-type', `${w}.attestations must be a list`);
    else
      for (const [i, n] of (att.value.items as Node[]).entries()) {
        const h = r.fields(n, `${w}.attestations[${i}]`, ['predicateType']);
        const p = h && r.str(h, 'predicateType', `${w}.attestations[${i}]`, true);
        if (h && !h.size) r.error(n, 'missing-field', `${w}.attestations[${i}] needs predicateType`);
        if (p) attestations.push({ predicateType: p });
      }
  }
  const si = g.get('signedIdentity');
  if (si) {
    const v = isScalar(si.value) ? si.value.value : undefined;
    if (v !== 'matchRepository' && v !== 'matchRepoDigestOrExact')
      r.error(
        si.value ?? si.key,
        'bad-value',
        `${w}.signedIdentity: only matchRepository and matchRepoDigestOrExact are supported`,
        {
          found: describe(si.value),
          hint: 'the signature must name the image repository (or its mirror origin); other identities are not supported',
        },
      );
  }
  if (r.findings.length !== before) return undefined;
  return {
    kind: 'cosign',
    trustRoots: names.map((s) => s.value),
    identities,
    tlog,
    annotations,
    attestations,
    ...base,
  };
}
