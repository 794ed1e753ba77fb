import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import {
  clearResolvedFiles,
  EntryNotFoundError,
  fileExists,
  GatedRepoError,
  LocalEntryNotFoundError,
  RepositoryNotFoundError,
  resolveFile,
  RevisionNotFoundError,
  type Progress,
} from '../src/hub/hub.js';
import { MockHub, sha1, sha256 } from './mock-hub.js';

const C_MAIN = 'a'.repeat(40);
const C_V1 = 'b'.repeat(40);
const C_PRIV = 'c'.repeat(40);
const CONFIG_MAIN = Buffer.from('{"model_type":"vit","rev":"main"}');
const CONFIG_V1 = Buffer.from('{"model_type":"vit","rev":"v1"}');
// Large enough to arrive in several chunks, so an interrupted download leaves a real prefix.
const WEIGHTS = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const NESTED = Buffer.from('nested file');

let hub: MockHub;
let root: string;
const savedEnv = { ...process.env };

before(async () => {
  hub = await new MockHub({
    'acme/tiny': {
      refs: { main: C_MAIN, v1: C_V1 },
      commits: {
        [C_MAIN]: { 'config.json': { content: CONFIG_MAIN }, 'model.safetensors': { content: WEIGHTS, lfs: true }, 'sub/dir/extra.txt': { content: NESTED } },
        [C_V1]: { 'config.json': { content: CONFIG_V1 }, 'model.safetensors': { content: WEIGHTS, lfs: true } },
      },
    },
    'acme/private': { refs: { main: C_PRIV }, commits: { [C_PRIV]: { 'config.json': { content: CONFIG_MAIN } } }, token: 'hf_secret' },
    'acme/gated': { refs: { main: C_PRIV }, commits: { [C_PRIV]: { 'config.json': { content: CONFIG_MAIN } } }, gated: true },
    'acme/old-name': { refs: {}, commits: {}, renamedTo: 'acme/tiny' },
  }).start();
  root = mkdtempSync(join(tmpdir(), 'hub-test-'));
});

after(async () => {
  await hub.stop();
  rmSync(root, { recursive: true, force: true });
  process.env = savedEnv;
});

let cache: string;
beforeEach(() => {
  process.env = { ...savedEnv, HF_ENDPOINT: hub.endpoint, HF_HUB_DISABLE_PROGRESS_BARS: '1' };
  for (const k of ['HF_TOKEN', 'HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE']) delete process.env[k];
  cache = mkdtempSync(join(root, 'cache-'));
  process.env.HF_HOME = join(cache, 'home'); // no token file from the real home directory
  process.env.HF_HUB_CACHE = cache;
  hub.requests = [];
  hub.connections = 0;
  clearResolvedFiles();
});

test('a local directory wins and names a missing file', async () => {
  const dir = join(root, 'local-model');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{}');
  assert.equal(await resolveFile(dir, 'config.json'), join(dir, 'config.json'));
  await assert.rejects(resolveFile(dir, 'tokenizer.json'), (e: Error) => e instanceof EntryNotFoundError && /local-model/.test(e.message) && /tokenizer\.json/.test(e.message));
  assert.equal(await fileExists(dir, 'config.json'), true);
  assert.equal(await fileExists(dir, 'tokenizer.json'), false);
  assert.equal(hub.connections, 0);
});

