// `ved demo`: the browser demo (examples/browser/) on a small static server. It serves the
// page, the browser build (dist/browser: the library and onnxruntime-web's WASM), the bundled
// model and the example images, with the COOP/COEP headers that make the page cross-origin
// isolated, which onnxruntime-web needs for WASM threads (SharedArrayBuffer).

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { packageRoot, parse, positiveInt, UsageError, type Command } from './common.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.css': 'text/css; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.jsonl': 'application/jsonl',
};

/** What a static server may hand out: only these folders of the package, never the rest of the disk. */
const SERVED = ['examples', join('dist', 'browser'), 'models'];

export interface StaticServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `root`'s SERVED folders (plus `extra` URL prefixes mapped to folders) on host:port
 * (port 0: any free one). '/' redirects to the demo page.
 */
export async function startStaticServer({ root = packageRoot(), host = '127.0.0.1', port = 0, extra = {} as Record<string, string> } = {}): Promise<StaticServer> {
  const mounts: [string, string][] = [...Object.entries(extra), ...SERVED.map((d): [string, string] => [`/${d.split(sep).join('/')}/`, join(root, d)])];
  const server = createServer((req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-cache',
    };
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') {
      res.writeHead(302, { ...headers, Location: '/examples/browser/' });
      res.end();
      return;
    }
    const mount = mounts.find(([prefix]) => path.startsWith(prefix));
    const rel = mount ? normalize(path.slice(mount[0].length)) : null;
    if (!mount || rel === null || rel.startsWith('..') || rel.includes(`${sep}..`)) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    let file = join(mount[1], rel);
    stat(file)
      .then(async (s) => {
        if (s.isDirectory()) {
          file = join(file, 'index.html');
          s = await stat(file);
        }
        res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': s.size });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
      })
      .catch(() => {
        res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
        res.end('not found\n');
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const HELP = `Usage: ved demo [--host HOST] [--port PORT]

Serves the browser demo (examples/browser/): choose or drop an image of a text line and read it
with the bundled OCR model, in the page, on onnxruntime-web. Open the printed address in a browser.

Options:
  --host HOST   address to listen on (default 127.0.0.1)
  --port PORT   port (default 8080; 0 picks a free one)
  -h, --help    show this help
`;

export const demo: Command = {
  name: 'demo',
  summary: 'serve the browser demo page (the bundled model on onnxruntime-web)',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parse('demo', argv, { host: { type: 'string' }, port: { type: 'string' } });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length) throw new UsageError(`ved demo: unexpected argument '${positionals[0]}' (see 'ved demo --help')`);
    const port = values.port === '0' ? 0 : (positiveInt('demo', '--port', values.port) ?? 8080);
    const root = packageRoot();
    if (!(await stat(join(root, 'dist', 'browser', 'vision-encoder-decoder.js')).catch(() => null))) {
      throw new Error(`ved demo: the browser build is missing (dist/browser); run npm run build`);
    }
    const s = await startStaticServer({ root, host: values.host ?? '127.0.0.1', port });
    process.stdout.write(`ved demo: open ${s.url}/ (Ctrl-C stops)\n`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await s.close();
    return 0;
  },
};
