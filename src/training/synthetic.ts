// Synthetic printed text lines for training OCR models: random text rendered in many real fonts
// with the small defects of scanned or photographed print, written as an imagefolder dataset
// (images + metadata.jsonl) that loadImageTextDataset reads.
//
// How a line is drawn, and why this way:
// - Glyph outlines come from font files shipped in npm packages (@fontsource/*, WOFF) and are
//   parsed by opentype.js; the line is laid out here (advance widths, kerning, letter spacing)
//   and becomes one SVG path that sharp rasterises with librsvg. No system font, fontconfig or
//   network is involved, so a fresh machine renders exactly the intended typefaces.
// - Every random choice for line i comes from SeededRandom(seed, i): the same seed gives the same
//   files, whatever the count or the order in which lines finish.
// - Geometry (rotation, stretch, margins, baseline jitter) is done in the SVG; blur in libvips;
//   Gaussian noise in JS on the raw pixels (libvips has no seeded noise).

import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import opentype, { type Font, type PathCommand } from 'opentype.js';
import sharp from 'sharp';
import { COMMON_WORDS, DOMAINS, MONTHS, PROPER_NAMES, SHORT_SENTENCES, STREET_TYPES, WEEKDAYS } from './corpus.js';
import { SeededRandom } from './random.js';

// ---------------------------------------------------------------------------------------------
// Fonts

export type FontCategory = 'serif' | 'sans' | 'mono' | 'condensed' | 'slab';
export type FontStyle = 'regular' | 'bold' | 'italic' | 'bold-italic';

/** Families used for synthetic lines: npm package (under @fontsource/) and kind of face. */
const FAMILIES: ReadonlyArray<{ pkg: string; name: string; category: FontCategory }> = [
  { pkg: 'roboto', name: 'Roboto', category: 'sans' },
  { pkg: 'lato', name: 'Lato', category: 'sans' },
  { pkg: 'pt-sans', name: 'PT Sans', category: 'sans' },
  { pkg: 'arimo', name: 'Arimo', category: 'sans' },
  { pkg: 'ibm-plex-sans', name: 'IBM Plex Sans', category: 'sans' },
  { pkg: 'tinos', name: 'Tinos', category: 'serif' },
  { pkg: 'pt-serif', name: 'PT Serif', category: 'serif' },
  { pkg: 'libre-baskerville', name: 'Libre Baskerville', category: 'serif' },
  { pkg: 'crimson-text', name: 'Crimson Text', category: 'serif' },
  { pkg: 'ibm-plex-serif', name: 'IBM Plex Serif', category: 'serif' },
  { pkg: 'lora', name: 'Lora', category: 'serif' },
  { pkg: 'cousine', name: 'Cousine', category: 'mono' },
  { pkg: 'courier-prime', name: 'Courier Prime', category: 'mono' },
  { pkg: 'ibm-plex-mono', name: 'IBM Plex Mono', category: 'mono' },
  { pkg: 'space-mono', name: 'Space Mono', category: 'mono' },
  { pkg: 'inconsolata', name: 'Inconsolata', category: 'mono' },
  { pkg: 'archivo-narrow', name: 'Archivo Narrow', category: 'condensed' },
  { pkg: 'barlow-condensed', name: 'Barlow Condensed', category: 'condensed' },
  { pkg: 'ibm-plex-sans-condensed', name: 'IBM Plex Sans Condensed', category: 'condensed' },
  { pkg: 'roboto-slab', name: 'Roboto Slab', category: 'slab' },
];

const STYLE_FILES: Record<FontStyle, string> = {
  regular: '400-normal',
  bold: '700-normal',
  italic: '400-italic',
  'bold-italic': '700-italic',
};

export interface FontFace {
  family: string;
  category: FontCategory;
  style: FontStyle;
  /** The font file it was read from. */
  file: string;
}

/** A face whose file is parsed on first use (parsing all ~80 files takes seconds). */
interface FaceEntry extends FontFace {
  parsed?: ParsedFace;
}

interface ParsedFace {
  font: Font;
  /** Cap height in font units (from OS/2, or measured on 'H'). */
  capHeight: number;
  /** Outline of each glyph in font units (y down), by glyph index, built on first use. */
  outlines: Map<number, PathCommand[]>;
}

const require = createRequire(import.meta.url);
let faces: FaceEntry[] | null = null;

