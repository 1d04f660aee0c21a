// `pinFiles`: find the image references in the files people deploy from, resolve each distinct one once (through
// the verified-fetch core: the digest is computed from the bytes, never taken from a header), optionally judge it
// by the policy, and write `NAME:TAG@DIGEST` back through the one rewriter — or, with `check`, only report.
import { dirname, join } from 'node:path';
import type { Digest } from '../digest/index.js';
import { isTrustpinError, TrustpinError } from '../errors/index.js';
import { selectPlatform, walkImage } from '../image/index.js';
import { formatPlatform, type Platform } from '../manifest/index.js';
import type { Policy, PolicyVerdict } from '../policy/index.js';
import { formatReference, parseDockerReference, type Reference, withDefaultTag } from '../reference/index.js';
import { RegistryClient } from '../registry/index.js';
import { RegistrySource } from '../source/index.js';
import { type Problem, problemOf } from '../trust/index.js';
import { mapLimit } from '../util/index.js';
import { readCompose } from './compose.js';
import { extractDockerfile } from './dockerfile.js';
import { findPinFiles, type PinFile, type ReadFileResult, readPinFile, writePinFile } from './files.js';
import { extractHelmValues } from './helm.js';
import { extractKubernetes } from './kubernetes.js';
import { applyEdits, pinnedText, siteEdit, type TextEdit } from './rewrite.js';
import type { ExtractOptions, ImageSite, PinFormat } from './types.js';
import { extractWorkflow } from './workflow.js';

/** What `pinFiles` does: write digests (`pin`), also refresh moved tags (`update`), or only report (`check`). */
export type PinMode = 'pin' | 'update' | 'check';

/** Options of {@link pinFiles}. */
export interface PinOptions {
  /** default `pin` */
  mode?: PinMode | undefined;
  /** with `check`: also resolve the tags of pinned references and report those that moved (PIN_STALE) */
  stale?: boolean | undefined;
  /** compute the new files (in the report) but write nothing */
  dryRun?: boolean | undefined;
  /** pin this platform's manifest digest instead of the index digest */
  platform?: Platform | undefined;
  /**
   * judge each digest before it is written (a failing one is reported with its codes and left untouched; with
   * `check`, every pinned reference is judged); its `mirrors` map a mirror's tags to the origin's digest
   */
  policy?: Policy | undefined;
  /** Dockerfile `--build-arg` values */
  buildArgs?: Readonly<Record<string, string>> | undefined;
  include?: readonly string[] | undefined;
  exclude?: readonly string[] | undefined;
  client?: RegistryClient | undefined;
  /** references resolved at once (default 8) */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  /** for the policy's DCT trust store (as `evaluate`) */
  home?: string | undefined;
  now?: (() => number) | undefined;
}

/** References resolved at once by default. */
export const DEFAULT_PIN_CONCURRENCY = 8;

/**
 * What happened at one site:
 * - `pinned`: a digest was written (or would be, in a dry run); `updated`: a moved tag's digest was replaced;
 * - `current`: already pinned (and, when its tag was resolved, the tag still names that digest);
 * - `unpinned` / `stale` (check): no digest / the tag now names another digest;
 * - `not-pinnable`: pin cannot tell which image it is (an ARG without a value, a template);
 * - `refused`: the policy (or verification) rejected the image: nothing written;
 * - `error`: it could not be resolved (network, auth, unknown tag): nothing written.
 */
export type PinSiteStatus = (typeof STATUSES)[number];

/** Every site status, in the order the counts are reported. */
const STATUSES = [
  'pinned',
  'updated',
  'current',
  'unpinned',
  'stale',
  'not-pinnable',
  'refused',
  'error',
] as const;

