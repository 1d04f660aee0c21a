// Notary (TUF) metadata as a hostile server sends it: real signed repositories (with a delegation and a root
// rotation) whose documents are mutated as bytes, as JSON without re-signing, or as JSON *re-signed with the
// role's own keys* (parents' hashes refreshed), so hostile content reaches every check after the signatures.
// Oracle: the unmodified repositories verify; any input is a verified repository or a coded rejection, and a
// verified one resolves tags and renders without a crash.
import fc from 'fast-check';
import { fileMeta, type J, Publisher, serialize, signEnvelope } from '../../../src/testing/index.js';
import {
  FileSet,
  prettyTrustInfo,
  resolveTag,
  trustInfo,
  updateTrust,
} from '../../../src/trust/dct/index.js';
import {
  byteMutations,
  check,
  coded,
  codedSync,
  defineTarget,
  type JsonValue,
  jsonMutations,
  mutateBytes,
  mutateJson,
} from '../harness.js';

const GUN = 'fuzz.example/org/app';
const NOW = Date.UTC(2026, 0, 1);
const HEX = (c: string) => c.repeat(64);

function repository(rotate: boolean): { pub: Publisher; files: Map<string, Buffer> } {
  const pub = new Publisher(GUN, { now: NOW });
  pub.addTarget('targets', '1.0', { digest: HEX('a'), length: 1234 });
  pub.addDelegation('targets/releases');
  pub.addTarget('targets/releases', '1.0', { digest: HEX('b'), length: 99 });
  pub.addTarget('targets/releases', '2.0', { digest: HEX('c'), length: 100 });
  let files = pub.publish();
  if (rotate) {
    pub.rotateRoot();
    pub.addTarget('targets/releases', '3.0', { digest: HEX('d'), length: 1 });
    files = pub.publish();
  }
  // the plain names only: FileSet serves a checksum name from its plain file
  return { pub, files: new Map([...files].filter(([k]) => !/\.[0-9a-f]{64,128}\.json$/.test(k))) };
}

const REPOS = [repository(false), repository(true)];
const roleOf = (file: string) => file.replace(/^\d+\./, '').replace(/\.json$/, '');

/** Re-sign `file`'s mutated `signed` body with its role's keys, then refresh snapshot and timestamp over it. */
function resign(pub: Publisher, files: Map<string, Buffer>, file: string, signed: JsonValue): void {
  const role = roleOf(file);
  const put = (name: string, body: JsonValue) => {
    const b = serialize(signEnvelope(body as Record<string, J>, pub.keys[roleOf(name)] ?? []));
    files.set(name, b);
    return b;
  };
  const b = put(file, signed);
  if (role === 'timestamp') return;
  const doc = (name: string) => JSON.parse(files.get(name)!.toString()) as { signed: Record<string, J> };
  if (role !== 'snapshot') {
    const snap = doc('snapshot.json').signed;
    const meta = (snap.meta ?? {}) as Record<string, J>;
    if (meta && typeof meta === 'object') meta[role] = { ...fileMeta(b) };
    put('snapshot.json', snap as JsonValue);
  }
  const ts = doc('timestamp.json').signed;
  ts.meta = { snapshot: { ...fileMeta(files.get('snapshot.json')!) } };
  put('timestamp.json', ts as JsonValue);
}

interface Input {
  files: Map<string, Buffer>;
  /** the repository's own verified state to start from (rollback, rotation and freeze rules) */
  cached: Map<string, Buffer> | undefined;
}

const arbitrary: fc.Arbitrary<Input> = fc
  .record({
    repo: fc.nat(REPOS.length - 1),
    file: fc.nat(),
    mode: fc.constantFrom('resigned', 'resigned', 'json', 'bytes', 'drop'),
    jsonOps: jsonMutations(3),
    byteOps: byteMutations(4),
    cached: fc.nat(2),
  })
  .map(({ repo, file, mode, jsonOps, byteOps, cached }) => {
    const { pub, files: base } = REPOS[repo]!;
    const files = new Map(base);
    const names = [...files.keys()].sort();
    const name = names[file % names.length]!;
    const raw = files.get(name)!;
    if (mode === 'drop') files.delete(name);
    else if (mode === 'bytes') files.set(name, mutateBytes(raw, byteOps, [...base.values()]));
    else {
      const env = JSON.parse(raw.toString()) as { signed: JsonValue };
      if (mode === 'json')
        files.set(name, Buffer.from(JSON.stringify(mutateJson(env as unknown as JsonValue, jsonOps))));
      else resign(pub, files, name, mutateJson(env.signed, jsonOps));
    }
    return { files, cached: cached === 1 ? base : undefined };
  });

const toJson = (m: Map<string, Buffer>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.toString('base64')]));
const fromJson = (o: Record<string, string>) =>
  new Map(Object.entries(o).map(([k, v]) => [k, Buffer.from(v, 'base64')]));

const isSeed = (x: Input) =>
  REPOS.some(
    ({ files }) => files.size === x.files.size && [...files].every(([k, v]) => x.files.get(k)?.equals(v)),
  );

export default defineTarget<Input>({
  name: 'tuf-metadata',
  description:
    'updateTrust over mutated (and re-signed) notary repositories, then resolveTag/trustInfo; oracle: seeds verify, coded rejection only',
  arbitrary: fc.oneof(
    { arbitrary: arbitrary, weight: 30 },
    { arbitrary: fc.constantFrom(...REPOS.map((r) => ({ files: r.files, cached: undefined }))), weight: 1 },
  ),
  async run(x) {
    const repo = await coded(() =>
      updateTrust({
        gun: GUN,
        source: new FileSet('fuzz', new Map([[GUN, x.files]])),
        cached: x.cached,
        now: NOW + 3_600_000,
      }),
    );
    if (isSeed(x)) check(repo !== undefined, 'an unmodified signed repository did not verify');
    if (!repo) return;
    for (const tag of ['1.0', '2.0', '3.0', 'nope', '__proto__']) codedSync(() => resolveTag(repo, tag));
    prettyTrustInfo(trustInfo(repo, GUN, undefined));
  },
  encode: (x) =>
    Buffer.from(JSON.stringify({ files: toJson(x.files), cached: x.cached && toJson(x.cached) })),
  decode: (b) => {
    const j = JSON.parse(b.toString()) as { files: Record<string, string>; cached?: Record<string, string> };
    return { files: fromJson(j.files), cached: j.cached ? fromJson(j.cached) : undefined };
  },
});
