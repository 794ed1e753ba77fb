// `npm run bench:serve [-- --seconds S] [-- --max-requests N] [-- --rounds R] [-- --threads N] [-- --json]`:
// `ved serve` under load on loopback. For batching on (--max-batch-size 16) and off
// (--max-batch-size 1), a `ved serve` child process with the bundled OCR model, both started
// and warmed first, and 1, 4 and 16 clients each sending one example line at a time, back to
// back: requests per second, p50 and p99 latency, errors. Every answer's text is checked against
// the one the same server gave that image alone; a wrong text counts as an error. Each cell is
// bounded by --seconds and --max-requests; --threads N goes to both servers.
//
// The issue's target: at 16 clients, batching on reaches at least 2x the requests per second of
// batching off, with no error. One 16-client cell swung from 31 to 47 req/s between two runs of
// batching off, so the 16-client cells run --rounds times (default 3), on and off taking turns,
// and the ratio is of the two medians; every round is printed. The clients use node:http with
// kept-alive connections (fetch cost the load generator 1.9–3.1 ms of CPU per request, these 0.6), and
// the CPU the clients themselves used is printed per request: on 2 cores it is taken from the server.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const EXAMPLES = [1, 2, 3, 4, 5, 6].map((i) => join(ROOT, 'examples', `line-${i}.png`));
const CLIENTS = [1, 4, 16];
const MODES = [
  { name: 'batching on', args: ['--max-batch-size', '16'] },
  { name: 'batching off', args: ['--max-batch-size', '1'] },
];

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!(v > 0)) throw new Error(`bench:serve: ${name} must be a positive number, got '${process.argv[i + 1]}'`);
  return v;
}
const SECONDS = flag('--seconds', 8);
const MAX_REQUESTS = flag('--max-requests', 400);
const JSON_OUT = process.argv.includes('--json');
const THREADS = process.argv.includes('--threads') ? flag('--threads', 0) : null;
const ROUNDS = flag('--rounds', 3);
const SERVER_ARGS = THREADS === null ? [] : ['--threads', String(THREADS)];

interface Cell {
  mode: string;
  clients: number;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  mean_batch: number;
  /** CPU time of this (the clients') process per answered request. */
  client_cpu_ms: number;
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN);

/** Starts `ved serve --port 0` and resolves to its URL once it says it is ready (60 s at most). */
function startServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--single-threaded-gc', BIN, 'serve', '--port', '0', ...SERVER_ARGS, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench:serve: ved serve was not ready within 60 s:\n${stderr}`));
    }, 60_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      const m = /ready: POST (http:\/\/[^/]+)\//.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bench:serve: ved serve exited with ${code}:\n${stderr}`));
    });
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

const agent = new Agent({ keepAlive: true, maxSockets: Math.max(...CLIENTS) });

