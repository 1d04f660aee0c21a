// Reading a trust policy file (YAML or JSON) into the model of types.ts: every node checked against the schema
// with its file:line:column, every trust root's files read and parsed, and every problem collected, not the first.
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { TrustpinError } from '../errors/index.js';
import { describe, type Fields, type PolicyFinding, Reader, readCappedFile } from './reader.js';
import { type Ctx, requirement } from './requirements.js';
import { type RootEntry, trustRootOf } from './roots.js';
import {
  type MirrorSpec,
  POLICY_API_VERSION,
  POLICY_KIND,
  type Policy,
  type Requirement,
  type Rule,
  type SourcePosition,
} from './types.js';

/** The largest policy file read (1 MiB). */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** The most rules a policy may hold. */
export const MAX_POLICY_RULES = 1024;
export type { PolicyFinding } from './reader.js';
export { MAX_REQUIREMENT_DEPTH } from './requirements.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;

/** Parse and check a policy document. `policy` is set only when there is no error finding. */
export function parsePolicy(
  text: string | Buffer,
  file: string,
  o: { baseDir?: string } = {},
): { policy?: Policy; findings: PolicyFinding[] } {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const lc = new LineCounter();
  const r = new Reader(
    file,
    lc,
    o.baseDir ?? (file.startsWith('<') ? process.cwd() : dirname(resolve(file))),
  );
  if (bytes.length > MAX_POLICY_BYTES) {
    r.error(
      null,
      'too-large',
      `the policy is ${bytes.length} bytes, over the ${MAX_POLICY_BYTES}-byte limit`,
    );
    return { findings: r.findings };
  }
  const doc = parseDocument(bytes.toString('utf8'), {
    lineCounter: lc,
    keepSourceTokens: true,
    prettyErrors: false,
    uniqueKeys: true,
  });
  for (const err of doc.errors) {
    const p = lc.linePos(err.pos[0]);
    r.findings.push({
      severity: 'error',
      code: 'syntax',
      message: err.message.split('\n')[0]!,
      at: { file, line: p.line, column: p.col },
    });
  }
  if (doc.errors.length) return { findings: r.findings };
  const top = r.fields(doc.contents, 'the policy', [
    'apiVersion',
    'kind',
    'defaults',
    'trustRoots',
    'mirrors',
    'rules',
  ]);
  if (!top) return { findings: r.findings };
  for (const [k, want] of [
    ['apiVersion', POLICY_API_VERSION],
    ['kind', POLICY_KIND],
  ] as const) {
    const e = top.get(k);
    if (!e) r.error(doc.contents, 'missing-field', `the policy needs ${k}: ${want}`);
    else if (!(isScalar(e.value) && e.value.value === want))
      r.error(e.value ?? e.key, 'bad-value', `${k} must be ${want}`, {
        expected: want,
        found: describe(e.value),
      });
  }
  const defaults = defaultsOf(r, top.get('defaults'));
  const roots = new Map<string, RootEntry>();
  const declared = new Set<string>();
  const trE = top.get('trustRoots');
  if (trE) {
    if (!isMap(trE.value))
      r.error(trE.value ?? trE.key, 'wrong-type', 'trustRoots must be a mapping of names to trust roots');
    else
      for (const p of trE.value.items) {
        const name = String(isScalar(p.key) ? p.key.value : '');
        declared.add(name);
        const root = trustRootOf(r, name, (p.value as Node | null) ?? null, r.pos(p.key as Node));
        if (root) roots.set(name, root);
      }
  }
  const mirrors = mirrorsOf(r, top.get('mirrors'));
  const rules = rulesOf(r, { roots, declared }, top.get('rules'), defaults.mode);
  if (r.findings.length) return { findings: r.findings };
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return {
    policy: { source: file, digest, defaults, trustRoots: roots, mirrors, rules },
    findings: r.findings,
  };
}

function defaultsOf(r: Reader, e: { key: Node; value: Node | null } | undefined): Policy['defaults'] {
  const g = e
    ? r.fields(e.value, 'defaults', ['mode', 'noMatch', 'digest', 'platform', 'verifyAt'])
    : (new Map() as Fields);
  const f = g ?? (new Map() as Fields);
  const mode = r.oneOf(f, 'mode', 'defaults', ['enforce', 'warn', 'audit'] as const, 'enforce');
  const noMatch = r.oneOf(f, 'noMatch', 'defaults', ['deny', 'warn', 'allow'] as const, 'deny');
  const digest = r.oneOf(f, 'digest', 'defaults', ['require', 'resolve', 'ignore'] as const, 'resolve');
  const platform = r.str(f, 'platform', 'defaults') ?? 'index';
  if (platform !== 'index' && !PLATFORM.test(platform))
    r.error(f.get('platform')!.value, 'bad-value', 'defaults.platform must be index or os/arch[/variant]', {
      found: platform,
    });
  const at = r.str(f, 'verifyAt', 'defaults') ?? 'now';
  let verifyAt: 'now' | number = 'now';
  if (at !== 'now') {
    const t = RFC3339.test(at) ? Date.parse(at) : Number.NaN;
    if (Number.isNaN(t))
      r.error(f.get('verifyAt')!.value, 'bad-value', 'defaults.verifyAt must be now or an RFC 3339 instant', {
        expected: 'now | 2026-01-31T12:00:00Z',
        found: at,
      });
    else verifyAt = t;
  }
  return { mode, noMatch, digest, platform, verifyAt };
}

