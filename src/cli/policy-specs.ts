// The specs of `policy …`: lint a policy file, explain which rule applies to a reference, print the JSON Schema.
// None of them reaches a registry; their actions (policy.ts) and the policy library load only when one runs.
import type { CommandSpec } from './command.js';

export const policySpecs: CommandSpec<Record<string, never>>[] = [
  {
    name: 'check',
    description:
      'lint a policy file: errors with file:line:column, unreachable rules, unused trust roots, missing files, bad keys',
    args: [{ name: '<file>', description: 'the policy file (YAML or JSON)' }],
    local: true,
    load: () => import('./policy.js').then((m) => ({ action: m.check })),
  },
  {
    name: 'explain',
    description:
      'which rule of the policy applies to REF (as its origin, when REF is a declared mirror) and what it requires',
    args: [
      { name: '<file>', description: 'the policy file' },
      { name: '<refs...>', description: 'image references' },
    ],
    local: true,
    load: () => import('./policy.js').then((m) => ({ action: m.explainAction })),
  },
  {
    name: 'schema',
    description: 'print the JSON Schema of the policy file, for editors',
    local: true,
    load: () => import('./policy.js').then((m) => ({ action: m.schema })),
  },
];
