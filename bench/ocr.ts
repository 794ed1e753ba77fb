// `npm run bench:ocr [-- --data DIR] [--renderer chromium|pango] [--model PATH] [--num-beams N]
//   [--dtype float32|int8] [--batch-size N] [--limit N] [--seed N] [--json]`: how well OCRReader
// reads text it was never trained on, per condition, beside Tesseract on the same images.
//
// The held-out sets are drawn in system fonts by a browser (scripts/ocr-heldout.mjs, the default)
// or, with --renderer pango, by Pango through libvips (scripts/ocr-heldout-pango.mjs: another
// rasteriser than the Chromium that drew every training line). Without --data they are made once
// into node_modules/.cache/ved-ocr-heldout/seed-N (seed-N-pango) and reused (delete that folder
// after changing the script). --limit N reads the first N lines and first N pages.
// A full run took 2 min at load average 5-11 on the 2-core EPYC (Tesseract's half of it), 13 at 15.
//
// Why it measures what it does:
// - Line images go through the whole reader (layout, polarity, crop, read), because that is what
//   `ved ocr` does to a user's screenshot of one line; a line image read as several lines is
//   counted (their texts joined by spaces are scored) so that layout errors are not hidden.
// - CER is evaluate's (src/training/metrics.ts), corpus-level per group, with runs of spaces
//   collapsed: a receipt's price is far right of its item, and neither reader should pay for
//   how many spaces it writes across that gap.
// - A page's lines are matched to the true lines by text (greedy on normalised edit distance,
//   ≤ 0.5 to count), not by box, so Tesseract's output (text only) is judged the same way; a page
//   is "in order" when every matched line keeps its rank among the matched lines.
// - Tesseract runs as a process per image with OMP_THREAD_LIMIT=1, as batch OCR with it is run
//   (and so it does not take both cores from the reader it is compared with); its time per line
//   includes its start-up, which is what a user of the command pays. Ours is batched in-process.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceDtype } from '../src/models/vision_encoder_decoder.js';
import { bundledOCRModel, OCRReader, type OCRResult } from '../src/ocr/reader.js';
import { cer, editDistance } from '../src/training/metrics.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface LineRow {
  file_name: string;
  text: string;
  /** ui, sentence, name, price, date, code, email, url, or random characters (sets made before it: absent). */
  text_kind?: string;
  font: string;
  family_kind: string;
  seen_design: boolean;
  size_px: number;
  bold: boolean;
  italic: boolean;
  polarity: string;
  background: string;
  padding: string;
  degradation: string;
}

interface PageRow {
  file_name: string;
  kind: string;
  font: string;
  polarity: string;
  lines: Array<{ text: string; box: [number, number, number, number] }>;
}