/** Finds every face file of the families (parsing waits until a face is drawn with). */
function loadFaces(): FaceEntry[] {
  if (faces) return faces;
  const out: FaceEntry[] = [];
  for (const fam of FAMILIES) {
    let dir: string;
    try {
      dir = join(dirname(require.resolve(`@fontsource/${fam.pkg}/package.json`)), 'files');
    } catch {
      throw new Error(`synthetic text lines: font package @fontsource/${fam.pkg} is not installed; run npm install in the package root`);
    }
    for (const [style, suffix] of Object.entries(STYLE_FILES) as Array<[FontStyle, string]>) {
      const file = join(dir, `${fam.pkg}-latin-${suffix}.woff`);
      if (!statSync(file, { throwIfNoEntry: false })) continue; // some families have no italic
      out.push({ family: fam.name, category: fam.category, style, file });
    }
  }
  faces = out;
  return out;
}

function parsed(face: FaceEntry): ParsedFace {
  if (face.parsed) return face.parsed;
  const bytes = readFileSync(face.file);
  let font: Font;
  try {
    font = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  } catch (e) {
    throw new Error(`synthetic text lines: cannot parse font file ${face.file}: ${(e as Error).message}`);
  }
  const os2 = (font as unknown as { tables: { os2?: { sCapHeight?: number } } }).tables.os2;
  const capHeight = os2?.sCapHeight && os2.sCapHeight > 0 ? os2.sCapHeight : measureCapHeight(font);
  face.parsed = { font, capHeight, outlines: new Map() };
  return face.parsed;
}

function measureCapHeight(font: Font): number {
  const cmds = font.charToGlyph('H').getPath(0, 0, font.unitsPerEm).commands;
  return Math.max(...cmds.map((c) => -(c.y ?? 0)));
}

/** The faces synthetic lines are drawn with (family, kind, style, file). */
export function listFontFaces(): FontFace[] {
  return loadFaces().map(({ family, category, style, file }) => ({ family, category, style, file }));
}

function covers(face: ParsedFace, text: string): boolean {
  for (const ch of text) {
    if (ch !== ' ' && face.font.charToGlyph(ch).index === 0) return false;
  }
  return true;
}

function outline(face: ParsedFace, ch: string): { commands: PathCommand[]; advance: number; glyph: ReturnType<Font['charToGlyph']> } {
  const glyph = face.font.charToGlyph(ch);
  let commands = face.outlines.get(glyph.index);
  if (!commands) {
    commands = glyph.getPath(0, 0, face.font.unitsPerEm).commands;
    face.outlines.set(glyph.index, commands);
  }
  return { commands, advance: glyph.advanceWidth ?? 0, glyph };
}

// ---------------------------------------------------------------------------------------------
// Text

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const MON3 = MONTHS.map((m) => m.slice(0, 3));
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const PUNCT = '.,;:!?\'"()-/&%#*+=@$';

function letters(rng: SeededRandom, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.int(0, alphabet.length - 1)];
  return s;
}

function caseStyle(rng: SeededRandom, s: string): string {
  const style = rng.weighted([['lower', 45], ['title', 25], ['sentence', 15], ['upper', 12], ['mixed', 3]] as const);
  switch (style) {
    case 'lower': return s;
    case 'upper': return s.toUpperCase();
    case 'title': return s.replace(/\b[a-z]/g, (c) => c.toUpperCase());
    case 'sentence': return s.charAt(0).toUpperCase() + s.slice(1);
    case 'mixed': return Array.from(s, (c) => (rng.chance(0.5) ? c.toUpperCase() : c)).join('');
  }
}

function word(rng: SeededRandom): string {
  return rng.chance(0.12) ? rng.pick(PROPER_NAMES) : rng.pick(COMMON_WORDS);
}

function wordsText(rng: SeededRandom): string {
  const n = rng.weighted([[1, 30], [2, 25], [3, 20], [4, 12], [5, 8], [6, 5]] as const);
  const ws: string[] = [];
  for (let i = 0; i < n; i++) {
    let w = word(rng);
    if (i < n - 1 && rng.chance(0.08)) w += rng.pick([',', ';', ':', ' -', ' &']);
    ws.push(w);
  }
  let s = caseStyle(rng, ws.join(' '));
  if (rng.chance(0.2)) s += rng.pick(['.', '!', '?', ':', '...', ',']);
  if (rng.chance(0.04)) {
    const [open, close] = rng.pick([['"', '"'], ["'", "'"], ['(', ')'], ['[', ']']] as const);
    s = open + s + close;
  }
  return s;
}

