// node scripts/ocr-docs.mjs OUT [--docs DIR] [--pages N] [--seed N] [--width PX] [--height PX]
//   [--exclude SET]...
//
// A held-out OCR set from layouts this project did not make: HTML manuals installed on this
// machine (by default every .html under /usr/share/doc: Debian packages' documentation, with
// their own style sheets, headings, lists, tables and code), drawn by Chromium as a reader would
// see them. Each page is the top of one document, OUT/pages/images/NNN.png with its lines in
// OUT/pages/metadata.jsonl; each of those lines is also cut out of its page (a margin of a third
// of its height) into OUT/lines, so `npm run bench:ocr -- --data OUT` reads both, beside
// Tesseract. Which documents a machine has depends on its packages, so results compare readers
// on one machine, not machines. --exclude SET leaves out the documents of a set drawn before
// (a set to check a change on, apart from the set the change was worked out on).
//
// The true lines come from the browser's layout: every rendered character's box (Range
// rectangles), in document order, grouped into lines by their vertical position and joined where
// they touch or sit a word gap apart. Characters that CSS collapsed have no box and are left out;
// those clipped by the page's bottom or right edge end the line set there.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { Rng } from './heldout-common.mjs';

function parseArgs(argv) {
  const o = { out: null, docs: '/usr/share/doc', pages: 30, seed: 1, width: 900, height: 1100, exclude: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--docs') o.docs = v();
    else if (a === '--exclude') o.exclude.push(v());
    else if (['--pages', '--seed', '--width', '--height'].includes(a)) {
      const n = Number(v());
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} must be a positive integer`);
      o[a.slice(2)] = n;
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}; options: --docs DIR --pages N --seed N --width PX --height PX --exclude SET`);
    else if (o.out === null) o.out = a;
    else throw new Error(`one output folder, got ${o.out} and ${a}`);
  }
  if (!o.out) throw new Error('usage: node scripts/ocr-docs.mjs OUT [--docs DIR] [--pages N] [--seed N] [--width PX] [--height PX]');
  return o;
}

function htmlFiles(dir) {
  const out = [];
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.html?$/i.test(e.name) && statSync(p).size > 400) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** In the page: the rendered lines, [{ text, box, size, weight, italic, family, color, background }]. */
function extractLines(clip) {
  const visible = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.visibility === 'hidden' || s.display === 'none' || Number(s.opacity) === 0) return false;
    }
    return true;
  };
  const backgroundOf = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const b = getComputedStyle(e).backgroundColor;
      if (b && b !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(b)) return b;
    }
    return 'rgb(255, 255, 255)';
  };
  const chars = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEXTAREA'].includes(el.tagName) || !visible(el)) continue;
    const s = getComputedStyle(el);
    const style = { size: parseFloat(s.fontSize), weight: Number(s.fontWeight) || 400, italic: s.fontStyle !== 'normal', family: s.fontFamily, color: s.color, background: backgroundOf(el) };
    const text = node.data;
    for (let i = 0; i < text.length; i++) {
      // One character (a surrogate pair whole).
      const n = text.codePointAt(i) > 0xffff ? 2 : 1;
      range.setStart(node, i);
      range.setEnd(node, i + n);
      const rects = range.getClientRects();
      const r = rects[0];
      if (r && r.width > 0 && r.height > 0) chars.push({ ch: text.slice(i, i + n), x0: r.left, y0: r.top, x1: r.right, y1: r.bottom, style });
      i += n - 1;
    }
  }
  const lines = [];
  let cur = null;
  for (const c of chars) {
    const h = c.y1 - c.y0;
    const midY = (c.y0 + c.y1) / 2;
    const same = cur && midY > cur.y0 && midY < cur.y1 && c.x0 >= cur.x1 - 0.5 && c.x0 - cur.x1 < 1.2 * Math.max(h, cur.y1 - cur.y0);
    if (!same) {
      cur = { text: '', x0: c.x0, y0: c.y0, x1: c.x1, y1: c.y1, style: c.style };
      lines.push(cur);
    } else if (c.x0 - cur.x1 > 0.25 * h && !/\s$/.test(cur.text) && !/\s/.test(c.ch)) {
      // A gap with no character drawn in it (a collapsed space, a table cell's padding).
      cur.text += ' ';
    }
    cur.text += /\s/.test(c.ch) ? ' ' : c.ch;
    cur.x0 = Math.min(cur.x0, c.x0);
    cur.y0 = Math.min(cur.y0, c.y0);
    cur.x1 = Math.max(cur.x1, c.x1);
    cur.y1 = Math.max(cur.y1, c.y1);
    if (c.style.size > cur.style.size) cur.style = c.style;
  }
  return lines
    .map((l) => ({ ...l, text: l.text.replace(/\s+/g, ' ').trim() }))
    .filter((l) => l.text.length > 0 && l.x0 >= 0 && l.y0 >= 0 && l.x1 <= clip.width && l.y1 <= clip.height)
    .map((l) => ({ text: l.text, box: [l.x0, l.y0, l.x1, l.y1].map(Math.round), ...l.style }));
}

