// A headless Chromium for tests that render HTML reports (Debian's /usr/bin/chromium driven by playwright-core).
// `chromiumPath()` says why tests are skipped when the browser is absent.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where the browser is expected (TRUSTPIN_CHROMIUM overrides). */
export function chromiumPath(): string {
  return process.env.TRUSTPIN_CHROMIUM ?? '/usr/bin/chromium';
}

/** The reason to skip browser tests, or undefined when the browser is there. */
export function chromiumSkipReason(): string | undefined {
  const p = chromiumPath();
  return existsSync(p)
    ? undefined
    : `headless Chromium not found at ${p} (apt-get install chromium, or set TRUSTPIN_CHROMIUM)`;
}

/** Launch the browser headless; close it with `browser.close()`. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'], headless: true });
}