function sentenceText(rng: SeededRandom): string {
  if (rng.chance(0.5)) return rng.pick(SHORT_SENTENCES);
  const n = rng.int(3, 8);
  const ws: string[] = [];
  for (let i = 0; i < n; i++) ws.push(word(rng) + (i > 0 && i < n - 1 && rng.chance(0.1) ? ',' : ''));
  const s = ws.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1) + rng.pick(['.', '.', '.', '!', '?', ';', '']);
}

function integerText(rng: SeededRandom, maxDigits: number, grouped: boolean, sep = ','): string {
  const digits = rng.int(1, maxDigits);
  let n = String(rng.int(digits === 1 ? 0 : 10 ** (digits - 1), 10 ** digits - 1));
  if (grouped) n = n.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
  return n;
}

function numberText(rng: SeededRandom): string {
  const kind = rng.weighted([['int', 25], ['grouped', 15], ['decimal', 20], ['percent', 10], ['negative', 6],
    ['ordinal', 8], ['fraction', 4], ['range', 6], ['measure', 6]] as const);
  switch (kind) {
    case 'int': return integerText(rng, 7, false);
    case 'grouped': return integerText(rng, 9, true, rng.chance(0.85) ? ',' : rng.pick(['.', ' ']));
    case 'decimal': return `${integerText(rng, 5, rng.chance(0.3))}.${letters(rng, DIGITS, rng.int(1, 4))}`;
    case 'percent': return `${rng.chance(0.5) ? integerText(rng, 2, false) : `${rng.int(0, 99)}.${rng.int(0, 9)}`}${rng.chance(0.8) ? '%' : ' %'}`;
    case 'negative': return `-${integerText(rng, 4, false)}${rng.chance(0.5) ? `.${letters(rng, DIGITS, 2)}` : ''}`;
    case 'ordinal': {
      const n = rng.int(1, 120);
      const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
      return `${n}${suffix}`;
    }
    case 'fraction': return `${rng.int(1, 9)}/${rng.int(2, 16)}`;
    case 'range': { const a = rng.int(0, 500); return `${a}-${a + rng.int(1, 500)}`; }
    case 'measure': return `${integerText(rng, 3, false)}${rng.chance(0.4) ? `.${rng.int(0, 9)}` : ''} ${rng.pick(['kg', 'g', 'mm', 'cm', 'm', 'km', 'ml', 'L', 'lb', 'oz', 'ft', 'in', 'mph', 'km/h', 'kWh', 'MB', 'GB'])}`;
  }
}

function dateText(rng: SeededRandom): string {
  const y = rng.int(1950, 2035);
  const m = rng.int(1, 12);
  const d = rng.int(1, 28);
  const wd = WEEKDAYS[rng.int(0, 6)]!;
  const fmt = rng.int(0, 12);
  switch (fmt) {
    case 0: return `${y}-${pad(m, 2)}-${pad(d, 2)}`;
    case 1: return `${pad(d, 2)}/${pad(m, 2)}/${y}`;
    case 2: return `${pad(m, 2)}/${pad(d, 2)}/${String(y).slice(2)}`;
    case 3: return `${pad(d, 2)}.${pad(m, 2)}.${y}`;
    case 4: return `${MONTHS[m - 1]} ${d}, ${y}`;
    case 5: return `${d} ${MON3[m - 1]} ${y}`;
    case 6: return `${wd.slice(0, 3)}, ${d} ${MON3[m - 1]} ${y}`;
    case 7: return `${pad(d, 2)}-${MON3[m - 1]!.toUpperCase()}-${y}`;
    case 8: return `${y}/${pad(m, 2)}/${pad(d, 2)}`;
    case 9: return `${wd}, ${MONTHS[m - 1]} ${d}`;
    case 10: return `${rng.int(1, 12)}:${pad(rng.int(0, 59), 2)} ${rng.pick(['AM', 'PM', 'am', 'pm', 'a.m.', 'p.m.'])}`;
    case 11: return `${pad(rng.int(0, 23), 2)}:${pad(rng.int(0, 59), 2)}${rng.chance(0.4) ? `:${pad(rng.int(0, 59), 2)}` : ''}`;
    default: return `${rng.pick(['Date', 'Dated', 'Due', 'Issued', 'Expires', 'DATE'])}: ${pad(d, 2)}/${pad(m, 2)}/${y}`;
  }
}

