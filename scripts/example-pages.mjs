// Draws examples/page-1.png (a receipt) and examples/page-2.png (a settings panel in dark mode)
// with headless Chromium in Debian's system fonts, for the README and `ved ocr` on a page.
//   node scripts/example-pages.mjs     (needs Debian's chromium and fonts-dejavu, fonts-liberation)
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const PAGES = {
  'page-1.png': `<div style="width:420px;padding:24px 28px;background:#fbfaf7;color:#222;font:17px 'DejaVu Sans Mono'">
    <div style="text-align:center;font-weight:bold;font-size:22px">CORNER BAKERY</div>
    <div style="text-align:center">12 Mill Street, Leeds</div><br>
    <div style="display:flex;justify-content:space-between"><span>Sourdough loaf</span><span>4.20</span></div>
    <div style="display:flex;justify-content:space-between"><span>2 x Croissant</span><span>5.60</span></div>
    <div style="display:flex;justify-content:space-between"><span>Flat white</span><span>3.10</span></div><br>
    <div style="display:flex;justify-content:space-between;font-weight:bold"><span>TOTAL</span><span>12.90</span></div>
    <div>Paid by card 08/11/2026 09:42</div></div>`,
  'page-2.png': `<div style="width:460px;padding:20px 26px;background:#1e1f24;color:#e8e8ea;font:16px 'Liberation Sans'">
    <div style="font-size:22px;font-weight:bold;margin-bottom:14px">Settings</div>
    <div style="display:flex;justify-content:space-between;margin:10px 0"><span>Wi-Fi</span><span style="color:#8ab4f8">Home-5G</span></div>
    <div style="display:flex;justify-content:space-between;margin:10px 0"><span>Bluetooth</span><span style="color:#9aa0a6">Off</span></div>
    <div style="display:flex;justify-content:space-between;margin:10px 0"><span>Battery saver</span><span style="color:#9aa0a6">At 20%</span></div>
    <div style="margin-top:16px;color:#9aa0a6;font-size:14px">Last backup: Tuesday, 3:15 PM</div></div>`,
};
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars'] });
const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
for (const [name, html] of Object.entries(PAGES)) {
  await page.setContent(`<!doctype html><meta charset="utf-8"><body style="margin:0;display:inline-block">${html}</body>`);
  await page.locator('body > div').screenshot({ path: join('examples', name) });
}
await browser.close();
