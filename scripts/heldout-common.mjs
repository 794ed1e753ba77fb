// What the held-out OCR sets share, whatever draws them (scripts/ocr-heldout.mjs with Chromium,
// scripts/ocr-heldout-pango.mjs with Pango): the seeded generator, the texts, the system font
// families with their kinds, the colours, each line's conditions and its degradations.

import sharp from 'sharp';

// ---------------------------------------------------------------------------------------------
// Seeded randomness

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  constructor(seed) {
    this.r = mulberry32(seed);
  }
  next() {
    return this.r();
  }
  int(lo, hi) {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  uniform(lo, hi) {
    return lo + this.r() * (hi - lo);
  }
  pick(a) {
    return a[Math.floor(this.r() * a.length)];
  }
  chance(p) {
    return this.r() < p;
  }
  /** [value, weight] pairs. */
  weighted(pairs) {
    let total = 0;
    for (const [, w] of pairs) total += w;
    let u = this.r() * total;
    for (const [v, w] of pairs) if ((u -= w) < 0) return v;
    return pairs[pairs.length - 1][0];
  }
  /** A shuffled copy (Fisher-Yates): Array.sort with a random comparator depends on the engine's sort. */
  shuffle(a) {
    const out = [...a];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.r() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
  gauss() {
    const u = Math.max(this.r(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.r());
  }
}

// ---------------------------------------------------------------------------------------------
// Texts: UI strings, sentences, names, prices, dates, codes, emails, URLs

export const UI_VERBS = ['Archive', 'Rename', 'Duplicate', 'Unpin', 'Mute', 'Snooze', 'Export', 'Restore', 'Dismiss', 'Reconnect', 'Unsubscribe', 'Retry', 'Preview', 'Attach', 'Revoke', 'Sync', 'Share', 'Upload', 'Discard', 'Merge'];
export const UI_OBJECTS = ['workspace', 'thread', 'draft', 'playlist', 'album', 'folder', 'widget', 'backup', 'webhook', 'token', 'invoice', 'snapshot', 'channel', 'label', 'template', 'device', 'calendar', 'branch', 'profile photo', 'API key'];
export const UI_FIXED = ['OK', 'Cancel', 'Undo', 'Done', 'Next', 'Back', 'Skip for now', 'Learn more', 'Sign in with passkey', 'Forgot password?', 'Keep me signed in', 'Show hidden files', 'No results found', 'Loading more...', 'All changes saved', 'Remind me later', 'Do not disturb', 'Battery saver', 'Dark theme', 'Open in new tab', 'Copy link', 'Move to trash', 'Read receipts', 'Notifications', 'Storage almost full', 'Try again', 'Edit', 'Log out', 'Terms of use', 'Privacy'];
export const SUBJECTS = ['The courier', 'Our landlord', 'A volunteer', 'The night nurse', 'My cousin', 'The auditor', 'Every tenant', 'The ferry', 'A stray kitten', 'The choir', 'Her accountant', 'The glazier', 'That old tram', 'The jury', 'Grandpa'];
export const VERBS = ['repaired', 'misplaced', 'painted', 'measured', 'returned', 'photographed', 'inspected', 'borrowed', 'polished', 'delivered', 'signed', 'unlocked', 'weighed', 'folded', 'rescheduled'];
export const OBJECTS = ['the rusty gate', 'two crates of plums', 'a broken kettle', 'the attic window', 'seven parcels', 'the quarterly ledger', 'a velvet armchair', 'the spare keys', 'his violin case', 'the bakery sign', 'a dozen lanterns', 'the harbour map', 'our tax forms', 'the copper pipes', 'a wool blanket'];
export const TAILS = ['before noon', 'on Thursday', 'after the storm', 'last weekend', 'by mistake', 'at dawn', 'in March', 'twice', 'without a receipt', 'near the pier', 'for free', 'again'];
export const FIRST = ['Ingrid', 'Tomasz', 'Amara', 'Kenji', 'Lucinda', 'Oluwaseun', 'Bartholomew', 'Priya', 'Dagny', 'Mateo', 'Yusra', 'Fergus', 'Ximena', 'Radek', 'Sunniva', 'Ezekiel', 'Noor', 'Leopold', 'Zofia', 'Ciaran'];
export const LAST = ['Okafor', 'Ferreira', 'Lindqvist', 'Takahashi', 'Vasquez', 'Oyelaran', 'Pemberton', 'Raghunathan', 'Halvorsen', 'Quintero', 'Haddad', 'MacLeod', 'Zamora', 'Kowalczyk', 'Brekke', 'Abernathy', 'Nakamura', 'Dubois', 'Wiśniewska', 'Fitzgerald'];
export const DOMAINS = ['brightlane.io', 'quillmeadow.net', 'harborstack.dev', 'tinkerpost.org', 'fjordmail.com', 'oakridge-clinic.co.uk', 'plumtree.app', 'northgate.edu'];
export const PATHS = ['setup', 'pricing', 'help/returns', 'blog/2025/winter-update', 'account/billing', 'docs/v3/install', 'careers', 'status', 'faq#shipping', 'login?next=/inbox'];
export const ITEMS = ['Oat milk 1L', 'Sourdough loaf', 'AA batteries x4', 'Espresso', 'Dish soap', 'Blueberries', 'Notebook A5', 'Paper towels', 'Green tea', 'Olive oil 500ml', 'Bike lights', 'Cheddar 200g', 'Tomatoes', 'Toothpaste', 'Rice 2kg', 'Flat white', 'Croissant', 'Sparkling water', 'HDMI cable', 'Parking 2h'];
export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
export const CODE_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export const pad2 = (n) => String(n).padStart(2, '0');

export function money(rng) {
  const v = rng.weighted([[rng.int(1, 99) + rng.int(0, 99) / 100, 5], [rng.int(100, 9999) + rng.int(0, 99) / 100, 2]]);
  const fixed = v.toFixed(2);
  const grouped = fixed.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return rng.weighted([[`$${grouped}`, 4], [`€${grouped}`, 2], [`£${grouped}`, 1], [`${fixed.replace('.', ',')} €`, 1], [`USD ${grouped}`, 1]]);
}

export function date(rng) {
  const y = rng.int(2019, 2027);
  const m = rng.int(1, 12);
  const d = rng.int(1, 28);
  return rng.pick([
    () => `${y}-${pad2(m)}-${pad2(d)}`,
    () => `${d} ${MONTHS[m - 1]} ${y}`,
    () => `${DAYS[rng.int(0, 6)]}, ${MONTHS[m - 1]} ${d}`,
    () => `${pad2(m)}/${pad2(d)}/${y} ${pad2(rng.int(0, 23))}:${pad2(rng.int(0, 59))}`,
    () => `${pad2(d)}.${pad2(m)}.${y}`,
    () => `${rng.int(1, 12)}:${pad2(rng.int(0, 59))} ${rng.pick(['AM', 'PM'])}`,
  ])();
}

export function code(rng) {
  const part = (n) => Array.from({ length: n }, () => rng.pick(CODE_CHARS)).join('');
  return rng.pick([
    () => `SKU-${rng.int(10000, 99999)}-${rng.pick(['A', 'B', 'C', 'X'])}`,
    () => `#${part(4)}-${part(4)}`,
    () => `Order ${rng.int(1000, 9999)}-${rng.int(1000, 9999)}`,
    () => `Ref: ${part(6)}`,
    () => `v${rng.int(0, 12)}.${rng.int(0, 30)}.${rng.int(0, 99)}`,
    () => `Gate B${rng.int(1, 48)}, seat ${rng.int(1, 38)}${rng.pick(['A', 'C', 'D', 'F'])}`,
    () => `PIN ${rng.int(1000, 9999)}`,
    () => `${part(3)} ${rng.int(100, 999)}`,
  ])();
}

export function personName(rng) {
  const f = rng.pick(FIRST);
  const l = rng.pick(LAST);
  return rng.pick([`${f} ${l}`, `${l}, ${f}`, `${f[0]}. ${l}`, `Dr. ${f} ${l}`]);
}

export function email(rng) {
  const f = rng.pick(FIRST).toLowerCase().replace('ś', 's');
  const l = rng.pick(LAST).toLowerCase().replace('ś', 's');
  return `${rng.pick([`${f}.${l}`, `${f[0]}${l}`, `${f}${rng.int(1, 99)}`, 'support', 'billing'])}@${rng.pick(DOMAINS)}`;
}

export function url(rng) {
  return `${rng.pick(['https://', 'https://www.', 'www.', ''])}${rng.pick(DOMAINS)}/${rng.pick(PATHS)}`;
}

export function sentence(rng) {
  const s = `${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}`;
  return rng.chance(0.6) ? `${s} ${rng.pick(TAILS)}.` : `${s}${rng.pick(['.', '!', '?', ''])}`;
}

export function uiString(rng) {
  return rng.weighted([
    [() => rng.pick(UI_FIXED), 3],
    [() => `${rng.pick(UI_VERBS)} ${rng.pick(UI_OBJECTS)}`, 3],
    [() => `${rng.int(2, 250)} ${rng.pick(['unread messages', 'items selected', 'files', 'new followers', 'min left', 'of 12'])}`, 1],
    [() => `${rng.pick(UI_OBJECTS)[0].toUpperCase()}${rng.pick(UI_OBJECTS).slice(1)} settings`, 1],
    [() => `${rng.int(5, 100)}%`, 0.5],
  ])();
}

/** One line of 2-45 characters of a kind drawn at random. */
export function lineText(rng) {
  const kind = rng.weighted([['ui', 3], ['sentence', 3], ['name', 1], ['price', 1], ['date', 1], ['code', 1], ['email', 1], ['url', 1]]);
  for (;;) {
    const t = {
      ui: () => uiString(rng),
      sentence: () => sentence(rng),
      name: () => personName(rng),
      price: () => rng.pick([() => money(rng), () => `Total ${money(rng)}`, () => `${rng.pick(ITEMS)} ${money(rng)}`])(),
      date: () => date(rng),
      code: () => code(rng),
      email: () => email(rng),
      url: () => url(rng),
    }[kind]();
    if (t.length >= 2 && t.length <= 45) return { text: t, kind };
  }
}

/**
 * Random characters, 4-30 of them with a space now and then: text that no model can guess from
 * the words it was trained on, so it measures reading alone.
 */
export function randomCharacters(rng) {
  const sets = ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789', '.,:;-/()#$%&@!?+*=_'];
  const n = rng.int(4, 30);
  let t = '';
  for (let i = 0; i < n; i++) {
    if (t && !t.endsWith(' ') && i < n - 1 && rng.chance(0.12)) t += ' ';
    else t += rng.pick([...sets[rng.weighted([[0, 45], [1, 20], [2, 23], [3, 12]])]]);
  }
  return t.trim();
}

// ---------------------------------------------------------------------------------------------
// Fonts

/** [family, kind, seen_design]. */
export const FONTS = [
  ['DejaVu Sans', 'sans', false],
  ['FreeSans', 'sans', false],
  ['Nimbus Sans', 'sans', false],
  ['TeX Gyre Heros', 'sans', false],
  ['Cantarell', 'sans', false],
  ['Linux Biolinum O', 'sans', false],
  ['DejaVu Serif', 'serif', false],
  ['FreeSerif', 'serif', false],
  ['Nimbus Roman', 'serif', false],
  ['TeX Gyre Termes', 'serif', false],
  ['TeX Gyre Pagella', 'serif', false],
  ['TeX Gyre Schola', 'serif', false],
  ['TeX Gyre Bonum', 'serif', false],
  ['URW Bookman', 'serif', false],
  ['C059', 'serif', false],
  ['P052', 'serif', false],
  ['Linux Libertine O', 'serif', false],
  ['DejaVu Sans Mono', 'mono', false],
  ['FreeMono', 'mono', false],
  ['Nimbus Mono PS', 'mono', false],
  ['TeX Gyre Cursor', 'mono', false],
  ['DejaVu Sans Condensed', 'condensed', false],
  ['Nimbus Sans Narrow', 'condensed', false],
  ['TeX Gyre Heros Cn', 'condensed', false],
  ['URW Gothic', 'display', false],
  ['TeX Gyre Adventor', 'display', false],
  ['Linux Libertine Display O', 'display', false],
  ['Liberation Sans', 'sans', true],
  ['Liberation Serif', 'serif', true],
  ['Liberation Mono', 'mono', true],
  ['Carlito', 'sans', true],
  ['Caladea', 'serif', true],
  ['Noto Sans', 'sans', true],
  ['Noto Serif', 'serif', true],
  ['Open Sans', 'sans', true],
];
/**
 * Unseen designs are what the set is for; the seen ones (8 families against 26) get 0.6 of an
 * unseen family's weight, about a sixth of the lines: enough to compare the two.
 */
export function pickFont(rng, fonts) {
  return rng.weighted(fonts.map((f) => [f, f.seen ? 0.6 : 1]));
}

// ---------------------------------------------------------------------------------------------
// Colours

export const DARK_TEXT = ['#111111', '#000000', '#222b36', '#1a237e', '#3b2f2f', '#0b3d1e', '#37474f', '#4a148c'];
export const LIGHT_TEXT = ['#ffffff', '#e8eaed', '#f5f5f5', '#ffd54f', '#c5e1a5', '#b3e5fc', '#ffe0b2'];
export const PASTEL = ['#fdf1d6', '#e3f2fd', '#e8f5e9', '#fce4ec', '#f3e5f5', '#fff8e1', '#e0f7fa', '#f1f8e9', '#ede7f6'];
export const DARK_BG = ['#0d47a1', '#263238', '#4a148c', '#1b5e20', '#b71c1c', '#004d40', '#3e2723', '#283593', '#5d4037'];
export const BLACK_BG = ['#000000', '#121212', '#202124', '#1e1e1e', '#0f172a'];

/** Colours of a line: [text, background CSS, a flat colour for filling after rotation]. */
export function lineColours(rng, polarity, background) {
  if (polarity === 'dark-on-light') {
    if (background === 'white') return [rng.pick(DARK_TEXT), '#ffffff', '#ffffff'];
    if (background === 'colour') {
      const bg = rng.pick(PASTEL);
      return [rng.pick(DARK_TEXT), bg, bg];
    }
    if (background === 'low-contrast') {
      // Contrast ratios of about 2.5-3.5: placeholder text, disabled buttons, watermarks.
      const pairs = [['#8a8a8a', '#f2f2f2'], ['#707070', '#d4d4d4'], ['#6d7b8a', '#dde3ea'], ['#9a8c6e', '#f7f0df'], ['#7f7f9a', '#e6e6f0']];
      const [fg, bg] = rng.pick(pairs);
      return [fg, bg, bg];
    }
    const a = rng.pick(PASTEL);
    const b = rng.pick(['#ffffff', '#dfe9f3', '#f6e7d8', '#e9f5e1']);
    return [rng.pick(DARK_TEXT), `linear-gradient(${rng.pick([90, 180, 135])}deg, ${a}, ${b})`, a];
  }
  if (background === 'black') {
    const bg = rng.pick(BLACK_BG);
    return [rng.pick(LIGHT_TEXT), bg, bg];
  }
  if (background === 'colour') {
    const bg = rng.pick(DARK_BG);
    return [rng.pick(['#ffffff', '#f5f5f5', '#ffe082']), bg, bg];
  }
  if (background === 'low-contrast') {
    const pairs = [['#9e9e9e', '#4a4a4a'], ['#8fa3b8', '#2f3e4e'], ['#a08f7a', '#4b4034'], ['#7f8c8d', '#2c3333']];
    const [fg, bg] = rng.pick(pairs);
    return [fg, bg, bg];
  }
  const a = rng.pick(DARK_BG);
  const b = rng.pick(BLACK_BG);
  return [rng.pick(LIGHT_TEXT), `linear-gradient(${rng.pick([90, 180, 135])}deg, ${a}, ${b})`, a];
}

// ---------------------------------------------------------------------------------------------
// Single lines

export const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lineSpec(rng, fonts) {
  const font = pickFont(rng, fonts);
  // Sizes of screen text mostly, a tail of headings: 10-60 px.
  const size = rng.weighted([[rng.int(10, 13), 3], [rng.int(14, 20), 4], [rng.int(21, 32), 3], [rng.int(33, 60), 2]]);
  const polarity = rng.chance(0.25) ? 'light-on-dark' : 'dark-on-light';
  const background =
    polarity === 'dark-on-light'
      ? rng.weighted([['white', 4], ['colour', 2], ['low-contrast', 1], ['gradient', 1]])
      : rng.weighted([['black', 3], ['colour', 3], ['low-contrast', 1], ['gradient', 1]]);
  const [fg, bg, fill] = lineColours(rng, polarity, background);
  const padding = rng.weighted([['tight', 1], ['normal', 3], ['generous', 1]]);
  const degradation = rng.weighted([['none', 5], ['blur', 1], ['noise', 1], ['jpeg', 1], ['skew', 1]]);
  const { text, kind } = lineText(rng);
  return {
    text,
    text_kind: kind,
    font: font.family,
    family_kind: font.kind,
    seen_design: font.seen,
    size_px: size,
    bold: rng.chance(0.2),
    italic: rng.chance(0.15),
    polarity,
    background,
    padding,
    degradation,
    fg,
    bg,
    fill,
    // Drawn now so the sequence does not depend on which degradation needs which numbers.
    deg: { sigma: rng.uniform(0.5, 1), noise: rng.uniform(6, 18), quality: rng.int(30, 60), angle: rng.uniform(1, 2) * (rng.chance(0.5) ? -1 : 1), seed: rng.int(1, 2 ** 30) },
  };
}

/** A line's metadata.jsonl row: its spec less the drawing's own values (colours, degradation numbers). */
export function lineRecord(file_name, spec) {
  const { fg, bg, fill, deg, ...meta } = spec;
  return JSON.stringify({ file_name, ...meta });
}

/** A line's padding, [vertical, horizontal] in px, from its size and padding kind. */
export function paddingPx(spec) {
  const s = spec.size_px;
  if (spec.padding === 'tight') return [Math.max(1, Math.round(s * 0.08)), Math.max(1, Math.round(s * 0.1))];
  if (spec.padding === 'normal') return [Math.round(s * 0.35), Math.round(s * 0.5)];
  return [Math.round(s * 1.1), Math.round(s * 1.6)];
}

export function paddingCss(spec) {
  const [v, h] = paddingPx(spec);
  return `${v}px ${h}px`;
}

export async function degrade(png, spec) {
  const d = spec.deg;
  if (spec.degradation === 'none') return png;
  if (spec.degradation === 'blur') return sharp(png).blur(d.sigma).png().toBuffer();
  if (spec.degradation === 'jpeg') {
    const jpg = await sharp(png).jpeg({ quality: d.quality, mozjpeg: false }).toBuffer();
    return sharp(jpg).png().toBuffer();
  }
  if (spec.degradation === 'skew') {
    return sharp(png).rotate(d.angle, { background: spec.fill }).png().toBuffer();
  }
  // Gaussian noise of its own seed on every channel: sensor noise of a photographed screen.
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const rng = new Rng(d.seed);
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(out[i] + d.noise * rng.gauss())));
  return sharp(out, { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toBuffer();
}
