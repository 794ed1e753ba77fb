// The browser side of the environment boundary (src/env/types.ts): onnxruntime-web (WASM with
// SIMD; threads where the page is cross-origin isolated), files by fetch kept in the Cache API,
// images decoded by createImageBitmap and read back through a 2D canvas.
//
// onnxruntime-web's WASM build has the com.microsoft kernels the graphs use (MultiHeadAttention,
// MatMulNBits, DynamicQuantizeMatMul, and what its optimiser fuses), so the browser runs the very
// graphs Node runs; test/browser.test.ts checks the token ids of both, float32 and int8.
//
// PNG decoding in browsers is exact when nothing converts the pixels: no colour-space
// conversion (PIL ignores gamma and ICC too) and no alpha premultiplication. A canvas stores
// premultiplied pixels, so colour under partial transparency is rounded; opaque pixels (every
// scanned or rendered page) come back as PIL reads them.

import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-web/wasm';
import type { DecodedPixels, Engine, EngineOptions, Environment, ReadOptions } from './types.js';

const CACHE_NAME = 'vision-encoder-decoder';

export interface BrowserSettings {
  /** Folder (URL) of ort-wasm-simd-threaded.{mjs,wasm}; default the folder of this module. */
  wasmPaths?: string;
  /** WASM threads; default every core when the page is cross-origin isolated, else 1 (ORT needs SharedArrayBuffer for threads). */
  numThreads?: number;
  /** Keep model files in the Cache API (default true); a name picks another cache. */
  cache?: boolean | string;
}

let settings: BrowserSettings = {};
let engineReady = false;

/** Settings of the browser environment; call before the first model loads (ORT reads threads and paths once). */
export function configure(s: BrowserSettings): void {
  settings = { ...settings, ...s };
}

function prepareEngine(): void {
  if (engineReady) return;
  engineReady = true;
  ort.env.wasm.wasmPaths = settings.wasmPaths ?? new URL('./', import.meta.url).href;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  ort.env.wasm.numThreads = settings.numThreads ?? (isolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1);
  ort.env.wasm.simd = true;
}

async function openCache(): Promise<Cache | null> {
  if (settings.cache === false || typeof caches === 'undefined') return null;
  try {
    return await caches.open(typeof settings.cache === 'string' ? settings.cache : CACHE_NAME);
  } catch {
    return null; // e.g. an opaque origin: no cache rather than no model
  }
}

function fetchFailure(url: string, expected: string, why: string): Error {
  return new Error(`could not fetch ${url} (expected ${expected}): ${why}`);
}

async function download(url: string, o: ReadOptions): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { credentials: 'same-origin' });
  } catch (e) {
    // Browsers give one TypeError for every refusal, so name the usual causes.
    throw fetchFailure(url, o.expected, `${(e as Error).message} (the server is unreachable, or refused this page: a file on another origin needs CORS, Access-Control-Allow-Origin)`);
  }
  if (!res.ok) throw fetchFailure(url, o.expected, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw fetchFailure(url, o.expected, `the download broke off: ${(e as Error).message}`);
  }
  const declared = Number(res.headers.get('content-length'));
  if (declared > 0 && !res.headers.get('content-encoding') && bytes.length !== declared) {
    throw fetchFailure(url, o.expected, `got ${bytes.length} of ${declared} bytes`);
  }
  try {
    o.validate?.(bytes);
  } catch (e) {
    throw new Error(`${url} is not ${o.expected}: ${(e as Error).message}`);
  }
  return bytes;
}

function canvas2d(width: number, height: number): OffscreenCanvasRenderingContext2D {
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('loadImage: this browser gives no 2D canvas context to read pixels from');
  return ctx;
}

/** RGBA from a canvas, reduced to RGB when every pixel is opaque (as PIL opens a PNG without alpha). */
function fromRgba(data: Uint8ClampedArray, width: number, height: number): DecodedPixels {
  const n = width * height;
  for (let i = 0; i < n; i++) if (data[i * 4 + 3] !== 255) return { data, width, height, channels: 4 };
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = data[i * 4]!;
    rgb[i * 3 + 1] = data[i * 4 + 1]!;
    rgb[i * 3 + 2] = data[i * 4 + 2]!;
  }
  return { data: rgb, width, height, channels: 3 };
}

