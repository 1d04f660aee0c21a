// The tar index: header formats (ustar prefix, PAX path, GNU long names, base-256 sizes), links and hostile
// names, checked against archives crafted byte by byte so each format is exercised on purpose.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { digestOf, readCapped } from '../../../src/digest/index.js';
import { isTrustpinError } from '../../../src/errors/index.js';
import { normalizeTarName, TarIndex, verifiedStream } from '../../../src/source/layout-fs.js';

const tmp = await mkdtemp(join(tmpdir(), 'trustpin-tar-'));
after(() => rm(tmp, { recursive: true, force: true }));

interface Raw {
  name: string;
  type?: string;
  body?: Buffer;
  linkname?: string;
  prefix?: string;
  /** GNU magic (no prefix field) instead of POSIX ustar */
  gnu?: boolean;
  base256?: boolean;
}

function header(r: Raw, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(r.name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  if (r.base256) {
    h[124] = 0x80;
    h.writeUIntBE(size, 124 + 12 - 6, 6);
  } else {
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  }
  h.write('00000000000\0', 136, 'latin1');
  h.write(r.type ?? '0', 156, 'latin1');
  if (r.linkname) h.write(r.linkname, 157, 100, 'utf8');
  h.write(r.gnu ? 'ustar  \0' : 'ustar\x0000', 257, 'latin1');
  if (r.prefix) h.write(r.prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function tar(entries: Raw[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.body ?? Buffer.alloc(0);
    parts.push(header(e, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function pax(records: Record<string, string>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    out += `${len}${rest}`;
  }
  return Buffer.from(out);
}

let n = 0;
async function index(bytes: Buffer): Promise<TarIndex> {
  const p = join(tmp, `t${n++}.tar`);
  await writeFile(p, bytes);
  return TarIndex.open(p);
}

async function text(t: TarIndex, name: string): Promise<string | undefined> {
  const e = t.lookup(name);
  return e && (await readCapped(t.stream(e), 1 << 20)).toString();
}

test('member names: ustar prefix, PAX path, GNU long name, ./ and trailing slashes', async () => {
  const long = `${'d/'.repeat(80)}file.txt`;
  const t = await index(
    tar([
      { name: 'file.txt', prefix: 'some/dir', body: Buffer.from('prefixed') },
      { name: 'PaxHeaders/x', type: 'x', body: pax({ path: long }) },
      { name: 'truncated-name', body: Buffer.from('pax') },
      { name: '././@LongLink', type: 'L', gnu: true, body: Buffer.from(`gnu/${long}\0`) },
      { name: 'gnu-short', gnu: true, body: Buffer.from('gnu') },
      { name: './dot/./x.json', body: Buffer.from('dot') },
      { name: 'dir/', type: '5' },
    ]),
  );
  try {
    assert.equal(await text(t, 'some/dir/file.txt'), 'prefixed');
    assert.equal(await text(t, long), 'pax');
    assert.equal(t.lookup('truncated-name'), undefined, 'the PAX path replaces the header name');
    assert.equal(await text(t, `gnu/${long}`), 'gnu');
    assert.equal(await text(t, 'dot/x.json'), 'dot');
    assert.equal(t.lookup('dir'), undefined, 'directories are not files');
  } finally {
    await t.close();
  }
});

test('base-256 sizes and PAX size overrides give the right byte ranges', async () => {
  const big = Buffer.alloc(1500, 7);
  const t = await index(
    tar([
      { name: 'b256', base256: true, body: big },
      { name: 'after', body: Buffer.from('still aligned') },
    ]),
  );
  try {
    assert.deepEqual(t.lookup('b256'), { name: 'b256', offset: 512, size: 1500 });
    assert.equal(await text(t, 'after'), 'still aligned');
  } finally {
    await t.close();
  }
});

test('symlinks and hard links resolve inside the archive; escaping names are never served', async () => {
  const t = await index(
    tar([
      { name: 'blobs/sha256/abc', body: Buffer.from('blob') },
      { name: 'legacy/layer.tar', type: '2', linkname: '../blobs/sha256/abc' },
      { name: 'hard', type: '1', linkname: 'blobs/sha256/abc' },
      { name: 'loop', type: '2', linkname: 'loop' },
      { name: 'out', type: '2', linkname: '../../../etc/passwd' },
      { name: '../escape', body: Buffer.from('x') },
    ]),
  );
  try {
    assert.equal(await text(t, 'legacy/layer.tar'), 'blob');
    assert.equal(t.lookup('legacy/layer.tar')?.name, 'blobs/sha256/abc');
    assert.equal(await text(t, 'hard'), 'blob');
    assert.equal(t.lookup('loop'), undefined);
    assert.equal(t.lookup('out'), undefined);
    assert.equal(t.lookup('../escape'), undefined);
    assert.deepEqual(t.names().sort(), ['blobs/sha256/abc', 'hard', 'legacy/layer.tar', 'loop', 'out']);
  } finally {
    await t.close();
  }
  assert.equal(normalizeTarName('/abs//p/'), 'abs/p');
  assert.equal(normalizeTarName('a/../../b'), undefined);
});

test('a stream never runs past its member, and stops one byte past a limit', async () => {
  const t = await index(
    tar([
      { name: 'a', body: Buffer.from('0123456789') },
      { name: 'b', body: Buffer.from('next') },
    ]),
  );
  try {
    const a = t.lookup('a')!;
    assert.equal((await readCapped(t.stream(a), 100)).toString(), '0123456789');
    assert.equal((await readCapped(t.stream(a, 4), 100)).toString(), '01234');
  } finally {
    await t.close();
  }
});

test('corrupt archives: bad checksum, truncated member, not a tar', async () => {
  const good = tar([{ name: 'a', body: Buffer.alloc(2000, 1) }]);
  const badSum = Buffer.from(good);
  badSum[0] = 0x41;
  for (const [what, bytes] of [
    ['checksum', badSum],
    ['truncated', good.subarray(0, 1024)],
    ['gzip', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08]), Buffer.alloc(600)])],
  ] as const) {
    await assert.rejects(index(bytes), (e: unknown) => isTrustpinError(e, 'SOURCE_INVALID'), what);
  }
  // An archive without the end-of-archive blocks is still readable up to its last whole member.
  const t = await index(tar([{ name: 'a', body: Buffer.from('x') }], false));
  assert.equal(await text(t, 'a'), 'x');
  await t.close();
  await assert.rejects(TarIndex.open(join(tmp, 'missing.tar')), (e: unknown) =>
    isTrustpinError(e, 'NOT_FOUND'),
  );
});

test('abandoning or failing a verified stream leaves the archive readable; streams may overlap', async () => {
  const big = Buffer.alloc(300_000, 3);
  const t = await index(
    tar([
      { name: 'big', body: big },
      { name: 'small', body: Buffer.from('small') },
    ]),
  );
  try {
    const e = t.lookup('big')!;
    const want = { digest: digestOf(big), size: big.length, what: 'blob' };
    const abandoned = verifiedStream(t.stream(e, big.length), want);
    const first = await new Promise<Buffer>((res) => abandoned.once('data', res));
    assert.ok(first.length > 0);
    abandoned.destroy();
    const wrong = verifiedStream(t.stream(e, big.length), { ...want, digest: digestOf(Buffer.from('x')) });
    const [a, b] = await Promise.allSettled([readCapped(wrong, 1 << 20), readCapped(t.stream(e), 1 << 20)]);
    assert.ok(a.status === 'rejected' && isTrustpinError(a.reason, 'DIGEST_MISMATCH'));
    assert.ok(b.status === 'fulfilled' && b.value.equals(big));
    assert.equal(await text(t, 'small'), 'small');
  } finally {
    await t.close();
  }
});
