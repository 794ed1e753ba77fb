// After tsc and the CLI bundle: the `ved` bin (dist/cli/ved.js) must be executable, so that npx
// runs it through its shebang, which passes node --single-threaded-gc (see src/cli/main.ts), and so
// must dist/src/cli/main.js, the same command unbundled. Neither build sets the bit.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli/ved.js', import.meta.url), 0o755);
chmodSync(new URL('../dist/src/cli/main.js', import.meta.url), 0o755);
