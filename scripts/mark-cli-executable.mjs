// After tsc: the `ved` bin must be executable, so that npx runs it through its shebang, which
// passes node --single-threaded-gc (see src/cli/main.ts). tsc writes files without the bit.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/src/cli/main.js', import.meta.url), 0o755);
