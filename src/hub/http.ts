// Minimal HTTP(S) client for the hub: one request at a time, no automatic redirects (the caller
// decides which ones to follow and which headers travel with them), a socket timeout, and the
// response body left as a stream so large files go straight to disk.
// node:http and node:https are imported by the first request: a local model never needs them, and
// loading the two took about 11 ms of a `ved ocr` process's start.
import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as a stream; for HEAD requests it is already drained. */
  body: IncomingMessage;
  url: string;
}

/** A request that never reached an HTTP answer (DNS, refused connection, reset, timeout). */
export class NetworkError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`could not reach ${url}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'NetworkError';
  }
}

export async function send(
  method: 'GET' | 'HEAD',
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<HttpResponse> {
  const u = new URL(url);
  const doRequest = u.protocol === 'https:' ? (await import('node:https')).request : u.protocol === 'http:' ? (await import('node:http')).request : null;
  if (!doRequest) throw new NetworkError(url, new Error(`unsupported protocol '${u.protocol}'`));
  return new Promise((resolve, reject) => {
    const req = doRequest(u, { method, headers }, (res) => {
      // An idle socket after the headers is still a failure the caller must see: the timeout
      // keeps running while the body streams (reset by every chunk), as requests' read timeout.
      if (method === 'HEAD') res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err) => reject(new NetworkError(url, err)));
    req.end();
  });
}

/** Reads a (small) response body as text, e.g. an error message from the server. */
export async function readText(res: HttpResponse, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    if (n < limit) chunks.push(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}
