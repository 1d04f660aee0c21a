// trustpin/testing: what extenders need to test their own code against trustpin with no network — an in-memory
// registry, a deterministic image builder, and a Docker Content Trust publisher with an in-process notary server.
// Nothing here imports a test runner, and nothing here is needed by the library itself.

export {
  type Blob,
  type BuiltImage,
  type BuiltIndex,
  buildImage,
  buildIndex,
  type DemoSet,
  demoImages,
  EPOCH,
  type FileSpec,
  type Hook as RegistryHook,
  type ImageSpec,
  type IndexOptions,
  MemoryRegistry,
  makeTar,
} from '../demo/index.js';
export {
  DctPublisher,
  type DctPublisherOptions,
  startTestNotary,
  type TestNotary,
  type TestNotaryOptions,
} from './notary.js';
export {
  type CertValidity,
  canonical,
  DAY,
  type Envelope,
  ecdsaKey,
  type FileMeta,
  fileMeta,
  flipSignature,
  goTime,
  type J,
  type Key,
  Publisher,
  type PublisherOptions,
  rootKey,
  serialize,
  signEnvelope,
  YEAR,
} from './publisher.js';
export {
  type BuiltCert,
  buildCert,
  type CertOptions,
  EKU,
  goPem,
  KeyUsage,
  type LoopbackPki,
  loopbackPki,
  p256,
  rootCert,
} from './x509.js';
