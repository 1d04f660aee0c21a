import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policySarif } from '../../../src/report/sarif.js';
import { sarifValidator } from '../../harness/sarif.js';
import { hostileRef, report } from './policy-fixture.js';

const validate = sarifValidator();

// biome-ignore lint/suspicious/noExplicitAny: SARIF is walked as plain JSON
type Any = any;
const log = policySarif(report, { toolVersion: '0.1.0', informationUri: 'https://trustpin.dev' }) as Any;

describe('policySarif', () => {
  it('is valid against the official SARIF 2.1.0 schema, and the validator rejects a broken copy', () => {
    assert.equal(validate(JSON.parse(JSON.stringify(log))), true, JSON.stringify(validate.errors));
    const bad = JSON.parse(JSON.stringify(log));
    bad.runs[0].results[0].level = 'fatal';
    assert.equal(validate(bad), false);
    const noMsg = JSON.parse(JSON.stringify(log));
    delete noMsg.runs[0].results[0].message;
    assert.equal(validate(noMsg), false);
  });

  it('names the tool and one rule per policy rule seen, plus no-matching-rule', () => {
    const d = log.runs[0].tool.driver;
    assert.equal(d.name, 'trustpin');
    assert.equal(d.version, '0.1.0');
    assert.deepEqual(
      d.rules.map((r: Any) => [r.id, r.shortDescription.text]),
      [
        ['official', 'docker.io/library/**'],
        ['internal <apps>', 'registry.example/**'],
        ['no-matching-rule', 'no policy rule matched the image'],
      ],
    );
  });

  it('gives one result per failure: mirror not proven, unsigned (warning in warn mode), no match', () => {
    const rs = log.runs[0].results as Any[];
    assert.deepEqual(
      rs.map((r) => [r.ruleId, r.level, r.properties.code, r.properties.reference]),
      [
        ['official', 'error', 'MIRROR_NOT_PROVEN', 'mirror.example/library/app:1.0-tampered'],
        ['internal <apps>', 'warning', 'SIGNATURE_NOT_FOUND', hostileRef],
        ['no-matching-rule', 'error', 'NO_MATCHING_RULE', 'quay.example/other/thing:latest'],
      ],
    );
    const unsigned = rs[1];
    assert.match(unsigned.message.text, /cosign signature by key <team-key>: no cosign signature/);
    assert.ok(unsigned.message.text.startsWith(hostileRef));
    assert.equal(unsigned.properties.requirementPath, 'rules[1].require[0]');
    assert.equal(unsigned.properties.expected, 'a signature');
    assert.equal(unsigned.properties.digest, `sha256:${'7'.repeat(64)}`);
    const loc = unsigned.locations[0];
    assert.deepEqual(loc.physicalLocation, {
      artifactLocation: { uri: 'trustpin-policy.yaml' },
      region: { startLine: 22, startColumn: 7 },
    });
    assert.deepEqual(loc.logicalLocations[0].kind, 'image');
    assert.equal(
      rs[0].locations[0].physicalLocation.region.startLine,
      10,
      'a verdict-level problem points at the rule',
    );
  });

  it('uses the caller location when given, and fingerprints stay stable per finding', () => {
    const again = policySarif(report, {
      locationOf: (v) => (v.reference.startsWith('quay') ? { uri: 'deploy/app.yaml', line: 3 } : undefined),
    }) as Any;
    const rs = again.runs[0].results as Any[];
    assert.deepEqual(rs[2].locations[0].physicalLocation, {
      artifactLocation: { uri: 'deploy/app.yaml' },
      region: { startLine: 3 },
    });
    assert.deepEqual(
      rs.map((r) => r.partialFingerprints),
      log.runs[0].results.map((r: Any) => r.partialFingerprints),
    );
    const fps = new Set(rs.map((r) => r.partialFingerprints['trustpinFinding/v1']));
    assert.equal(fps.size, rs.length);
    assert.equal(validate(again), true, JSON.stringify(validate.errors));
  });
});