function priceText(rng: SeededRandom): string {
  const amount = `${integerText(rng, rng.chance(0.8) ? 3 : 6, true)}.${letters(rng, DIGITS, 2)}`;
  const fmt = rng.weighted([['$', 40], ['€', 10], ['£', 10], ['code', 10], ['label', 25], ['euro-comma', 5]] as const);
  switch (fmt) {
    case '$': return `$${amount}`;
    case '€': return `€${amount}`;
    case '£': return `£${amount}`;
    case 'code': return `${amount} ${rng.pick(['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'CHF'])}`;
    case 'label': return `${rng.pick(['Total', 'Subtotal', 'TOTAL', 'Tax', 'Amount due', 'Balance', 'Price', 'Tip', 'Change'])}${rng.chance(0.7) ? ':' : ''} $${amount}`;
    case 'euro-comma': return `${amount.replace(/,/g, '.').replace(/\.(\d\d)$/, ',$1')} €`;
  }
}

function codeText(rng: SeededRandom): string {
  const kind = rng.int(0, 13);
  switch (kind) {
    case 0: return `INV-${rng.int(2015, 2030)}-${pad(rng.int(0, 99999), 5)}`;
    case 1: return `${rng.pick(['No.', 'Nr.', '#', 'Ref.', 'ID'])} ${integerText(rng, 6, false)}`;
    case 2: return `${letters(rng, UPPER, 2)}${letters(rng, DIGITS, 2)} ${letters(rng, UPPER, 2)}${letters(rng, DIGITS, 2)}`;
    case 3: return `SKU ${letters(rng, DIGITS, 4)}-${letters(rng, UPPER + DIGITS, 2)}`;
    case 4: return `(${letters(rng, DIGITS, 3)}) ${letters(rng, DIGITS, 3)}-${letters(rng, DIGITS, 4)}`;
    case 5: return `+${rng.int(1, 49)} ${letters(rng, DIGITS, 2)} ${letters(rng, DIGITS, 4)} ${letters(rng, DIGITS, 4)}`;
    case 6: return `${rng.pick(PROPER_NAMES).toLowerCase()}${rng.pick(['.', '_', ''])}${rng.pick(COMMON_WORDS)}@${rng.pick(DOMAINS)}`;
    case 7: return `www.${rng.pick(DOMAINS)}/${rng.pick(COMMON_WORDS)}`;
    case 8: return `${letters(rng, UPPER, 2)}-${letters(rng, DIGITS, 3)}-${letters(rng, UPPER, 2)}`;
    case 9: return `0x${letters(rng, '0123456789ABCDEF', rng.int(2, 8))}`;
    case 10: return `Order #${integerText(rng, 6, false)}`;
    case 11: return `${rng.int(1, 999)}${rng.chance(0.2) ? rng.pick(['A', 'B', 'C']) : ''} ${rng.pick(PROPER_NAMES)} ${rng.pick(STREET_TYPES)}`;
    case 12: return `${rng.pick(['Page', 'Room', 'Gate', 'Seat', 'Table', 'Platform', 'Flight', 'Unit', 'Apt'])} ${rng.chance(0.3) ? letters(rng, UPPER, 1) + rng.int(1, 99) : rng.int(1, 400)}${rng.chance(0.2) ? ` of ${rng.int(400, 999)}` : ''}`;
    default: return letters(rng, UPPER + DIGITS, rng.int(4, 12));
  }
}

function shortText(rng: SeededRandom): string {
  return letters(rng, rng.pick([UPPER, UPPER.toLowerCase(), DIGITS, PUNCT, UPPER + DIGITS]), rng.int(1, 3));
}

function mixedText(rng: SeededRandom): string {
  const parts = [rng.pick([wordsText, numberText, dateText, priceText, codeText])(rng), rng.pick([wordsText, numberText, priceText, dateText])(rng)];
  return parts.join(rng.pick([' ', ': ', ' - ', ', ', ' / ', '  ']));
}

const GENERATORS: ReadonlyArray<readonly [(rng: SeededRandom) => string, number]> = [
  [wordsText, 30], [sentenceText, 18], [numberText, 10], [dateText, 9], [priceText, 8], [codeText, 10],
  [mixedText, 12], [shortText, 3],
];

