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

/** Caps on one layer's tar stream, checked as each header is read. */
export interface TarLimits {
  /** entries in one layer (default 1,000,000) */
  maxEntries: number;
  /** characters in an entry's name or link target, after PAX/GNU long names (default 4096, Linux's PATH_MAX) */
  maxPathLength: number;
}
/** 1,000,000 entries per layer; 4096 characters per name or link target. */
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

/** Entry types that carry no data in Go's archive/tar (isHeaderOnlyType). */
const HEADER_ONLY = new Set(['directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);

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
  // V7 headers (no ustar magic) are read, as Go's archive/tar reads them: an image docker unpacks is not refused
  // (an option tar-stream reads but its published types do not list)
  const ex = extract({ allowUnknownFormat: true } as Parameters<typeof extract>[0]);
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

/**
 * Every header field is checked before the entry is used. tar-stream decodes a non-octal number as NaN and a
 * base-256 number without its 0x80/0xFF marker as null: a null size passes its own `size >= 0` check and makes a
 * body that never ends, a NaN mtime is a crash later. A name or link target longer than PATH_MAX is refused here,
 * so that no later step (symlink resolution, the unpacker) works on an unbounded string.
 */
function checkHeader(h: Headers, layer: string, limits: TarLimits): void {
  const invalid = (field: string, expected: string, found: string) =>
    new TrustpinError(
      'LAYER_INVALID',
      `layer ${layer}: ${JSON.stringify(String(h.name).slice(0, 200))} has an invalid ${field} field`,
      {
        expected,
        found,
        hint: 'its digest matched, so this is what the publisher pushed; the layer is corrupt or hostile',
      },
    );
  for (const [field, v] of [
    ['size', h.size],
    ['mode', h.mode],
    ['uid', h.uid],
    ['gid', h.gid],
    // only a device uses its numbers; other entries may carry anything there
    ...(h.type === 'character-device' || h.type === 'block-device'
      ? ([
          ['devmajor', h.devmajor],
          ['devminor', h.devminor],
        ] as const)
      : []),
  ] as const) {
    // undefined: the field is absent (tar-stream leaves dev numbers out of some headers); null is a bad number
    if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0))
      throw invalid(field, 'an octal or base-256 number', String(v));
  }
  // Go's archive/tar (docker, containerd) reads no data for these types whatever their size says, while
  // tar-stream reads `size` bytes for some and, for a directory, hands out a body that never ends: the two
  // would see different entries in one archive, so a header-only entry that declares data is refused
  if (HEADER_ONLY.has(h.type ?? '') && h.size)
    throw invalid('size', 'no data (0) for a directory, link or device entry', String(h.size));
  if (h.mtime !== undefined && !(h.mtime instanceof Date && Number.isFinite(h.mtime.getTime())))
    throw invalid('mtime', 'an octal or base-256 number of seconds', String(h.mtime));
  if (typeof h.name !== 'string' || h.name.length > limits.maxPathLength)
    throw new TrustpinError(
      'LAYER_INVALID',
      `layer ${layer} has a name longer than ${limits.maxPathLength}`,
      {
        expected: `names of at most ${limits.maxPathLength} characters (option tarLimits.maxPathLength)`,
        found: `${String(h.name?.length)} characters`,
      },
    );
  const link = h.linkname;
  if (link !== undefined && link !== null && (typeof link !== 'string' || link.length > limits.maxPathLength))
    throw new TrustpinError(
      'LAYER_INVALID',
      `layer ${layer}: ${JSON.stringify(h.name.slice(0, 200))} has a link target longer than ${limits.maxPathLength}`,
      {
        expected: `link targets of at most ${limits.maxPathLength} characters (option tarLimits.maxPathLength; Linux: PATH_MAX)`,
        found: `${String((link as string).length)} characters`,
      },
    );
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
    checkHeader(h, layer, limits);
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
    // symlink(2) refuses an empty target (ENOENT) and a NUL ends one: no unpacker could create it, so diff's
    // tree must not hold it either
    if (type === 'symlink' && (!linkname || linkname.includes('\0')))
      throw new TrustpinError(
        'LAYER_INVALID',
        `layer ${layer}: symlink ${JSON.stringify(path.slice(0, 200))} has an empty or NUL target`,
        {
          expected: 'a non-empty link target without NUL bytes',
          found: JSON.stringify((linkname ?? '').slice(0, 200)),
          hint: 'no unpacker could create this symlink; the layer is broken',
        },
      );
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
    // a body cut short (the archive ends inside it) fails the reader of the body, not this loop: its error is
    // made a layer error there too, so every consumer sees LAYER_INVALID, not tar-stream's "Stream was destroyed"
    const read = e[Symbol.asyncIterator].bind(e);
    e[Symbol.asyncIterator] = async function* () {
      try {
        yield* read();
      } catch (err) {
        throw asLayerError(err, layer);
      }
    };
    yield { entry, body: e };
    e.resume();
  }
}