function luminance(css) {
  const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(css);
  return m ? 0.299 * Number(m[1]) + 0.587 * Number(m[2]) + 0.114 * Number(m[3]) : 255;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const used = new Set();
  for (const set of o.exclude) {
    for (const row of readFileSync(join(set, 'pages', 'metadata.jsonl'), 'utf8').trim().split('\n')) used.add(JSON.parse(row).source);
  }
  const files = htmlFiles(o.docs).filter((f) => !used.has(relative(o.docs, f)));
  if (files.length === 0) throw new Error(`--docs ${o.docs}: no .html files`);
  const picked = new Rng(o.seed).shuffle(files);
  const profile = mkdtempSync(join(tmpdir(), 'ocr-docs-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars'],
    viewport: { width: o.width, height: o.height },
    deviceScaleFactor: 1,
    javaScriptEnabled: false,
  });
  const pagesDir = join(o.out, 'pages');
  const linesDir = join(o.out, 'lines');
  mkdirSync(join(pagesDir, 'images'), { recursive: true });
  mkdirSync(join(linesDir, 'images'), { recursive: true });
  const pageRows = [];
  const lineRows = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // Nothing outside the document's own folder: a manual's links to the web must not be fetched.
    await page.route(/^(?!file:)/, (r) => r.abort());
    for (const file of picked) {
      if (pageRows.length >= o.pages) break;
      try {
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 15000 });
      } catch {
        continue;
      }
      const height = Math.min(o.height, await page.evaluate(() => document.documentElement.scrollHeight));
      const clip = { x: 0, y: 0, width: o.width, height };
      const lines = await page.evaluate(extractLines, clip);
      // A page of a few words (a redirect, an index of links) says little about reading.
      if (lines.length < 5) continue;
      const png = await page.screenshot({ type: 'png', clip, animations: 'disabled', caret: 'hide' });
      const n = pageRows.length;
      const file_name = `images/${String(n).padStart(3, '0')}.png`;
      writeFileSync(join(pagesDir, file_name), png);
      const source = relative(o.docs, file);
      pageRows.push(JSON.stringify({ file_name, kind: 'document', source, font: lines[0].family, polarity: 'dark-on-light', lines: lines.map((l) => ({ text: l.text, box: l.box })) }));
      for (const [k, l] of lines.entries()) {
        const h = l.box[3] - l.box[1];
        const m = Math.ceil(h / 3);
        const left = Math.max(0, l.box[0] - m);
        const top = Math.max(0, l.box[1] - m);
        const width = Math.min(o.width, l.box[2] + m) - left;
        const height2 = Math.min(height, l.box[3] + m) - top;
        const line_name = `images/${String(n).padStart(3, '0')}-${String(k).padStart(3, '0')}.png`;
        await sharp(png).extract({ left, top, width, height: height2 }).png().toFile(join(linesDir, line_name));
        const dark = luminance(l.color) < luminance(l.background);
        lineRows.push(JSON.stringify({
          file_name: line_name,
          text: l.text,
          text_kind: 'document',
          font: l.family.split(',')[0].replace(/["']/g, '').trim(),
          family_kind: /\b(mono|monospace|courier)\b/i.test(l.family.split(',')[0]) ? 'mono' : 'document',
          seen_design: false,
          size_px: Math.round(l.size),
          bold: l.weight >= 600,
          italic: l.italic,
          polarity: dark ? 'dark-on-light' : 'light-on-dark',
          background: luminance(l.background) > 235 ? 'white' : 'colour',
          padding: 'cut',
          degradation: 'none',
          source,
        }));
      }
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  writeFileSync(join(pagesDir, 'metadata.jsonl'), pageRows.join('\n') + '\n');
  writeFileSync(join(linesDir, 'metadata.jsonl'), lineRows.join('\n') + '\n');
  console.error(`${pageRows.length} pages and ${lineRows.length} lines from ${files.length} HTML files under ${o.docs} in ${o.out} (seed ${o.seed}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
