// A Sigstore TUF mirror as a hostile server runs it: Sigstore's real root-signing repository (root v5 → v15) with
// one file mutated as JSON (signatures not renewed) or as bytes, or dropped, refreshed at a time it was valid.
// Oracle: the unmodified mirror refreshes; any input ends in a coded rejection or in exactly the trusted_root.json
// the real targets metadata signed, and a rejected refresh leaves no cache behind. Needs ../shared/vectors.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import {
  MAX_SIGSTORE_TUF_METADATA_BYTES,
  MAX_TRUSTED_ROOT_BYTES,
  refreshTrustedRoot,
  sigstoreCacheDir,
} from '../../../src/trust/cosign/index.js';
import { CappedFetcher } from '../../../src/trust/cosign/tuf-fetch.js';
import { haveVectors, vectorPath } from '../../vectors.js';
import {
  byteMutations,
  check,
  coded,
  defineTarget,
  type JsonValue,
  jsonMutations,
  mutateBytes,
  mutateJson,
} from '../harness.js';

const MIRROR = 'https://tuf.fuzz.example';
/** every document of root-signing is valid then */
const NOW = Date.parse('2026-08-01T00:00:00Z');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** the mirror in Sigstore's CDN layout, path → bytes */
function mirror(): { files: Map<string, Buffer>; root5: Buffer; signed: string } {
  if (!haveVectors) return { files: new Map(), root5: Buffer.alloc(0), signed: '' };
  const repo = vectorPath('root-signing');
  const read = (p: string) => readFileSync(join(repo, p));
  const files = new Map<string, Buffer>();
  for (let v = 6; v <= 15; v++) files.set(`/${v}.root.json`, read(`metadata/root_history/${v}.root.json`));
  files.set('/timestamp.json', read('metadata/timestamp.json'));
  files.set('/165.snapshot.json', read('metadata/snapshot.json'));
  files.set('/14.targets.json', read('metadata/targets.json'));
  const signed = (
    JSON.parse(read('metadata/targets.json').toString()) as {
      signed: { targets: Record<string, { hashes: { sha256: string } }> };
    }
  ).signed.targets['trusted_root.json']!.hashes.sha256;
  files.set(`/targets/${signed}.trusted_root.json`, read('targets/trusted_root.json'));
  return { files, root5: read('metadata/root_history/5.root.json'), signed };
}

const SEED = mirror();
const NAMES = [...SEED.files.keys()];

/** serves the in-memory mirror through the same capped base as trustpin's own fetchers */
class MemoryFetcher extends CappedFetcher {
  constructor(private readonly files: Map<string, Buffer>) {
    super((url) => (url.includes('/targets/') ? MAX_TRUSTED_ROOT_BYTES : MAX_SIGSTORE_TUF_METADATA_BYTES));
  }
  protected async body(url: string): Promise<Readable> {
    const b = this.files.get(new URL(url).pathname);
    if (!b) throw new DownloadHTTPError(`${url} not found`, 404);
    return Readable.from([b]);
  }
}

/** tuf-js reads the clock as `new Date()`; the refresh runs at NOW (nothing else runs in the worker meanwhile) */
async function at<T>(now: number, fn: () => Promise<T>): Promise<T> {
  const Real = Date;
  class Fixed extends Real {
    constructor(...a: unknown[]) {
      if (a.length === 0) super(now);
      else super(...(a as [string]));
    }
    static override now() {
      return now;
    }
  }
  globalThis.Date = Fixed as DateConstructor;
  try {
    return await fn();
  } finally {
    globalThis.Date = Real;
  }
}

type Input = Record<string, string>;

const arbitrary: fc.Arbitrary<Input> = fc
  .record({
    file: fc.nat(),
    mode: fc.constantFrom('json', 'json', 'bytes', 'drop'),
    jsonOps: jsonMutations(3),
    byteOps: byteMutations(4),
  })
  .map(({ file, mode, jsonOps, byteOps }) => {
    const files = new Map(SEED.files);
    const name = NAMES[file % Math.max(1, NAMES.length)];
    if (name) {
      const raw = files.get(name)!;
      if (mode === 'drop') files.delete(name);
      else if (mode === 'bytes' || name.startsWith('/targets/'))
        files.set(name, mutateBytes(raw, byteOps, [...SEED.files.values()]));
      else
        files.set(
          name,
          Buffer.from(JSON.stringify(mutateJson(JSON.parse(raw.toString()) as JsonValue, jsonOps))),
        );
    }
    return Object.fromEntries([...files].map(([k, v]) => [k, v.toString('base64')]));
  });

export default defineTarget<Input>({
  name: 'sigstore-tuf',
  description:
    'refreshTrustedRoot over a mutated copy of Sigstore root-signing (v5 → v15); oracle: seed refreshes, success only with the signed trusted_root.json, no cache after a rejection',
  arbitrary: fc.oneof(
    { arbitrary, weight: 20 },
    {
      arbitrary: fc.constant(
        Object.fromEntries([...SEED.files].map(([k, v]) => [k, v.toString('base64')])) as Input,
      ),
      weight: 1,
    },
  ),
  async run(x) {
    if (!haveVectors) return;
    const files = new Map(Object.entries(x).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    const home = mkdtempSync(join(tmpdir(), 'tp-fuzz-tuf-'));
    try {
      const r = await at(NOW, () =>
        coded(() =>
          refreshTrustedRoot({
            mirror: MIRROR,
            initialRoot: SEED.root5,
            home,
            fetcher: new MemoryFetcher(files),
          }),
        ),
      );
      const seed =
        files.size === SEED.files.size && [...SEED.files].every(([k, v]) => files.get(k)?.equals(v));
      if (seed) check(r !== undefined, 'the unmodified mirror did not refresh');
      if (r) {
        check(
          sha256(r.trustedRoot) === SEED.signed,
          'a refresh accepted a trusted_root.json that was not signed',
        );
        // a mirror may withhold the newest roots (TUF cannot tell); it cannot invent one
        check(r.rootVersion >= 5 && r.rootVersion <= 15, `a refresh ended at root v${r.rootVersion}`);
      } else {
        check(
          !existsSync(join(sigstoreCacheDir(MIRROR, home), 'current')),
          'a rejected refresh left a cache',
        );
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  },
  encode: (x) => Buffer.from(JSON.stringify(x)),
  decode: (b) => JSON.parse(b.toString()) as Input,
});
