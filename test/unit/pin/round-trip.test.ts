// Every fixture, pinned through the one rewriter with a digest at every site, parses to the same structure except
// the image fields; pinning the pinned file again changes nothing (idempotence); the Dockerfile fixtures re-extract
// to the same sites, now pinned.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  applyEdits,
  extractCompose,
  extractDockerfile,
  extractHelmValues,
  extractKubernetes,
  extractWorkflow,
  type ImageSite,
  siteEdit,
} from '../../../src/pin/index.js';
import { parseDockerReference } from '../../../src/reference/index.js';

const D = `sha256:${'c'.repeat(64)}`;
const dir = join(import.meta.dirname, 'fixtures');
const EXTRACT = {
  compose: extractCompose,
  kubernetes: extractKubernetes,
  helm: extractHelmValues,
  workflow: extractWorkflow,
  dockerfile: extractDockerfile,
} as const;

/** Pin every pinnable site that has no digest yet. */
function pinAll(text: string, sites: ImageSite[]): string {
  const edits = sites
    .filter((s) => s.edit && s.ref && parseDockerReference(s.ref).digest === undefined)
    .map((s) => siteEdit(s, text, D));
  return applyEdits(text, edits);
}

/** The documents as data, with every string that names an image (or is a digest) replaced by a marker. */
function shape(text: string): unknown {
  const docs = parseAllDocuments(text).map((d) => d.toJS({ maxAliasCount: 10_000 }) as unknown);
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((x) => norm(x));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (k === 'digest' && (x === D || x === '' || x === null)) continue;
        out[k] = norm(x);
      }
      return out;
    }
    // a pinned reference, wherever an alias carries it: the digest (and the :latest it was resolved as) removed
    if (typeof v === 'string' && v.endsWith(`@${D}`))
      return v.slice(0, -D.length - 1).replace(/:latest$/, '');
    return v;
  };
  return norm(docs);
}

for (const format of ['compose', 'kubernetes', 'helm', 'workflow'] as const)
  for (const name of readdirSync(join(dir, format))) {
    test(`${format}/${name}: pinned, it parses to the same structure but the image fields; pinning again changes nothing`, () => {
      const text = readFileSync(join(dir, format, name), 'utf8');
      const sites = EXTRACT[format](text, {});
      const pinned = pinAll(text, sites);
      assert.notEqual(pinned, text, 'the fixture has something to pin');
      assert.deepEqual(shape(pinned), shape(text));
      // every site that was pinned now carries the digest; a second pass writes nothing
      const again = EXTRACT[format](pinned, {});
      assert.equal(pinAll(pinned, again), pinned);
      const before = sites.filter((s) => s.edit && s.ref && !parseDockerReference(s.ref).digest).length;
      const digested = again.filter((s) => s.ref && parseDockerReference(s.ref).digest === D).length;
      assert.equal(digested, before);
      // a CRLF file gains no bare LF (an inserted Helm digest line ends like the file's lines)
      const bare = (t: string) => t.replaceAll('\r\n', '').includes('\n');
      assert.equal(bare(pinned), bare(text));
    });
  }

for (const name of readdirSync(join(dir, 'dockerfile')))
  test(`dockerfile/${name}: pinned, the same sites re-extract with the digest; pinning again changes nothing`, () => {
    const text = readFileSync(join(dir, 'dockerfile', name), 'utf8');
    const sites = extractDockerfile(text);
    const pinned = pinAll(text, sites);
    const again = extractDockerfile(pinned);
    assert.deepEqual(
      again.map((s) => [s.where, s.line, s.notPinnable?.code]),
      sites.map((s) => [s.where, s.line, s.notPinnable?.code]),
    );
    for (const [i, s] of again.entries()) {
      if (!sites[i]!.edit || parseDockerReference(sites[i]!.ref!).digest) continue;
      assert.equal(parseDockerReference(s.ref!).digest, D, `${s.where} line ${s.line}`);
    }
    assert.equal(pinAll(pinned, again), pinned);
  });
