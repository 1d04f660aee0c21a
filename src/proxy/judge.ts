// What the mirror may serve: a tag or digest judged by the policy (one evaluation in flight per key, verdicts kept
// for a TTL, tags only briefly), and the content an accepted image is made of — its index's platform manifests,
// their configs and layers — remembered by digest, each valid only while the image it came from stays accepted.
import { type Digest, verifyBytes } from '../digest/index.js';
import { isTrustpinError } from '../errors/index.js';
import { type Manifest, parseManifest } from '../manifest/index.js';
import { evaluate, type Policy, type PolicyVerdict } from '../policy/index.js';
import type { RegistryClient } from '../registry/index.js';
import { RegistrySource } from '../source/index.js';
import { type Limiter, Lru, Memo } from '../util/index.js';
import type { ContentCache } from './cache.js';

/** Verdicts and content descriptors remembered at once (least recently used forgotten). */
export const MAX_REMEMBERED = 65_536;
/** Manifests kept in memory (each at most {@link MAX_MEMORY_MANIFEST} bytes). */
export const MAX_MEMORY_MANIFESTS = 512;
/** Larger manifests are fetched again (or read from the cache directory) rather than kept in memory. */
export const MAX_MEMORY_MANIFEST = 256 * 1024;

/** The mirror's answer for one reference. */
export interface Decision {
  /** pass: serve it; fail: refused by the policy (403); error: could not be decided (503); missing: 404 */
  status: 'pass' | 'fail' | 'error' | 'missing';
  /** what was judged: `origin/repo:tag` or `origin/repo@digest` */
  name: string;
  digest?: Digest | undefined;
  rule?: string | undefined;
  codes: string[];
  message: string;
}

/** Content of an accepted image: what it is and which judged image (`root`) it belongs to. */
export interface Known {
  kind: 'manifest' | 'blob';
  mediaType: string;
  size: number;
  root: Digest;
}

/** Verified manifest bytes and their media type. */
export interface ManifestBytes {
  bytes: Buffer;
  mediaType: string;
}

export interface JudgeOptions {
  client: RegistryClient;
  limiter: Limiter;
  cache?: ContentCache | undefined;
  verdictTtlMs: number;
  tagTtlMs: number;
  now: () => number;
  home?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

const MISSING = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'NOT_FOUND']);

/** The policy decisions and the accepted content of one mirror. */
export class Judge {
  private readonly decisions: Memo<Decision>;
  private readonly roots = new Lru<string, number>(MAX_REMEMBERED);
  private readonly known = new Lru<string, Known>(MAX_REMEMBERED);
  private readonly manifests = new Lru<string, ManifestBytes>(MAX_MEMORY_MANIFESTS);
  /** manifests written to the cache directory by this process (written once) */
  private readonly stored = new Lru<string, true>(MAX_REMEMBERED);

  constructor(private readonly o: JudgeOptions) {
    this.decisions = new Memo(MAX_REMEMBERED, o.now);
  }

  /** Judge `origin/repo:tag` or `origin/repo@digest` by `policy`; a pass leaves the image's content known. */
  decide(
    policy: Policy,
    origin: string,
    repo: string,
    ref: { tag?: string; digest?: Digest },
  ): Promise<Decision> {
    const name = `${origin}/${repo}${ref.digest ? `@${ref.digest}` : `:${ref.tag}`}`;
    return this.decisions.get(
      `${policy.digest}\n${name}`,
      () => this.evaluateOne(policy, name, origin, repo, ref),
      (d) => {
        // a decision that could not be made is asked again next time
        if (d.status !== 'pass' && d.status !== 'fail') return undefined;
        return ref.digest ? this.o.verdictTtlMs : this.o.tagTtlMs;
      },
    );
  }

