// The environment this build runs in. The Node build takes src/env/node.ts; the browser bundle
// (scripts/build-browser.mjs) resolves this one import to src/env/browser.ts instead.
export { env } from './node.js';
export type { DecodedPixels, Engine, EngineOptions, Environment, ReadOptions } from './types.js';
export { utf8 } from './types.js';
