// Which pin format a file is: by its name first, then, for other YAML files, by a cheap look at the top-level
// keys of its text (no parse; comments and indented lines never count).
import type { PinFormat } from './types.js';

const COMPOSE = /^(docker-)?compose(\.[^/]+)?\.ya?ml$/i;
const YAML = /\.ya?ml$/i;

/**
 * The format of a file by its path: `Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*` and
 * `*.dockerfile` (not `*.dockerignore`) are Dockerfiles; `compose.yaml`, `docker-compose.yml` and their
 * `compose.*.yaml` overrides are Compose; a `.yml`/`.yaml` under `.github/workflows/` is a workflow;
 * `values*.yaml` is Helm values. Another YAML file is judged by `text` when given: top-level `apiVersion` and
 * `kind` in one document → kubernetes; a top-level `services:` mapping → compose; top-level `jobs:` and
 * `on:` → workflow. Undefined when none applies.
 */
export function detectFormat(path: string, text?: string): PinFormat | undefined {
  const p = path.replace(/\\/g, '/');
  const base = p.slice(p.lastIndexOf('/') + 1);
  const lower = base.toLowerCase();
  if (!lower.endsWith('.dockerignore')) {
    if (lower === 'dockerfile' || lower === 'containerfile') return 'dockerfile';
    if (
      lower.startsWith('dockerfile.') ||
      lower.startsWith('containerfile.') ||
      lower.endsWith('.dockerfile')
    )
      return 'dockerfile';
  }
  if (!YAML.test(base)) return undefined;
  if (COMPOSE.test(base)) return 'compose';
  if (`/${p}`.includes('/.github/workflows/')) return 'workflow';
  if (/^values[^/]*\.ya?ml$/i.test(base)) return 'helm';
  return text === undefined ? undefined : sniff(text);
}

const TOP_KEY = /^(?:"([^"]*)"|'([^']*)'|([A-Za-z_][\w.-]*))[ \t]*:(?:[ \t]+(.*))?$/;

function sniff(text: string): PinFormat | undefined {
  let keys = new Map<string, string>();
  const docs: Map<string, string>[] = [keys];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    if (raw.startsWith('---')) {
      keys = new Map();
      docs.push(keys);
      continue;
    }
    // only unindented keys are top-level; comments, indented lines and flow/sequence lines are not keys
    const m = TOP_KEY.exec(raw);
    if (!m) continue;
    const key = m[1] ?? m[2] ?? m[3]!;
    if (!keys.has(key)) keys.set(key, (m[4] ?? '').replace(/(^|[ \t])#.*$/, '').trim());
  }
  for (const k of docs) if (k.has('apiVersion') && k.has('kind')) return 'kubernetes';
  for (const k of docs) {
    const v = k.get('services');
    if (v !== undefined && (v === '' || v.startsWith('{'))) return 'compose';
  }
  for (const k of docs) if (k.has('jobs') && k.has('on')) return 'workflow';
  return undefined;
}
