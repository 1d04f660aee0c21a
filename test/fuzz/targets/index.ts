// Every fuzz target, in one list: the bounded CI run (test/fuzz/fuzz.test.ts) and `npm run fuzz` read it.
// Add a target: import it here and append it to the array (a module may export one target or an array).
import type { FuzzTarget } from '../harness.js';
import archiveSource from './archive-source.js';
import canonicalJson from './canonical-json.js';
import cosignBundle from './cosign-bundle.js';
import cosignIntoto from './cosign-intoto.js';
import cosignLegacy from './cosign-legacy.js';
import cosignSimpleSigning from './cosign-simple-signing.js';
import cosignTrustedRoot from './cosign-trusted-root.js';
import decompress from './decompress.js';
import digest from './digest.js';
import keys from './keys.js';
import layers from './layers.js';
import manifest from './manifest.js';
import mirrorRoute from './mirror-route.js';
import notationCose from './notation-cose.js';
import notationJws from './notation-jws.js';
import notationPolicy from './notation-policy.js';
import notationTimestamp from './notation-timestamp.js';
import pinDockerfile from './pin-dockerfile.js';
import pinYaml from './pin-yaml.js';
import platform from './platform.js';
import reference from './reference.js';
import referrersIndex from './referrers-index.js';
import registryWire from './registry-wire.js';
import schema1 from './schema1.js';
import sigstoreTuf from './sigstore-tuf.js';
import sourceSpec from './source-spec.js';
import tar from './tar.js';
import trustArchive from './trust-archive.js';
import tufMetadata from './tuf-metadata.js';

export const targets: FuzzTarget<unknown>[] = [
  reference,
  digest,
  platform,
  manifest,
  schema1,
  canonicalJson,
  tufMetadata,
  keys,
  trustArchive,
  tar,
  layers,
  decompress,
  registryWire,
  archiveSource,
  sourceSpec,
  referrersIndex,
  cosignSimpleSigning,
  cosignIntoto,
  cosignBundle,
  cosignTrustedRoot,
  cosignLegacy,
  sigstoreTuf,
  notationJws,
  notationCose,
  notationTimestamp,
  notationPolicy,
  pinYaml,
  pinDockerfile,
  mirrorRoute,
].flat() as FuzzTarget<unknown>[];
