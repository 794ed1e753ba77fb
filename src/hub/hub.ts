// Local directory or hub model id → a file on disk.
//
// Hub files are stored exactly as Python's huggingface_hub stores them, so both share one cache:
//
//   <cache>/models--owner--name/
//     blobs/<etag>                       the bytes (etag: sha256 for LFS files, git sha1 otherwise)
//     blobs/<etag>.incomplete            a download in progress; resumed with a Range request
//     snapshots/<commit>/<filename>      relative symlink to ../../blobs/<etag>
//     refs/<revision>                    the commit a branch or tag pointed to when last resolved
//
// A resolution is one HEAD request to {endpoint}/{id}/resolve/{revision}/{filename} (relative
// redirects followed, as for a renamed repo; an absolute one is the CDN and gives the download
// location), then a GET of that location only when the blob is not cached yet. Offline mode
// (HF_HUB_OFFLINE=1 or local_files_only) resolves from refs/ and snapshots/ alone.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, copyFileSync, writeFileSync, rmSync, lstatSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { env } from '../env/index.js';
import { NetworkError, readText, send, type HttpResponse } from './http.js';

export interface Progress {
  /** The file being downloaded, as named in the repository. */
  filename: string;
  /** Bytes on disk so far (a resumed download starts at the size of the partial file). */
  loaded: number;
  /** Expected size in bytes, when the server says. */
  total: number | null;
}

export interface ResolveOptions {
  /** Branch, tag or commit hash. Default 'main'. */
  revision?: string;
  /** Cache root instead of HF_HUB_CACHE / HF_HOME/hub / ~/.cache/huggingface/hub. */
  cache_dir?: string;
  /** Never touch the network: resolve from the cache or fail (like HF_HUB_OFFLINE=1). */
  local_files_only?: boolean;
  /** Hub token; default HF_TOKEN, else the token file huggingface-cli login writes. */
  token?: string;
  /** Called as bytes arrive; when given, no progress bar is drawn. */
  onProgress?: (p: Progress) => void;
}

// ---------------------------------------------------------------------------------------------
// Errors, named as huggingface_hub names them.

export class HubError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** The repository does not exist, or is private and the token (if any) cannot read it. */
export class RepositoryNotFoundError extends HubError {}
/** The repository is gated: its conditions must be accepted and a token sent. */
export class GatedRepoError extends HubError {}
/** The repository exists but the branch, tag or commit does not. */
export class RevisionNotFoundError extends HubError {}
/** The repository exists but has no such file at that revision. */
export class EntryNotFoundError extends HubError {}
/** Offline (or local_files_only) and the file is not in the cache. */
export class LocalEntryNotFoundError extends HubError {}

// ---------------------------------------------------------------------------------------------
// Environment, read at each call so a process (or a test) can change it.

const DEFAULT_REVISION = 'main';
const COMMIT_HASH = /^[0-9a-f]{40}$/;
// huggingface_hub's validate_repo_id: "name" or "namespace/name", word chars, '-', '.'.
const REPO_ID = /^(\b[\w\-.]+\b\/)?\b[\w\-.]+\b$/;

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.toUpperCase());
}

function hfHome(): string {
  return process.env.HF_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
}

/** The hub cache root: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE (legacy), else HF_HOME/hub. */
export function hubCacheDir(): string {
  return process.env.HF_HUB_CACHE ?? process.env.HUGGINGFACE_HUB_CACHE ?? join(hfHome(), 'hub');
}

export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
}

export function isOfflineMode(): boolean {
  return truthy(process.env.HF_HUB_OFFLINE) || truthy(process.env.TRANSFORMERS_OFFLINE);
}

function defaultToken(): string | undefined {
  if (process.env.HF_TOKEN) return process.env.HF_TOKEN.trim();
  // The file `huggingface-cli login` writes; Python reads it when HF_TOKEN is unset.
  const file = process.env.HF_TOKEN_PATH ?? join(hfHome(), 'token');
  try {
    const t = readFileSync(file, 'utf8').trim();
    return t || undefined;
  } catch {
    return undefined;
  }
}