/** One site's outcome. */
export interface PinSiteResult {
  site: ImageSite;
  status: PinSiteStatus;
  /** the digest the site has now (written, or found current) */
  digest?: string | undefined;
  /** the digest the site had before (updated, stale) */
  previous?: string | undefined;
  /** where the tag was resolved (the origin, for a declared mirror) */
  resolvedFrom?: string | undefined;
  /** the reference as the site now pins it, `NAME:TAG@DIGEST` (written, or would be in a dry run) */
  pinned?: string | undefined;
  /** the text written at the site (a reference, a Helm digest field) */
  written?: string | undefined;
  problems: Problem[];
  /** the policy's verdict on the digest, when a policy was given */
  verdict?: PolicyVerdict | undefined;
  /** the site makes the run fail: refused or unresolvable in any mode; with `check`, also unpinned, stale, not pinnable */
  failing: boolean;
}

/** One file's outcome. */
export interface PinFileReport {
  path: string;
  format: PinFormat;
  sites: PinSiteResult[];
  /** the pinned text differs from the file */
  changed: boolean;
  /** the new text was written to the file */
  written: boolean;
  /** the file as read and as pinned (when changed), for a diff */
  before?: string | undefined;
  after?: string | undefined;
  /** the file could not be read or parsed: untouched */
  error?: Problem | undefined;
}

/** `pinFiles`'s answer. */
export interface PinReport {
  mode: PinMode;
  /** true when nothing failed: no refused or unresolvable site, no unreadable file, and with `check` no finding */
  ok: boolean;
  /** the platform whose manifest digests were pinned (absent: index digests) */
  platform?: string | undefined;
  files: PinFileReport[];
  counts: Record<PinSiteStatus, number>;
}

/** A tag resolved: the digest to pin and what else it may legitimately be pinned as. */
interface Resolved {
  digest: Digest;
  /** the index's platform manifests (a platform pin of this tag is current) */
  children: string[];
  from: string;
  /** a declared mirror's own answer for the tag (it may hold the origin's image under other digests) */
  mirror?: { digest: Digest; children: string[] } | undefined;
}

/** The extractor of each format but compose (read with the files it brings in, by `readCompose`). */
const EXTRACT: Record<Exclude<PinFormat, 'compose'>, (text: string, o: ExtractOptions) => ImageSite[]> = {
  dockerfile: extractDockerfile,
  kubernetes: extractKubernetes,
  helm: extractHelmValues,
  workflow: extractWorkflow,
};

interface Loaded {
  file: PinFile;
  read?: ReadFileResult;
  sites: ImageSite[];
  error?: Problem;
}

/**
 * Pin the image references in `paths` (files or directories). Verification failures and unresolvable references
 * are per-site results; only operational failures of the run itself throw.
 * @throws TrustpinError USAGE, NOT_FOUND, IO_ERROR (finding or writing files), ABORTED
 */
