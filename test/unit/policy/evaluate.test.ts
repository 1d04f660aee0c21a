// The evaluator on the in-process registry: the tag is resolved once and everything after is by that digest (a tag
// moved mid-evaluation changes nothing), digest pins, noMatch, modes, and mirrors judged as their origin and proven
// equal by content at the declared level. Signature requirements against real components: test/e2e/policy.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DemoSet, demoImages, MemoryRegistry } from '../../../src/demo/index.js';
import { evaluate } from '../../../src/policy/index.js';
import type { Policy, Requirement, Rule } from '../../../src/policy/types.js';
import { RegistryClient } from '../../../src/registry/index.js';

const at = { file: 'p.yaml', line: 3, column: 5 };
const pinned: Requirement = { kind: 'digestPinned', at, path: 'rules[0].require[0]' };

function policy(o: {
  rules: { name: string; scope: string; mode?: Rule['mode']; require?: Requirement[] }[];
  mirrors?: Policy['mirrors'];
  defaults?: Partial<Policy['defaults']>;
}): Policy {
  return {
    source: 'p.yaml',
    digest: 'sha256:0',
    defaults: {
      mode: 'enforce',
      noMatch: 'deny',
      digest: 'resolve',
      platform: 'index',
      verifyAt: 'now',
      ...o.defaults,
    },
    trustRoots: new Map(),
    mirrors: o.mirrors ?? [],
    rules: o.rules.map((r, i) => ({ mode: 'enforce', require: [], index: i, at, ...r })),
  };
}