function ocr(url: string, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/ocr`, { method: 'POST', agent, headers: { 'content-type': 'image/png', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${text.trim()}`));
        else resolve((JSON.parse(text) as { text: string }).text);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function runCell(url: string, mode: string, clients: number, images: Buffer[], truth: string[]): Promise<Cell> {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const firstError: string[] = [];
  const batches0 = await metric(url, 'ved_batch_size_count');
  const images0 = await metric(url, 'ved_batch_size_sum');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  const client = async (c: number) => {
    for (let k = c; performance.now() < deadline && sent < MAX_REQUESTS; k += clients) {
      sent++;
      const i = k % images.length;
      const start = performance.now();
      try {
        const text = await ocr(url, images[i]!);
        if (text !== truth[i]) throw new Error(`${basename(EXAMPLES[i]!)}: got '${text}', alone it reads '${truth[i]}'`);
        latencies.push(performance.now() - start);
      } catch (e) {
        errors++;
        if (firstError.length === 0) firstError.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (firstError.length) process.stderr.write(`bench:serve: ${mode}, ${clients} clients: ${errors} errors, the first: ${firstError[0]}\n`);
  const batches = (await metric(url, 'ved_batch_size_count')) - batches0;
  const batched = (await metric(url, 'ved_batch_size_sum')) - images0;
  latencies.sort((a, b) => a - b);
  return {
    mode,
    clients,
    requests: latencies.length,
    errors,
    seconds: Number(seconds.toFixed(2)),
    rps: Number((latencies.length / seconds).toFixed(2)),
    p50_ms: Number(quantile(latencies, 0.5).toFixed(1)),
    p99_ms: Number(quantile(latencies, 0.99).toFixed(1)),
    mean_batch: Number((batched / Math.max(batches, 1)).toFixed(2)),
    client_cpu_ms: Number(((cpu.user + cpu.system) / 1000 / Math.max(latencies.length, 1)).toFixed(2)),
  };
}

async function main(): Promise<void> {
  const images = EXAMPLES.map((f) => readFileSync(f));
  const servers: { mode: string; child: ChildProcess; url: string; truth: string[] }[] = [];
  const cells: Cell[] = [];
  try {
    for (const mode of MODES) {
      const { child, url } = await startServer(mode.args);
      servers.push({ mode: mode.name, child, url, truth: [] });
    }
    // Each image alone first: the texts every later answer must equal, and warm servers.
    for (const s of servers) for (const img of images) s.truth.push(await ocr(s.url, img));
    const cell = async (s: (typeof servers)[number], clients: number) => {
      const c = await runCell(s.url, s.mode, clients, images, s.truth);
      cells.push(c);
      if (!JSON_OUT) process.stderr.write(`bench:serve: ${s.mode}, ${clients} clients: ${c.rps} req/s\n`);
    };
    for (const clients of CLIENTS.slice(0, -1)) for (const s of servers) await cell(s, clients);
    for (let r = 0; r < ROUNDS; r++) for (const s of servers) await cell(s, 16);
  } finally {
    for (const s of servers) await stopServer(s.child);
  }
  const at16 = (mode: string) => cells.filter((c) => c.mode === mode && c.clients === 16);
  const rps16 = (mode: string) => median(at16(mode).map((c) => c.rps));
  const speedup = rps16('batching on') / rps16('batching off');
  const ratios = at16('batching on').map((c, r) => c.rps / at16('batching off')[r]!.rps);
  const errors = cells.reduce((n, c) => n + c.errors, 0);
  const verdict = {
    speedup_16_clients: Number(speedup.toFixed(2)),
    speedup_16_clients_by_round: ratios.map((x) => Number(x.toFixed(2))),
    errors,
    target_met: speedup >= 2 && errors === 0,
  };
  if (JSON_OUT) {
    process.stdout.write(JSON.stringify({ seconds_per_cell: SECONDS, max_requests_per_cell: MAX_REQUESTS, rounds: ROUNDS, threads: THREADS, load_average: loadavg()[0], cells, ...verdict }) + '\n');
    return;
  }
  const header = ['mode', 'clients', 'requests', 'errors', 'req/s', 'p50 ms', 'p99 ms', 'mean batch', 'client CPU ms/req'];
  const rows = cells.map((c) => [c.mode, c.clients, c.requests, c.errors, c.rps, c.p50_ms, c.p99_ms, c.mean_batch, c.client_cpu_ms].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    `ved serve${THREADS === null ? '' : ` --threads ${THREADS}`}, bundled OCR model, examples/*.png one per request, ${SECONDS} s or ${MAX_REQUESTS} requests per cell, 16 clients ${ROUNDS} rounds (load average ${loadavg()[0]!.toFixed(2)})\n` +
      [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') +
      `\n\nat 16 clients batching gives ${speedup.toFixed(2)}x the requests per second of batching off, medians of ${ROUNDS} rounds (each round: ${ratios.map((x) => x.toFixed(2) + 'x').join(', ')}; target >= 2x), ${errors} errors: ${verdict.target_met ? 'target met' : 'target NOT met'}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