export async function pinFiles(paths: readonly string[], o: PinOptions = {}): Promise<PinReport> {
  const mode = o.mode ?? 'pin';
  const files = await findPinFiles(paths, o);
  const loaded = await loadAll(files, o);
  const client = o.client ?? new RegistryClient();
  const results = new Map<ImageSite, PinSiteResult>();

  // which references need their tag resolved
  const toResolve = new Map<string, Reference>();
  const sites: { l: Loaded; s: ImageSite; ref: Reference }[] = [];
  for (const l of loaded)
    for (const s of l.sites) {
      if (s.notPinnable || !s.ref) {
        results.set(s, {
          site: s,
          status: 'not-pinnable',
          problems: [notPinnableProblem(s)],
          failing: false,
        });
        continue;
      }
      const ref = parseDockerReference(s.ref);
      sites.push({ l, s, ref });
      const pinned = ref.digest !== undefined;
      const resolve =
        mode === 'check' ? pinned && o.stale && ref.tag !== undefined : !pinned || mode === 'update';
      if (resolve && (ref.tag !== undefined || !pinned)) {
        const key = tagKey(ref);
        if (!toResolve.has(key)) toResolve.set(key, withDefaultTag({ ...ref, digest: undefined }));
      }
    }
  const resolved = new Map<string, Resolved | TrustpinError>();
  await mapLimit([...toResolve], o.concurrency ?? DEFAULT_PIN_CONCURRENCY, async ([key, ref]) => {
    try {
      resolved.set(key, await resolveTag(ref, client, o));
    } catch (e) {
      if (!isTrustpinError(e) || e.code === 'ABORTED') throw e;
      resolved.set(key, e);
    }
  });

  // each site's candidate digest, then one policy batch over the distinct NAME:TAG@DIGEST
  const planned: { l: Loaded; s: ImageSite; d: Decision }[] = [];
  const judged = new Set<string>();
  for (const { l, s, ref } of sites) {
    const d = decide(s, ref, mode, resolved, o);
    planned.push({ l, s, d });
    results.set(s, d.result);
    if (d.judge) judged.add(d.judge);
  }
  if (o.policy && judged.size) {
    const { evaluate } = await import('../policy/index.js');
    const refs = [...judged];
    const report = await evaluate(o.policy, refs, {
      client,
      signal: o.signal,
      home: o.home,
      now: o.now,
      concurrency: o.concurrency,
    });
    const verdicts = new Map(refs.map((k, i) => [k, report.verdicts[i]!]));
    // a mirror that does not hold the origin's digest (it re-encoded the manifests) is judged by its own tag: the
    // policy proves its image equal to the origin's at the declared level, and that digest is the one written
    const byTag = new Map<string, PolicyVerdict | undefined>();
    for (const { d } of planned) {
      const v = d.judge === undefined ? undefined : verdicts.get(d.judge);
      if (v && !v.ok && d.write && d.mirrorTag && v.problems.some((p) => p.code === 'MANIFEST_UNKNOWN'))
        byTag.set(d.mirrorTag, undefined);
    }
    if (byTag.size) {
      const tags = [...byTag.keys()];
      const again = await evaluate(o.policy, tags, {
        client,
        signal: o.signal,
        home: o.home,
        now: o.now,
        concurrency: o.concurrency,
      });
      for (const [i, t] of tags.entries()) byTag.set(t, again.verdicts[i]);
    }
    for (const { d, s } of planned) {
      let v = d.judge === undefined ? undefined : verdicts.get(d.judge);
      if (!v) continue;
      const own = d.mirrorTag === undefined ? undefined : byTag.get(d.mirrorTag);
      if (!v.ok && own?.ok && own.digest && d.write) {
        v = own;
        d.write = own.digest;
        d.result.digest = own.digest;
        d.result.pinned = pinnedText(s.ref!, own.digest);
        d.result.resolvedFrom = `${formatReference(parseDockerReference(d.mirrorTag!))} (the mirror's own digest, proven against the origin)`;
      }
      d.result.verdict = v;
      if (v.ok) continue;
      // fail: the policy refused it; error: it could not be decided (a server down, a digest the registry lacks)
      d.result.status = v.outcome === 'error' ? 'error' : 'refused';
      d.result.problems.push(...v.problems);
      d.write = undefined;
    }
  }

  const reports: PinFileReport[] = [];
  const writes: { rep: PinFileReport; read: ReadFileResult; after: string }[] = [];
  for (const l of loaded) {
    const rep: PinFileReport = {
      path: l.file.path,
      format: l.file.format,
      sites: l.sites.map((s) => results.get(s)!),
      changed: false,
      written: false,
    };
    if (l.error) rep.error = l.error;
    reports.push(rep);
    if (!l.read) continue;
    const edits: TextEdit[] = [];
    for (const p of planned)
      if (p.l === l && p.d.write) {
        const e = siteEdit(p.s, l.read.text, p.d.write);
        edits.push(e);
        p.d.result.written = e.text;
      }
    if (!edits.length) continue;
    const after = applyEdits(l.read.text, edits);
    if (after === l.read.text) continue;
    rep.changed = true;
    rep.before = l.read.text;
    rep.after = after;
    if (mode !== 'check' && !o.dryRun) writes.push({ rep, read: l.read, after });
  }
  await mapLimit(writes, FILE_JOBS, async (w) => {
    await writePinFile(w.read, w.after);
    w.rep.written = true;
  });
  const counts = Object.fromEntries(STATUSES.map((k) => [k, 0])) as Record<PinSiteStatus, number>;
  let failing = 0;
  for (const f of reports)
    for (const s of f.sites) {
      counts[s.status]++;
      s.failing =
        s.status === 'refused' || s.status === 'error' || (mode === 'check' && CHECK_FINDINGS.has(s.status));
      if (s.failing) failing++;
    }
  return {
    mode,
    ok: failing === 0 && reports.every((f) => !f.error),
    ...(o.platform ? { platform: formatPlatform(o.platform) } : {}),
    files: reports,
    counts,
  };
}