test('downloads into the huggingface_hub cache layout (git file and LFS file via the CDN)', async () => {
  const cfg = await resolveFile('acme/tiny', 'config.json');
  const storage = join(cache, 'models--acme--tiny');
  assert.equal(cfg, join(storage, 'snapshots', C_MAIN, 'config.json'));
  assert.deepEqual(readFileSync(cfg), CONFIG_MAIN);
  assert.ok(lstatSync(cfg).isSymbolicLink());
  assert.equal(readlinkSync(cfg), join('..', '..', 'blobs', sha1(CONFIG_MAIN)));
  assert.equal(readFileSync(join(storage, 'refs', 'main'), 'utf8'), C_MAIN);

  const weights = await resolveFile('acme/tiny', 'model.safetensors');
  assert.equal(readlinkSync(weights), join('..', '..', 'blobs', sha256(WEIGHTS)));
  assert.deepEqual(readFileSync(join(storage, 'blobs', sha256(WEIGHTS))), WEIGHTS);
  assert.ok(!existsSync(join(storage, 'blobs', `${sha256(WEIGHTS)}.incomplete`)));

  const nested = await resolveFile('acme/tiny', 'sub/dir/extra.txt');
  assert.equal(readlinkSync(nested), join('..', '..', '..', '..', 'blobs', sha1(NESTED)));
  assert.deepEqual(readFileSync(nested), NESTED);

  // The weights came from the CDN; config.json straight from the hub.
  assert.equal(hub.count('cdn', 'GET'), 1);
  assert.equal(hub.count('hub', 'GET'), 2);
});

test('cache root: HF_HUB_CACHE, else HF_HOME/hub, and cache_dir overrides both', async () => {
  delete process.env.HF_HUB_CACHE;
  const viaHome = await resolveFile('acme/tiny', 'config.json');
  assert.equal(viaHome, join(cache, 'home', 'hub', 'models--acme--tiny', 'snapshots', C_MAIN, 'config.json'));
  const explicit = join(cache, 'explicit');
  const viaOption = await resolveFile('acme/tiny', 'config.json', { cache_dir: explicit });
  assert.equal(viaOption, join(explicit, 'models--acme--tiny', 'snapshots', C_MAIN, 'config.json'));
});

test('a second call makes no request; a new process only re-checks the ref (HEAD, no GET)', async () => {
  await resolveFile('acme/tiny', 'model.safetensors');
  const before = hub.requests.length;
  const connections = hub.connections;
  await resolveFile('acme/tiny', 'model.safetensors');
  assert.equal(hub.requests.length, before);
  assert.equal(hub.connections, connections);

  clearResolvedFiles(); // as a fresh process (or Python) would: one HEAD to learn where main points
  hub.requests = [];
  const p = await resolveFile('acme/tiny', 'model.safetensors');
  assert.deepEqual(readFileSync(p), WEIGHTS);
  assert.deepEqual(hub.requests.map((r) => `${r.server} ${r.method}`), ['hub HEAD']);
});

test('revisions: tags get their own ref and snapshot; a commit hash in the cache needs no network; blobs are shared', async () => {
  const v1 = await resolveFile('acme/tiny', 'config.json', { revision: 'v1' });
  assert.deepEqual(readFileSync(v1), CONFIG_V1);
  assert.equal(v1, join(cache, 'models--acme--tiny', 'snapshots', C_V1, 'config.json'));
  assert.equal(readFileSync(join(cache, 'models--acme--tiny', 'refs', 'v1'), 'utf8'), C_V1);
  const main = await resolveFile('acme/tiny', 'config.json');
  assert.deepEqual(readFileSync(main), CONFIG_MAIN);

  // Same weights at both commits: downloaded once, linked twice.
  await resolveFile('acme/tiny', 'model.safetensors');
  await resolveFile('acme/tiny', 'model.safetensors', { revision: 'v1' });
  assert.equal(hub.count('cdn', 'GET'), 1);

  clearResolvedFiles();
  hub.requests = [];
  const byCommit = await resolveFile('acme/tiny', 'config.json', { revision: C_V1 });
  assert.equal(byCommit, v1);
  assert.equal(hub.requests.length, 0);
  // The revision travels quoted in the URL, as huggingface_hub's hf_hub_url.
  await assert.rejects(resolveFile('acme/tiny', 'config.json', { revision: 'refs/pr/1' }), RevisionNotFoundError);
  assert.ok(hub.requests.some((r) => r.url === '/acme/tiny/resolve/refs%2Fpr%2F1/config.json'));
});

