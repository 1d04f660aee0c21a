// The same image through all four transports: registry, OCI layout, oci-archive and docker-archive (as skopeo
// writes them from the registry copy) gives the same digests — and every one of them is verified.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { trustpin } from '../cli/run.js';
import { makeTempDir, registryFixture, requireBinary, run } from '../harness/index.js';

describe('four transports, one image', () => {
  const fx = registryFixture('plain');

  test('index and platform digests agree across docker://, oci:, oci-archive:; configs agree with docker-archive:', async () => {
    const skopeo = requireBinary('skopeo', 'skopeo');
    const dir = await makeTempDir('transports');
    const { demoApp } = fx.images;
    const src = `docker://${demoApp.ref}`;
    const copy = (dest: string, all = true) =>
      run(skopeo, [
        'copy',
        '--insecure-policy',
        '--src-tls-verify=false',
        ...(all ? ['--all'] : []),
        '--preserve-digests',
        src,
        dest,
      ]);
    await copy(`oci:${join(dir, 'layout')}:1.0`);
    await copy(`oci-archive:${join(dir, 'app.oci.tar')}:1.0`);
    await run(skopeo, [
      'copy',
      '--insecure-policy',
      '--src-tls-verify=false',
      `docker://${fx.images.demoAppAmd64.ref}`,
      `docker-archive:${join(dir, 'app.docker.tar')}:demo/app:1.0`,
    ]);

    const inspect = async (ref: string) => {
      const r = await trustpin(['inspect', '--json', ref]);
      assert.equal(r.code, 0, `${ref}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    const reg = await inspect(demoApp.ref);
    const layout = await inspect(`oci:${join(dir, 'layout')}:1.0`);
    const archive = await inspect(`oci-archive:${join(dir, 'app.oci.tar')}:1.0`);
    for (const j of [layout, archive]) {
      assert.equal(j.digest, demoApp.digest);
      assert.deepEqual(
        j.manifests.map((m: { digest: string }) => m.digest),
        reg.manifests.map((m: { digest: string }) => m.digest),
      );
    }
    const docker = await inspect(`docker-archive:${join(dir, 'app.docker.tar')}`);
    const amd = demoApp.platforms.amd64!;
    assert.equal(docker.config.digest, amd.config, 'docker save keeps the config digest (the image ID)');
    assert.equal(docker.config.verified, true);

    const d = await trustpin([
      'digest',
      '--platform',
      'linux/amd64',
      `oci-archive:${join(dir, 'app.oci.tar')}:1.0`,
    ]);
    assert.match(d.stdout, new RegExp(`@${amd.digest}$`, 'm'));
  });
});
