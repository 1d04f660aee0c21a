// Turn a user's image string into an ImageSource: `docker://REF` or a bare REF (the default transport),
// `oci:DIR[:TAG|@DIGEST]`, `docker-archive:FILE[:REF]`, `oci-archive:FILE[:TAG]`.
import { TrustpinError } from '../errors/index.js';
import { parseReference } from '../reference/index.js';
import type { RegistryClient } from '../registry/index.js';
import { openArchiveSource } from './archive.js';
import { openOciLayout } from './oci-layout.js';
import { RegistrySource } from './registry.js';
import type { ImageSource } from './types.js';

const TRANSPORTS = ['docker://', 'oci:', 'docker-archive:', 'oci-archive:'] as const;

/** Open `docker://REF` (or a bare REF), `oci:DIR[:TAG|@DIGEST]`, `docker-archive:FILE[:REF]` or `oci-archive:FILE[:TAG]`. */
export async function openSource(spec: string, client: RegistryClient): Promise<ImageSource> {
  if (spec.startsWith('docker://'))
    return new RegistrySource(parseReference(spec.slice('docker://'.length)), client);
  if (spec.startsWith('oci:')) return openOciLayout(spec.slice('oci:'.length));
  if (spec.startsWith('docker-archive:'))
    return openArchiveSource('docker-archive', spec.slice('docker-archive:'.length));
  if (spec.startsWith('oci-archive:'))
    return openArchiveSource('oci-archive', spec.slice('oci-archive:'.length));
  const m = /^([a-z][a-z0-9+.-]*):(?!\d)/.exec(spec);
  if (m && !spec.includes('/') && !/^[^:]+:[\w][\w.-]*$/.test(spec)) {
    throw new TrustpinError('TRANSPORT_UNSUPPORTED', `unknown transport ${m[1]}:`, {
      expected: TRANSPORTS.join(', '),
      found: spec,
    });
  }
  return new RegistrySource(parseReference(spec), client);
}