test('resumes an interrupted download with a Range request', async () => {
  hub.dropAfterBytes = 100_000;
  const blobDir = join(cache, 'models--acme--tiny', 'blobs');
  const incomplete = join(blobDir, `${sha256(WEIGHTS)}.incomplete`);
  await assert.rejects(resolveFile('acme/tiny', 'model.safetensors'), /interrupted|announced/);
  const partial = readFileSync(incomplete);
  assert.ok(partial.length > 0 && partial.length < WEIGHTS.length, `partial file of ${partial.length} bytes`);
  assert.deepEqual(partial, WEIGHTS.subarray(0, partial.length));

  const seen: Progress[] = [];
  const p = await resolveFile('acme/tiny', 'model.safetensors', { onProgress: (x) => seen.push({ ...x }) });
  assert.deepEqual(readFileSync(p), WEIGHTS);
  assert.ok(!existsSync(incomplete));
  const gets = hub.requests.filter((r) => r.server === 'cdn');
  assert.equal(gets.length, 2);
  assert.equal(gets[0].headers.range, undefined);
  assert.equal(gets[1].headers.range, `bytes=${partial.length}-`);
  // Progress counts from the resumed offset up to the full size.
  assert.ok(seen.length > 0 && seen[0].loaded > partial.length);
  assert.deepEqual(seen.at(-1), { filename: 'model.safetensors', loaded: WEIGHTS.length, total: WEIGHTS.length });
});

test('a partial file left by another run (e.g. Python) is resumed too', async () => {
  const blobDir = join(cache, 'models--acme--tiny', 'blobs');
  mkdirSync(blobDir, { recursive: true });
  writeFileSync(join(blobDir, `${sha256(WEIGHTS)}.incomplete`), WEIGHTS.subarray(0, 12345));
  const p = await resolveFile('acme/tiny', 'model.safetensors');
  assert.deepEqual(readFileSync(p), WEIGHTS);
  assert.equal(hub.requests.find((r) => r.server === 'cdn')?.headers.range, 'bytes=12345-');
});

test('token: HF_TOKEN or the option as Bearer, sent to the hub but never to the CDN host', async () => {
  await assert.rejects(resolveFile('acme/private', 'config.json'), (e: Error) => e instanceof RepositoryNotFoundError && /HF_TOKEN/.test(e.message) && /acme\/private/.test(e.message));
  const p = await resolveFile('acme/private', 'config.json', { token: 'hf_secret' });
  assert.deepEqual(readFileSync(p), CONFIG_MAIN);
  process.env.HF_TOKEN = 'hf_secret';
  await resolveFile('acme/tiny', 'model.safetensors');
  assert.ok(hub.requests.filter((r) => r.server === 'hub').every((r) => r.headers.authorization === 'Bearer hf_secret' || r.url.includes('private')));
  const cdn = hub.requests.filter((r) => r.server === 'cdn');
  assert.equal(cdn.length, 1);
  assert.equal(cdn[0].headers.authorization, undefined);
});

test('errors: gated repo, wrong token, missing file, missing repository, bad id', async () => {
  await assert.rejects(resolveFile('acme/gated', 'config.json'), (e: Error) => e instanceof GatedRepoError && /gated/.test(e.message) && /HF_TOKEN/.test(e.message));
  await assert.rejects(resolveFile('acme/private', 'config.json', { token: 'wrong' }), (e: Error) => e instanceof RepositoryNotFoundError && /token that was sent/.test(e.message));
  await assert.rejects(resolveFile('acme/tiny', 'nope.json'), (e: Error) => e instanceof EntryNotFoundError && e.message.includes("model 'acme/tiny' has no file 'nope.json'"));
  await assert.rejects(resolveFile('acme/none', 'config.json'), (e: Error) => e instanceof RepositoryNotFoundError && /acme\/none/.test(e.message));
  await assert.rejects(resolveFile('./not/a/dir/nor/id', 'config.json'), /neither a local directory nor a valid hub model id/);
  await assert.rejects(resolveFile('acme/tiny', '../escape.json'), /relative path inside the repository/);
});

test('a renamed repository is followed through its relative redirect', async () => {
  const p = await resolveFile('acme/old-name', 'config.json');
  assert.deepEqual(readFileSync(p), CONFIG_MAIN);
  assert.equal(p, join(cache, 'models--acme--old-name', 'snapshots', C_MAIN, 'config.json'));
});

