import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, layerDepths, policyHtml } from '../../../src/report/html.js';
import { dctChain, graphsOf, hostileRef, report } from './policy-fixture.js';

const html = policyHtml(report);

describe('policyHtml', () => {
  it('escapes hostile references, messages and rule names: no markup from the report survives', () => {
    assert.ok(!html.includes('<script'), 'no script element');
    assert.ok(!html.includes('<img'), 'no img element');
    assert.ok(!/\sonerror=/i.test(html.replace(/&quot;&gt;&lt;img src=x onerror=/g, '')), 'no live handler');
    assert.ok(html.includes(escapeHtml(hostileRef)));
    assert.ok(html.includes('internal &lt;apps&gt;'));
    assert.ok(html.includes(`data-verdict="${escapeHtml(hostileRef)}"`));
    assert.ok(html.includes('signers: &lt;b&gt;releases&lt;/b&gt;'), 'node details are escaped too');
  });

  it('makes no external requests: no http(s) in src, href or CSS url(), and no scripts', () => {
    assert.equal(/\s(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i.test(html), false);
    assert.equal(/url\(/i.test(html), false);
    assert.equal(/<script/i.test(html), false);
    assert.equal(/<link/i.test(html), false);
  });

  it('has one section per verdict, a summary row per verdict with outcome and problem codes', () => {
    assert.equal(html.match(/<section class="verdict/g)?.length, report.verdicts.length);
    const rows = html.split('<tbody>')[1]!.split('</tbody>')[0]!.match(/<tr /g);
    assert.equal(rows?.length, report.verdicts.length);
    for (const code of ['MIRROR_NOT_PROVEN', 'SIGNATURE_NOT_FOUND', 'NO_MATCHING_RULE'])
      assert.ok(html.includes(code));
    assert.match(html, /<span class="badge warn"|badge mode">warn</);
    assert.match(html, /no rule matched the image/);
  });

  it('draws every node of every chain and mirror graph, failed ones in red, matches as = and ≠', () => {
    for (const g of graphsOf(report))
      for (const n of g.nodes) assert.ok(html.includes(`data-node-id="${escapeHtml(n.id)}"`), n.id);
    // the tampered mirror's config node failed, and its matches edge reads ≠
    assert.match(html, /class="node config side-B failed" data-node-id="B:sha256:9{64}"/);
    assert.match(
      html,
      /class="edge matches failed"[^>]*>(?:<title>[^<]*<\/title>)?<line[^>]*\/><text[^>]*>≠<\/text>/,
    );
    assert.match(
      html,
      /class="edge matches"[^>]*>(?:<title>[^<]*<\/title>)?<line[^>]*\/><text[^>]*>=<\/text>/,
    );
    assert.match(html, /dct: releases/, 'the signed tag names the system and signer');
  });

  it('lays out by longest path from the roots: tag, index, manifest, config and layer in successive columns', () => {
    const d = layerDepths(dctChain);
    const order = ['signed-tag:1.0', 'index:a', 'manifest:b', 'config:c'].map((id) => d.get(id)!);
    assert.deepEqual(order, [order[0], order[0]! + 1, order[0]! + 2, order[0]! + 3]);
    assert.equal(d.get('layer:d'), d.get('config:c'));
    const cyclic = layerDepths({
      nodes: [
        { id: 'a', kind: 'index', label: 'a', ok: true },
        { id: 'b', kind: 'manifest', label: 'b', ok: true },
      ],
      edges: [
        { from: 'a', to: 'b', kind: 'contains', ok: true },
        { from: 'b', to: 'a', kind: 'contains', ok: true },
      ],
    });
    assert.equal(cyclic.size, 2, 'a cycle in hostile data terminates');
  });
});
