// A policy report as SARIF 2.1.0 (one run, one rule per policy rule, one result per failed requirement leaf or
// verdict-level problem), so code-scanning tools show which policy line an image failed.
import { createHash } from 'node:crypto';
import type { PolicyMode, PolicyReport, PolicyVerdict, RequirementResult } from '../policy/index.js';
import type { Problem } from '../trust/index.js';

/** Where a verdict is written in the user's files (the pin command passes `file:line`). */
export interface SarifLocation {
  uri: string;
  line?: number | undefined;
  column?: number | undefined;
}

/** Options of {@link policySarif}. */
export interface PolicySarifOptions {
  toolVersion?: string | undefined;
  informationUri?: string | undefined;
  locationOf?: ((v: PolicyVerdict) => SarifLocation | undefined) | undefined;
}

const NO_MATCH_RULE = 'no-matching-rule';
const LEVEL: Record<PolicyMode, 'error' | 'warning' | 'note'> = {
  enforce: 'error',
  warn: 'warning',
  audit: 'note',
};

interface Finding {
  problem: Problem;
  leaf?: RequirementResult | undefined;
}

/** The failed leaves of a requirement tree (status fail or error, no children that failed themselves). */
function failedLeaves(rs: RequirementResult[]): RequirementResult[] {
  const out: RequirementResult[] = [];
  for (const r of rs) {
    if (r.status !== 'fail' && r.status !== 'error') continue;
    const below = failedLeaves(r.children ?? []);
    if (below.length > 0) out.push(...below);
    else out.push(r);
  }
  return out;
}

function findings(v: PolicyVerdict): Finding[] {
  const out: Finding[] = [];
  const attributed = new Set<string>();
  for (const leaf of failedLeaves(v.requirements)) {
    const ps = leaf.problems.length
      ? leaf.problems
      : [{ code: 'REQUIREMENT_NOT_MET' as const, message: `${leaf.summary}: ${leaf.status}` }];
    for (const p of ps) {
      out.push({ problem: p, leaf });
      attributed.add(`${p.code}\0${p.message}`);
    }
  }
  for (const p of v.problems) if (!attributed.has(`${p.code}\0${p.message}`)) out.push({ problem: p });
  return out;
}

/** A URI reference for a file path (relative stays relative; absolute becomes file://). */
export function fileUri(path: string): string {
  const enc = path.split('/').map(encodeURIComponent).join('/');
  return path.startsWith('/') ? `file://${enc}` : enc;
}

function region(line?: number, column?: number): Record<string, number> | undefined {
  if (line === undefined || line < 1) return undefined;
  return { startLine: line, ...(column !== undefined && column >= 1 ? { startColumn: column } : {}) };
}

/** The report as a SARIF 2.1.0 log object (serialise it with JSON.stringify). */
export function policySarif(report: PolicyReport, o: PolicySarifOptions = {}): object {
  const rules = new Map<string, { id: string; shortDescription: { text: string }; properties?: object }>();
  const results: object[] = [];
  for (const v of report.verdicts) {
    const ruleId = v.rule?.name ?? NO_MATCH_RULE;
    if (!rules.has(ruleId))
      rules.set(
        ruleId,
        v.rule
          ? { id: ruleId, shortDescription: { text: v.rule.scope }, properties: { scope: v.rule.scope } }
          : { id: ruleId, shortDescription: { text: 'no policy rule matched the image' } },
      );
    const found = findings(v);
    if (found.length === 0) continue;
    const user = o.locationOf?.(v);
    for (const { problem: p, leaf } of found) {
      const at = leaf?.at ?? v.rule?.at;
      const physical = user
        ? { artifactLocation: { uri: user.uri }, region: region(user.line, user.column) }
        : {
            artifactLocation: { uri: fileUri(at?.file ?? report.policy.source) },
            region: region(at?.line, at?.column),
          };
      if (physical.region === undefined) delete (physical as { region?: unknown }).region;
      const path = leaf?.path ?? (v.rule ? `rules[${v.rule.index}]` : '');
      const fp = createHash('sha256').update([ruleId, v.normalized, path, p.code].join('\0')).digest('hex');
      const what = leaf ? `${leaf.summary}: ` : '';
      results.push({
        ruleId,
        level: LEVEL[v.mode],
        message: { text: `${v.reference}: ${what}${p.message}` },
        locations: [
          {
            physicalLocation: physical,
            logicalLocations: [{ name: v.reference, fullyQualifiedName: v.normalized, kind: 'image' }],
          },
        ],
        partialFingerprints: { 'trustpinFinding/v1': fp },
        properties: {
          code: p.code,
          reference: v.reference,
          ...(v.digest !== undefined ? { digest: v.digest } : {}),
          ...(path ? { requirementPath: path } : {}),
          ...(p.expected !== undefined ? { expected: p.expected } : {}),
          ...(p.found !== undefined ? { found: p.found } : {}),
          ...(p.hint !== undefined ? { hint: p.hint } : {}),
          outcome: v.outcome,
          mode: v.mode,
        },
      });
    }
  }
  return sarifLog({
    driver: { toolVersion: o.toolVersion, informationUri: o.informationUri, rules: [...rules.values()] },
    invocation: { executionSuccessful: true, endTimeUtc: report.at },
    properties: { policy: report.policy, ok: report.ok },
    results,
  });
}

/** A SARIF 2.1.0 log of one trustpin run: the driver with its rules, one invocation, the results. */
export function sarifLog(run: {
  driver: { toolVersion?: string | undefined; informationUri?: string | undefined; rules: object[] };
  invocation: object;
  properties: object;
  results: object[];
}): object {
  const d = run.driver;
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'trustpin',
            ...(d.toolVersion !== undefined ? { version: d.toolVersion } : {}),
            ...(d.informationUri !== undefined ? { informationUri: d.informationUri } : {}),
            rules: d.rules,
          },
        },
        invocations: [run.invocation],
        properties: run.properties,
        results: run.results,
      },
    ],
  };
}
