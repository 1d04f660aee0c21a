// The shape every pin extractor produces: where an image reference is written in a file, exactly (offsets into the
// decoded text), and how a digest is written back. Extractors never touch the network; the rewriter only replaces
// ranges, so everything else in the file stays byte-identical.

/** The file formats `pin` reads. */
export type PinFormat = 'dockerfile' | 'compose' | 'kubernetes' | 'helm' | 'workflow';

/** A half-open range `[start, end)` of UTF-16 offsets into the file's decoded text (a JS string index). */
export interface TextRange {
  start: number;
  end: number;
}

/**
 * How a site's digest is written back:
 * - `reference`: the range holds the reference text (without quotes); it is replaced by `NAME:TAG@DIGEST`;
 * - `digest`: the range holds an existing digest value (Helm `digest:`, without quotes, possibly empty); it is
 *   replaced by the digest alone;
 * - `insert-digest`: no digest field yet (Helm): `prefix + DIGEST + suffix` is inserted at `at`.
 */
export type SiteEdit =
  | { kind: 'reference'; range: TextRange }
  | { kind: 'digest'; range: TextRange }
  | { kind: 'insert-digest'; at: number; prefix: string; suffix: string };

/** Why a reference cannot be pinned by `pin` (reported, never guessed). */
export interface NotPinnable {
  code: 'ARG_UNRESOLVED' | 'REFERENCE_INVALID' | 'TEMPLATED';
  message: string;
  hint?: string | undefined;
}

/** One image reference found in a file. */
export interface ImageSite {
  format: PinFormat;
  /**
   * where in the file, for people: `FROM (stage build)`, `COPY --from`, `RUN --mount from`, `# syntax`,
   * `services.web.image`, `Deployment/api spec.template.spec.containers[0].image`, `image (values)`,
   * `jobs.test.container`, `jobs.test.steps[2].uses`
   */
  where: string;
  /** 1-based line and column (UTF-16 code units, like editors) of the reference as written */
  line: number;
  column: number;
  /** the reference exactly as written in the file (with `${VARS}` unexpanded), or the Helm fields joined */
  text: string;
  /**
   * the reference to resolve, normalised as written (ARG-expanded; Helm `registry/repository:tag[@digest]`;
   * `docker://` prefix removed). Absent when `notPinnable` says why.
   */
  ref?: string | undefined;
  notPinnable?: NotPinnable | undefined;
  /** the Dockerfile `--platform=` flag value as written (kept in the file; informational) */
  platform?: string | undefined;
  /** how a digest is written back (absent when not pinnable) */
  edit?: SiteEdit | undefined;
}

/** What an extractor is told besides the text. */
export interface ExtractOptions {
  /** Dockerfile `--build-arg NAME=VALUE` values the build will use (they override ARG defaults) */
  buildArgs?: Readonly<Record<string, string>> | undefined;
  /** the file's name as given, for messages */
  file?: string | undefined;
}