function timeoutMs(name: string, fallbackSeconds: number): number {
  const v = Number(process.env[name]);
  return (Number.isFinite(v) && v > 0 ? v : fallbackSeconds) * 1000;
}

// ---------------------------------------------------------------------------------------------
// Cache layout.

/** `models--owner--name`, the repository's folder in the cache. */
export function repoFolderName(repoId: string): string {
  return ['models', ...repoId.split('/')].join('--');
}

/** The hub URL of a file, with the revision and filename quoted as huggingface_hub does. */
export function hubFileUrl(repoId: string, filename: string, revision = DEFAULT_REVISION): string {
  const file = filename.split('/').map(encodeURIComponent).join('/');
  return `${hubEndpoint()}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** The snapshot path of a cached file for `revision` (a commit, or a ref resolved via refs/), or null. */
function cachedSnapshotFile(storage: string, revision: string, filename: string): string | null {
  let commit = revision;
  if (!COMMIT_HASH.test(revision)) {
    const ref = join(storage, 'refs', revision);
    if (!existsSync(ref)) return null;
    commit = readFileSync(ref, 'utf8').trim();
  }
  const pointer = join(storage, 'snapshots', commit, filename);
  return existsSync(pointer) ? pointer : null;
}

/** Points snapshots/<commit>/<filename> at the blob with a relative symlink (a copy where symlinks fail). */
function linkSnapshot(blob: string, pointer: string): void {
  mkdirSync(dirname(pointer), { recursive: true });
  try {
    lstatSync(pointer);
    rmSync(pointer, { force: true }); // a dangling or stale link
  } catch {
    /* absent */
  }
  try {
    symlinkSync(relative(dirname(pointer), blob), pointer);
  } catch {
    copyFileSync(blob, pointer);
  }
}

// ---------------------------------------------------------------------------------------------
// Hub requests.

interface FileMetadata {
  commit: string;
  etag: string;
  /** Where to GET the bytes: the CDN location of a redirect, else the resolve URL. */
  location: string;
  size: number | null;
}

interface Target {
  repoId: string;
  filename: string;
  revision: string;
  url: string;
}

function baseHeaders(token: string | undefined): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': `vision-encoder-decoder/0.1.0; node/${process.versions.node}` };
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

// W/"abc" and "abc" both become abc, usable as a file name.
function normalizeEtag(etag: string | undefined): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, '').replace(/^"+|"+$/g, '');
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Turns a hub error answer into the error huggingface_hub would raise, with the fix in words. */
async function hubHttpError(res: HttpResponse, t: Target, tokenSent: boolean): Promise<HubError> {
  const code = header(res, 'x-error-code');
  // A HEAD answer has no body (it is already drained); a GET error body is the server's words.
  const serverMessage = header(res, 'x-error-message') ?? (res.body.readableFlowing ? '' : (await readText(res, 2000)).trim());
  const detail = serverMessage ? ` (server: ${serverMessage})` : '';
  const tokenHint = tokenSent
    ? 'the token that was sent cannot read it'
    : 'no token was sent: set HF_TOKEN (or pass `token`) to a token that can read it';
  if (code === 'GatedRepo') {
    return new GatedRepoError(
      `model '${t.repoId}' is gated: ${res.status} for ${t.url}. Accept its conditions on the hub page, then ${tokenSent ? 'check that the token sent belongs to that account' : 'set HF_TOKEN to a token of that account'}${detail}`,
    );
  }
  if (code === 'RepoNotFound' || (!code && (res.status === 401 || res.status === 403))) {
    const kind = res.status === 404 ? 'repository not found' : `access denied (${res.status})`;
    return new RepositoryNotFoundError(
      `${kind}: model '${t.repoId}' at ${hubEndpoint()} does not exist, or it is private or gated and ${tokenHint}. URL: ${t.url}${detail}`,
    );
  }
  if (code === 'RevisionNotFound') {
    return new RevisionNotFoundError(`model '${t.repoId}' has no revision '${t.revision}' (branch, tag or commit): ${t.url}${detail}`);
  }
  if (code === 'EntryNotFound' || res.status === 404) {
    return new EntryNotFoundError(`model '${t.repoId}' has no file '${t.filename}' at revision '${t.revision}' (404 for ${t.url})${detail}`);
  }
  return new HubError(`hub request failed with HTTP ${res.status} for ${t.url}${detail}`);
}

/** HEAD of the resolve URL: commit, etag, download location and size, as get_hf_file_metadata. */
async function fileMetadata(t: Target, token: string | undefined): Promise<FileMetadata> {
  // identity: a compressed answer would report the compressed Content-Length.
  const headers = { ...baseHeaders(token), 'accept-encoding': 'identity' };
  let url = t.url;
  for (let hop = 0; ; hop++) {
    const res = await send('HEAD', url, headers, timeoutMs('HF_HUB_ETAG_TIMEOUT', 10));
    const location = header(res, 'location');
    const redirected = res.status >= 300 && res.status < 400 && location;
    if (redirected && !/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !location.startsWith('//')) {
      // Relative: the same hub under another path (a renamed repository). Follow it.
      if (hop >= 10) throw new HubError(`too many redirects resolving ${t.url}`);
      url = new URL(location, url).toString();
      continue;
    }
    if (!redirected && res.status >= 400) throw await hubHttpError(res, { ...t, url }, token !== undefined);
    if (!redirected && res.status !== 200) throw new HubError(`unexpected HTTP ${res.status} for HEAD ${url}`);
    const commit = header(res, 'x-repo-commit');
    const etag = normalizeEtag(header(res, 'x-linked-etag') ?? header(res, 'etag'));
    if (!commit) {
      throw new HubError(
        `${url} answered without an X-Repo-Commit header: it does not look like a Hugging Face hub (check HF_ENDPOINT, proxies and firewalls)`,
      );
    }
    if (!etag) throw new HubError(`${url} answered without an ETag: the file cannot be cached reproducibly`);
    if (!COMMIT_HASH.test(commit)) throw new HubError(`${url} answered with an invalid X-Repo-Commit '${commit}'`);
    if (!/^[\w.-]+$/.test(etag)) throw new HubError(`${url} answered with an ETag '${etag}' that cannot name a cache file`);
    const sizeHeader = header(res, 'x-linked-size') ?? (redirected ? undefined : header(res, 'content-length'));
    return {
      commit,
      etag,
      location: redirected ? new URL(location, url).toString() : url,
      size: sizeHeader !== undefined && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : null,
    };
  }
}

// A plain stderr bar, only on a terminal; redrawn at most 10 times a second.
function stderrProgressBar(): ((p: Progress) => void) | undefined {
  if (!process.stderr.isTTY || truthy(process.env.HF_HUB_DISABLE_PROGRESS_BARS)) return undefined;
  let last = 0;
  const mb = (n: number) => `${(n / 1e6).toFixed(1)}M`;
  return (p) => {
    const now = Date.now();
    const done = p.total !== null && p.loaded >= p.total;
    if (!done && now - last < 100) return;
    last = now;
    let line = `${p.filename}: ${mb(p.loaded)}`;
    if (p.total) {
      const frac = Math.min(1, p.loaded / p.total);
      const width = 30;
      const fill = Math.round(frac * width);
      line = `${p.filename}: ${String(Math.round(frac * 100)).padStart(3)}% |${'█'.repeat(fill)}${' '.repeat(width - fill)}| ${mb(p.loaded)}/${mb(p.total)}`;
    }
    process.stderr.write(`\r${line}${done ? '\n' : ''}`);
  };
}

/**
 * GETs the blob into `<blob>.incomplete` (appending to what an interrupted download left, with a
 * Range request), checks the size, then renames it to `<blob>`.
 */
async function downloadBlob(meta: FileMetadata, blob: string, t: Target, token: string | undefined, onProgress?: (p: Progress) => void): Promise<void> {
  const incomplete = `${blob}.incomplete`;
  mkdirSync(dirname(blob), { recursive: true });
  let resumeFrom = existsSync(incomplete) ? statSync(incomplete).size : 0;
  if (meta.size !== null && resumeFrom > meta.size) {
    rmSync(incomplete); // longer than the file: not a prefix of it
    resumeFrom = 0;
  }
  const report = onProgress ?? stderrProgressBar();
  if (meta.size === null || resumeFrom < meta.size) {
    const hubHost = new URL(hubEndpoint()).host;
    let url = meta.location;
    let res: HttpResponse;
    for (let hop = 0; ; hop++) {
      const headers = baseHeaders(undefined);
      // The token goes to the hub only, never to the CDN or any other host a redirect names.
      if (token && new URL(url).host === hubHost) headers.authorization = `Bearer ${token}`;
      if (resumeFrom > 0) headers.range = `bytes=${resumeFrom}-`;
      res = await send('GET', url, headers, timeoutMs('HF_HUB_DOWNLOAD_TIMEOUT', 10));
      const location = header(res, 'location');
      if (res.status >= 300 && res.status < 400 && location) {
        res.body.resume();
        if (hop >= 10) throw new HubError(`too many redirects downloading ${meta.location}`);
        url = new URL(location, url).toString();
        continue;
      }
      break;
    }
    if (res.status === 416 && meta.size !== null && resumeFrom === meta.size) {
      res.body.resume(); // nothing left to fetch
    } else {
      if (res.status >= 400) throw await hubHttpError(res, { ...t, url }, token !== undefined);
      if (res.status !== 200 && res.status !== 206) throw new HubError(`unexpected HTTP ${res.status} downloading ${url}`);
      // A server that ignores Range sends the whole file: start the partial file over.
      if (res.status === 200) resumeFrom = 0;
      let loaded = resumeFrom;
      const total = meta.size;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          loaded += chunk.length;
          report?.({ filename: t.filename, loaded, total });
          done(null, chunk);
        },
      });
      try {
        await pipeline(res.body, counter, createWriteStream(incomplete, { flags: resumeFrom > 0 ? 'a' : 'w' }));
      } catch (err) {
        throw new HubError(
          `download of '${t.filename}' from ${url} was interrupted after ${loaded} bytes (${(err as Error).message}); the partial file ${incomplete} is kept and the next call resumes it`,
        );
      }
    }
  }
  const got = statSync(incomplete).size;
  if (meta.size !== null && got !== meta.size) {
    throw new HubError(`download of '${t.filename}' is ${got} bytes but the hub announced ${meta.size}: retry (the partial file ${incomplete} is resumed)`);
  }
  renameSync(incomplete, blob);
  report?.({ filename: t.filename, loaded: got, total: got });
}

// ---------------------------------------------------------------------------------------------
// Public functions.

// Files resolved in this process: a second call for the same file makes no request at all.
const resolvedInProcess = new Map<string, string>();
// Blob downloads running now, so two concurrent calls share one download.
const downloadsInFlight = new Map<string, Promise<void>>();

function checkRepoId(pathOrId: string): void {
  if (!REPO_ID.test(pathOrId) || pathOrId.includes('--') || pathOrId.includes('..') || pathOrId.endsWith('.git') || pathOrId.length > 96) {
    throw new HubError(
      `'${pathOrId}' is neither a local directory nor a valid hub model id ('name' or 'owner/name': letters, digits, '-', '_', '.'; no '--' or '..')`,
    );
  }
}

function checkFilename(filename: string): void {
  if (!filename || /^([\\/]|[A-Za-z]:)/.test(filename) || filename.split(/[\\/]/).some((s) => s === '..' || s === '')) {
    throw new HubError(`filename '${filename}' must be a relative path inside the repository (no '..', no leading or doubled '/')`);
  }
}

function checkRevision(revision: string): void {
  if (!revision || revision.split('/').some((s) => s === '..' || s === '' || s === '.')) {
    throw new HubError(`revision '${revision}' is not a valid branch, tag or commit`);
  }
}

/**
 * The URL of `filename` when `pathOrId` is read over HTTP rather than from disk: a folder URL
 * (anywhere), or a hub model id where the environment keeps no disk cache (a browser, where
 * the environment caches what it fetches). null: a local directory or the disk hub cache.
 */
function remoteFile(pathOrId: string, filename: string, options: ResolveOptions): string | null {
  const folder = env.asUrl(pathOrId);
  if (folder) {
    if (!folder.pathname.endsWith('/')) folder.pathname += '/';
    return new URL(filename.split('/').map(encodeURIComponent).join('/'), folder).href;
  }
  if (env.diskHubCache) return null;
  checkRepoId(pathOrId);
  const revision = options.revision ?? DEFAULT_REVISION;
  checkRevision(revision);
  return hubFileUrl(pathOrId, filename, revision);
}

/**
 * The local path of `filename` from a local directory or a hub model id, downloading it into the
 * Hugging Face cache when needed; its URL for a folder URL (and, in a browser, for a hub id). Throws with the reason and the fix when it cannot.
 */
export async function resolveFile(pathOrId: string, filename: string, options: ResolveOptions = {}): Promise<string> {
  if (typeof pathOrId !== 'string' || !pathOrId) throw new HubError(`resolveFile: pathOrId must be a non-empty string, got ${JSON.stringify(pathOrId)}`);
  checkFilename(filename);
  const remote = remoteFile(pathOrId, filename, options);
  if (remote) return remote;
  if (existsSync(pathOrId) && statSync(pathOrId).isDirectory()) {
    const file = join(pathOrId, filename);
    if (!existsSync(file)) throw new EntryNotFoundError(`local directory '${pathOrId}' has no file named '${filename}'`);
    return file;
  }
  checkRepoId(pathOrId);
  const revision = options.revision ?? DEFAULT_REVISION;
  checkRevision(revision);
  const cacheDir = resolvePath(options.cache_dir ?? hubCacheDir());
  const storage = join(cacheDir, repoFolderName(pathOrId));
  const offline = options.local_files_only === true || isOfflineMode();
  const memoKey = `${cacheDir}\0${pathOrId}\0${revision}\0${filename}`;
  const t: Target = { repoId: pathOrId, filename, revision, url: hubFileUrl(pathOrId, filename, revision) };

  // A commit hash names immutable content: a cached snapshot needs no check with the hub.
  const known = resolvedInProcess.get(memoKey);
  if (known && existsSync(known)) return known;
  if (offline || COMMIT_HASH.test(revision)) {
    const cached = cachedSnapshotFile(storage, revision, filename);
    if (cached) return cached;
    if (offline) {
      const why = options.local_files_only ? 'local_files_only is set' : 'offline mode is on (HF_HUB_OFFLINE=1)';
      throw new LocalEntryNotFoundError(
        `'${filename}' of model '${pathOrId}' (revision '${revision}') is not cached in ${cacheDir}, and ${why} so nothing is downloaded. Run once with network access (unset HF_HUB_OFFLINE) to cache it, or pass a local directory.`,
      );
    }
  }

  const token = options.token ?? defaultToken();
  let meta: FileMetadata;
  try {
    meta = await fileMetadata(t, token);
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    // As huggingface_hub: when the hub cannot be reached, a cached copy still serves.
    const cached = cachedSnapshotFile(storage, revision, filename);
    if (cached) {
      process.emitWarning(`${err.message}; using the cached '${filename}' of '${pathOrId}'. Set HF_HUB_OFFLINE=1 to skip the network.`);
      return cached;
    }
    throw new HubError(
      `could not reach ${err.url} to download '${filename}' of model '${pathOrId}' (${err.message.replace(/^could not reach \S+: /, '')}), and it is not in the cache ${cacheDir}. Check the connection and HF_ENDPOINT; once the file is cached, HF_HUB_OFFLINE=1 uses it without the network.`,
    );
  }

  // Remember which commit the branch or tag points to, as huggingface_hub does.
  if (revision !== meta.commit) {
    const ref = join(storage, 'refs', revision);
    mkdirSync(dirname(ref), { recursive: true });
    if (!existsSync(ref) || readFileSync(ref, 'utf8') !== meta.commit) writeFileSync(ref, meta.commit);
  }
  const pointer = join(storage, 'snapshots', meta.commit, filename);
  const blob = join(storage, 'blobs', meta.etag);
  if (!existsSync(pointer)) {
    if (!existsSync(blob)) {
      let inFlight = downloadsInFlight.get(blob);
      if (!inFlight) {
        inFlight = downloadBlob(meta, blob, t, token, options.onProgress).finally(() => downloadsInFlight.delete(blob));
        downloadsInFlight.set(blob, inFlight);
      }
      await inFlight;
    }
    linkSnapshot(blob, pointer);
  }
  resolvedInProcess.set(memoKey, pointer);
  return pointer;
}

/**
 * Whether `filename` exists in a local directory or hub repository, for optional files
 * (tokenizer.json or vocab.json?). Hub: a cached file, else one HEAD request; a missing file
 * (404) is `false`, other failures (no such repository, no access, no network) throw. Offline,
 * an uncached file is `false` when the repository has this revision cached, else it throws.
 */
export async function fileExists(pathOrId: string, filename: string, options: ResolveOptions = {}): Promise<boolean> {
  if (typeof pathOrId !== 'string' || !pathOrId) throw new HubError(`fileExists: pathOrId must be a non-empty string, got ${JSON.stringify(pathOrId)}`);
  checkFilename(filename);
  const remote = remoteFile(pathOrId, filename, options);
  if (remote) return env.urlExists(remote);
  if (existsSync(pathOrId) && statSync(pathOrId).isDirectory()) return existsSync(join(pathOrId, filename));
  checkRepoId(pathOrId);
  const revision = options.revision ?? DEFAULT_REVISION;
  checkRevision(revision);
  const cacheDir = resolvePath(options.cache_dir ?? hubCacheDir());
  const storage = join(cacheDir, repoFolderName(pathOrId));
  const offline = options.local_files_only === true || isOfflineMode();
  const known = resolvedInProcess.get(`${cacheDir}\0${pathOrId}\0${revision}\0${filename}`);
  if (known && existsSync(known)) return true;
  if (offline || COMMIT_HASH.test(revision)) {
    if (cachedSnapshotFile(storage, revision, filename)) return true;
    if (offline) {
      const commit = COMMIT_HASH.test(revision) ? revision : existsSync(join(storage, 'refs', revision)) ? readFileSync(join(storage, 'refs', revision), 'utf8').trim() : null;
      if (commit && existsSync(join(storage, 'snapshots', commit))) return false;
      throw new LocalEntryNotFoundError(
        `model '${pathOrId}' (revision '${revision}') is not cached in ${cacheDir}, and offline mode is on (HF_HUB_OFFLINE=1 or local_files_only): cannot tell whether it has '${filename}'. Run once with network access, or pass a local directory.`,
      );
    }
  }
  const t: Target = { repoId: pathOrId, filename, revision, url: hubFileUrl(pathOrId, filename, revision) };
  try {
    await fileMetadata(t, options.token ?? defaultToken());
    return true;
  } catch (err) {
    if (err instanceof EntryNotFoundError) return false;
    if (err instanceof NetworkError) {
      if (cachedSnapshotFile(storage, revision, filename)) return true;
      throw new HubError(`could not reach ${err.url} to check for '${filename}' of model '${pathOrId}': ${err.message}`);
    }
    throw err;
  }
}

/** Forgets which files this process already resolved, so the next call checks with the hub again. */
export function clearResolvedFiles(): void {
  resolvedInProcess.clear();
}
