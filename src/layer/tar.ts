// Walk the entries of a verified, decompressed layer with a tar *parser* (tar-stream), never an extractor:
// names normalised like moby's go-archive, `..`/NUL rejected, whiteouts classified, counts and sizes capped.
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, type Header as Headers } from 'tar-stream';
import { TrustpinError } from '../errors/index.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export type Whiteout = { kind: 'file'; target: string } | { kind: 'opaque'; dir: string };

export interface LayerEntry {
  /** normalised: relative, no `.`/`..` components, no trailing slash */
  path: string;
  /** the name exactly as in the tar header (after PAX/GNU long names), for warnings about it */
  name?: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** milliseconds since the epoch */
  mtime: number;
  /** symlink target as written; for hardlinks the normalised path of the target */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs: Record<string, string>;
  whiteout?: Whiteout;
}

export interface TarLimits {
  maxEntries: number;
  maxPathLength: number;
}
export const DEFAULT_TAR_LIMITS: TarLimits = { maxEntries: 1_000_000, maxPathLength: 4096 };

const TYPES: Record<string, EntryType> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'hardlink',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

function escapeError(layer: string, name: string, why: string): TrustpinError {
  return new TrustpinError('PATH_ESCAPE', `layer ${layer}: entry ${JSON.stringify(name)} ${why}`, {
    hint: 'the layer tries to write outside its root; the image is hostile or broken and was not used',
  });
}

/** Clean a tar name like go-archive: strip leading `/`, resolve `.`, refuse anything that climbs out. */
export function normalizeName(name: string, layer = '?'): string | undefined {
  if (name.includes('\0')) throw escapeError(layer, name, 'contains a NUL byte');
  const clean = posix.normalize(`/${name}`).slice(1).replace(/\/+$/, '');
  if (clean === '' || clean === '.') return undefined;
  // normalize('/' + x) can never yield '..' components; a name that had them climbs out of the root
  if (name.split('/').includes('..')) {
    const strict = posix.normalize(name.replace(/^\/+/, ''));
    if (strict === '..' || strict.startsWith('../'))
      throw escapeError(layer, name, 'climbs out of the root with ..');
  }
  return clean;
}

function whiteoutOf(path: string, layer: string): Whiteout | undefined | 'skip' {
  const base = posix.basename(path);
  if (!base.startsWith('.wh.')) return undefined;
  const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
  if (base === '.wh..wh..opq') return { kind: 'opaque', dir };
  if (base.startsWith('.wh..wh.')) return 'skip'; // AUFS metadata, not a whiteout
  const target = base.slice(4);
  if (target === '' || target === '.' || target === '..')
    throw escapeError(layer, path, 'is a whiteout of the directory itself or its parent');
  return { kind: 'file', target: dir ? `${dir}/${target}` : target };
}

function xattrsOf(h: Headers & { pax?: Record<string, string> }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h.pax ?? {}))
    if (k.startsWith('SCHILY.xattr.')) out[k.slice(13)] = String(v);
  return out;
}

/**
 * Yield each entry with its body stream; the caller must consume or drain `body` before the next entry.
 * Only ever called on decompressed bytes of a blob whose digest was already proven.
 */
export async function* walkTar(
  input: Readable,
  layer: string,
  limits: TarLimits = DEFAULT_TAR_LIMITS,
): AsyncGenerator<{ entry: LayerEntry; body: Readable }> {
  const ex = extract();
  input.on('error', (e) => ex.destroy(e));
  input.pipe(ex);
  try {
    yield* entries(ex, layer, limits);
  } catch (e) {
    throw asLayerError(e, layer);
  }
}

/** The parser's and the decompressor's own errors (truncation, bad headers, corrupt deflate) are LAYER_INVALID. */
export function asLayerError(e: unknown, layer: string): unknown {
  if (e instanceof TrustpinError) return e;
  const err = e as NodeJS.ErrnoException;
  return new TrustpinError('LAYER_INVALID', `layer ${layer} is not a valid tar stream: ${err.message}`, {
    expected: 'a complete POSIX/GNU tar archive',
    found: err.code ? `${err.code}: ${err.message}` : err.message,
    hint: 'its digest matched, so this is what the publisher pushed; the layer is truncated or corrupt',
    cause: e,
  });
}

async function* entries(
  ex: ReturnType<typeof extract>,
  layer: string,
  limits: TarLimits,
): AsyncGenerator<{ entry: LayerEntry; body: Readable }> {
  let count = 0;
  for await (const e of ex as AsyncIterable<
    Readable & { header: Headers & { pax?: Record<string, string> } }
  >) {
    const h = e.header;
    if (++count > limits.maxEntries)
      throw new TrustpinError('LAYER_INVALID', `layer ${layer} has more than ${limits.maxEntries} entries`);
    if (h.name.length > limits.maxPathLength)
      throw new TrustpinError(
        'LAYER_INVALID',
        `layer ${layer} has a name longer than ${limits.maxPathLength}`,
      );
    // tar-stream decodes a non-octal number field as NaN: a NaN size is a body that never ends, a NaN mtime a
    // crash later — every number is checked before the entry is used
    for (const [field, v] of [
      ['size', h.size],
      ['mode', h.mode],
      ['uid', h.uid],
      ['gid', h.gid],
    ] as const) {
      if (v !== undefined && v !== null && !(Number.isSafeInteger(v) && v >= 0))
        throw new TrustpinError('LAYER_INVALID', `layer ${layer}: ${h.name} has an invalid ${field} field`, {
          expected: 'an octal or base-256 number',
          found: String(v),
        });
    }
    if (h.mtime && Number.isNaN(h.mtime.getTime()))
      throw new TrustpinError('LAYER_INVALID', `layer ${layer}: ${h.name} has an invalid mtime field`, {
        expected: 'an octal or base-256 number',
      });
    const type = TYPES[h.type ?? 'file'];
    const path = normalizeName(h.name, layer);
    if (!type || path === undefined) {
      e.resume();
      continue;
    }
    const wh = whiteoutOf(path, layer);
    if (wh === 'skip') {
      e.resume();
      continue;
    }
    let linkname: string | undefined = h.linkname ?? undefined;
    if (type === 'hardlink') {
      const target = normalizeName(linkname ?? '', layer);
      if (target === undefined) throw escapeError(layer, h.name, 'is a hard link to the root');
      linkname = target;
    }
    const entry: LayerEntry = {
      path,
      name: h.name,
      type,
      mode: (h.mode ?? 0) & 0o7777,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      size: type === 'file' ? (h.size ?? 0) : 0,
      mtime: h.mtime?.getTime() ?? 0,
      ...(linkname !== undefined && (type === 'symlink' || type === 'hardlink') ? { linkname } : {}),
      ...(type === 'char' || type === 'block'
        ? { devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0 }
        : {}),
      xattrs: xattrsOf(h),
      ...(wh ? { whiteout: wh } : {}),
    };
    yield { entry, body: e };
    e.resume();
  }
}