function bitmapPixels(bitmap: ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas, width: number, height: number): DecodedPixels {
  const ctx = canvas2d(width, height);
  ctx.drawImage(bitmap, 0, 0);
  return fromRgba(ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data, width, height);
}

const BITMAP_OPTIONS: ImageBitmapOptions = { colorSpaceConversion: 'none', premultiplyAlpha: 'none' };

export const env: Environment = {
  name: 'browser',
  engine: ort as unknown as Engine,
  setDefaultThreads(n: number) {
    configure({ numThreads: n || undefined });
  },
  sessionOptions(o: EngineOptions) {
    prepareEngine();
    return { executionProviders: ['wasm'], graphOptimizationLevel: o.optimization ?? 'all', executionMode: 'sequential' };
  },
  onnxProto() {
    return onnxProto;
  },
  // ORT-web neither saves optimised models nor maps files: every session is built from its graph.
  modelCache: null,
  setModelCacheDir() {},
  diskHubCache: false,
  asUrl(location: string) {
    if (/^https?:\/\//i.test(location)) return new URL(location);
    // A page names its own files by path: '/models/x/', './models/x/'; 'owner/name' stays a hub id.
    if (/^\.{0,2}\//.test(location)) return new URL(location, globalThis.location?.href);
    return null;
  },
  async localKind() {
    return null;
  },
  async urlExists(url: string) {
    const cache = await openCache();
    if (cache && (await cache.match(url))) return true;
    let res: Response;
    try {
      res = await fetch(url, { method: 'HEAD', credentials: 'same-origin' });
    } catch (e) {
      throw new Error(`could not reach ${url}: ${(e as Error).message} (the server is unreachable, or refused this page: a file on another origin needs CORS, Access-Control-Allow-Origin)`);
    }
    if (res.ok) return true;
    if (res.status === 404) return false;
    throw new Error(`${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  },
  async readBytes(location: string, o: ReadOptions) {
    const url = this.asUrl(location);
    if (!url) throw new Error(`cannot read '${location}' in a browser (expected ${o.expected}): give a URL ('https://…', '/…' or './…') or a hub model id`);
    const cache = o.cache === false ? null : await openCache();
    const hit = await cache?.match(url.href);
    if (hit) return new Uint8Array(await hit.arrayBuffer());
    const bytes = await download(url.href, o);
    // Only a complete, validated download is kept.
    await cache?.put(url.href, new Response(bytes.slice().buffer, { headers: { 'content-length': String(bytes.length) } })).catch(() => {});
    return bytes;
  },
  async decodeImage(bytes: Uint8Array, name: string, checkSize: (width: number, height: number) => void) {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(new Blob([bytes.slice().buffer]), BITMAP_OPTIONS);
    } catch (e) {
      throw new Error(`loadImage: could not decode ${name} as an image (expected PNG, JPEG, WebP, GIF or BMP): ${(e as Error).message}`);
    }
    try {
      checkSize(bitmap.width, bitmap.height);
      return bitmapPixels(bitmap, bitmap.width, bitmap.height);
    } finally {
      bitmap.close();
    }
  },
  async imageObjectPixels(input: unknown) {
    if (typeof ImageData !== 'undefined' && input instanceof ImageData) return fromRgba(input.data, input.width, input.height);
    if (typeof ImageBitmap !== 'undefined' && input instanceof ImageBitmap) return bitmapPixels(input, input.width, input.height);
    if (typeof OffscreenCanvas !== 'undefined' && input instanceof OffscreenCanvas) return bitmapPixels(input, input.width, input.height);
    if (typeof HTMLCanvasElement !== 'undefined' && input instanceof HTMLCanvasElement) return bitmapPixels(input, input.width, input.height);
    if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement) {
      if (!input.complete || input.naturalWidth === 0) await input.decode();
      // Decode the element's source again without the page's colour management when it can be fetched.
      if (input.currentSrc) {
        try {
          const res = await fetch(input.currentSrc);
          if (res.ok) {
            const bitmap = await createImageBitmap(await res.blob(), BITMAP_OPTIONS);
            try {
              return bitmapPixels(bitmap, bitmap.width, bitmap.height);
            } finally {
              bitmap.close();
            }
          }
        } catch {
          // Fall back to the element as displayed.
        }
      }
      return bitmapPixels(input, input.naturalWidth, input.naturalHeight);
    }
    return null;
  },
  warn(message: string) {
    console.warn(message);
  },
};
