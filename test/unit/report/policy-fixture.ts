// A hand-built policy report shaped like the evaluator's: a DCT+cosign pass with its chain, a mirror proven at
// config level, a tampered mirror, an unsigned image in warn mode and a no-match deny. Hostile strings included.
import type { PolicyReport, RequirementResult } from '../../../src/policy/types.js';
import type { ChainGraph } from '../../../src/trust/index.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const at = (line: number, column = 7) => ({ file: 'trustpin-policy.yaml', line, column });

export const dctChain: ChainGraph = {
  nodes: [
    { id: 'root', kind: 'root', label: 'root v1', detail: 'key 1234 pinned', ok: true },
    { id: 'role:timestamp', kind: 'role', label: 'timestamp v3', ok: true },
    { id: 'role:snapshot', kind: 'role', label: 'snapshot v3', ok: true },
    { id: 'role:targets', kind: 'role', label: 'targets v2', ok: true },
    { id: 'role:targets/releases', kind: 'role', label: 'targets/releases v2', ok: true },
    {
      id: 'signed-tag:1.0',
      kind: 'signed-tag',
      label: 'signed tag 1.0',
      digest: D('a'),
      detail: 'signers: <b>releases</b>',
      ok: true,
    },
    { id: 'index:a', kind: 'index', label: 'index', digest: D('a'), ok: true },
    {
      id: 'manifest:b',
      kind: 'manifest',
      label: 'manifest linux/amd64',
      digest: D('b'),
      platform: 'linux/amd64',
      ok: true,
    },
    { id: 'config:c', kind: 'config', label: 'config linux/amd64', digest: D('c'), ok: true },
    { id: 'layer:d', kind: 'layer', label: 'layer', digest: D('d'), ok: true },
  ],
  edges: [
    { from: 'root', to: 'role:timestamp', kind: 'then', ok: true },
    { from: 'role:timestamp', to: 'role:snapshot', kind: 'then', ok: true },
    { from: 'role:snapshot', to: 'role:targets', kind: 'then', ok: true },
    { from: 'role:targets', to: 'role:targets/releases', kind: 'delegates', ok: true },
    { from: 'role:targets/releases', to: 'signed-tag:1.0', kind: 'signs', ok: true },
    { from: 'signed-tag:1.0', to: 'index:a', kind: 'signs', ok: true },
    { from: 'index:a', to: 'manifest:b', kind: 'contains', ok: true },
    { from: 'manifest:b', to: 'config:c', kind: 'contains', ok: true },
    { from: 'manifest:b', to: 'layer:d', kind: 'contains', ok: true },
  ],
};

export const cosignChain: ChainGraph = {
  nodes: [
    { id: 'key:team', kind: 'key', label: 'key team-key', ok: true },
    { id: 'sig:1', kind: 'signature', label: 'cosign signature', ok: true },
    { id: 'index:a', kind: 'index', label: 'index', digest: D('a'), ok: true },
  ],
  edges: [
    { from: 'key:team', to: 'sig:1', kind: 'signs', ok: true },
    { from: 'sig:1', to: 'index:a', kind: 'signs', ok: true },
  ],
};

function mirrorGraph(tampered: boolean): ChainGraph {
  const bc = tampered ? D('9') : D('c');
  return {
    nodes: [
      {
        id: `signed:1.0`,
        side: 'signature',
        kind: 'signed-tag',
        label: 'signed 1.0 (dct)',
        digest: D('a'),
        ok: true,
      },
      {
        id: `A:${D('a')}`,
        side: 'A',
        kind: 'index',
        label: 'docker.io/library/app:1.0',
        digest: D('a'),
        ok: true,
      },
      {
        id: `B:${D('e')}`,
        side: 'B',
        kind: 'index',
        label: 'mirror.example/library/app:1.0',
        digest: D('e'),
        ok: true,
      },
      {
        id: `A:${D('b')}`,
        side: 'A',
        kind: 'manifest',
        label: 'manifest linux/amd64',
        digest: D('b'),
        ok: true,
      },
      {
        id: `B:${D('f')}`,
        side: 'B',
        kind: 'manifest',
        label: 'manifest linux/amd64',
        digest: D('f'),
        ok: true,
      },
      { id: `A:${D('c')}`, side: 'A', kind: 'config', label: 'config linux/amd64', digest: D('c'), ok: true },
      { id: `B:${bc}`, side: 'B', kind: 'config', label: 'config linux/amd64', digest: bc, ok: !tampered },
    ],
    edges: [
      { from: 'signed:1.0', to: `A:${D('a')}`, kind: 'signs', ok: true },
      { from: `A:${D('a')}`, to: `B:${D('e')}`, kind: 'matches', ok: false },
      { from: `A:${D('a')}`, to: `A:${D('b')}`, kind: 'contains', ok: true },
      { from: `B:${D('e')}`, to: `B:${D('f')}`, kind: 'contains', ok: true },
      { from: `A:${D('b')}`, to: `A:${D('c')}`, kind: 'contains', ok: true },
      { from: `B:${D('f')}`, to: `B:${bc}`, kind: 'contains', ok: true },
      { from: `A:${D('b')}`, to: `B:${D('f')}`, kind: 'matches', ok: false },
      { from: `A:${D('c')}`, to: `B:${bc}`, kind: 'matches', ok: !tampered, reason: 'level config' },
    ],
  };
}

