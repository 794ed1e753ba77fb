// The browser entry (package.json exports["."].browser, bundled by scripts/build-browser.mjs into
// dist/browser/vision-encoder-decoder.js): the public API of src/index.ts that runs in a page,
// on onnxruntime-web. Left out, as they read and write folders on disk: the Trainer, the
// imagefolder/CSV datasets and the synthetic line renderer (fonts from node_modules).
export { configure } from './env/browser.js';
export type { BrowserSettings } from './env/browser.js';
export * from './api.js';