function mirrorsOf(r: Reader, e: { key: Node; value: Node | null } | undefined): MirrorSpec[] {
  if (!e) return [];
  if (!isSeq(e.value)) {
    r.error(e.value ?? e.key, 'wrong-type', 'mirrors must be a list', { found: describe(e.value) });
    return [];
  }
  const out: MirrorSpec[] = [];
  for (const [i, n] of (e.value.items as Node[]).entries()) {
    const w = `mirrors[${i}]`;
    const g = r.fields(n, w, ['origin', 'mirrors', 'prove', 'signaturesFrom']);
    if (!g) continue;
    const origin = r.str(g, 'origin', w, true);
    const mE = g.get('mirrors');
    if (!mE) r.missing(g, 'mirrors', w);
    const list = mE ? r.strings(mE.value, `${w}.mirrors`).map((s) => s.value) : [];
    const pv = g.get('prove');
    if (pv && isScalar(pv.value) && pv.value.value === 'diffids') pv.value.value = 'diff_ids';
    const prove = r.oneOf(
      g,
      'prove',
      w,
      ['none', 'index', 'manifest', 'config', 'diff_ids'] as const,
      'config',
    );
    let from: ('origin' | 'mirror')[] = ['origin', 'mirror'];
    const sf = g.get('signaturesFrom');
    if (sf) {
      from = [];
      for (const s of r.strings(sf.value, `${w}.signaturesFrom`))
        if (s.value === 'origin' || s.value === 'mirror') from.push(s.value);
        else
          r.error(
            s.node,
            'bad-value',
            `${w}.signaturesFrom: ${JSON.stringify(s.value)} is neither origin nor mirror`,
          );
    }
    if (origin) out.push({ origin, mirrors: list, prove, signaturesFrom: from, at: r.pos(n) });
  }
  return out;
}

function rulesOf(
  r: Reader,
  ctx: Ctx,
  e: { key: Node; value: Node | null } | undefined,
  dflt: Rule['mode'],
): Rule[] {
  if (!e) return [];
  if (!isSeq(e.value)) {
    r.error(e.value ?? e.key, 'wrong-type', 'rules must be a list', { found: describe(e.value) });
    return [];
  }
  const items = e.value.items as Node[];
  if (items.length > MAX_POLICY_RULES) {
    r.error(
      items[MAX_POLICY_RULES],
      'too-many-rules',
      `the policy has ${items.length} rules, over the limit of ${MAX_POLICY_RULES}`,
    );
    return [];
  }
  const out: Rule[] = [];
  const names = new Map<string, SourcePosition>();
  for (const [i, n] of items.entries()) {
    const w = `rules[${i}]`;
    const g = r.fields(n, w, ['name', 'scope', 'mode', 'require']);
    if (!g) continue;
    const name = r.str(g, 'name', w, true);
    if (name) {
      const prev = names.get(name);
      if (prev)
        r.error(
          g.get('name')!.value,
          'duplicate-name',
          `${w}: rule name ${JSON.stringify(name)} is already used at line ${prev.line}`,
        );
      else names.set(name, r.pos(g.get('name')!.value));
    }
    const scope = r.str(g, 'scope', w, true);
    if (scope && /\s/.test(scope))
      r.error(g.get('scope')!.value, 'bad-value', `${w}.scope must not contain white space`, {
        found: scope,
      });
    const mode = r.oneOf(g, 'mode', w, ['enforce', 'warn', 'audit'] as const, dflt);
    const req = g.get('require');
    const require: Requirement[] = [];
    if (!req) r.missing(g, 'require', w);
    else if (!isSeq(req.value))
      r.error(req.value ?? req.key, 'wrong-type', `${w}.require must be a list (use [] to allow)`, {
        found: describe(req.value),
      });
    else
      for (const [j, m] of (req.value.items as Node[]).entries()) {
        const q = requirement(r, ctx, m, `${w}.require[${j}]`, 1);
        if (q) require.push(q);
      }
    if (name && scope) out.push({ name, scope, mode, require, index: i, at: r.pos(n) });
  }
  return out;
}

/** Read a policy file (or, with `inline`, the text itself) and check it; throws TRUST_POLICY_INVALID listing every error. */
export function loadPolicy(pathOrText: string, o: { baseDir?: string; inline?: boolean } = {}): Policy {
  const { text, file } = readPolicySource(pathOrText, o);
  const r = parsePolicy(text, file, o);
  if (r.policy) return r.policy;
  throw policyError(r.findings.filter((f) => f.severity === 'error'));
}

/** The bytes and name of a policy given as a path or (inline) as text, capped at {@link MAX_POLICY_BYTES}. */
export function readPolicySource(
  pathOrText: string,
  o: { inline?: boolean } = {},
): { text: Buffer; file: string } {
  if (o.inline) return { text: Buffer.from(pathOrText), file: '<inline>' };
  try {
    return { text: readCappedFile(pathOrText, MAX_POLICY_BYTES), file: pathOrText };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TrustpinError('TRUST_POLICY_INVALID', `${pathOrText}: cannot read the policy: ${err.message}`, {
      expected: `a readable YAML or JSON file of at most ${MAX_POLICY_BYTES} bytes`,
      cause: e,
    });
  }
}

/** One error for a list of findings: the first as the message, all of them in `found`. */
export function policyError(findings: PolicyFinding[]): TrustpinError {
  const line = (f: PolicyFinding) => `${f.at.file}:${f.at.line}:${f.at.column}: ${f.message}`;
  const first = findings[0]!;
  return new TrustpinError(
    'TRUST_POLICY_INVALID',
    `${line(first)}${findings.length > 1 ? ` (and ${findings.length - 1} more)` : ''}`,
    {
      expected: first.expected ?? `a ${POLICY_KIND} document of ${POLICY_API_VERSION}`,
      found: findings.map(line).join('\n'),
      hint: first.hint ?? 'run `trustpin policy check FILE` to list every problem',
    },
  );
}
