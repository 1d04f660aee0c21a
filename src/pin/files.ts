// Which files `pin` reads, and reading and writing them safely: size-capped before reading, strict UTF-8, written
// back atomically with their mode kept, through a symlink to the file it names (never replacing the link).
import type { Dirent } from 'node:fs';
import { chmod, lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { TrustpinError } from '../errors/index.js';
import { writeAtomic } from '../util/index.js';
import { detectFormat } from './detect.js';
import type { PinFormat } from './types.js';

/**
 * The largest file `pin` reads (bytes): a larger one is refused with PIN_FILE_INVALID, untouched. YAML parses at
 * about 1 MB/s (a 4 MiB Kubernetes dump of 8,800 documents takes ≈3 s), so this bounds a file's cost to seconds.
 */
export const MAX_PIN_FILE_BYTES = 4 * 1024 * 1024;
/** The most files one `pin` run reads (a directory walk stops with an error beyond it). */
export const MAX_PIN_FILES = 10_000;

/** Directories a walk never enters (a `.github` is entered; other dot-directories are not). */
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'vendor']);

/** A file to pin and its format. */
export interface PinFile {
  /** the path as found (relative paths stay relative to the working directory) */
  path: string;
  format: PinFormat;
}

/** Options of {@link findPinFiles}. */
export interface FindOptions {
  /** globs a file must match (relative to the directory walked; a pattern without `/` matches the base name) */
  include?: readonly string[] | undefined;
  /** globs that leave a file out */
  exclude?: readonly string[] | undefined;
}

async function matcher(
  globs: readonly string[] | undefined,
): Promise<((rel: string) => boolean) | undefined> {
  if (!globs?.length) return undefined;
  const { default: picomatch } = await import('picomatch');
  const full = picomatch(
    globs.filter((g) => g.includes('/')),
    { dot: true },
  );
  const base = picomatch(
    globs.filter((g) => !g.includes('/')),
    { dot: true },
  );
  return (rel) => full(rel) || base(basename(rel));
}

/**
 * The files under `paths` that `pin` understands: a file named explicitly must be of a known format (USAGE
 * otherwise); a directory is walked (symlinks are not followed, `node_modules`, `.git` and dot-directories other
 * than `.github` are skipped) and files are kept by name, or by content for `.yaml`/`.yml`.
 * @throws TrustpinError USAGE (unknown format, more than MAX_PIN_FILES), IO_ERROR, NOT_FOUND
 */
export async function findPinFiles(paths: readonly string[], o: FindOptions = {}): Promise<PinFile[]> {
  const include = await matcher(o.include);
  const exclude = await matcher(o.exclude);
  const out: PinFile[] = [];
  const seen = new Set<string>();
  const add = (path: string, format: PinFormat) => {
    const key = resolve(path);
    if (seen.has(key)) return;
    seen.add(key);
    if (out.length >= MAX_PIN_FILES)
      throw new TrustpinError('USAGE', `more than ${MAX_PIN_FILES} files to pin`, {
        hint: 'name the directories or files to pin, or narrow them with --include/--exclude',
      });
    out.push({ path, format });
  };
  for (const p of paths) {
    const st = await stat(p).catch((e: NodeJS.ErrnoException) => {
      throw new TrustpinError(
        e.code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR',
        `cannot read ${p}: ${e.message}`,
      );
    });
    if (!st.isDirectory()) {
      const format = await formatOfFile(p);
      if (!format)
        throw new TrustpinError('USAGE', `${p}: not a file pin understands`, {
          expected:
            'a Dockerfile/Containerfile, a compose file, Kubernetes YAML, Helm values, or a GitHub Actions workflow',
          found: basename(p),
          hint: 'name it like its format (Dockerfile, compose.yaml, values.yaml, .github/workflows/*.yml) or give its directory',
        });
      add(p, format);
      continue;
    }
    await walk(p, p, (file) => {
      const rel = relative(p, file);
      if (include && !include(rel)) return Promise.resolve();
      if (exclude?.(rel)) return Promise.resolve();
      return formatOfFile(file).then((f) => (f ? add(file, f) : undefined));
    });
  }
  return out;
}

async function walk(root: string, dir: string, visit: (file: string) => Promise<void>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new TrustpinError('IO_ERROR', `cannot list ${dir}: ${(e as Error).message}`);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (SKIPPED_DIRS.has(e.name) || (e.name.startsWith('.') && e.name !== '.github')) continue;
      await walk(root, path, visit);
    } else if (e.isFile()) await visit(path);
  }
}

/** The format of a file by its name, or by a look at its content for YAML. */
async function formatOfFile(path: string): Promise<PinFormat | undefined> {
  const byName = detectFormat(path);
  if (byName) return byName;
  if (!/\.ya?ml$/i.test(path)) return undefined;
  const st = await stat(path).catch(() => undefined);
  if (!st || st.size > MAX_PIN_FILE_BYTES) return undefined;
  const head = await readFile(path).catch(() => undefined);
  if (!head) return undefined;
  const text = head.toString('utf8');
  // a chart's templates/ (and any other templated YAML) is not YAML until rendered: pin the values instead
  if (text.includes('{{')) return undefined;
  return detectFormat(path, text);
}

/** A file's text as read, with what writing it back needs. */
export interface ReadFileResult {
  text: string;
  /** the file's permission bits, kept on write */
  mode: number;
  /** the path written to: the file itself, or the file a symlink names */
  target: string;
}

/**
 * Read a file to pin: at most MAX_PIN_FILE_BYTES, strict UTF-8 (a BOM is kept as text, so writing the string back
 * gives the same bytes).
 * @throws TrustpinError PIN_FILE_INVALID (too large, not UTF-8), IO_ERROR
 */
export async function readPinFile(path: string): Promise<ReadFileResult> {
  let target = path;
  let st = await lstat(path).catch((e: Error) => {
    throw new TrustpinError('IO_ERROR', `cannot read ${path}: ${e.message}`);
  });
  if (st.isSymbolicLink()) {
    target = await realpath(path);
    st = await stat(target);
  }
  if (st.size > MAX_PIN_FILE_BYTES)
    throw new TrustpinError('PIN_FILE_INVALID', `${path} is ${st.size} bytes, over pin's limit`, {
      expected: `at most ${MAX_PIN_FILE_BYTES} bytes`,
      found: `${st.size} bytes`,
      hint: 'a deployment file this large is not one pin should rewrite; leave it out with --exclude',
    });
  const bytes = await readFile(target);
  if (bytes.length > MAX_PIN_FILE_BYTES)
    throw new TrustpinError('PIN_FILE_INVALID', `${path} grew over pin's limit while being read`, {
      expected: `at most ${MAX_PIN_FILE_BYTES} bytes`,
      found: `${bytes.length} bytes`,
    });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new TrustpinError('PIN_FILE_INVALID', `${path} is not valid UTF-8`, {
      expected: 'a UTF-8 text file',
      found: `invalid UTF-8 at byte ${firstInvalidUtf8(bytes)}`,
      hint: 'save the file as UTF-8; pin rewrites text and would corrupt other encodings',
    });
  }
  return { text, mode: st.mode & 0o7777, target };
}

/** Write the pinned text back: atomically, with the mode kept, to the file (not the symlink) that was read. */
export async function writePinFile(read: ReadFileResult, text: string): Promise<void> {
  await writeAtomic(read.target, text, read.mode);
  // writeAtomic creates the temporary file with `mode` minus the umask: put the exact bits back
  await chmod(read.target, read.mode);
}

/** The offset of the first byte that breaks UTF-8 (for the error message). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n =
      c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return i;
}
