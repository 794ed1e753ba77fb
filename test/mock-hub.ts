// A stand-in for huggingface.co on 127.0.0.1, answering as the real hub does:
//  - HEAD/GET {id}/resolve/{revision}/{file}: X-Repo-Commit and ETag on every answer;
//    small ("git") files are served directly, large ("LFS") files answer 302 with X-Linked-Etag
//    (sha256) and X-Linked-Size, and an absolute Location on a second server, the CDN;
//  - X-Error-Code RepoNotFound (401 without a token, as the hub does for private repos),
//    GatedRepo (403), RevisionNotFound (404), EntryNotFound (404);
//  - a renamed repository answers 307 with a relative Location;
//  - the CDN honours Range: bytes=N- with 206, and can be told to drop the connection mid-file.
// Every request and every TCP connection is recorded, on both servers.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface MockFile {
  content: Buffer;
  /** Served through the CDN redirect, like a file stored with git-lfs. */
  lfs?: boolean;
}
export interface MockRepo {
  /** revision (branch or tag) → commit hash */
  refs: Record<string, string>;
  /** commit hash → filename → file */
  commits: Record<string, Record<string, MockFile>>;
  /** A token that must be sent as Bearer; without it the repo is hidden (401 RepoNotFound). */
  token?: string;
  gated?: boolean;
  /** The repo was renamed: answer with a relative redirect to this id. */
  renamedTo?: string;
}
export interface RecordedRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export function sha1(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}
export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export class MockHub {
  requests: RecordedRequest[] = [];
  connections = 0;
  /** When set, the CDN sends only this many bytes of the next GET, then destroys the socket. */
  dropAfterBytes: number | null = null;
  private hub!: Server;
  private cdn!: Server;
  private sockets = new Set<Socket>();
  endpoint = '';
  cdnBase = '';
  private blobs = new Map<string, Buffer>();

  constructor(readonly repos: Record<string, MockRepo>) {
    for (const repo of Object.values(repos)) {
      for (const files of Object.values(repo.commits)) {
        for (const f of Object.values(files)) if (f.lfs) this.blobs.set(sha256(f.content), f.content);
      }
    }
  }

  async start(): Promise<this> {
    this.hub = createServer((req, res) => this.onHub(req.method ?? '', req.url ?? '', req.headers, res));
    this.cdn = createServer((req, res) => this.onCdn(req.method ?? '', req.url ?? '', req.headers, res));
    for (const s of [this.hub, this.cdn]) {
      s.on('connection', (sock: Socket) => {
        this.connections++;
        this.sockets.add(sock);
        sock.on('close', () => this.sockets.delete(sock));
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    }
    this.endpoint = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    this.cdnBase = `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([this.hub, this.cdn].map((s) => new Promise((r) => s.close(r))));
  }

  count(server: 'hub' | 'cdn', method?: string): number {
    return this.requests.filter((r) => r.server === server && (!method || r.method === method)).length;
  }

  private onHub(method: string, url: string, headers: IncomingHttpHeaders, res: ServerResponse): void {
    this.requests.push({ server: 'hub', method, url, headers });
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    const fail = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'x-error-code': code, 'x-error-message': message });
      res.end(method === 'HEAD' ? undefined : message);
    };
    if (!m) return fail(404, 'RepoNotFound', 'not a resolve URL');
    const repoId = m[1];
    const revision = decodeURIComponent(m[2]);
    const filename = m[3].split('/').map(decodeURIComponent).join('/');
    const repo = this.repos[repoId];
    // The hub hides private repositories: the same 401 as a repository that does not exist.
    if (!repo || (repo.token && headers.authorization !== `Bearer ${repo.token}`)) {
      return fail(401, 'RepoNotFound', 'Repository not found');
    }
    if (repo.renamedTo) {
      res.writeHead(307, { location: `/${repo.renamedTo}/resolve/${m[2]}/${m[3]}` });
      return void res.end();
    }
    if (repo.gated && !headers.authorization) return fail(403, 'GatedRepo', 'Access to this model is restricted');
    const commit = repo.refs[revision] ?? (repo.commits[revision] ? revision : undefined);
    if (!commit) return fail(404, 'RevisionNotFound', 'Invalid rev id');
    const file = repo.commits[commit][filename];
    if (!file) {
      res.writeHead(404, { 'x-repo-commit': commit, 'x-error-code': 'EntryNotFound', 'x-error-message': 'Entry not found' });
      return void res.end();
    }
    if (file.lfs) {
      const oid = sha256(file.content);
      res.writeHead(302, {
        location: `${this.cdnBase}/blobs/${oid}`,
        'x-repo-commit': commit,
        etag: `"${sha1(Buffer.from(`pointer ${oid}`))}"`,
        'x-linked-etag': `"${oid}"`,
        'x-linked-size': String(file.content.length),
        'content-length': '0',
      });
      return void res.end();
    }
    res.writeHead(200, { 'x-repo-commit': commit, etag: `"${sha1(file.content)}"`, 'content-length': String(file.content.length) });
    res.end(method === 'HEAD' ? undefined : file.content);
  }

  private onCdn(method: string, url: string, headers: IncomingHttpHeaders, res: ServerResponse): void {
    this.requests.push({ server: 'cdn', method, url, headers });
    const blob = this.blobs.get(url.replace(/^\/blobs\//, ''));
    if (!blob) {
      res.writeHead(404);
      return void res.end();
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(String(headers.range ?? ''));
    if (range) {
      start = Number(range[1]);
      if (start >= blob.length) {
        res.writeHead(416, { 'content-range': `bytes */${blob.length}` });
        return void res.end();
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}`, 'content-length': String(blob.length - start) });
    } else {
      res.writeHead(200, { 'content-length': String(blob.length) });
    }
    if (method === 'HEAD') return void res.end();
    const body = blob.subarray(start);
    if (this.dropAfterBytes !== null) {
      const n = this.dropAfterBytes;
      this.dropAfterBytes = null;
      res.write(body.subarray(0, n), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }
}
