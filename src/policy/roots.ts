// Trust roots of a policy: each kind's fields checked and its files read and parsed (public keys, certificates,
// a Sigstore trusted root, DCT root keys turned into key IDs), so a policy that loads holds usable trust material.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, type Node } from 'yaml';
import { canonicalKeyId, isX509, keyId, readKeyFile } from '../trust/dct/index.js';
import type { Reader } from './reader.js';
import type { SourcePosition, TrustRoot } from './types.js';

export type RootEntry = TrustRoot & { at: SourcePosition };

const certs = (b: Buffer): string | undefined => {
  const text = b.toString('latin1');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  try {
    if (pems) for (const p of pems) new X509Certificate(p);
    else new X509Certificate(b);
    return undefined;
  } catch (e) {
    return `is not a PEM or DER certificate (${(e as Error).message})`;
  }
};

const pubKey = (b: Buffer): string | undefined => {
  try {
    createPublicKey(
      b.toString('latin1').includes('-----BEGIN')
        ? b.toString('utf8')
        : { key: b, format: 'der', type: 'spki' },
    );
    return undefined;
  } catch (e) {
    return `is not a public key (${(e as Error).message})`;
  }
};

const trustedRoot = (b: Buffer): string | undefined => {
  let doc: unknown;
  try {
    doc = JSON.parse(b.toString('utf8'));
  } catch (e) {
    return `is not JSON (${(e as Error).message})`;
  }
  const d = doc as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null) return 'is not a Sigstore trusted root (not a JSON object)';
  const mt = typeof d.mediaType === 'string' && d.mediaType.toLowerCase().includes('trustedroot');
  if (mt || Array.isArray(d.tlogs) || Array.isArray(d.certificateAuthorities)) return undefined;
  return 'is not a Sigstore trusted root (no trustedroot mediaType, tlogs or certificateAuthorities)';
};

const crl = (b: Buffer): string | undefined =>
  b.toString('latin1').includes('-----BEGIN X509 CRL-----') || b[0] === 0x30
    ? undefined
    : 'is not a PEM or DER CRL';

const HEX64 = /^[0-9a-f]{64}$/i;
const KINDS = ['dct', 'publicKey', 'sigstore', 'x509', 'notation'] as const;

export function trustRootOf(
  r: Reader,
  name: string,
  node: Node | null,
  at: SourcePosition,
): RootEntry | undefined {
  const f = r.fields(node, `trustRoots.${name}`, KINDS);
  if (!f) return undefined;
  if (f.size !== 1) {
    r.error(
      node,
      f.size ? 'ambiguous-trust-root' : 'missing-field',
      `trust root ${name} must have exactly one of ${KINDS.join(', ')}`,
      {
        found: [...f.keys()].join(', ') || 'none',
      },
    );
    return undefined;
  }
  const [kind, e] = [...f.entries()][0]!;
  const what = `trustRoots.${name}.${kind}`;
  const before = r.findings.length;
  let root: TrustRoot | undefined;
  if (kind === 'publicKey') {
    if (isMap(e.value)) {
      const g = r.fields(e.value, what, ['data']);
      const data = g && r.str(g, 'data', what, true);
      if (data) {
        const why = pubKey(Buffer.from(data));
        if (why) r.error(g.get('data')!.value, 'bad-key', `${what}.data ${why}`);
        root = { kind, name, keys: [{ path: '<inline>', bytes: Buffer.from(data) }] };
      }
    } else root = { kind, name, keys: r.files(e, what, pubKey) };
  } else if (kind === 'sigstore') {
    const g = r.fields(e.value, what, ['trustedRoot']);
    const p = g && r.str(g, 'trustedRoot', what, true);
    const file = p ? r.file_(g.get('trustedRoot')!.value!, p, `${what}.trustedRoot`, trustedRoot) : undefined;
    if (file) root = { kind, name, trustedRoot: file };
  } else if (kind === 'x509') {
    const g = r.fields(e.value, what, ['roots', 'intermediates']);
    if (g) {
      if (!g.has('roots')) r.missing(g, 'roots', what, e.key);
      root = {
        kind,
        name,
        roots: r.files(g.get('roots'), `${what}.roots`, certs),
        intermediates: r.files(g.get('intermediates'), `${what}.intermediates`, certs),
      };
    }
  } else if (kind === 'notation') {
    const g = r.fields(e.value, what, ['ca', 'signingAuthority', 'tsa', 'crls']);
    if (g) {
      const ca = r.files(g.get('ca'), `${what}.ca`, certs);
      const sa = r.files(g.get('signingAuthority'), `${what}.signingAuthority`, certs);
      if (!ca.length && !sa.length && r.findings.length === before)
        r.error(e.key, 'missing-field', `${what} needs at least one ca or signingAuthority certificate`);
      root = {
        kind,
        name,
        ca,
        signingAuthority: sa,
        tsa: r.files(g.get('tsa'), `${what}.tsa`, certs),
        crls: r.files(g.get('crls'), `${what}.crls`, crl),
      };
    }
  } else {
    root = dctRoot(r, name, e, what);
  }
  return root && r.findings.length === before ? { ...root, at } : undefined;
}

