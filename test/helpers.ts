import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from a compiled test under dist/test/. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Ground truth copied from ../shared/fixtures into the repository. */
export const FIXTURES = join(ROOT, 'test', 'fixtures');
