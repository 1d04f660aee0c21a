// BYO-PKI for cosign signatures (c/image `pki`, cosign `--certificate-chain`): the signing certificate must chain
// to a root the user configured, through configured intermediates or ones that came with the signature (those are
// only candidates: every path must end at a configured root). Then the leaf's key is an ordinary public key.
import type { X509Certificate } from '@sigstore/core';
import { X509Certificate as CoreX509 } from '@sigstore/core';
import { fail } from './check-util.js';
import { MAX_CERT_CHAIN_LENGTH, pemBlocks } from './legacy.js';

const parsed = new WeakMap<Buffer, X509Certificate[]>();

/** PEM certificates of a configured file, parsed once per Buffer. Not certificates → USAGE (configuration). */
export function pemCertificates(pem: Buffer, what: string): X509Certificate[] {
  let certs = parsed.get(pem);
  if (!certs) {
    try {
      certs = pemBlocks(pem.toString('latin1'), 'CERTIFICATE', 1000, what).map((d) =>
        CoreX509.parse(d as Buffer<ArrayBuffer>),
      );
    } catch (e) {
      throw fail('USAGE', `${what} holds a certificate that does not parse`, { found: (e as Error).message });
    }
    if (certs.length === 0)
      throw fail('USAGE', `${what} holds no PEM certificate`, {
        expected: '-----BEGIN CERTIFICATE----- blocks',
      });
    parsed.set(pem, certs);
  }
  return certs;
}

function issued(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.issuer.equals(parent.subject) && parent.isCA && child.verify(parent);
  } catch {
    return false;
  }
}

/**
 * Find a path leaf → … → one of `roots` valid at `at` (every certificate on it), trying `intermediates` (configured
 * and untrusted alike) as links. Returns the path, or throws CERTIFICATE_INVALID saying why.
 */
export function verifyPkiChain(
  leaf: X509Certificate,
  roots: X509Certificate[],
  intermediates: X509Certificate[],
  at: Date,
): X509Certificate[] {
  const dated = (c: X509Certificate) => c.validForDate(at);
  if (!dated(leaf))
    throw fail('CERTIFICATE_INVALID', 'the signing certificate is not valid at the time it is judged at', {
      expected: `a certificate valid at ${at.toISOString()}`,
      found: `valid ${leaf.notBefore.toISOString()} – ${leaf.notAfter.toISOString()}`,
      hint: 'the certificate expired (or is not yet valid); re-sign with a current certificate',
    });
  const walk = (path: X509Certificate[]): X509Certificate[] | undefined => {
    const last = path[path.length - 1]!;
    const root = roots.find((r) => dated(r) && (issued(last, r) || last.equals(r)));
    if (root) return last.equals(root) ? path : [...path, root];
    if (path.length > MAX_CERT_CHAIN_LENGTH) return undefined;
    for (const c of intermediates) {
      if (path.some((p) => p.equals(c)) || !dated(c) || !issued(last, c)) continue;
      const found = walk([...path, c]);
      if (found) return found;
    }
    return undefined;
  };
  const path = walk([leaf]);
  if (!path)
    throw fail(
      'CERTIFICATE_INVALID',
      'the signing certificate does not chain to a configured root certificate',
      {
        expected: `a chain to one of ${roots.length} configured root${roots.length === 1 ? '' : 's'}, valid at ${at.toISOString()}`,
        found: `a certificate issued by a CA that is not among them (or not valid then)`,
        hint: 'check caRoots/caIntermediates (c/image pki.caRootsPath / caIntermediatesPath); a chain inside the signature is never trusted by itself',
      },
    );
  return path;
}
