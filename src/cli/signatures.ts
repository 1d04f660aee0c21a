// `trustpin signatures REF`: the tree of what is attached to an image — cosign `.sig`/`.att`/`.sbom` tags, Sigstore
// bundles, Notation signatures, SBOMs, in-toto attestations, and what is attached to those — each manifest fetched
// by digest and its subject checked. Listed, not verified: `verify --cosign` decides who signed.
import { TrustpinError } from '../errors/index.js';
import { parseDockerReference } from '../reference/index.js';
import { printable } from '../report/index.js';
import {
  type AttachmentNode,
  listAttachments,
  openWithAttachments,
  registryAttachments,
} from '../trust/attachments/index.js';
import { type NotationSignerInfo, notationSignerOf } from '../trust/notation/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';
import type { SignaturesFlags } from './cosign-specs.js';

export const action: Action<SignaturesFlags> = async ([spec], f, ctx) => {
  const depth = f.depth === undefined ? undefined : Number(f.depth);
  if (depth !== undefined && !(Number.isInteger(depth) && depth >= 1 && depth <= 16))
    throw new TrustpinError('USAGE', `--depth ${f.depth} is not a level count`, {
      expected: '1 … 16',
      found: f.depth!,
    });
  const sigRepo = f.signatureRepository ? parseDockerReference(f.signatureRepository) : undefined;
  const sigStore = sigRepo
    ? registryAttachments(ctx.client, sigRepo.registry, sigRepo.repository)
    : undefined;
  const { source, store } = openWithAttachments(spec!, ctx.client);
  try {
    const top = await source.resolve();
    const l = await listAttachments(store, top.digest, { maxDepth: depth, signatureRepository: sigStore });
    // who each Notation signature names (its envelope opened and its integrity proven; trust is `verify --notation`)
    const signers = new Map<string, NotationSignerInfo>();
    const collect = async (nodes: AttachmentNode[]): Promise<void> => {
      for (const n of nodes) {
        const layer = n.layers[0];
        if (n.kind === 'notation-signature' && n.layers.length === 1 && layer)
          signers.set(n.digest, await notationSignerOf(sigStore ?? store, layer));
        await collect(n.referrers);
      }
    };
    await collect(l.attachments);
    const lines = [`${ctx.style.bold(source.name)} ${top.digest}`];
    const walk = (nodes: AttachmentNode[], prefix: string) => {
      for (const [i, n] of nodes.entries()) {
        const last = i === nodes.length - 1;
        const type = n.artifactType ?? n.layers[0]?.mediaType ?? n.mediaType;
        lines.push(
          `${prefix}${last ? '└─ ' : '├─ '}${ctx.style.bold(n.kind)} ${n.digest} ${ctx.style.dim(printable(`${type}; ${n.via}`))}`,
        );
        const inner = prefix + (last ? '   ' : '│  ');
        for (const layer of n.kind.startsWith('cosign-') ? n.layers : [])
          lines.push(
            `${inner}${ctx.style.dim(printable(`· ${layer.mediaType} ${layer.digest} (${layer.size} B)`))}`,
          );
        const who = signers.get(n.digest);
        if (who)
          lines.push(
            `${inner}${ctx.style.dim(
              printable(
                who.ok
                  ? `· signed by ${who.subject} (issuer ${who.issuer}; ${who.format.toUpperCase()}, ${who.signingScheme}${who.signingTime ? `, ${who.signingTime}` : ''}${who.timestamped ? ', timestamped' : ''}) — integrity verified, trust not checked`
                  : `· envelope refused: ${who.code}: ${who.message}`,
              ),
            )}`,
          );
        if (n.note) lines.push(`${inner}${ctx.style.dim(printable(n.note))}`);
        walk(n.referrers, inner);
      }
    };
    walk(l.attachments, '');
    if (l.attachments.length === 0) lines.push(ctx.style.dim('  nothing attached'));
    for (const s of l.searched)
      lines.push(ctx.style.dim(`  searched ${s.where}: ${s.found}${s.note ? ` (${s.note})` : ''}`));
    for (const r of l.refused) ctx.err(ctx.style.warn(`⚠ ${r.origin}: ${r.error.message}`));
    return {
      exit: EXIT.ok,
      json: {
        subject: { name: source.name, digest: top.digest },
        attachments: l.attachments,
        notationSigners: Object.fromEntries(signers),
        searched: l.searched,
        refused: l.refused.map((r) => ({ origin: r.origin, ...r.error.toJSON() })),
      },
      text: lines.join('\n'),
      quiet: l.attachments.map((a) => a.digest).join('\n'),
    };
  } finally {
    await source.close();
  }
};
