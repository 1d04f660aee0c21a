// The policy loader's node reader: a YAML node's file:line:column, its fields checked against the allowed names,
// typed scalars, and files named in the policy read (capped) relative to the policy's directory.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { LoadedFile, SourcePosition } from './types.js';

/** The largest key, certificate or trusted-root file a policy may name (4 MiB). */
const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024;

/** One problem (or, from the linter, a doubt) about a policy file, where it is written. */
export interface PolicyFinding {
  severity: 'error' | 'warning';
  /** `unknown-field`, `missing-file`, `bad-key`, `duplicate-scope`, `unused-trust-root`, … */
  code: string;
  message: string;
  at: SourcePosition;
  expected?: string | undefined;
  found?: string | undefined;
  hint?: string | undefined;
}

export type Fields = Map<string, { key: Node; value: Node | null }>;

/** Read `path` whole, refusing anything over `max` bytes. */
export function readCappedFile(path: string, max: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > max) throw new RangeError(`${size} bytes, over the ${max}-byte limit`);
    const buf = Buffer.alloc(size + 1);
    let n = 0;
    for (let r = 1; r > 0 && n <= max; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > max) throw new RangeError(`more than ${max} bytes`);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export class Reader {
  readonly findings: PolicyFinding[] = [];
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
    readonly baseDir: string,
  ) {}

  pos(node: Node | null | undefined, fallback?: Node): SourcePosition {
    const n = node?.range ? node : fallback;
    const p = this.lc.linePos(n?.range?.[0] ?? 0);
    return { file: this.file, line: p.line, column: p.col };
  }

  error(node: Node | null | undefined, code: string, message: string, extra: Partial<PolicyFinding> = {}) {
    this.findings.push({ severity: 'error', code, message, at: this.pos(node), ...extra });
  }

  /** The fields of a mapping, reporting any not in `allowed`. */
  fields(node: Node | null, what: string, allowed: readonly string[]): Fields | undefined {
    if (!isMap(node)) {
      this.error(node, 'wrong-type', `${what} must be a mapping`, { found: describe(node) });
      return undefined;
    }
    const out: Fields = new Map();
    for (const pair of node.items) {
      const key = pair.key as Node;
      const name = isScalar(key) ? String(key.value) : undefined;
      if (name === undefined || !allowed.includes(name)) {
        this.error(key, 'unknown-field', `unknown field ${JSON.stringify(name ?? '?')} in ${what}`, {
          expected: allowed.join(', '),
          found: String(name),
        });
        continue;
      }
      out.set(name, { key, value: (pair.value as Node | null) ?? null });
    }
    return out;
  }

  /** A required or optional string field. */
  str(f: Fields, name: string, what: string, required = false): string | undefined {
    const e = f.get(name);
    if (!e) {
      if (required) this.missing(f, name, what);
      return undefined;
    }
    if (isScalar(e.value) && typeof e.value.value === 'string' && e.value.value !== '') return e.value.value;
    this.error(e.value ?? e.key, 'wrong-type', `${what}.${name} must be a non-empty string`, {
      found: describe(e.value),
    });
    return undefined;
  }

  missing(f: Fields, name: string, what: string, node?: Node) {
    const first = node ?? [...f.values()][0]?.key;
    this.error(first, 'missing-field', `${what} needs ${name}`);
  }

  oneOf<T extends string>(f: Fields, name: string, what: string, values: readonly T[], dflt: T): T {
    const e = f.get(name);
    if (!e) return dflt;
    const v = isScalar(e.value) ? e.value.value : undefined;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    this.error(e.value ?? e.key, 'bad-value', `${what}.${name} must be one of ${values.join(', ')}`, {
      expected: values.join(' | '),
      found: describe(e.value),
    });
    return dflt;
  }

  bool(f: Fields, name: string, what: string, dflt: boolean): boolean {
    const e = f.get(name);
    if (!e) return dflt;
    if (isScalar(e.value) && typeof e.value.value === 'boolean') return e.value.value;
    this.error(e.value ?? e.key, 'wrong-type', `${what}.${name} must be true or false`, {
      found: describe(e.value),
    });
    return dflt;
  }

  /** A list of non-empty strings (a lone string is accepted as a list of one when `single`). */
  strings(node: Node | null, what: string, single = false): { value: string; node: Node }[] {
    if (single && isScalar(node) && typeof node.value === 'string') return [{ value: node.value, node }];
    if (!isSeq(node)) {
      this.error(node, 'wrong-type', `${what} must be a list of strings`, { found: describe(node) });
      return [];
    }
    const out: { value: string; node: Node }[] = [];
    for (const item of node.items as Node[]) {
      if (isScalar(item) && typeof item.value === 'string' && item.value !== '')
        out.push({ value: item.value, node: item });
      else
        this.error(item, 'wrong-type', `each entry of ${what} must be a non-empty string`, {
          found: describe(item),
        });
    }
    return out;
  }

  stringMap(
    e: { key: Node; value: Node | null } | undefined,
    what: string,
  ): Record<string, string> | undefined {
    if (!e) return undefined;
    const f = isMap(e.value) ? e.value : undefined;
    if (!f) {
      this.error(e.value ?? e.key, 'wrong-type', `${what} must be a mapping of strings`, {
        found: describe(e.value),
      });
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const p of f.items) {
      const k = p.key as Node;
      const v = p.value as Node | null;
      if (isScalar(k) && isScalar(v) && typeof v.value === 'string') out[String(k.value)] = v.value;
      else
        this.error(v ?? k, 'wrong-type', `${what}.${String(isScalar(k) ? k.value : '?')} must be a string`);
    }
    return out;
  }

  /** Read a file named in the policy (relative to the policy's directory), checked by `check`. */
  file_(
    node: Node,
    path: string,
    what: string,
    check?: (bytes: Buffer) => string | undefined,
  ): LoadedFile | undefined {
    const full = resolve(this.baseDir, path);
    let bytes: Buffer;
    try {
      bytes = readCappedFile(full, MAX_TRUST_FILE_BYTES);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const code = err.code === 'ENOENT' ? 'missing-file' : 'unreadable-file';
      this.error(
        node,
        code,
        `${what}: cannot read ${full}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
        {
          hint: 'relative paths are resolved against the directory of the policy file',
        },
      );
      return undefined;
    }
    const why = check?.(bytes);
    if (why) {
      this.error(node, 'bad-key', `${what}: ${full} ${why}`);
      return undefined;
    }
    return { path: full, bytes };
  }

  files(
    e: { key: Node; value: Node | null } | undefined,
    what: string,
    check: (b: Buffer) => string | undefined,
  ): LoadedFile[] {
    if (!e) return [];
    const out: LoadedFile[] = [];
    for (const s of this.strings(e.value, what, true)) {
      const f = this.file_(s.node, s.value, what, check);
      if (f) out.push(f);
    }
    return out;
  }
}

export function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node))
    return node.value === null ? 'null' : `${typeof node.value} ${JSON.stringify(node.value)}`;
  return 'an alias';
}
