// Opens a file in speedscope's own page (its release build, from npm) in headless Chromium (Debian's, driven
// by playwright-core from npm) as a user would: the file chosen with the page's file input, then the list of
// its profiles (tracks) opened from the toolbar. Prints what the page showed as JSON: {"errors": [uncaught
// errors], "title": the toolbar's title, "profiles": [{"name", "weight"}] as the list shows them}.
//
// usage: node speedscope_render.js PLAYWRIGHT_CORE_DIR CHROMIUM SPEEDSCOPE_PACKAGE_DIR FILE [SCREENSHOT.png]
'use strict';

const path = require('path');

const [pkg, chromiumPath, speedscope, file, shot] = process.argv.slice(2);
const { chromium } = require(path.resolve(pkg));

(async () => {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', e => errors.push(String(e)));
    await page.goto('file://' + path.resolve(speedscope, 'dist', 'release', 'index.html'));
    await page.setInputFiles('#file', path.resolve(file));
    // the toolbar's title once loaded: "PROFILE NAME (1/N)" with several profiles
    const title = page.getByText(/\(1\/\d+\)$/).first();
    await title.waitFor({ timeout: 30000 });
    const titleText = await title.textContent();
    await title.click();
    await page.getByPlaceholder('Filter...').waitFor({ timeout: 10000 });
    // the list's rows: index, name, total weight; all of them rendered once scrolled through
    const rows = new Map();
    for (let i = 0; i < 200; i++) {
      const seen = await page.$$eval('tr, [role=row], div', els => els
        .map(e => e.innerText && e.innerText.split('\t'))
        .filter(c => c && c.length === 3 && /^\d+$/.test(c[0].trim()))
        .map(c => [c[0].trim(), c[1].trim(), c[2].trim()]));
      const before = rows.size;
      for (const [n, name, weight] of seen) rows.set(Number(n), { name, weight });
      if (rows.size === before && i > 0) break;
      await page.mouse.wheel(0, 400);
      await page.waitForTimeout(50);
    }
    if (shot) await page.screenshot({ path: shot });
    const profiles = [...rows.keys()].sort((a, b) => a - b).map(k => rows.get(k));
    process.stdout.write(JSON.stringify({ errors, title: titleText, profiles }));
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(e); process.exit(1); });