/** What `--check` reports as a finding, beside refused and unresolvable sites. */
const CHECK_FINDINGS: ReadonlySet<PinSiteStatus> = new Set(['unpinned', 'stale', 'not-pinnable']);

/** The key a tag is resolved under: its normalised name and tag (a site's own digest does not matter). */
function tagKey(ref: Reference): string {
  return formatReference(withDefaultTag({ ...ref, digest: undefined }));
}

/**
 * Resolve a tag: at the origin when the policy declares the reference a mirror (a pull-through cache's tags go
 * stale; its digests are the origin's), and then the mirror's own answer too; a platform's digest on request.
 */
async function resolveTag(ref: Reference, client: RegistryClient, o: PinOptions): Promise<Resolved> {
  let origin: Reference | undefined;
  if (o.policy) {
    const { mirrorOf } = await import('../policy/index.js');
    const m = mirrorOf(o.policy, ref);
    if (m) origin = withDefaultTag({ ...m.origin, digest: undefined });
  }
  const at = origin ?? ref;
  const [r, mirror] = await Promise.all([
    digestOf(at, client, o),
    origin ? digestOf(ref, client, o).catch(() => undefined) : undefined,
  ]);
  return { ...r, from: formatReference(at), ...(mirror ? { mirror } : {}) };
}

async function digestOf(
  ref: Reference,
  client: RegistryClient,
  o: PinOptions,
): Promise<{ digest: Digest; children: string[] }> {
  const src = new RegistrySource(ref, client);
  if (o.platform) {
    const node = selectPlatform(await walkImage(src, { platform: o.platform, signal: o.signal }), o.platform);
    return { digest: node.descriptor.digest as Digest, children: [] };
  }
  const top = await src.resolve({ signal: o.signal });
  const m = await src.manifest(top, { signal: o.signal });
  return {
    digest: top.digest as Digest,
    children: m.value.kind === 'index' ? m.value.manifests.map((d) => d.digest) : [],
  };
}

interface Decision {
  result: PinSiteResult;
  /** the digest to write at the site */
  write?: string | undefined;
  /** the NAME:TAG@DIGEST the policy judges */
  judge?: string | undefined;
  /** a declared mirror's NAME:TAG, judged by itself when the mirror does not hold the origin's digest */
  mirrorTag?: string | undefined;
}