  private async evaluateOne(
    policy: Policy,
    name: string,
    origin: string,
    repo: string,
    ref: { tag?: string; digest?: Digest },
  ): Promise<Decision> {
    let v: PolicyVerdict;
    try {
      const report = await this.o.limiter.run(() =>
        evaluate(policy, [name], {
          client: this.o.client,
          home: this.o.home,
          env: this.o.env,
          now: this.o.now,
        }),
      );
      v = report.verdicts[0]!;
    } catch (e) {
      return {
        status: 'error',
        name,
        codes: [codeOf(e)],
        message: `trustpin: ${name} could not be judged: ${messageOf(e)}`,
      };
    }
    const codes = [...new Set(v.problems.map((p) => p.code))].sort();
    const rule = v.rule?.name;
    if (!v.ok) {
      if (v.outcome === 'error') {
        const missing = codes.length > 0 && codes.every((c) => MISSING.has(c));
        return {
          status: missing ? 'missing' : 'error',
          name,
          rule,
          codes,
          message: `trustpin: ${name} could not be judged${rule ? ` by rule ${rule}` : ''}: ${codes.join(', ') || 'error'}`,
        };
      }
      return {
        status: 'fail',
        name,
        rule,
        codes,
        message: `trustpin: ${name} refused by rule ${rule ?? '(none; noMatch: deny)'}: ${codes.join(', ') || 'REQUIREMENT_NOT_MET'}`,
      };
    }
    // passed (or not blocking): the bytes served are the ones of the judged digest, fetched and hashed here
    try {
      // by the judged digest (a by-tag fetch again would count as a pull and could see a moved tag); only a
      // reference no rule judged (noMatch: allow) is resolved here
      const at = v.digest ? { digest: v.digest as Digest } : ref;
      const src = new RegistrySource({ registry: origin, repository: repo, ...at }, this.o.client);
      const top = await this.o.limiter.run(() => src.resolve());
      const m = await src.manifest(top);
      this.roots.set(`${policy.digest}\n${origin}/${repo}@${top.digest}`, this.o.now() + this.o.verdictTtlMs);
      this.remember(origin, repo, top.digest, m.bytes, m.value, top.digest);
      return { status: 'pass', name, digest: top.digest, rule, codes, message: `trustpin: ${name} accepted` };
    } catch (e) {
      return {
        status: 'error',
        name,
        rule,
        codes: [codeOf(e)],
        message: `trustpin: ${name}: ${messageOf(e)}`,
      };
    }
  }

  /** Record verified manifest bytes and what they reference, as content of the accepted image `root`. */
  private remember(
    origin: string,
    repo: string,
    digest: Digest,
    bytes: Buffer,
    m: Manifest,
    root: Digest,
  ): void {
    const at = `${origin}/${repo}@`;
    this.known.set(`${at}${digest}`, { kind: 'manifest', mediaType: m.mediaType, size: bytes.length, root });
    if (bytes.length <= MAX_MEMORY_MANIFEST) this.manifests.set(digest, { bytes, mediaType: m.mediaType });
    if (this.o.cache && !this.stored.get(digest)) {
      this.stored.set(digest, true);
      this.o.cache.put(digest, bytes).catch(() => this.stored.delete(digest));
    }
    if (m.kind === 'index')
      for (const d of m.manifests)
        this.known.set(`${at}${d.digest}`, { kind: 'manifest', mediaType: d.mediaType, size: d.size, root });
    else if (m.kind === 'image')
      for (const d of [m.config, ...m.layers])
        this.known.set(`${at}${d.digest}`, { kind: 'blob', mediaType: d.mediaType, size: d.size, root });
    // schema1 layers carry no sizes: they are not served (a schema1 image is refused at its blobs)
  }

  /**
   * What `digest` is, when it belongs to an image the current policy accepted (its root judged again by digest
   * once its verdict expired or the policy changed); undefined otherwise.
   */
  async accepted(policy: Policy, origin: string, repo: string, digest: Digest): Promise<Known | undefined> {
    const k = this.known.get(`${origin}/${repo}@${digest}`);
    if (!k) return undefined;
    const until = this.roots.get(`${policy.digest}\n${origin}/${repo}@${k.root}`);
    if (until !== undefined && until > this.o.now()) return k;
    const d = await this.decide(policy, origin, repo, { digest: k.root });
    return d.status === 'pass' ? this.known.get(`${origin}/${repo}@${digest}`) : undefined;
  }

  /** The verified bytes of an accepted manifest: memory, then the cache directory, then the origin (hashed). */
  async manifest(origin: string, repo: string, digest: Digest, k: Known): Promise<ManifestBytes> {
    const mem = this.manifests.get(digest);
    if (mem) return mem;
    const cached = await this.o.cache?.read(digest);
    const src = new RegistrySource({ registry: origin, repository: repo, digest }, this.o.client);
    let bytes: Buffer;
    let m: Manifest;
    if (cached) {
      // the cache file hashed to its name (checked again here); parsing it again finds what it references
      const v = parseManifest(verifyBytes(cached, { digest, size: k.size, what: 'manifest' }), {
        descriptorMediaType: k.mediaType,
      });
      bytes = cached;
      m = v.value;
    } else {
      const v = await this.o.limiter.run(() =>
        src.manifest({ mediaType: k.mediaType, digest, size: k.size }),
      );
      bytes = v.bytes;
      m = v.value;
    }
    this.remember(origin, repo, digest, bytes, m, k.root);
    return { bytes, mediaType: m.mediaType };
  }
}

function codeOf(e: unknown): string {
  return isTrustpinError(e) ? e.code : 'INTERNAL';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