describe('evaluate on the in-process registry', () => {
  let reg: MemoryRegistry;
  let host: string;
  let set: DemoSet;
  let client: RegistryClient;
  const tagGets: string[] = [];

  before(async () => {
    set = await demoImages();
    reg = new MemoryRegistry();
    host = await reg.listen();
    reg.push('demo/app', set.app, '1.0');
    reg.push('mirror/app', set.mirror, '1.0');
    reg.push('evil/app', set.liar, '1.0');
    reg.hook = (req, _res, url) => {
      if (/\/manifests\/[^/:]+$/.test(url.pathname) && !url.pathname.includes('sha256'))
        tagGets.push(`${req.method} ${url.pathname}`);
      return false;
    };
    client = new RegistryClient();
  });
  after(async () => {
    await reg.close();
  });

  test('a rule with no requirements passes, with the digest to deploy; the tag is resolved once', async () => {
    tagGets.length = 0;
    const r = await evaluate(policy({ rules: [{ name: 'all', scope: '**' }] }), [`${host}/demo/app:1.0`], {
      client,
    });
    const v = r.verdicts[0]!;
    assert.equal(v.outcome, 'pass');
    assert.equal(v.rule?.name, 'all');
    assert.equal(v.digest, set.app.index.digest);
    assert.equal(v.pinned, `${host}/demo/app@${set.app.index.digest}`);
    assert.equal(tagGets.length, 1, tagGets.join(', '));
    assert.ok(r.ok);
  });

  test('digestPinned: a tag fails NOT_PINNED, the digest passes; defaults.digest require fails before any fetch', async () => {
    const p = policy({ rules: [{ name: 'pins', scope: `${host}/**`, require: [pinned] }] });
    const r = await evaluate(p, [`${host}/demo/app:1.0`, `${host}/demo/app@${set.app.index.digest}`], {
      client,
    });
    assert.deepEqual(
      r.verdicts.map((v) => v.outcome),
      ['fail', 'pass'],
    );
    assert.deepEqual(
      r.verdicts[0]!.problems.map((p) => p.code),
      ['NOT_PINNED'],
    );
    assert.equal(r.verdicts[0]!.requirements[0]!.status, 'fail');
    assert.equal(r.ok, false);
    tagGets.length = 0;
    const req = await evaluate(
      policy({ rules: [{ name: 'all', scope: '**' }], defaults: { digest: 'require' } }),
      [`${host}/demo/app:1.0`],
      { client },
    );
    assert.deepEqual(
      req.verdicts[0]!.problems.map((p) => p.code),
      ['NOT_PINNED'],
    );
    assert.equal(tagGets.length, 0);
  });

  test('noMatch: deny blocks with NO_MATCHING_RULE, warn reports without blocking, allow passes', async () => {
    const only = [{ name: 'other', scope: 'ghcr.io/acme/**' }];
    for (const [noMatch, ok, outcome] of [
      ['deny', false, 'fail'],
      ['warn', true, 'fail'],
      ['allow', true, 'pass'],
    ] as const) {
      const r = await evaluate(policy({ rules: only, defaults: { noMatch } }), [`${host}/demo/app:1.0`], {
        client,
      });
      const v = r.verdicts[0]!;
      assert.equal(v.ok, ok, noMatch);
      assert.equal(v.outcome, outcome, noMatch);
      assert.equal(v.rule, undefined);
      if (noMatch !== 'allow') assert.equal(v.problems[0]?.code, 'NO_MATCHING_RULE');
    }
  });

  test('warn and audit modes report a failure without blocking; enforce blocks', async () => {
    for (const [mode, ok] of [
      ['enforce', false],
      ['warn', true],
      ['audit', true],
    ] as const) {
      const r = await evaluate(
        policy({ rules: [{ name: 'm', scope: '**', mode, require: [pinned] }] }),
        [`${host}/demo/app:1.0`],
        { client },
      );
      assert.equal(r.verdicts[0]!.outcome, 'fail');
      assert.equal(r.verdicts[0]!.ok, ok, mode);
      assert.equal(r.ok, ok, mode);
    }
  });

  test('anyOf: the first alternative that holds decides, the rest are skipped; none → REQUIREMENT_NOT_MET', async () => {
    const any = (of: Requirement[]): Requirement => ({ kind: 'anyOf', of, at, path: 'rules[0].require[0]' });
    const pass = await evaluate(
      policy({ rules: [{ name: 'a', scope: '**', require: [any([pinned, pinned])] }] }),
      [`${host}/demo/app@${set.app.index.digest}`],
      { client },
    );
    assert.deepEqual(
      pass.verdicts[0]!.requirements[0]!.children!.map((c) => c.status),
      ['pass', 'skipped'],
    );
    const fail = await evaluate(
      policy({ rules: [{ name: 'a', scope: '**', require: [any([pinned, pinned])] }] }),
      [`${host}/demo/app:1.0`],
      { client },
    );
    const codes = fail.verdicts[0]!.problems.map((p) => p.code);
    assert.equal(codes[0], 'REQUIREMENT_NOT_MET');
    assert.ok(codes.includes('NOT_PINNED'));
  });

  const mirrors = (prove: Policy['mirrors'][number]['prove']): Policy['mirrors'] => [
    {
      origin: `${host}/demo`,
      mirrors: [`${host}/mirror`, `${host}/evil`],
      prove,
      signaturesFrom: ['origin'],
      at,
    },
  ];

  test('a mirror is judged by its origin’s rule and proven equal by content (other index digest, same configs)', async () => {
    const r = await evaluate(
      policy({
        rules: [
          { name: 'origin-rule', scope: `${host}/demo/*` },
          { name: 'mirror-rule', scope: `${host}/mirror/*`, require: [pinned] },
        ],
        mirrors: mirrors('config'),
      }),
      [`${host}/mirror/app:1.0`],
      { client },
    );
    const v = r.verdicts[0]!;
    assert.equal(v.rule?.name, 'origin-rule');
    assert.equal(v.outcome, 'pass', JSON.stringify(v.problems));
    assert.equal(v.mirror?.level, 'config');
    assert.equal(v.mirror?.originPinned, `${host}/demo/app@${set.app.index.digest}`);
    assert.equal(v.digest, set.mirror.index.digest);
    assert.notEqual(set.mirror.index.digest, set.app.index.digest);
  });

  test('a re-encoding mirror pinned by tag@digest (a digest the origin does not have) is compared with the origin’s tag', async () => {
    const p = policy({
      rules: [{ name: 'origin-rule', scope: `${host}/demo/*` }],
      mirrors: mirrors('config'),
    });
    const r = await evaluate(
      p,
      [
        `${host}/mirror/app:1.0@${set.mirror.index.digest}`,
        `${host}/evil/app:1.0@${set.liar.manifest.digest}`,
      ],
      { client },
    );
    const [mirror, evil] = r.verdicts;
    assert.equal(mirror!.outcome, 'pass', JSON.stringify(mirror!.problems));
    assert.equal(mirror!.mirror?.originPinned, `${host}/demo/app@${set.app.index.digest}`);
    assert.equal(mirror!.digest, set.mirror.index.digest);
    // the fallback compares content: a pinned evil image is still not proven
    assert.deepEqual(
      evil!.problems.map((x) => x.code),
      ['MIRROR_NOT_PROVEN'],
    );
  });

  test('a mirror below the required level, or serving other content, fails MIRROR_NOT_PROVEN', async () => {
    const at = async (prove: Policy['mirrors'][number]['prove'], ref: string) =>
      (
        await evaluate(
          policy({ rules: [{ name: 'origin-rule', scope: `${host}/demo/*` }], mirrors: mirrors(prove) }),
          [ref],
          { client },
        )
      ).verdicts[0]!;
    const strict = await at('index', `${host}/mirror/app:1.0`);
    assert.equal(strict.outcome, 'fail');
    assert.deepEqual(
      strict.problems.map((p) => p.code),
      ['MIRROR_NOT_PROVEN'],
    );
    const evil = await at('config', `${host}/evil/app:1.0`);
    assert.equal(evil.outcome, 'fail');
    assert.equal(evil.mirror?.ok, false);
    assert.deepEqual(
      evil.problems.map((p) => p.code),
      ['MIRROR_NOT_PROVEN'],
    );
    const none = await at('none', `${host}/evil/app:1.0`);
    assert.equal(none.outcome, 'pass', 'prove: none accepts the declared alias alone');
  });

  test('a tag moved after it was resolved: every later step still uses the first digest', async () => {
    reg.push('moving/app', set.app, '1.0');
    let served = 0;
    const prev = reg.hook;
    reg.hook = (req, res, url) => {
      if (url.pathname.endsWith('/moving/app/manifests/1.0') && served++ >= 1) {
        // from the second request on, the tag serves another image
        res.writeHead(200, {
          'Content-Type': set.liar.manifest.mediaType,
          'Docker-Content-Digest': set.liar.manifest.digest,
        });
        res.end(req.method === 'HEAD' ? undefined : set.liar.manifest.bytes);
        return true;
      }
      return prev ? prev(req, res, url) : false;
    };
    try {
      const r = await evaluate(
        policy({ rules: [{ name: 'all', scope: '**' }] }),
        [`${host}/moving/app:1.0`],
        {
          client,
        },
      );
      assert.equal(r.verdicts[0]!.digest, set.app.index.digest);
      assert.equal(served, 1);
    } finally {
      reg.hook = prev;
    }
  });

  test('an unreachable registry is an error for that image only, not a thrown batch', async () => {
    const r = await evaluate(
      policy({ rules: [{ name: 'all', scope: '**' }] }),
      ['127.0.0.1:1/nothing/here:1', `${host}/demo/app:1.0`],
      { client: new RegistryClient({ timeoutMs: 2000 } as never) },
    );
    assert.deepEqual(
      r.verdicts.map((v) => v.outcome),
      ['error', 'pass'],
    );
    assert.equal(r.ok, false);
  });
});