interface Options {
  data?: string;
  renderer: 'chromium' | 'pango';
  model: string;
  numBeams?: number;
  dtype: InferenceDtype;
  batchSize: number;
  limit?: number;
  seed: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { renderer: 'chromium', model: bundledOCRModel(), dtype: 'float32', batchSize: 32, seed: 1, json: false };
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--data') o.data = v();
    else if (a === '--renderer') {
      const r = v();
      if (r !== 'chromium' && r !== 'pango') throw new Error(`--renderer must be chromium or pango, got ${r}`);
      o.renderer = r;
    }
    else if (a === '--model') o.model = v();
    else if (a === '--num-beams') o.numBeams = int(a, v(), 1);
    else if (a === '--dtype') {
      const d = v();
      if (d !== 'float32' && d !== 'int8') throw new Error(`--dtype must be float32 or int8, got ${d}`);
      o.dtype = d;
    } else if (a === '--batch-size') o.batchSize = int(a, v(), 1);
    else if (a === '--limit') o.limit = int(a, v(), 1);
    else if (a === '--seed') o.seed = int(a, v(), 0);
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown option ${a}; options: --data DIR --renderer chromium|pango --model PATH --num-beams N --dtype float32|int8 --batch-size N --limit N --seed N --json`);
  }
  return o;
}

/** The held-out sets: --data as given, else the cache, drawn on first use. */
function dataDir(o: Options): string {
  if (o.data) {
    for (const f of ['lines/metadata.jsonl', 'pages/metadata.jsonl']) if (!existsSync(join(o.data, f))) throw new Error(`--data ${o.data}: no ${f}`);
    return o.data;
  }
  const pango = o.renderer === 'pango';
  const dir = join(ROOT, 'node_modules', '.cache', 'ved-ocr-heldout', `seed-${o.seed}${pango ? '-pango' : ''}`);
  if (existsSync(join(dir, 'pages', 'metadata.jsonl'))) return dir;
  // Drawn beside the cache and renamed into it, so that an interrupted run leaves no half set.
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  const script = pango ? 'ocr-heldout-pango.mjs' : 'ocr-heldout.mjs';
  process.stderr.write(`drawing the held-out sets (${o.renderer}, seed ${o.seed}) into ${dir} ...\n`);
  // The script's report goes to stderr with ours: stdout carries only the results (--json).
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', script), tmp, '--seed', String(o.seed)], { stdio: ['ignore', process.stderr, 'inherit'] });
  if (r.status !== 0) throw new Error(`scripts/${script} failed (${r.error?.message ?? `exit ${r.status}`}); ${pango ? 'it needs fontconfig and the system fonts' : "it needs Debian's chromium at /usr/bin/chromium"}`);
  renameSync(tmp, dir);
  return dir;
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as T);
}

// ---------------------------------------------------------------------------------------------
// Tesseract

function tesseractVersion(): string | null {
  const r = spawnSync('tesseract', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return (r.stdout || r.stderr).split('\n')[0]!.trim();
}

/** Tesseract's text of each image, its lines trimmed and empty ones dropped, and the seconds it took. */
function tesseract(files: string[], psm: number, progress: (done: number) => void): { texts: string[][]; seconds: number } {
  const texts: string[][] = [];
  const t0 = performance.now();
  for (const f of files) {
    const r = spawnSync('tesseract', [f, 'stdout', '--psm', String(psm), '-l', 'eng'], {
      encoding: 'utf8',
      env: { ...process.env, OMP_THREAD_LIMIT: '1' },
    });
    if (r.error || r.status !== 0) throw new Error(`tesseract ${f}: ${r.error?.message ?? r.stderr}`);
    texts.push(
      r.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length > 0),
    );
    progress(texts.length);
  }
  return { texts, seconds: (performance.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Scores

const CER_OPTS = { collapse_spaces: true };
const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

interface Group {
  n: number;
  ours: number;
  tess: number | null;
  ours_exact: number;
  tess_exact: number | null;
}

function score(pred: string[], refs: string[], tess: string[] | null): Group {
  const exact = (p: string[]) => p.filter((s, i) => norm(s) === norm(refs[i]!)).length / refs.length;
  return {
    n: refs.length,
    ours: cer(pred, refs, CER_OPTS),
    tess: tess ? cer(tess, refs, CER_OPTS) : null,
    ours_exact: exact(pred),
    tess_exact: tess ? exact(tess) : null,
  };
}

function sizeBucket(px: number): string {
  return px <= 13 ? '10-13 px' : px <= 20 ? '14-20 px' : px <= 32 ? '21-32 px' : '33-60 px';
}

const CONDITIONS: Array<[string, (r: LineRow) => string]> = [
  ['polarity', (r) => r.polarity],
  ['background', (r) => r.background],
  ['size', (r) => sizeBucket(r.size_px)],
  ['family', (r) => r.family_kind],
  ['design', (r) => (r.seen_design ? 'seen in training' : 'unseen')],
  ['style', (r) => (r.bold ? (r.italic ? 'bold italic' : 'bold') : r.italic ? 'italic' : 'regular')],
  ['padding', (r) => r.padding],
  ['degradation', (r) => r.degradation],
  // Long lines are sentences, URLs and addresses, cut into chunks: where a model that guesses
  // from the words it was trained on, rather than reads, shows it.
  ['length', (r) => (r.text.length < 15 ? '1-14 chars' : r.text.length < 30 ? '15-29 chars' : '30+ chars')],
  ['text', (r) => r.text_kind ?? '(not recorded)'],
  ['font', (r) => r.font],
];

/** Greedy one-to-one matching of predicted to true lines by normalised edit distance. */
function matchLines(pred: string[], truth: string[]): { matched: number; inOrder: boolean | null; extra: number } {
  const pairs: Array<[number, number, number]> = [];
  truth.forEach((t, i) => {
    const tc = Array.from(norm(t));
    pred.forEach((p, j) => {
      const d = editDistance(Array.from(norm(p)), tc) / Math.max(1, tc.length);
      if (d <= 0.5) pairs.push([d, i, j]);
    });
  });
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  const gt = new Map<number, number>();
  const used = new Set<number>();
  for (const [, i, j] of pairs) {
    if (gt.has(i) || used.has(j)) continue;
    gt.set(i, j);
    used.add(j);
  }
  const js = [...gt.entries()].sort((a, b) => a[0] - b[0]).map(([, j]) => j);
  // Order means nothing with fewer than two lines matched: such a page is left out of it.
  return { matched: gt.size, inOrder: js.length < 2 ? null : js.every((j, k) => k === 0 || j > js[k - 1]!), extra: pred.length - used.size };
}

interface PageGroup {
  pages: number;
  lines: number;
  ours: number;
  tess: number | null;
  ours_matched: number;
  tess_matched: number | null;
  /** Pages whose matched lines keep their order, of the pages with at least two matched. */
  ours_in_order: { ok: number; of: number };
  tess_in_order: { ok: number; of: number } | null;
  ours_count_ok: number;
  tess_count_ok: number | null;
}

function scorePages(rows: PageRow[], ours: string[][], tess: string[][] | null): PageGroup {
  const refs = rows.map((r) => r.lines.map((l) => l.text).join('\n'));
  const lines = rows.reduce((a, r) => a + r.lines.length, 0);
  const side = (pred: string[][]) => {
    const m = rows.map((r, i) => matchLines(pred[i]!, r.lines.map((l) => l.text)));
    return {
      cer: cer(pred.map((p) => p.join('\n')), refs, CER_OPTS),
      matched: m.reduce((a, x) => a + x.matched, 0) / lines,
      inOrder: { ok: m.filter((x) => x.inOrder === true).length, of: m.filter((x) => x.inOrder !== null).length },
      countOk: rows.filter((r, i) => pred[i]!.length === r.lines.length).length / rows.length,
    };
  };
  const o = side(ours);
  const t = tess ? side(tess) : null;
  return {
    pages: rows.length,
    lines,
    ours: o.cer,
    tess: t?.cer ?? null,
    ours_matched: o.matched,
    tess_matched: t?.matched ?? null,
    ours_in_order: o.inOrder,
    tess_in_order: t?.inOrder ?? null,
    ours_count_ok: o.countOk,
    tess_count_ok: t?.countOk ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
const frac = (x: { ok: number; of: number } | null) => (x === null ? '—' : `${x.ok}/${x.of}`);

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((s, c) => (c === 0 ? s.padEnd(w[c]!) : s.padStart(w[c]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(s);
  // Counters rewrite one terminal line; into a file or pipe they would be hundreds of lines.
  const tick = (s: string, done: number, total: number) => {
    if (process.stderr.isTTY) log(`\r${s}: ${done}/${total}`);
    else if (done === total) log(`${s}: ${done}/${total}`);
  };
  const started = { at: new Date().toISOString(), load: loadavg() };
  const dir = dataDir(o);
  let lineRows = readJsonl<LineRow>(join(dir, 'lines', 'metadata.jsonl'));
  let pageRows = readJsonl<PageRow>(join(dir, 'pages', 'metadata.jsonl'));
  if (o.limit) {
    lineRows = lineRows.slice(0, o.limit);
    pageRows = pageRows.slice(0, o.limit);
  }
  const lineFiles = lineRows.map((r) => join(dir, 'lines', r.file_name));
  const pageFiles = pageRows.map((r) => join(dir, 'pages', r.file_name));
  const pageLines = pageRows.reduce((a, r) => a + r.lines.length, 0);

  const reader = await OCRReader.from_pretrained(o.model, { dtype: o.dtype });
  const readOpts = { batch_size: o.batchSize, ...(o.numBeams ? { num_beams: o.numBeams } : {}) };
  const numBeams = o.numBeams ?? reader.model.generation_config.num_beams ?? 1;
  const timed = async (files: string[], what: string): Promise<{ results: OCRResult[]; seconds: number }> => {
    const t0 = performance.now();
    const results = await reader.read(files, { ...readOpts, progress: (d, n) => tick(`ours ${what} (crops)`, d, n) });
    log('\n');
    return { results, seconds: (performance.now() - t0) / 1000 };
  };
  const oursLines = await timed(lineFiles, 'lines');
  const oursPages = await timed(pageFiles, 'pages');

  const tessVersion = tesseractVersion();
  let tessLines: { texts: string[][]; seconds: number } | null = null;
  let tessPages: { texts: string[][]; seconds: number } | null = null;
  if (tessVersion) {
    tessLines = tesseract(lineFiles, 7, (d) => tick('tesseract lines', d, lineFiles.length));
    log('\n');
    tessPages = tesseract(pageFiles, 6, (d) => tick('tesseract pages', d, pageFiles.length));
    log('\n');
  }

  // Lines
  const refs = lineRows.map((r) => r.text);
  const ours = oursLines.results.map((r) => r.lines.map((l) => l.text).join(' '));
  const tess = tessLines ? tessLines.texts.map((t) => t.join(' ')) : null;
  const notOneLine = oursLines.results.filter((r) => r.lines.length !== 1).length;
  // The headline is the lines of words, as the set had before random-character lines were added
  // (so that rounds compare); those lines are scored on their own under "text".
  const words = lineRows.flatMap((r, i) => (r.text_kind === 'random characters' ? [] : [i]));
  const overall = score(words.map((i) => ours[i]!), words.map((i) => refs[i]!), tess ? words.map((i) => tess[i]!) : null);
  const conditions: Record<string, Record<string, Group>> = {};
  for (const [name, key] of CONDITIONS) {
    const groups = new Map<string, number[]>();
    lineRows.forEach((r, i) => {
      const k = key(r);
      groups.set(k, [...(groups.get(k) ?? []), i]);
    });
    conditions[name] = {};
    for (const [k, idx] of [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      conditions[name]![k] = score(idx.map((i) => ours[i]!), idx.map((i) => refs[i]!), tess ? idx.map((i) => tess[i]!) : null);
    }
  }

  // Pages
  const oursPageLines = oursPages.results.map((r) => r.lines.map((l) => l.text));
  const tessPageLines = tessPages?.texts ?? null;
  const kinds = [...new Set(pageRows.map((r) => r.kind))];
  const pagesByKind: Record<string, PageGroup> = {};
  for (const k of kinds) {
    const idx = pageRows.map((r, i) => (r.kind === k ? i : -1)).filter((i) => i >= 0);
    pagesByKind[k] = scorePages(idx.map((i) => pageRows[i]!), idx.map((i) => oursPageLines[i]!), tessPageLines ? idx.map((i) => tessPageLines[i]!) : null);
  }
  const pagesAll = scorePages(pageRows, oursPageLines, tessPageLines);

  const report = {
    started,
    finished: { at: new Date().toISOString(), load: loadavg() },
    data: dir,
    renderer: o.data ? null : o.renderer,
    model: o.model,
    dtype: o.dtype,
    num_beams: numBeams,
    batch_size: o.batchSize,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    tesseract: tessVersion,
    lines: { overall, not_one_line: notOneLine, conditions },
    pages: { overall: pagesAll, kinds: pagesByKind },
    seconds_per_line: {
      ours_lines: oursLines.seconds / lineRows.length,
      ours_pages: oursPages.seconds / pageLines,
      tesseract_lines: tessLines ? tessLines.seconds / lineRows.length : null,
      tesseract_pages: tessPages ? tessPages.seconds / pageLines : null,
    },
  };
  if (o.json) {
    console.log(JSON.stringify(report, null, 1));
    return;
  }

  const out: string[] = [];
  out.push(`OCR on held-out text drawn by ${o.data ? 'the given set' : o.renderer === 'pango' ? 'Pango (libvips)' : 'Chromium'} (${dir})`);
  out.push(`model ${o.model} (${o.dtype}, ${numBeams} beam${numBeams === 1 ? '' : 's'}, batch ${o.batchSize}); ${report.cpus}; load ${started.load.map((x) => x.toFixed(1)).join(' ')}`);
  out.push(tessVersion ? `beside ${tessVersion} (eng; --psm 7 lines, --psm 6 pages; a process per image, OMP_THREAD_LIMIT=1)` : 'tesseract is not on PATH: its columns are empty (apt-get install tesseract-ocr to compare)');
  out.push('CER: evaluate\'s, corpus-level per group, runs of spaces collapsed; exact: whole line right after the same collapsing.');
  out.push('');
  out.push(`Lines: ${lineRows.length} images; ours found other than one line in ${notOneLine}`);
  const head = ['condition', 'n', 'CER ours', 'CER tess', 'exact ours', 'exact tess'];
  const rowsOut: string[][] = [['all but random characters', String(overall.n), pct(overall.ours), pct(overall.tess), pct(overall.ours_exact), pct(overall.tess_exact)]];
  for (const [name, groups] of Object.entries(conditions)) {
    for (const [k, g] of Object.entries(groups)) rowsOut.push([`${name}: ${k}`, String(g.n), pct(g.ours), pct(g.tess), pct(g.ours_exact), pct(g.tess_exact)]);
  }
  out.push(table(head, rowsOut));
  out.push('');
  out.push(`Pages: ${pageRows.length} images, ${pageLines} lines. matched: true lines found (≤ 50% edits); order: pages whose matched lines keep their order / pages with two or more matched; count: pages with exactly their number of lines`);
  const ph = ['kind', 'pages', 'CER ours', 'CER tess', 'matched ours', 'matched tess', 'order ours', 'order tess', 'count ours', 'count tess'];
  const prow = (k: string, g: PageGroup) => [k, String(g.pages), pct(g.ours), pct(g.tess), pct(g.ours_matched), pct(g.tess_matched), frac(g.ours_in_order), frac(g.tess_in_order), pct(g.ours_count_ok), pct(g.tess_count_ok)];
  out.push(table(ph, [prow('all', pagesAll), ...kinds.map((k) => prow(k, pagesByKind[k]!))]));
  out.push('');
  const s = report.seconds_per_line;
  const ms = (x: number | null) => (x === null ? '—' : `${(1000 * x).toFixed(0)} ms`);
  out.push(table(['time per line', 'ours (batched)', 'tesseract (process per image)'], [
    ['line images', ms(s.ours_lines), ms(s.tesseract_lines)],
    ['page lines', ms(s.ours_pages), ms(s.tesseract_pages)],
  ]));
  out.push(`finished ${report.finished.at}, load ${report.finished.load.map((x) => x.toFixed(1)).join(' ')}`);
  console.log(out.join('\n'));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
