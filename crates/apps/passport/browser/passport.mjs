// Opens a battery passport page in a real headless Chromium, as a phone would, and checks
// what a visitor sees: the public fields are there, the restricted ones are not, the page
// switches to Japanese, and after a login with a presentation the legitimate-interest view
// appears. Saves screenshots. Exit code 0 when every check passes.
//
// node passport.mjs <passport-url> <screenshot-dir> [<vp+jwt for the login>]
// CHROMIUM overrides the browser (default /usr/bin/chromium).

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, shots, presentation] = process.argv.slice(2);
if (!url || !shots) {
  console.error('usage: node passport.mjs <passport-url> <screenshot-dir> [<vp+jwt>]');
  process.exit(2);
}

const failures = [];
function check(condition, what) {
  if (!condition) failures.push(what);
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${what}`);
}

const profile = mkdtempSync(join(tmpdir(), 'tsunagu-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  locale: 'en-GB',
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  const response = await page.goto(url, { waitUntil: 'load' });
  check(response && response.status() === 200, 'the passport page answers 200');
  check((await page.getAttribute('html', 'lang')) === 'en', 'the page is in English');
  const text = await page.innerText('body');
  for (const shown of ['Battery passport', 'LA:TSUNAGU:PACK-0001', 'NMC 811', 'Carbon footprint', 'Recycled content', 'Performance and durability', 'Safety and end of life', 'Status and linked passports']) {
    check(text.includes(shown), `public text "${shown}" is shown`);
  }
  check(await page.locator('#cfp-chart rect').count() === 4, 'the carbon footprint chart has one bar per life-cycle stage');
  check(await page.locator('#cfp-class').isVisible(), 'the performance class is visible');
  const html = await page.content();
  for (const hidden of ['soh-chart', 'battery-state', 'deep-discharge', 'dismantling.pdf', 'nb-test-report', 'nb-results']) {
    check(!html.includes(hidden), `restricted "${hidden}" is absent`);
  }
  // Nothing is wider than the phone's screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
  await page.screenshot({ path: join(shots, 'passport-en.png'), fullPage: true });

  await page.click('#lang-switch');
  await page.waitForLoadState('load');
  check((await page.getAttribute('html', 'lang')) === 'ja', 'the language switch leads to Japanese');
  const ja = await page.innerText('body');
  check(ja.includes('バッテリーパスポート') && ja.includes('カーボンフットプリント'), 'Japanese headings are shown');
  await page.screenshot({ path: join(shots, 'passport-ja.png'), fullPage: true });

  if (presentation) {
    await page.click('#login');
    await page.waitForLoadState('load');
    await page.fill('textarea[name=presentation]', presentation);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    check(page.url().startsWith(url), 'the login returns to the passport');
    check(await page.locator('#soh-chart polyline').count() === 1, 'after login the state-of-health chart is shown');
    check(await page.locator('#battery-state').isVisible(), 'after login the battery status is shown');
    const afterLogin = await page.content();
    check(!afterLogin.includes('nb-test-report'), 'authority data stays hidden from a legitimate interest');
    await page.screenshot({ path: join(shots, 'passport-legitimate-interest.png'), fullPage: true });
  }
} catch (error) {
  failures.push(String(error));
  console.error(error);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failures.length) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('all browser checks passed');
