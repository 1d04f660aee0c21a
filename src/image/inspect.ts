// `inspect` as data and as text: the verified tree in the JSON shape the CLI promises, and a readable tree.
import { formatPlatform, type ImageManifest, MT, type Platform } from '../manifest/index.js';
import { humanSize, type Style } from '../report/index.js';
import type { ImageNode, ImageTree } from './walk.js';

interface Blob {
  digest: string;
  size: number;
  mediaType: string;
}

/** One manifest in the `inspect --json` shape. */
export interface InspectImageJson {
  digest: string;
  mediaType: string;
  size: number;
  kind?: string;
  platform?: { os: string; architecture: string; variant?: string; 'os.version'?: string };
  config?: Blob & { verified: boolean; created?: string; os?: string; architecture?: string };
  layers?: Blob[];
  annotations?: Record<string, string>;
  warnings?: string[];
}

/** The `inspect --json` document: the verified tree of an image. */
export interface InspectJson extends InspectImageJson {
  reference: string;
  transport: string;
  verified: true;
  manifests?: InspectImageJson[];
  /** index entries that are attestations or signatures, never platforms */
  attestations?: InspectImageJson[];
  index?: { digest: string; mediaType: string; size: number };
}

function platformJson(p: Platform | undefined): InspectImageJson['platform'] {
  if (!p) return undefined;
  return {
    os: p.os,
    architecture: p.architecture,
    ...(p.variant ? { variant: p.variant } : {}),
    ...(p['os.version'] ? { 'os.version': p['os.version'] } : {}),
  };
}

function imageJson(n: ImageNode): InspectImageJson {
  const d = n.descriptor;
  const out: InspectImageJson = { digest: d.digest, mediaType: n.manifest.value.mediaType, size: d.size };
  if (d.platform) out.platform = platformJson(d.platform);
  const m = n.manifest.value;
  if (m.kind === 'image') {
    const c = n.config?.value;
    out.config = {
      digest: m.config.digest,
      size: m.config.size,
      mediaType: m.config.mediaType,
      verified: n.config !== undefined,
      ...(c?.created ? { created: c.created } : {}),
      ...(c?.os ? { os: c.os } : {}),
      ...(c?.architecture ? { architecture: c.architecture } : {}),
    };
    out.layers = m.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
    if (m.annotations) out.annotations = m.annotations;
  } else if (m.kind === 'schema1') {
    out.layers = m.fsLayers.map((l) => ({ digest: l.blobSum, size: -1, mediaType: MT.dockerLayerGzip }));
  }
  if (n.warnings.length) out.warnings = n.warnings;
  return out;
}

/** The `inspect --json` document of a walked tree (or of one selected platform). */
export function inspectJson(tree: ImageTree, reference: string, selected?: ImageNode): InspectJson {
  const root = tree.root;
  if (selected && selected !== root) {
    return {
      reference,
      transport: tree.source.transport,
      verified: true,
      ...imageJson(selected),
      index: {
        digest: root.descriptor.digest,
        mediaType: root.manifest.value.mediaType,
        size: root.descriptor.size,
      },
    };
  }
  const base: InspectJson = {
    reference,
    transport: tree.source.transport,
    verified: true,
    ...imageJson(root),
  };
  if (root.manifest.value.kind === 'index') {
    base.manifests = tree.children
      .filter((c) => c.kind === 'platform')
      .map((c) => ({ ...imageJson(c), kind: c.kind }));
    const others = root.manifest.value.manifests.filter(
      (d) => !tree.children.some((c) => c.kind === 'platform' && c.descriptor.digest === d.digest),
    );
    base.attestations = others.map((d) => {
      const child = tree.children.find((c) => c.descriptor.digest === d.digest);
      return child
        ? { ...imageJson(child), kind: child.kind }
        : {
            digest: d.digest,
            mediaType: d.mediaType,
            size: d.size,
            kind: kindOf(d),
            platform: platformJson(d.platform),
            annotations: d.annotations,
          };
    });
  }
  return base;
}

function kindOf(d: {
  annotations?: Record<string, string> | undefined;
  platform?: Platform | undefined;
}): string {
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return 'attestation';
  return d.platform ? 'platform (not selected)' : 'unknown';
}

const SHORT_TYPES: Record<string, string> = {
  [MT.ociIndex]: 'OCI index',
  [MT.dockerList]: 'Docker manifest list',
  [MT.ociManifest]: 'OCI manifest',
  [MT.dockerManifest]: 'Docker v2s2 manifest',
  [MT.ociConfig]: 'OCI config',
  [MT.dockerConfig]: 'Docker config',
  [MT.ociLayerGzip]: 'tar+gzip',
  [MT.ociLayerZstd]: 'tar+zstd',
  [MT.ociLayer]: 'tar',
  [MT.dockerLayerGzip]: 'tar+gzip (docker)',
  [MT.dockerLayer]: 'tar (docker)',
  [MT.schema1Signed]: 'schema1 (signed, deprecated)',
  [MT.schema1]: 'schema1 (deprecated)',
};

export function shortType(mt: string): string {
  return SHORT_TYPES[mt] ?? mt;
}

export function renderInspect(j: InspectJson, s: Style): string {
  const lines: string[] = [];
  lines.push(s.bold(j.reference));
  lines.push(`${j.digest}  ${s.ok('✔ verified')}`);
  lines.push(s.dim(`${shortType(j.mediaType)}, ${humanSize(j.size)}`));
  if (j.index) lines.push(s.dim(`from index ${j.index.digest}`));
  const imgLines = (img: InspectImageJson, prefix: string) => {
    if (img.config) {
      const c = img.config;
      lines.push(
        `${prefix}├─ config ${c.digest} ${s.dim(humanSize(c.size))} ${c.verified ? s.ok('✔') : s.dim('(not read)')}`,
      );
    }
    const layers = img.layers ?? [];
    layers.forEach((l, i) => {
      const last = i === layers.length - 1;
      lines.push(
        `${prefix}${last ? '└─' : '├─'} layer ${l.digest} ${s.dim(`${humanSize(Math.max(0, l.size))} ${shortType(l.mediaType)}`)}`,
      );
    });
    for (const w of img.warnings ?? []) lines.push(`${prefix}${s.warn(`⚠ ${w}`)}`);
  };
  if (j.manifests) {
    const all = [...j.manifests, ...(j.attestations ?? [])];
    all.forEach((m, i) => {
      const last = i === all.length - 1;
      const label = m.kind === 'platform' ? formatPlatform(m.platform) : s.warn(`${m.kind} (not a platform)`);
      lines.push(`${last ? '└─' : '├─'} ${label}  ${m.digest}`);
      lines.push(`${last ? '   ' : '│  '}${s.dim(`${shortType(m.mediaType)}, ${humanSize(m.size)}`)}`);
      imgLines(m, last ? '   ' : '│  ');
    });
  } else {
    imgLines(j, '');
  }
  lines.push(
    s.dim('manifests and configs were fetched by digest and verified; layers are listed, not downloaded'),
  );
  return lines.join('\n');
}

export type { ImageManifest };
