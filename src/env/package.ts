// Node-only: this package's own folder and package.json, found from this file (src/ and dist/src/
// alike). The CLI needs the root for the bundled model and the demo; the session cache keys its
// entries by the package's name and version.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest folder above this file holding package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find package.json above ${dirname(fileURLToPath(import.meta.url))}`);
    dir = up;
  }
}

/** The package's package.json. */
export function packageJson(): { name?: string; version?: string } {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { name?: string; version?: string };
}
