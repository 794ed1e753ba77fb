// Model files for the loaders (configs, processors, tokenizers): a local directory, a folder URL
// or a hub model id, resolved by src/hub (Hugging Face cache layout, offline mode, revisions).
export { resolveFile, fileExists } from '../hub/hub.js';
export { readText } from '../hub/files.js';
export type { ResolveOptions } from '../hub/hub.js';
