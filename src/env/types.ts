// The environment boundary: what differs between Node and a browser, and nothing else. Models,
// generation, processing maths and training call these; src/env/node.ts and src/env/browser.ts
// each implement them once (the browser build swaps the first for the second, see
// scripts/build-browser.mjs), so no other module asks which environment it runs in.
//
// This is the bottom layer: it imports no other part of the library.

import type * as ortTypes from 'onnxruntime-node';
import type onnxProtoTypes from 'onnx-proto';

/** The ONNX Runtime API both onnxruntime-node and onnxruntime-web export. */
export interface Engine {
  InferenceSession: typeof ortTypes.InferenceSession;
  Tensor: typeof ortTypes.Tensor;
}

export interface EngineOptions {
  threads?: number;
  /** Save the optimised model here as a cache entry: graph in this file, initializers in `<file>.data` beside it. */
  saveCacheEntry?: string;
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  optimizedModelFilePath?: string;
  spinAfterRun?: boolean;
  /** Repack constant weights for the kernels when the session loads (ORT's default; false skips it). */
  prepack?: boolean;
}

/**
 * A folder of ONNX Runtime sessions as ORT optimised them (graph in model.onnx, initializers in
 * model.onnx.data, which ORT maps instead of copying), by key. Entries appear whole or not at all:
 * each is written under a temporary name and renamed into place; an entry that is incomplete,
 * altered or unloadable is removed and built again.
 */
export interface ModelCache {
  /** The folder (for messages and tests). */
  readonly dir: string;
  /** What else a saved optimised model depends on: the engine's version, the CPU, this library's version. */
  readonly identity: string;
  /** An entry key: sha256 (hex) of the parts in order, each length-prefixed. */
  key(parts: (string | Uint8Array)[]): string;
  /** The model file of the complete entry `key`, or null; an entry that fails its checks is removed first. */
  find(key: string): string | null;
  /**
   * Publish a new entry: `write(modelPath)` makes model.onnx (and its data file) in a fresh
   * temporary folder, which is then renamed to `key`. If another process published `key` first,
   * theirs is kept. Returns the entry's model file.
   */
  publish(key: string, write: (modelPath: string) => Promise<void>): Promise<string>;
  /** Remove the entry `key` (it failed to load). */
  discard(key: string): void;
  /**
   * The most bytes the entries may take together (Infinity: no bound). Publishing an entry
   * removes the least recently used others until the rest fit; a find counts as a use.
   */
  readonly maxBytes: number;
}

/** Pixels as a decoder hands them over: interleaved, 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) channels. */
export interface DecodedPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
}

export interface ReadOptions {
  /** What the caller expects there, for the error message ('a JSON config', 'safetensors weights'). */
  expected: string;
  /**
   * Throws when the bytes are not what was expected. Runs before anything is cached, so a cache
   * never holds a file that failed it (an HTML error page saved as config.json, a cut download).
   */
  validate?: (bytes: Uint8Array) => void;
  /** Keep the bytes in the environment's cache (model files: yes; images: no). Default true. */
  cache?: boolean;
}

export interface Environment {
  readonly name: 'node' | 'browser';
  readonly engine: Engine;
  /** Threads for sessions created from now on (0 = the environment's default). */
  setDefaultThreads(n: number): void;
  /** Session options for the engine (threads, optimisation, spinning), in its own terms. */
  sessionOptions(o: EngineOptions): ortTypes.InferenceSession.SessionOptions;
  /**
   * The protobuf classes of onnx.proto (onnx-proto), loaded on first use: importing them takes
   * a `ved ocr` process 70–100 ms, and a session from the cache never serialises a graph.
   */
  onnxProto(): typeof onnxProtoTypes;
  /** The cache of optimised sessions, or null where there is none (a browser; turned off). */
  readonly modelCache: ModelCache | null;
  /** Where the cache of optimised sessions lives from now on, and how large it may grow (default 4 GiB); null turns it off. */
  setModelCacheDir(dir: string | null, options?: { maxBytes?: number }): void;
  /** Whether a hub model id resolves into a cache on disk (Node) rather than to a URL read by fetch. */
  readonly diskHubCache: boolean;
  /** `location` as an absolute http(s) URL when it names one here (a browser also resolves '/…', './…' against the page), else null. */
  asUrl(location: string): URL | null;
  /** What `location` is on the local disk: a file, a directory, or nothing (always nothing in a browser). */
  localKind(location: string): Promise<'file' | 'directory' | null>;
  /** Whether a URL answers (2xx) or is cached; a 404 is false; no answer at all throws, naming the URL. */
  urlExists(url: string): Promise<boolean>;
  /** The whole content of a local file or a URL; errors name the location and what was expected. */
  readBytes(location: string, options: ReadOptions): Promise<Uint8Array>;
  /**
   * Decode an encoded image (PNG, JPEG, WebP, GIF, TIFF, as the environment can). `checkSize`
   * runs on the header's dimensions before any pixel is decoded (the decompression-bomb limit).
   */
  decodeImage(bytes: Uint8Array, name: string, checkSize: (width: number, height: number) => void): Promise<DecodedPixels>;
  /** Pixels of an image object only this environment has (HTMLImageElement, ImageBitmap, canvas, ImageData), or null. */
  imageObjectPixels(input: unknown): Promise<DecodedPixels | null>;
  /** A non-fatal warning (Node: process.emitWarning; browser: console.warn). */
  warn(message: string, type?: string): void;
}

/** Bytes read through the boundary as UTF-8 text. */
export function utf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes);
}