/**
 * A random line of printed text: words, sentences, numbers, dates, prices, codes, or a mix,
 * between min_length and max_length characters, without leading, trailing or doubled spaces.
 */
export function randomText(rng: SeededRandom, options: { min_length?: number; max_length?: number } = {}): string {
  const min = options.min_length ?? 1;
  const max = options.max_length ?? 40;
  if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 1 && max >= min)) {
    throw new Error(`randomText: need integers 1 <= min_length <= max_length, got ${min}, ${max}`);
  }
  for (let attempt = 0; ; attempt++) {
    let s = rng.weighted(GENERATORS)(rng).replace(/\s+/g, ' ').trim();
    if (s.length > max) {
      // Cut at a word boundary when there is one, else hard.
      const cut = s.slice(0, max + 1).lastIndexOf(' ');
      s = (cut >= min ? s.slice(0, cut) : s.slice(0, max)).trim();
    }
    if (s.length >= min && s.length <= max) return s;
    // Too short for min_length: append another piece and try again.
    if (attempt > 50) return (s + ' ' + letters(rng, UPPER.toLowerCase(), max)).slice(0, Math.max(min, 1)).trim().padEnd(min, 'x');
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

export interface RenderOptions {
  /** Image height in pixels (default 48). */
  height?: number;
  /** Fixed canvas width; by default the width follows the text. */
  width?: number;
  /** 'rgb' (default) or 'gray' PNGs. */
  color?: 'rgb' | 'gray';
  /** Restrict to these families (names as in listFontFaces) or categories ('serif', 'mono', ...). */
  fonts?: readonly string[];
}

export interface RenderedLine {
  png: Buffer;
  width: number;
  height: number;
  /** e.g. 'PT Serif bold-italic'. */
  font: string;
}

type Rgb = [number, number, number];
const clampByte = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
const hex = ([r, g, b]: Rgb) => `#${[r, g, b].map((v) => clampByte(v).toString(16).padStart(2, '0')).join('')}`;

function paperColor(rng: SeededRandom, lightness: number): Rgb {
  const tint = rng.weighted([['neutral', 45], ['warm', 35], ['cool', 12], ['green', 4], ['pink', 4]] as const);
  const t = rng.uniform(0, 1);
  const L = lightness;
  switch (tint) {
    case 'neutral': return [L, L, L];
    case 'warm': return [L, L - 6 * t - 2, L - 22 * t - 4];
    case 'cool': return [L - 10 * t, L - 4 * t, L];
    case 'green': return [L - 12 * t, L, L - 10 * t];
    case 'pink': return [L, L - 10 * t, L - 8 * t];
  }
}

function inkColor(rng: SeededRandom): Rgb {
  const kind = rng.weighted([['black', 62], ['gray', 16], ['blue', 12], ['brown', 5], ['red', 3], ['green', 2]] as const);
  const k = rng.uniform(0, 45);
  switch (kind) {
    case 'black': return [k, k, k];
    case 'gray': { const g = rng.uniform(60, 120); return [g, g, g]; }
    case 'blue': return [k * 0.4, k * 0.6 + 15, rng.uniform(90, 150)];
    case 'brown': return [rng.uniform(70, 100), rng.uniform(40, 60), rng.uniform(20, 35)];
    case 'red': return [rng.uniform(130, 170), k * 0.5, k * 0.5];
    case 'green': return [k * 0.4, rng.uniform(70, 100), k * 0.5];
  }
}

function pickFace(rng: SeededRandom, text: string, filter: readonly string[] | undefined): { entry: FaceEntry; face: ParsedFace } {
  let pool = loadFaces();
  if (filter && filter.length > 0) {
    const wanted = new Set(filter.map((f) => f.toLowerCase()));
    pool = pool.filter((f) => wanted.has(f.family.toLowerCase()) || wanted.has(f.category));
    if (pool.length === 0) {
      throw new Error(`synthetic text lines: no font matches ${JSON.stringify(filter)}; families: ${FAMILIES.map((f) => f.name).join(', ')}; categories: serif, sans, mono, condensed, slab`);
    }
  }
  for (;;) {
    if (pool.length === 0) throw new Error(`synthetic text lines: no font has glyphs for every character of ${JSON.stringify(text)}`);
    // Family first (so families with fewer styles are not under-drawn), then style.
    const families = [...new Set(pool.map((f) => f.family))];
    const family = rng.pick(families);
    const styles = pool.filter((f) => f.family === family);
    const style = rng.weighted([['regular', 55], ['bold', 20], ['italic', 15], ['bold-italic', 10]] as const);
    const entry = styles.find((f) => f.style === style) ?? styles.find((f) => f.style === 'regular') ?? styles[0]!;
    const face = parsed(entry);
    if (covers(face, text)) return { entry, face };
    pool = pool.filter((f) => f !== entry); // lacks a glyph: draw again among the others
  }
}

/** Appends one glyph's outline, scaled by s and placed at (x, y), as SVG path data. */
function glyphPath(commands: PathCommand[], x: number, y: number, s: number, sx: number, out: string[]): void {
  const X = (v: number | undefined) => (x + (v ?? 0) * s * sx).toFixed(2);
  const Y = (v: number | undefined) => (y + (v ?? 0) * s).toFixed(2);
  for (const c of commands) {
    switch (c.type) {
      case 'M': out.push(`M${X(c.x)} ${Y(c.y)}`); break;
      case 'L': out.push(`L${X(c.x)} ${Y(c.y)}`); break;
      case 'Q': out.push(`Q${X(c.x1)} ${Y(c.y1)} ${X(c.x)} ${Y(c.y)}`); break;
      case 'C': out.push(`C${X(c.x1)} ${Y(c.y1)} ${X(c.x2)} ${Y(c.y2)} ${X(c.x)} ${Y(c.y)}`); break;
      case 'Z': out.push('Z'); break;
    }
  }
}

/**
 * Renders one text line as a PNG, every random choice drawn from `rng` (see the file header
 * for what varies).
 */
export async function renderTextLine(text: string, rng: SeededRandom, options: RenderOptions = {}): Promise<RenderedLine> {
  const H = options.height ?? 48;
  if (!Number.isInteger(H) || H < 8 || H > 1024) throw new Error(`renderTextLine: height must be an integer from 8 to 1024, got ${H}`);
  if (options.width !== undefined && (!Number.isInteger(options.width) || options.width < H / 2)) {
    throw new Error(`renderTextLine: width must be an integer of at least height/2, got ${options.width}`);
  }
  if (text.length === 0) throw new Error('renderTextLine: empty text');
  const { entry, face } = pickFace(rng, text, options.fonts);
  const font = face.font;

  // Size: the cap height is a fraction of the line height, as in tight crops of real print.
  let capFraction = rng.uniform(0.34, 0.52);
  const stretch = rng.chance(0.35) ? rng.uniform(0.88, 1.12) : 1; // horizontal scale of glyphs
  // Letter spacing (em): mostly none, some tight or loose tracking, rarely spaced-out capitals.
  const spacingEm = rng.chance(0.55) ? 0 : rng.chance(0.9) ? rng.uniform(-0.03, 0.08) : rng.uniform(0.1, 0.25);
  const jitter = rng.chance(0.3) ? rng.uniform(0.2, 1.0) : 0; // per-glyph baseline jitter, px
  const jitters = Array.from(text, () => (jitter ? rng.uniform(-jitter, jitter) : 0));
  const kerning = rng.chance(0.9);

  // Lay out at unit size to measure, then scale to fit.
  const layout = (size: number) => {
    const s = size / font.unitsPerEm;
    const glyphs: Array<{ commands: PathCommand[]; x: number }> = [];
    let x = 0;
    let prev: ReturnType<Font['charToGlyph']> | null = null;
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (const ch of text) {
      const g = outline(face, ch);
      if (prev && kerning) x += font.getKerningValue(prev, g.glyph) * s * stretch;
      glyphs.push({ commands: g.commands, x });
      for (const c of g.commands) {
        for (const [px, py] of [[c.x, c.y], [c.x1, c.y1], [c.x2, c.y2]] as const) {
          if (px === undefined || py === undefined) continue;
          minX = Math.min(minX, x + px * s * stretch); maxX = Math.max(maxX, x + px * s * stretch);
          minY = Math.min(minY, py * s); maxY = Math.max(maxY, py * s);
        }
      }
      x += g.advance * s * stretch + spacingEm * size;
      prev = g.glyph;
    }
    if (minX === Infinity) { minX = 0; maxX = x; minY = -face.capHeight * s; maxY = 0; } // only spaces
    return { s, glyphs, minX, maxX, minY, maxY, advance: x };
  };

  let size = (capFraction * H * font.unitsPerEm) / face.capHeight;
  let L = layout(size);
  // Ascenders and descenders must fit with a pixel to spare; shrink the type if not.
  const fitV = (H - 2 - 2 * jitter) / (L.maxY - L.minY);
  if (fitV < 1) { size *= fitV; L = layout(size); capFraction *= fitV; }

  // Margins: real crops leave a little paper around the text, more on some.
  let left = rng.uniform(0.05, 0.6) * H;
  let right = rng.uniform(0.05, 0.6) * H;
  const inkW = L.maxX - L.minX;
  let W: number;
  if (options.width !== undefined) {
    W = options.width;
    const avail = W - 4;
    if (inkW > avail) { size *= avail / inkW; L = layout(size); }
    const free = W - (L.maxX - L.minX);
    left = rng.uniform(0.05, 0.6) * Math.max(0, free) ;
    right = free - left;
  } else {
    W = Math.max(Math.ceil(inkW + left + right), Math.ceil(H / 2));
  }
  const inkH = L.maxY - L.minY;
  // Vertical placement: anywhere the ink fits, leaning to the centre.
  const slack = H - inkH;
  const top = slack * (0.5 + 0.35 * (rng.uniform(-1, 1) + rng.uniform(-1, 1)) / 2);
  const baseline = top - L.minY;
  const x0 = left - L.minX;

  // Rotation up to ±2°, limited so that the rotated ink stays on the canvas.
  let angle = Math.max(-2, Math.min(2, rng.normal(0, 0.7)));
  const halfW = inkW / 2, halfH = inkH / 2;
  const room = Math.min(top, H - top - inkH);
  const maxRad = Math.max(0, Math.atan2(Math.max(0, room - 0.5), halfW + halfH));
  angle = Math.sign(angle) * Math.min(Math.abs(angle), (maxRad * 180) / Math.PI);
  const cx = left + halfW, cy = top + halfH;

  const parts: string[] = [];
  L.glyphs.forEach((g, i) => glyphPath(g.commands, x0 + g.x, baseline + jitters[i]!, L.s, stretch, parts));

  // Paper, ink and contrast.
  const dim = rng.chance(0.1);
  const paper = paperColor(rng, dim ? rng.uniform(175, 215) : rng.uniform(222, 255));
  const ink = inkColor(rng);
  const gradient = rng.chance(0.15);
  let background = `<rect width="${W}" height="${H}" fill="${hex(paper)}"/>`;
  if (gradient) {
    const other = paper.map((v) => v - rng.uniform(10, 40)) as Rgb;
    const [a, b] = rng.chance(0.5) ? [paper, other] : [other, paper];
    const gx = rng.uniform(0, 1).toFixed(2), gy = rng.uniform(0, 1).toFixed(2);
    background = `<defs><linearGradient id="g" x1="0" y1="0" x2="${gx}" y2="${gy}"><stop offset="0" stop-color="${hex(a)}"/>` +
      `<stop offset="1" stop-color="${hex(b)}"/></linearGradient></defs><rect width="${W}" height="${H}" fill="url(#g)"/>`;
  }
  // A thin stroke in the ink colour thickens strokes a little, like ink spread on paper.
  const bleed = rng.chance(0.2) ? ` stroke="${hex(ink)}" stroke-width="${rng.uniform(0.2, 0.6).toFixed(2)}" stroke-linejoin="round"` : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${background}` +
    `<g transform="rotate(${angle.toFixed(3)} ${cx.toFixed(2)} ${cy.toFixed(2)})"><path fill="${hex(ink)}"${bleed} d="${parts.join('')}"/></g></svg>`;

  let img = sharp(Buffer.from(svg), { density: 72 }).removeAlpha();
  const blur = rng.chance(0.35) ? rng.uniform(0.3, 0.85) : 0;
  if (blur > 0) img = img.blur(blur);
  const raw = await img.raw().toBuffer({ resolveWithObject: true });
  if (raw.info.width !== W || raw.info.height !== H || raw.info.channels !== 3) {
    throw new Error(`renderTextLine: librsvg produced ${raw.info.width}x${raw.info.height}x${raw.info.channels}, expected ${W}x${H}x3`);
  }

  // Gaussian sensor/scan noise, seeded; gray output uses PIL's luma weights.
  const noise = rng.chance(0.75) ? rng.uniform(1, 7) : 0;
  const gray = options.color === 'gray';
  const channels = gray ? 1 : 3;
  const px = new Uint8Array(W * H * channels);
  const src = raw.data;
  for (let p = 0, q = 0; p < W * H; p++) {
    if (gray) {
      const l = (src[3 * p]! * 299 + src[3 * p + 1]! * 587 + src[3 * p + 2]! * 114) / 1000;
      px[q++] = clampByte(l + (noise ? rng.normal(0, noise) : 0));
    } else {
      const n = noise ? rng.normal(0, noise) : 0; // one deviate per pixel: grain, not colour speckle
      px[q++] = clampByte(src[3 * p]! + n);
      px[q++] = clampByte(src[3 * p + 1]! + n);
      px[q++] = clampByte(src[3 * p + 2]! + n);
    }
  }
  // One raw channel would be read as sRGB and written as RGB: say it is grey.
  let encoder = sharp(px, { raw: { width: W, height: H, channels } });
  if (gray) encoder = encoder.toColourspace('b-w');
  const png = await encoder.png({ compressionLevel: 6 }).toBuffer();
  return { png, width: W, height: H, font: `${entry.family} ${entry.style}` };
}

// ---------------------------------------------------------------------------------------------
// Dataset generation

export interface GenerateTextLinesOptions extends RenderOptions {
  /** Output folder; it gets metadata.jsonl and images/NNNNNN.png. */
  out: string;
  /** Number of lines. */
  count: number;
  /** Seed: the same seed and options give byte-identical files (default 0). */
  seed?: number;
  /** Text length bounds in characters (defaults 1 and 40). */
  min_length?: number;
  max_length?: number;
  /** Render these texts (cycled) instead of random ones. */
  texts?: readonly string[];
  /** Lines rendered at once (default: 2 × CPU cores). */
  concurrency?: number;
  /** Replace an existing metadata.jsonl in `out` (default false: refuse). */
  overwrite?: boolean;
  /** Called after each line with (done, total). */
  on_progress?: (done: number, total: number) => void;
}

export interface GenerateTextLinesResult {
  out: string;
  metadata: string;
  count: number;
  seconds: number;
  lines_per_second: number;
}

/**
 * Renders `count` synthetic printed text lines into an imagefolder dataset:
 * `out/images/000000.png ...` and `out/metadata.jsonl` with rows
 * `{"file_name": "images/000000.png", "text": "...", "font": "..."}`, in line order.
 */
export async function generateTextLines(options: GenerateTextLinesOptions): Promise<GenerateTextLinesResult> {
  const { count } = options;
  if (typeof options.out !== 'string' || options.out === '') throw new Error('generateTextLines: out must name a folder');
  if (!Number.isInteger(count) || count < 1) throw new Error(`generateTextLines: count must be a positive integer, got ${count}`);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`generateTextLines: seed must be an integer, got ${seed}`);
  if (options.texts && (options.texts.length === 0 || options.texts.some((t) => typeof t !== 'string' || t.trim() === ''))) {
    throw new Error('generateTextLines: texts must be a non-empty list of non-blank strings');
  }
  const out = resolve(options.out);
  const metadata = join(out, 'metadata.jsonl');
  if (statSync(metadata, { throwIfNoEntry: false }) && !options.overwrite) {
    throw new Error(`generateTextLines: ${metadata} already exists; pass overwrite: true to replace it`);
  }
  mkdirSync(join(out, 'images'), { recursive: true });
  loadFaces(); // fail early on a missing font package

  const digits = Math.max(6, String(count - 1).length);
  const rows = new Array<string>(count);
  const concurrency = Math.max(1, options.concurrency ?? 2 * availableParallelism());
  const started = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      // One generator per line: line i does not depend on which lines were rendered before it.
      const rng = new SeededRandom(seed, i);
      const text = options.texts ? options.texts[i % options.texts.length]! : randomText(rng, options);
      const line = await renderTextLine(text, rng, options);
      const file_name = `images/${pad(i, digits)}.png`;
      await writeFile(join(out, file_name), line.png);
      rows[i] = JSON.stringify({ file_name, text, font: line.font });
      done++;
      options.on_progress?.(done, count);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  writeFileSync(metadata, rows.join('\n') + '\n');
  const seconds = (performance.now() - started) / 1000;
  return { out, metadata, count, seconds, lines_per_second: count / seconds };
}
