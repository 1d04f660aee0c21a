// Shape checks for the JSON documents on every command's path (manifests, configs, `docker save`'s manifest.json).
// A validation library costs tens of milliseconds to load and build its schemas, and every command that reads an
// image paid it at start-up; these few checks cost nothing to load. A check returns a new value holding only the
// members its shape names (unknown members are dropped, as the schema libraries do), or throws a ShapeError that
// says where and what.

/** Where a document does not have the expected shape: a dotted path and what was expected there. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path || '(root)'}: ${why}`);
    this.name = 'ShapeError';
  }
}

/** A check: the value it keeps, or a ShapeError. `path` is the dotted location of `v`, for messages. */
export type Check<T> = (v: unknown, path: string) => T;
/** The value type a check keeps. */
export type Shape<C> = C extends Check<infer T> ? T : never;

const at = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function fail(path: string, expected: string, v: unknown): never {
  throw new ShapeError(path, `expected ${expected}, found ${kind(v)}`);
}

/** A string, at least `min` characters long. */
export function str(min = 0): Check<string> {
  return (v, path) => {
    if (typeof v !== 'string') fail(path, 'a string', v);
    if (v.length < min)
      throw new ShapeError(path, `expected at least ${min} character${min === 1 ? '' : 's'}`);
    return v;
  };
}

/** A boolean. */
export const bool: Check<boolean> = (v, path) => (typeof v === 'boolean' ? v : fail(path, 'a boolean', v));

/** A non-negative safe integer (sizes). */
export const size: Check<number> = (v, path) => {
  if (typeof v !== 'number') fail(path, 'a number', v);
  if (!Number.isSafeInteger(v) || v < 0)
    throw new ShapeError(path, `expected a non-negative integer, found ${v}`);
  return v;
};

/** Exactly `value`. */
export function literal<T extends string | number>(value: T): Check<T> {
  return (v, path) => {
    if (v !== value)
      throw new ShapeError(path, `expected ${JSON.stringify(value)}, found ${JSON.stringify(v) ?? kind(v)}`);
    return value;
  };
}

/** Any value, kept as it is (free-form members). */
export const unknown: Check<unknown> = (v) => v;

/** Absent (undefined) or `c`. */
export function optional<T>(c: Check<T>): Check<T | undefined> {
  return (v, path) => (v === undefined ? undefined : c(v, path));
}

/** null or `c` (array items, record values: JSON has no undefined there). */
export function nullable<T>(c: Check<T>): Check<T | null> {
  return (v, path) => (v === null ? null : c(v, path));
}

/** Absent, null, or `c`: null is kept as null. */
export function nullish<T>(c: Check<T>): Check<T | null | undefined> {
  return (v, path) => (v === undefined || v === null ? v : c(v, path));
}

/** An array of at most `max` items, each `c`. */
export function array<T>(c: Check<T>, max = Number.MAX_SAFE_INTEGER): Check<T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) fail(path, 'an array', v);
    if (v.length > max) throw new ShapeError(path, `expected at most ${max} items, found ${v.length}`);
    return v.map((x, i) => c(x, at(path, i)));
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An object whose every member is `c` (annotations, labels). */
export function record<T>(c: Check<T>): Check<Record<string, T>> {
  return (v, path) => {
    if (!isRecord(v)) fail(path, 'an object', v);
    const out: Record<string, T> = {};
    for (const k of Object.keys(v)) {
      // a member named __proto__ is data: defineProperty keeps it an own member instead of setting the prototype
      Object.defineProperty(out, k, {
        value: c(v[k], at(path, k)),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
}

type Members = Record<string, Check<unknown>>;
type Optional<S extends Members> = { [K in keyof S]: undefined extends Shape<S[K]> ? K : never }[keyof S];
type Required<S extends Members> = Exclude<keyof S, Optional<S>>;
/** The object a member map keeps: members whose check admits undefined are optional. */
export type ObjectShape<S extends Members> = { [K in Required<S>]: Shape<S[K]> } & {
  [K in Optional<S>]?: Shape<S[K]>;
};

/** An object with these members (checked in order); members it does not name are dropped, absent ones left out. */
export function object<S extends Members>(members: S): Check<ObjectShape<S>> {
  const keys = Object.keys(members);
  return (v, path) => {
    if (!isRecord(v)) fail(path, 'an object', v);
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const got = members[k]!(Object.hasOwn(v, k) ? v[k] : undefined, at(path, k));
      if (got !== undefined) out[k] = got;
    }
    return out as ObjectShape<S>;
  };
}

/**
 * `check` of a whole document: a mismatch becomes `fail(e)`, the caller's own coded error naming the document;
 * anything else thrown is rethrown as it is.
 */
export function checkShape<T>(check: Check<T>, doc: unknown, fail: (e: ShapeError) => Error): T {
  try {
    return check(doc, '');
  } catch (e) {
    if (e instanceof ShapeError) throw fail(e);
    throw e;
  }
}

/** `c`, then `f` of what it kept; an Error thrown by `f` becomes a ShapeError at that path. */
export function map<T, U>(c: Check<T>, f: (t: T) => U): Check<U> {
  return (v, path) => {
    const t = c(v, path);
    try {
      return f(t);
    } catch (e) {
      if (e instanceof ShapeError) throw e;
      throw new ShapeError(path, (e as Error).message);
    }
  };
}