const dctPass = (path: string): RequirementResult => ({
  kind: 'dct',
  path,
  at: at(12),
  summary: 'DCT signature by releases (trust root docker-official)',
  status: 'pass',
  problems: [],
  warnings: [],
  from: 'origin',
  verdict: {
    system: 'dct',
    subject: { reference: 'docker.io/library/app:1.0', digest: D('a') },
    ok: true,
    claims: [{ type: 'dct', role: 'targets/releases', name: 'releases', keyIds: ['abc'] }],
    chain: dctChain,
    problems: [],
    warnings: [],
  },
});

const rule0 = { name: 'official', scope: 'docker.io/library/**', index: 0, at: at(10, 5) };
const rule1 = { name: 'internal <apps>', scope: 'registry.example/**', index: 1, at: at(20, 5) };

export const hostileRef = 'registry.example/x/<script>alert(1)</script>"><img src=x onerror=alert(2)>:1';

export const report: PolicyReport = {
  ok: false,
  policy: { source: 'trustpin-policy.yaml', digest: D('0') },
  at: '2026-12-02T21:00:00Z',
  verdicts: [
    {
      reference: 'docker.io/library/app:1.0',
      normalized: 'docker.io/library/app:1.0',
      digest: D('a'),
      pinned: `docker.io/library/app@${D('a')}`,
      rule: rule0,
      mode: 'enforce',
      outcome: 'pass',
      ok: true,
      requirements: [
        {
          kind: 'allOf',
          path: 'rules[0].require[0]',
          at: at(11),
          summary: 'all of: DCT, cosign',
          status: 'pass',
          problems: [],
          warnings: [],
          children: [
            dctPass('rules[0].require[0].allOf[0]'),
            {
              kind: 'cosign',
              path: 'rules[0].require[0].allOf[1]',
              at: at(14),
              summary: 'cosign signature by key team-key, with the transparency log',
              status: 'pass',
              problems: [],
              warnings: [],
              verdict: {
                system: 'cosign',
                subject: { reference: 'docker.io/library/app:1.0', digest: D('a') },
                ok: true,
                claims: [{ type: 'cosign-key', keyId: 'feed' }],
                chain: cosignChain,
                problems: [],
                warnings: [],
              },
            },
          ],
        },
      ],
      problems: [],
      warnings: [],
      at: '2026-12-02T21:00:00Z',
    },
    {
      reference: 'mirror.example/library/app:1.0',
      normalized: 'mirror.example/library/app:1.0',
      digest: D('e'),
      pinned: `mirror.example/library/app@${D('e')}`,
      rule: rule0,
      mode: 'enforce',
      mirror: {
        origin: 'docker.io/library/app:1.0',
        prove: 'config',
        level: 'config',
        ok: true,
        graph: mirrorGraph(false),
      },
      outcome: 'pass',
      ok: true,
      requirements: [dctPass('rules[0].require[0]')],
      problems: [],
      warnings: [],
      at: '2026-12-02T21:00:00Z',
    },
    {
      reference: 'mirror.example/library/app:1.0-tampered',
      normalized: 'mirror.example/library/app:1.0-tampered',
      digest: D('e'),
      rule: rule0,
      mode: 'enforce',
      mirror: { origin: 'docker.io/library/app:1.0', prove: 'config', ok: false, graph: mirrorGraph(true) },
      outcome: 'fail',
      ok: false,
      requirements: [dctPass('rules[0].require[0]')],
      problems: [
        {
          code: 'MIRROR_NOT_PROVEN',
          message: 'the mirror differs from its origin at config level for linux/amd64',
          expected: D('c'),
          found: D('9'),
        },
      ],
      warnings: [],
      at: '2026-12-02T21:00:00Z',
    },
    {
      reference: hostileRef,
      normalized: hostileRef,
      digest: D('7'),
      rule: rule1,
      mode: 'warn',
      outcome: 'fail',
      ok: true,
      requirements: [
        {
          kind: 'cosign',
          path: 'rules[1].require[0]',
          at: at(22),
          summary: 'cosign signature by key <team-key>',
          status: 'fail',
          problems: [
            {
              code: 'SIGNATURE_NOT_FOUND',
              message: 'no cosign signature for "<img src=x>"',
              expected: 'a signature',
              found: 'none',
            },
          ],
          warnings: [],
        },
      ],
      problems: [
        {
          code: 'SIGNATURE_NOT_FOUND',
          message: 'no cosign signature for "<img src=x>"',
          expected: 'a signature',
          found: 'none',
        },
      ],
      warnings: [],
      at: '2026-12-02T21:00:00Z',
    },
    {
      reference: 'quay.example/other/thing:latest',
      normalized: 'quay.example/other/thing:latest',
      mode: 'enforce',
      outcome: 'fail',
      ok: false,
      requirements: [],
      problems: [
        {
          code: 'NO_MATCHING_RULE',
          message: 'no rule matches quay.example/other/thing:latest and noMatch is deny',
        },
      ],
      warnings: [],
      at: '2026-12-02T21:00:00Z',
    },
  ],
};

/** Every graph the report carries, for tests that look for each node. */
export function graphsOf(r: PolicyReport): ChainGraph[] {
  const out: ChainGraph[] = [];
  const walk = (rs: RequirementResult[]) => {
    for (const q of rs) {
      if (q.verdict) out.push(q.verdict.chain);
      walk(q.children ?? []);
    }
  };
  for (const v of r.verdicts) {
    walk(v.requirements);
    if (v.mirror?.graph) out.push(v.mirror.graph);
  }
  return out;
}
