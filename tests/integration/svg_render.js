// Opens an SVG flame graph in headless Chromium (Debian's, driven by playwright-core from npm) as a user
// would: reads the frames' labels as rendered, clicks a frame (zoom), then searches with the page's own
// prompt, and prints what the page showed as JSON: {"errors": [uncaught errors], "labels": [texts shown],
// "zoomed": {"title", "width"} of the clicked frame after the click, "root_shown": whether the root frame
// stays displayed, "matched": the search's result line}.
//
// usage: node svg_render.js PLAYWRIGHT_CORE_DIR CHROMIUM FILE.svg CLICK_PREFIX SEARCH
'use strict';

const path = require('path');

const [pkg, chromiumPath, file, clickPrefix, query] = process.argv.slice(2);
const { chromium } = require(path.resolve(pkg));

(async () => {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(String(e)));
    await page.goto('file://' + path.resolve(file));
    const labels = await page.$$eval('#frames text', ts => ts.map(t => t.textContent).filter(s => s));
    // the widest frame whose title starts with the prefix
    const idx = await page.$$eval('#frames > g', (gs, prefix) => {
      let best = -1, bw = -1;
      gs.forEach((g, i) => {
        const w = +g.querySelector('rect').getAttribute('width');
        if (g.querySelector('title').textContent.startsWith(prefix) && w > bw) { best = i; bw = w; }
      });
      return best;
    }, clickPrefix);
    let zoomed = null, rootShown = null;
    if (idx >= 0) {
      const g = (await page.$$('#frames > g'))[idx];
      await g.click();
      zoomed = await g.evaluate(n => ({ title: n.querySelector('title').textContent,
                                        width: +n.querySelector('rect').getAttribute('width') }));
      rootShown = await page.$eval('#frames > g', n => n.style.display !== 'none');
    }
    page.once('dialog', d => d.accept(query));
    await page.click('#search');
    await page.waitForFunction(() => document.getElementById('matched').textContent !== '');
    const matched = await page.$eval('#matched', n => n.textContent);
    process.stdout.write(JSON.stringify({ errors, labels, zoomed, root_shown: rootShown, matched }));
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(e); process.exit(1); });
