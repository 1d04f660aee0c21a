// The Dockerfile extractor of `trustpin pin`. Oracle: every site is pinnable exactly when it has a ref and an edit;
// an edit covers the reference as written (at the site's line and column) or the ARG default it expands from; the
// edits apply without overlapping, and the pinned file has the same sites, each pinned to the digest.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile ${VAR} syntax, as written in the file
import fc from 'fast-check';
import { extractDockerfile } from '../../../src/pin/dockerfile.js';
import { applyEdits, siteEdit } from '../../../src/pin/rewrite.js';
import type { ImageSite } from '../../../src/pin/types.js';
import { check, codedSync, defineTarget, mutatedStrings, stringCodec } from '../harness.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const SEEDS = [
  [
    '# syntax=docker/dockerfile:1.7',
    'ARG BASE=alpine:3.20',
    'ARG V',
    'FROM --platform=$BUILDPLATFORM golang:1.22 AS build',
    'RUN --mount=type=cache,from=alpine:3.20,target=/x \\',
    '    # a comment',
    '    go build ./...',
    'COPY --from=nginx:1.25 /a /b',
    'COPY --from=build /a /b',
    'COPY --from=0 /a /b',
    'FROM ${BASE}',
    'FROM alpine:${V:-3.20}',
    'FROM $V',
    'from build',
    'FROM scratch',
    '',
  ].join('\n'),
  '# escape=`\nFROM `\n  mcr.microsoft.com/windows/nanoserver:ltsc2022 AS w\nRUN dir `\n  C:\\\nCOPY --from=w C:\\a C:\\b\n',
  '\ufeffFROM alpine:3.20\r\nRUN <<EOF\r\nFROM evil\r\nEOF\r\nCOPY <<-"A" <<B /x\r\n\tFROM evil\r\n\tA\r\nFROM evil\r\nB\r\nFROM busybox:1\r\n',
  'ARG A=1 B="ghcr.io/o/app:2" C\nARG D=${A}\nFROM "${B}"\nFROM app:${A}\nFROM ${C-x:1}\nFROM ${A:+y}\nFROM \\\n  \\\n  # c\n  alp\\\nine\n',
  '#!/bin/sh\n# syntax = docker/dockerfile:1 --x\nFROM a AS A\nRUN --mount=from="b:1",target=/b --mount=type=tmpfs,from=c true\nFROM A\n',
];

const token = fc.constantFrom(
  'FROM ',
  'from ',
  'ARG ',
  'COPY ',
  'RUN ',
  'ONBUILD ',
  '--from=',
  '--mount=type=cache,from=',
  '--platform=$BUILDPLATFORM ',
  'alpine:3.20',
  `x@${DIGEST}`,
  '$A',
  '${A}',
  '${A:-x:1}',
  '${A-',
  '}',
  'A=alpine',
  'A="b:1" ',
  ' AS a',
  ' a',
  ' ',
  '\t',
  '\n',
  '\r\n',
  '\\\n',
  '`\n',
  '# syntax=x/y:1\n',
  '# escape=`\n',
  '#',
  '<<EOF',
  'EOF\n',
  '<<-"E"',
  '"',
  "'",
  'scratch',
  '0',
  ',',
  '\ufeff',
  'é',
  '😀',
);
const generated = fc.array(token, { maxLength: 40 }).map((a) => a.join(''));

/** 1-based line and UTF-16 column of an offset, as the extractor counts them (a BOM is not a column) */
function positionOf(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: at - start + 1 };
}

function checkSite(text: string, s: ImageSite): void {
  const where = `${s.where} at ${s.line}:${s.column}`;
  check(s.line >= 1 && s.column >= 1, () => `${where}: position`);
  check((s.ref === undefined) === (s.notPinnable !== undefined), () => `${where}: ref xor notPinnable`);
  check((s.edit === undefined) === (s.ref === undefined), () => `${where}: an edit exactly when pinnable`);
  if (s.edit === undefined) return;
  check(s.edit.kind === 'reference', () => `${where}: edit kind ${s.edit?.kind}`);
  if (s.edit.kind !== 'reference') return;
  const { start, end } = s.edit.range;
  check(0 <= start && start < end && end <= text.length, () => `${where}: range [${start}, ${end})`);
  const slice = text.slice(start, end);
  const p = positionOf(text, start);
  if (p.line === s.line && p.column === s.column) {
    check(
      slice === s.text,
      () => `${where}: edit covers ${JSON.stringify(slice)}, not ${JSON.stringify(s.text)}`,
    );
  } else {
    // pinned in the ARG default the reference expands from
    check(
      slice === s.ref && s.text.startsWith('$'),
      () => `${where}: edit elsewhere covers ${JSON.stringify(slice)} for ${JSON.stringify(s.text)}`,
    );
  }
}

export default defineTarget<string>({
  name: 'pin-dockerfile',
  description:
    'extractDockerfile; oracle: edits cover the reference as written, apply without overlap, and re-extract pinned',
  arbitrary: fc.oneof({ arbitrary: mutatedStrings(SEEDS), weight: 3 }, { arbitrary: generated, weight: 2 }),
  run(text) {
    const sites = codedSync(() => extractDockerfile(text));
    if (!sites) return;
    for (const s of sites) checkSite(text, s);
    const pinnable = sites.filter((s) => s.edit !== undefined);
    if (pinnable.length === 0) return;
    // an overlap is an INTERNAL TrustpinError, which the harness counts as a bug
    const pinned = applyEdits(
      text,
      pinnable.map((s) => siteEdit(s, text, DIGEST)),
    );
    const again = extractDockerfile(pinned);
    check(
      again.length === sites.length,
      () => `pinning changed the sites: ${sites.length} before, ${again.length} after`,
    );
    sites.forEach((s, i) => {
      if (s.edit === undefined) return;
      const t = again[i];
      check(
        t?.ref?.endsWith(`@${DIGEST}`) === true,
        () =>
          `${s.where} ${JSON.stringify(s.text)} pinned reads as ${JSON.stringify(t?.ref ?? t?.notPinnable)}`,
      );
    });
  },
  ...stringCodec,
});