test('fileExists probes with HEAD only: 404 is false, other errors throw', async () => {
  assert.equal(await fileExists('acme/tiny', 'config.json'), true);
  assert.equal(await fileExists('acme/tiny', 'tokenizer.json'), false);
  assert.equal(hub.count('hub', 'GET') + hub.count('cdn'), 0);
  await assert.rejects(fileExists('acme/none', 'config.json'), RepositoryNotFoundError);
});

test('offline (HF_HUB_OFFLINE=1 or local_files_only) never opens a connection', async () => {
  await resolveFile('acme/tiny', 'config.json');
  await resolveFile('acme/tiny', 'config.json', { revision: 'v1' });
  clearResolvedFiles();
  hub.requests = [];
  hub.connections = 0;
  const realFetch = globalThis.fetch;
  globalThis.fetch = () => {
    throw new Error('network used in offline mode');
  };
  try {
    process.env.HF_HUB_OFFLINE = '1';
    assert.deepEqual(readFileSync(await resolveFile('acme/tiny', 'config.json')), CONFIG_MAIN);
    assert.deepEqual(readFileSync(await resolveFile('acme/tiny', 'config.json', { revision: 'v1' })), CONFIG_V1);
    assert.equal(await fileExists('acme/tiny', 'config.json'), true);
    assert.equal(await fileExists('acme/tiny', 'tokenizer.json'), false);
    await assert.rejects(resolveFile('acme/tiny', 'model.safetensors'), (e: Error) => e instanceof LocalEntryNotFoundError && /not cached/.test(e.message) && /offline mode is on/.test(e.message));
    await assert.rejects(resolveFile('acme/other', 'config.json'), LocalEntryNotFoundError);
    await assert.rejects(fileExists('acme/other', 'config.json'), LocalEntryNotFoundError);
    delete process.env.HF_HUB_OFFLINE;
    assert.deepEqual(readFileSync(await resolveFile('acme/tiny', 'config.json', { local_files_only: true })), CONFIG_MAIN);
    await assert.rejects(resolveFile('acme/tiny', 'model.safetensors', { local_files_only: true }), /local_files_only/);
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(hub.connections, 0);
  assert.equal(hub.requests.length, 0);
});

test('offline resolution reads a cache written by Python (refs + relative symlinks)', async () => {
  process.env.HF_HUB_OFFLINE = '1';
  const storage = join(cache, 'models--someone--model');
  mkdirSync(join(storage, 'blobs'), { recursive: true });
  mkdirSync(join(storage, 'refs'), { recursive: true });
  mkdirSync(join(storage, 'snapshots', C_V1), { recursive: true });
  writeFileSync(join(storage, 'blobs', 'deadbeef'), 'from python');
  writeFileSync(join(storage, 'refs', 'main'), C_V1);
  symlinkSync(join('..', '..', 'blobs', 'deadbeef'), join(storage, 'snapshots', C_V1, 'preprocessor_config.json'));
  const p = await resolveFile('someone/model', 'preprocessor_config.json');
  assert.equal(readFileSync(p, 'utf8'), 'from python');
  assert.equal(hub.connections, 0);
});

test('network failure: names the URL when not cached; falls back to the cache (with a warning) when cached', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  await resolveFile('acme/tiny', 'config.json');
  clearResolvedFiles();
  process.env.HF_ENDPOINT = `http://127.0.0.1:${port}`;
  await assert.rejects(resolveFile('acme/tiny', 'model.safetensors'), (e: Error) => e.message.includes(`http://127.0.0.1:${port}/acme/tiny/resolve/main/model.safetensors`) && /HF_HUB_OFFLINE/.test(e.message));
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const p = await resolveFile('acme/tiny', 'config.json');
    assert.deepEqual(readFileSync(p), CONFIG_MAIN);
    await new Promise((r) => setImmediate(r));
    assert.ok(warnings.some((w) => /HF_HUB_OFFLINE=1/.test(w)), warnings.join('\n'));
  } finally {
    process.off('warning', onWarning);
  }
});