/** A site's outcome from its reference and what its tag resolved to. */
function decide(
  s: ImageSite,
  ref: Reference,
  mode: PinMode,
  resolved: Map<string, Resolved | TrustpinError>,
  o: PinOptions,
): Decision {
  const result: PinSiteResult = { site: s, status: 'current', problems: [], failing: false };
  const pinned = ref.digest;
  const written = formatReference(ref);
  if (mode === 'check' && !pinned) {
    result.status = 'unpinned';
    result.problems.push({
      code: 'NOT_PINNED',
      message: `${s.ref} is not pinned to a digest`,
      expected: 'NAME:TAG@sha256:…',
      found: s.text,
      hint: 'run `trustpin pin` on this file to write the digest the tag names now',
    });
    return { result };
  }
  const r = resolved.get(tagKey(ref));
  if (!r) {
    // not resolved: pinned, and its tag was not asked about
    result.digest = pinned;
    return { result, ...(mode === 'check' && o.policy ? { judge: written } : {}) };
  }
  if (r instanceof TrustpinError) {
    result.status = r.isVerificationFailure ? 'refused' : 'error';
    result.problems.push(problemOf(r));
    return { result };
  }
  result.resolvedFrom = r.from;
  const known = (x: { digest: string; children: string[] } | undefined) =>
    x !== undefined && (pinned === x.digest || (!o.platform && x.children.includes(pinned!)));
  if (pinned && (known(r) || known(r.mirror))) {
    result.digest = pinned;
    return { result, ...(mode === 'check' && o.policy ? { judge: written } : {}) };
  }
  const next = formatReference({ ...withDefaultTag({ ...ref, digest: undefined }), digest: r.digest });
  if (pinned) {
    result.previous = pinned;
    if (mode === 'check') {
      result.status = 'stale';
      result.digest = pinned;
      result.problems.push({
        code: 'PIN_STALE',
        message: `${s.ref}: the tag ${ref.tag} now names another digest`,
        expected: pinned,
        found: `${r.digest} (${r.from})`,
        hint: 'check who pushed the new digest, then `trustpin pin --update` this file',
      });
      return { result, ...(o.policy ? { judge: written } : {}) };
    }
    result.status = 'updated';
  } else result.status = 'pinned';
  result.digest = r.digest;
  result.pinned = pinnedText(s.ref!, r.digest);
  const mirrorTag = r.mirror ? formatReference(withDefaultTag({ ...ref, digest: undefined })) : undefined;
  return {
    result,
    write: r.digest,
    ...(o.policy ? { judge: next } : {}),
    ...(mirrorTag ? { mirrorTag } : {}),
  };
}

function notPinnableProblem(s: ImageSite): Problem {
  const n = s.notPinnable;
  return {
    code: 'NOT_PINNED',
    message: `${s.text} cannot be pinned: ${n?.message ?? 'no reference'}`,
    found: s.text,
    ...(n?.hint ? { hint: n.hint } : {}),
  };
}

/** Read and extract every file; a file that cannot be read or parsed is reported and left untouched. */
async function loadAll(files: PinFile[], o: PinOptions): Promise<Loaded[]> {
  const out: Loaded[] = [];
  const seen = new Set(files.map((f) => f.path));
  // in waves: the files named, then the compose files they include or extend, and so on
  for (let wave = files; wave.length; ) {
    const loaded = await mapLimit(wave, FILE_JOBS, (file) => loadOne(file, o));
    out.push(...loaded);
    const next: PinFile[] = [];
    for (const l of loaded)
      for (const f of l.brings ?? []) {
        const path = join(dirname(l.file.path), f);
        if (seen.has(path)) continue;
        seen.add(path);
        next.push({ path, format: 'compose' });
      }
    wave = next;
  }
  return out;
}

async function loadOne(file: PinFile, o: PinOptions): Promise<Loaded & { brings?: string[] }> {
  try {
    const read = await readPinFile(file.path);
    const opts = { buildArgs: o.buildArgs, file: file.path };
    if (file.format === 'compose') {
      // one parse gives the sites and the files it includes or extends
      const c = readCompose(read.text, opts);
      return { file, read, sites: c.sites, ...(c.files.length ? { brings: c.files } : {}) };
    }
    return { file, read, sites: EXTRACT[file.format](read.text, opts) };
  } catch (e) {
    if (!isTrustpinError(e)) throw e;
    return { file, sites: [], error: problemOf(e) };
  }
}

/** Files read or written at once. */
const FILE_JOBS = 16;
