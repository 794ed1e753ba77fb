// Reading a resolved model file, wherever resolveFile put it: a path on disk or a URL. Bytes come
// through the environment (src/env), which in a browser caches them; a JSON file is checked to
// parse before it can be cached, so an HTML error page served as config.json is refused, named.

import { env, utf8 } from '../env/index.js';

/** The file at `location` as text; `expected` says what it should be, for errors ('a JSON config'). */
export async function readText(location: string, expected: string): Promise<string> {
  const json = /\.json($|[?#])/i.test(location);
  return utf8(await env.readBytes(location, { expected, validate: json ? (b) => void JSON.parse(utf8(b)) : undefined }));
}

/** The file at `location` as bytes; `validate` throws when they are not what was expected. */
export function readBytes(location: string, expected: string, validate?: (bytes: Uint8Array) => void): Promise<Uint8Array> {
  return env.readBytes(location, { expected, validate });
}
