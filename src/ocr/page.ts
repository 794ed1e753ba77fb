// One page made ready to read: its text lines (layout.ts) and their crops as the model's input
// (pixel values). Every page's preparation is independent of the others' and of the model, so a
// reader of many pages may prepare them anywhere (ved serve prepares part of a batch's pages in a
// worker thread while the main thread prepares the rest); this module loads no model.

import type { BaseImageProcessor } from '../processing/image_processors.js';
import { RawImage } from '../processing/image.js';
import { jointCrops, lineCrops } from './crops.js';
import { findTextLines, toGray, type LayoutOptions, type TextLine } from './layout.js';

export interface PreparedPage {
  lines: TextLine[];
  /** The line of each chunk's crop, in reading order: the first lineOfCrop.length crops. */
  lineOfCrop: number[];
  /** The line and joint (TextLine.joints) of each crop after the chunks'. */
  jointOfCrop: Array<[line: number, joint: number]>;
  /** The crops' pixel values, float32 [crops, channels, height, width] row-major (empty: no crop). */
  pixels: Float32Array;
  /** [channels, height, width] of one crop's pixel values (0s when there is no crop). */
  cropDims: [number, number, number];
}

/** Find the lines of an image and turn their crops into the model's input. */
export async function preparePage(image: RawImage, processor: BaseImageProcessor, layout: LayoutOptions = {}): Promise<PreparedPage> {
  // The layout and the crops read only the image's luma: computed once here rather than by each.
  const gray = image.channels === 1 ? image : RawImage.fromPixels(toGray(image), image.width, image.height, 1);
  const lines = findTextLines(gray, layout);
  const crops = lineCrops(gray, lines);
  const joints = jointCrops(gray, lines);
  if (crops.length === 0) return { lines, lineOfCrop: [], jointOfCrop: [], pixels: new Float32Array(0), cropDims: [0, 0, 0] };
  const { pixel_values } = await processor.preprocess([...crops, ...joints].map((c) => c.crop));
  const [, c, h, w] = pixel_values.dims as [number, number, number, number];
  return {
    lines,
    lineOfCrop: crops.map((c) => c.line),
    jointOfCrop: joints.map((j) => [j.line, j.joint]),
    pixels: pixel_values.data as Float32Array,
    cropDims: [c, h, w],
  };
}
