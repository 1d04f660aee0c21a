// The HTML policy report in a real headless Chromium: it loads no resource but itself, and every verdict and
// every chain node is on the page. A screenshot is kept in test-artifacts/ for a human to look at.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { policyHtml } from '../../src/report/html.js';
import { chromiumSkipReason, launchChromium } from '../harness/chromium.js';
import { graphsOf, report } from '../unit/report/policy-fixture.js';

const skip = chromiumSkipReason();

describe('HTML policy report in headless Chromium', { skip }, () => {
  let browser: Browser;
  const dir = resolve('test-artifacts');
  const file = resolve(dir, 'policy-report.html');
  before(async () => {
    mkdirSync(dir, { recursive: true });
    // The page's CSP would block (and hide) a stray request: load it without, so the test sees what it asks for.
    const html = policyHtml(report);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
    writeFileSync(file, html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, ''));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  it('requests nothing but the document, shows every verdict and node, runs no script', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const requests: string[] = [];
    const dialogs: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: 'load' });
    assert.deepEqual(requests, [url], 'only the document itself is loaded');
    assert.deepEqual(dialogs, [], 'the hostile reference ran no script');
    assert.equal(await page.locator('script, img').count(), 0);

    for (const v of report.verdicts) {
      const n = await page
        .locator('section[data-verdict]')
        .evaluateAll(
          (els, ref) => els.filter((el) => el.getAttribute('data-verdict') === ref).length,
          v.reference,
        );
      assert.equal(n, 1, `verdict ${v.reference}`);
    }
    const ids = new Set(
      await page
        .locator('[data-node-id]')
        .evaluateAll((els) => els.map((el) => el.getAttribute('data-node-id'))),
    );
    for (const g of graphsOf(report)) for (const node of g.nodes) assert.ok(ids.has(node.id), node.id);
    const failed = await page.locator('g.node.failed rect').first();
    const stroke = await failed.evaluate((el) => getComputedStyle(el).stroke);
    assert.equal(stroke, 'rgb(207, 34, 46)', 'failed nodes are drawn in red');

    await page.screenshot({ path: resolve(dir, 'policy-report.png'), fullPage: true });
    await page.close();
  });
});
