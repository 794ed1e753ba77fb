// Model files for the loaders (configs, processors, tokenizers): a local directory or a hub
// model id, resolved by src/hub (Hugging Face cache layout, offline mode, revisions).
export { resolveFile } from '../hub/hub.js';
export type { ResolveOptions } from '../hub/hub.js';