function dctRoot(
  r: Reader,
  name: string,
  e: { key: Node; value: Node | null },
  what: string,
): TrustRoot | undefined {
  const g = r.fields(e.value, what, [
    'rootKeyIds',
    'rootKeys',
    'server',
    'ca',
    'archive',
    'metadataDir',
    'allowFirstUse',
  ]);
  if (!g) return undefined;
  const ids: string[] = [];
  const idsE = g.get('rootKeyIds');
  if (idsE)
    for (const s of r.strings(idsE.value, `${what}.rootKeyIds`)) {
      if (HEX64.test(s.value)) ids.push(s.value.toLowerCase());
      else
        r.error(s.node, 'bad-value', `${what}.rootKeyIds: ${JSON.stringify(s.value)} is not a key ID`, {
          expected: '64 hex digits (trustpin trust key-id FILE)',
        });
    }
  const keysE = g.get('rootKeys');
  if (keysE)
    for (const s of r.strings(keysE.value, `${what}.rootKeys`, true)) {
      const f = r.file_(s.node, s.value, `${what}.rootKeys`);
      if (!f) continue;
      try {
        const k = readKeyFile(f.bytes.toString('utf8'));
        ids.push(keyId(k));
        if (isX509(k)) ids.push(canonicalKeyId(k));
      } catch (err) {
        r.error(
          s.node,
          'bad-key',
          `${what}.rootKeys: ${f.path} is not a root key or certificate (${(err as Error).message})`,
          {
            hint: 'export it with `notary key export` or point at the root certificate docker trust wrote',
          },
        );
      }
    }
  const server = r.str(g, 'server', what);
  if (server && !/^https?:\/\/[^/\s]+/.test(server))
    r.error(g.get('server')!.value, 'bad-value', `${what}.server must be an http(s) URL`, { found: server });
  const caPath = r.str(g, 'ca', what);
  const ca = caPath ? r.file_(g.get('ca')!.value!, caPath, `${what}.ca`, certs) : undefined;
  if (g.has('archive') && g.has('metadataDir'))
    r.error(
      g.get('metadataDir')!.key,
      'ambiguous-field',
      `${what}: archive and metadataDir are the same setting; give one`,
    );
  const archName = g.has('archive') ? 'archive' : 'metadataDir';
  const archPath = r.str(g, archName, what);
  let archive: string | undefined;
  if (archPath) {
    archive = resolve(r.baseDir, archPath);
    try {
      closeSync(openSync(archive, 'r'));
    } catch {
      r.error(
        g.get(archName)!.value,
        'missing-file',
        `${what}.${archName}: no such file or directory ${archive}`,
      );
    }
  }
  const allowFirstUse = r.bool(g, 'allowFirstUse', what, false);
  const unique = [...new Set(ids)];
  if (!unique.length && !allowFirstUse && !idsE && !keysE)
    r.error(e.key, 'missing-field', `${what} needs rootKeyIds or rootKeys (or allowFirstUse: true)`, {
      hint: 'pin the repository root: trustpin trust key-id ROOT.pem gives its key ID',
    });
  return { kind: 'dct', name, rootKeyIds: unique, server, ca, archive, allowFirstUse };
}
