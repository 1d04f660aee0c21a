// The image strings users type (`docker://REF`, a bare REF, `oci:DIR[:TAG|@DIGEST]`, `docker-archive:FILE[:REF]`,
// `oci-archive:FILE[:TAG]`). Oracle: an accepted string's printed name opens again to the same name — what
// trustpin prints can be pasted back and means the same image. Opening touches no network and no file.
import { RegistryClient } from '../../../src/registry/index.js';
import { openSource } from '../../../src/source/index.js';
import { check, coded, defineTarget, mutatedStrings, stringCodec } from '../harness.js';

const client = new RegistryClient();
const D = `sha256:${'ab'.repeat(32)}`;
const SEEDS = [
  'alpine',
  'docker://ghcr.io/org/app:1.0',
  `docker.io/library/alpine@${D}`,
  '127.0.0.1:5000/demo/app:1.0',
  'oci:/tmp/layout:1.0',
  `oci:/tmp/layout@${D}`,
  'oci:relative/dir',
  'docker-archive:/tmp/a.tar:demo/app:1.0',
  `docker-archive:/tmp/a.tar:demo/app:1.0@${D}`,
  'oci-archive:/tmp/a.tar:latest',
  'localhost:5000/x',
  '[::1]:5000/x:y',
];

export default defineTarget<string>({
  name: 'source-spec',
  description: 'openSource on image strings; oracle: an accepted string’s name opens again to the same name',
  arbitrary: mutatedStrings(SEEDS),
  async run(spec) {
    const a = await coded(() => openSource(spec, client));
    if (!a) return;
    const b = await coded(() => openSource(a.name, client));
    check(
      b !== undefined,
      () => `${JSON.stringify(spec)} printed as ${JSON.stringify(a.name)}, which is refused`,
    );
    check(b.transport === a.transport, () => `${a.name}: ${a.transport} became ${b.transport}`);
    check(b.name === a.name, () => `${JSON.stringify(spec)} → ${a.name} → ${b.name}`);
  },
  ...stringCodec,
});
