// A pin report for people (one line per site that needs attention, then a summary) and as SARIF 2.1.0 (one result
// per finding at the reference's file:line:column, so CI shows it inline on the Dockerfile or manifest).
import { createHash } from 'node:crypto';
import type { PinReport, PinSiteResult, PinSiteStatus } from '../pin/index.js';
import { fileUri, sarifLog } from './sarif.js';
import { printable, type Style } from './style.js';

/** A site's location as compilers print it: `path:line:column`. */
const at = (path: string, s: PinSiteResult) => `${path}:${s.site.line}:${s.site.column}`;

const WORD: Record<PinSiteStatus, string> = {
  pinned: 'pinned',
  updated: 'updated',
  current: 'current',
  unpinned: 'unpinned',
  stale: 'stale',
  'not-pinnable': 'not pinnable',
  refused: 'refused',
  error: 'unresolved',
};

/** The report as text: each changed or failing site, each unreadable file, then the counts. */
export function renderPinReport(r: PinReport, style: Style, o: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const check = r.mode === 'check';
  for (const f of r.files) {
    const path = printable(f.path);
    if (f.error) {
      lines.push(
        `${style.bad(`${path}: error[${f.error.code}]`)} ${printable(f.error.message)} (file untouched)`,
      );
      if (f.error.hint) lines.push(`  hint: ${printable(f.error.hint)}`);
      continue;
    }
    for (const s of f.sites) {
      if (s.status === 'current' && !o.verbose) continue;
      const where = `${at(path, s)} ${style.dim(printable(s.site.where))}`;
      const text = printable(s.site.text);
      if (s.status === 'pinned' || s.status === 'updated') {
        const from =
          s.resolvedFrom && !sameName(s.resolvedFrom, s.site.ref)
            ? ` (tag resolved at ${printable(s.resolvedFrom)})`
            : '';
        lines.push(
          `${where}: ${style.ok(WORD[s.status])} ${text} → ${printable(s.pinned ?? s.digest ?? '')}${from}`,
        );
        continue;
      }
      if (s.status === 'current') {
        lines.push(`${where}: ${style.dim('current')} ${text}`);
        continue;
      }
      const label = s.failing ? style.bad(WORD[s.status]) : style.warn(WORD[s.status]);
      for (const p of s.problems) {
        lines.push(`${where}: ${label} error[${p.code}] ${printable(p.message)}`);
        if (p.hint) lines.push(`  hint: ${printable(p.hint)}`);
      }
    }
  }
  const c = r.counts;
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  const parts = (Object.keys(c) as PinSiteStatus[]).filter((k) => c[k] > 0).map((k) => `${c[k]} ${WORD[k]}`);
  const changed = r.files.filter((f) => f.changed).length;
  const bad = r.files.filter((f) => f.error).length;
  const verb = check ? 'checked' : r.files.some((f) => f.written) ? 'written' : 'would change';
  const tail = [
    `${total} reference${total === 1 ? '' : 's'} in ${r.files.length} file${r.files.length === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`,
    ...(check ? [] : [`${changed} file${changed === 1 ? '' : 's'} ${verb}`]),
    ...(bad ? [`${bad} unreadable`] : []),
    r.platform ? `platform ${r.platform} manifest digests` : 'index digests',
  ];
  lines.push(tail.join('; '));
  return lines.join('\n');
}

function sameName(a: string, ref: string | undefined): boolean {
  return ref !== undefined && a.endsWith(ref.replace(/@.*$/, ''));
}

/** Options of {@link pinSarif}. */
export interface PinSarifOptions {
  toolVersion?: string | undefined;
}

/** The report as a SARIF 2.1.0 log object: one result per problem of a failing site or unreadable file. */
export function pinSarif(r: PinReport, o: PinSarifOptions = {}): object {
  const rules = new Map<string, { id: string; shortDescription: { text: string } }>();
  const results: object[] = [];
  const rule = (code: string, text: string) => {
    if (!rules.has(code)) rules.set(code, { id: code, shortDescription: { text } });
  };
  for (const f of r.files) {
    if (f.error) {
      rule(f.error.code, 'the file cannot be read as its format');
      results.push({
        ruleId: f.error.code,
        level: 'error',
        message: { text: `${f.path}: ${f.error.message}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: fileUri(f.path) } } }],
        properties: { code: f.error.code, ...(f.error.hint ? { hint: f.error.hint } : {}) },
      });
      continue;
    }
    for (const s of f.sites) {
      if (!s.failing) continue;
      for (const p of s.problems) {
        rule(p.code, DESCRIPTIONS[p.code] ?? 'the image does not meet the policy');
        const fp = createHash('sha256')
          .update([f.path, s.site.where, s.site.text, p.code].join('\0'))
          .digest('hex');
        results.push({
          ruleId: p.code,
          level: 'error',
          message: { text: p.message.includes(s.site.text) ? p.message : `${s.site.text}: ${p.message}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: fileUri(f.path) },
                region: { startLine: s.site.line, startColumn: s.site.column },
              },
              logicalLocations: [{ name: s.site.where, kind: 'member' }],
            },
          ],
          partialFingerprints: { 'trustpinPin/v1': fp },
          properties: {
            code: p.code,
            status: s.status,
            reference: s.site.text,
            ...(s.digest ? { digest: s.digest } : {}),
            ...(p.expected !== undefined ? { expected: p.expected } : {}),
            ...(p.found !== undefined ? { found: p.found } : {}),
            ...(p.hint !== undefined ? { hint: p.hint } : {}),
          },
        });
      }
    }
  }
  return sarifLog({
    driver: { toolVersion: o.toolVersion, rules: [...rules.values()] },
    invocation: { executionSuccessful: true },
    properties: { mode: r.mode, ok: r.ok, counts: r.counts },
    results,
  });
}

const DESCRIPTIONS: Record<string, string> = {
  NOT_PINNED: 'an image reference is not pinned to a digest',
  PIN_STALE: 'a pinned tag now names another digest',
};
