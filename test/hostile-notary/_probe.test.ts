import { it } from 'node:test';
import { FileSet } from '../../src/trust/dct/source.js';
import { requireSigner, resolveTag } from '../../src/trust/dct/targets.js';
import { updateTrust } from '../../src/trust/dct/updater.js';
import { DAY, Publisher } from './publisher.js';

const GUN = 'registry.example.com/acme/app';
const T0 = Date.UTC(2026, 0, 1);
const M = { digest: 'ab'.repeat(32), length: 1 };
const show = async (label: string, p: () => unknown) => {
  try {
    console.log(label, 'PASSED', JSON.stringify(await p()));
  } catch (e: any) {
    console.log(label, e.code ?? e.constructor.name, e.message, '|', e.found);
  }
};
const up = (files: Map<string, Buffer>) =>
  updateTrust({ gun: GUN, source: new FileSet('x', new Map([[GUN, files]])), now: T0 + DAY });
it('probe', async () => {
  let pub = new Publisher(GUN, { now: T0 });
  pub.addDelegation('targets/releases', { paths: ['v1'] });
  pub.addTarget('targets/releases', 'v1', M);
  let repo = await up(pub.publish());
  await show('resolve constructor', () => resolveTag(repo, 'constructor'));
  await show('resolve nothere', () => resolveTag(repo, 'nothere'));
  pub = new Publisher(GUN, { now: T0 });
  pub.addDelegation('targets/releases');
  pub.addDelegation('targets/alice');
  pub.addTarget('targets/releases', 'constructor', M).addTarget('targets/alice', 'v1', M);
  pub.addTarget('targets/releases', 'v2', M);
  repo = await up(pub.publish());
  await show('signer constructor', () =>
    requireSigner(repo, resolveTag(repo, 'constructor'), { name: 'alice' }),
  );
  await show('signer v2', () => requireSigner(repo, resolveTag(repo, 'v2'), { name: 'alice' }));
  // __proto__ injected into the signed timestamp: bytes differ from what was signed
  pub = new Publisher(GUN, { now: T0 }).addTarget('targets', 'latest', M);
  const files = pub.publish();
  const ts = files.get('timestamp.json')!.toString();
  const evil = ts.replace('{"signed":{', '{"signed":{"__proto__":{"injected":true},');
  await show(
    '__proto__ in signed timestamp',
    async () => (await up(new Map(files).set('timestamp.json', Buffer.from(evil)))).timestamp.signed,
  );
  // legit target named __proto__
  pub = new Publisher(GUN, { now: T0 }).addTarget('targets', '__proto__', M);
  repo = await up(pub.publish());
  await show('resolve __proto__', () => resolveTag(repo, '__proto__'));
});
