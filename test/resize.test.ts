// Resizing and decoding: properties that must hold and small cases worked out by hand from
// Pillow's Resample.c / Geometry.c / Reduce.c and ATen's uint8 antialias kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from './helpers.js';
import { resize, reduce, resizeTorchvision, PILImageResampling as R, type PixelData } from '../src/processing/resize.js';
import { RawImage, loadImage } from '../src/processing/image.js';
import { pad, centerCrop, centerCropTv, rot90, normalize, rescale, imageArray } from '../src/processing/image_transforms.js';

const IMAGES = join(FIXTURES, 'hf', 'images');
const row = (values: number[]): PixelData => ({ data: Uint8Array.from(values), width: values.length, height: 1, channels: 1 });
const ALL = [R.NEAREST, R.BOX, R.BILINEAR, R.HAMMING, R.BICUBIC, R.LANCZOS];

test('same size returns an equal copy; constant images stay constant for every filter', () => {
  const img: PixelData = { data: Uint8Array.from({ length: 7 * 5 * 3 }, (_, i) => (i * 37) % 256), width: 7, height: 5, channels: 3 };
  const same = resize(img, 7, 5, { resample: R.LANCZOS });
  assert.deepEqual(same.data, img.data);
  assert.notEqual(same.data, img.data);
  const flat: PixelData = { data: new Uint8Array(9 * 6 * 3).fill(173), width: 9, height: 6, channels: 3 };
  for (const f of ALL) {
    for (const [w, h] of [[4, 3], [20, 13], [9, 2], [1, 1]] as const) {
      const out = resize(flat, w, h, { resample: f });
      assert.ok(out.data.every((v) => v === 173), `filter ${f} to ${w}x${h}`);
      assert.ok(resizeTorchvision(flat, w, h, 'bicubic').data.every((v) => v === 173));
    }
  }
});

test('BILINEAR and BOX 4→2 by hand (Pillow fixed point, 22 bits)', () => {
  // out0: centre 1.0, support 2, weights [3,3,1]/7 → (300+200)/7 = 71.4; fixed point gives 71.
  // out1: centre 3.0, weights [1,3,3]/7 → (100+600+765)/7 = 209.3 → 209.
  assert.deepEqual([...resize(row([0, 100, 200, 255]), 2, 1, { resample: R.BILINEAR }).data], [71, 209]);
  // BOX: plain pair means, rounded half up by the 2^21 bias: (0+101)/2 = 50.5 → 51.
  assert.deepEqual([...resize(row([0, 101, 200, 255]), 2, 1, { resample: R.BOX }).data], [51, 228]);
  // NEAREST samples at x0 + (x + 0.5)·scale: 1 and 3.
  assert.deepEqual([...resize(row([0, 100, 200, 255]), 2, 1, { resample: R.NEAREST }).data], [100, 255]);
  // Upscaling 2→4 bilinear: centres 0.25, 0.75, 1.25, 1.75 → 0, 25, 75, 100 (edge-normalised).
  assert.deepEqual([...resize(row([0, 100]), 4, 1, { resample: R.BILINEAR }).data], [0, 25, 75, 100]);
});

test('a box selects a region; an integer box of the output size is a crop', () => {
  const r = row([10, 20, 30, 40, 50, 60]);
  assert.deepEqual([...resize(r, 2, 1, { resample: R.BICUBIC, box: [2, 0, 4, 1] }).data], [30, 40]);
  assert.throws(() => resize(r, 2, 1, { box: [0, 0, 7, 1] }), /can't exceed the image size/);
  assert.throws(() => resize(r, 0, 1), /positive integers/);
  assert.throws(() => resize(r, 2, 1, { resample: 7 }), /unknown resampling filter \(7\)/);
});

test('reduce() averages blocks with Pillow rounding, partial edge blocks over their own area', () => {
  const img: PixelData = { data: Uint8Array.from([0, 10, 7, 20, 31, 9]), width: 3, height: 2, channels: 1 };
  // Block (0,10,20,31): (61 + 2) / 4 → 15; edge column (7, 9): (16 + 1) / 2 → 8.
  assert.deepEqual([...reduce(img, 2, 2).data], [15, 8]);
  // reducing_gap: 12 → 2 with gap 2 reduces by 3 first, then resamples 4 → 2.
  const wide = row(Array.from({ length: 12 }, (_, i) => i * 20));
  const direct = resize(wide, 2, 1, { resample: R.BILINEAR });
  const gapped = resize(wide, 2, 1, { resample: R.BILINEAR, reducing_gap: 2 });
  assert.equal(gapped.width, 2);
  assert.ok(Math.abs(direct.data[0]! - gapped.data[0]!) <= 2 && Math.abs(direct.data[1]! - gapped.data[1]!) <= 2);
});

test('RGBA is resized premultiplied, as Pillow converts it to RGBa', () => {
  // A transparent red pixel next to an opaque blue one: the red does not bleed into the mix.
  const img: PixelData = { data: Uint8Array.from([255, 0, 0, 0, 0, 0, 255, 255]), width: 2, height: 1, channels: 4 };
  const out = resize(img, 1, 1, { resample: R.BOX });
  assert.deepEqual([...out.data], [0, 0, 255, 128]);
});

test('torchvision uint8 bilinear uses int16 weights: differs from Pillow only in the last bit', () => {
  const img: PixelData = { data: Uint8Array.from({ length: 31 * 3 }, (_, i) => (i * 97 + 13) % 256), width: 31, height: 3, channels: 1 };
  const a = resizeTorchvision(img, 7, 2, 'bilinear').data;
  const b = resize(img, 7, 2, { resample: R.BILINEAR }).data;
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1);
  // nearest-exact picks floor((i + 0.5) · in/out): 4 → 2 reads 1 and 3.
  assert.deepEqual([...resizeTorchvision(row([0, 100, 200, 255]), 2, 1, 'nearest-exact').data], [100, 255]);
});

test('float32 images (mode F) are resized in double precision without clipping', () => {
  const f: PixelData = { data: Float32Array.from([0, 1.5, -2, 4]), width: 4, height: 1, channels: 1 };
  const out = resize(f, 2, 1, { resample: R.BOX });
  assert.ok(out.data instanceof Float32Array);
  assert.deepEqual([...out.data], [0.75, 1]);
});

test('transforms: pad, centre crops, rot90, rescale, normalize', () => {
  const img = imageArray(Uint8Array.from([1, 2, 3, 4, 5, 6]), 2, 3, 1);
  assert.deepEqual([...pad(img, [[1, 0], [0, 1]]).data], [0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0]);
  assert.deepEqual([...centerCrop(img, [2, 1]).data], [2, 5]);
  // Too small: numpy version pads ceil-first, torchvision floor-first.
  assert.deepEqual([...centerCrop(img, [2, 4]).data], [0, 1, 2, 3, 0, 4, 5, 6]);
  assert.deepEqual([...centerCropTv(img, [2, 4]).data], [1, 2, 3, 0, 4, 5, 6, 0]);
  // np.rot90(k=3) turns clockwise: rows become columns read bottom-up.
  const r = rot90(img, 3);
  assert.deepEqual([r.height, r.width, ...r.data], [3, 2, 4, 1, 5, 2, 6, 3]);
  const n = normalize(rescale(imageArray(Uint8Array.from([0, 255, 128]), 1, 1, 3), 1 / 255), [0.5, 0.5, 0.5], 0.5);
  assert.deepEqual([...n.data], [-1, 1, Math.fround(Math.fround(Math.fround(128 / 255) - 0.5) / 0.5)]);
});

test('decoding: RGBA alpha dropped, grey replicated, BMP read, bad input named', async () => {
  const rgba = await RawImage.read(join(IMAGES, 'small_rgba.png'));
  assert.equal(rgba.mode, 'RGBA');
  const rgb = await loadImage(join(IMAGES, 'small_rgba.png'));
  assert.equal(rgb.channels, 3);
  for (let i = 0; i < 64 * 48; i++) for (let c = 0; c < 3; c++) assert.equal(rgb.data[i * 3 + c], rgba.data[i * 4 + c]);
  const gray = await RawImage.read(join(IMAGES, 'gray_l.png'));
  assert.equal(gray.mode, 'L');
  const grayRgb = gray.rgb();
  assert.deepEqual([grayRgb.data[30], grayRgb.data[31], grayRgb.data[32]], [gray.data[10], gray.data[10], gray.data[10]]);

  // A 2×2 24-bit bottom-up BMP: rows padded to 8 bytes, pixels BGR.
  const bmp = Buffer.alloc(54 + 16);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(bmp.length, 2);
  bmp.writeUInt32LE(54, 10);
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(2, 18);
  bmp.writeInt32LE(2, 22);
  bmp.writeUInt16LE(1, 26);
  bmp.writeUInt16LE(24, 28);
  Buffer.from([3, 2, 1, 6, 5, 4, 0, 0, 9, 8, 7, 12, 11, 10, 0, 0]).copy(bmp, 54); // bottom row first
  const b = await loadImage(bmp);
  assert.deepEqual([b.width, b.height, ...b.data], [2, 2, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6]);
  // 8-bit palette BMP, top-down: palette entries are BGRx.
  const pal = Buffer.alloc(54 + 8 + 8);
  pal.write('BM', 0, 'latin1');
  pal.writeUInt32LE(54 + 8, 10);
  pal.writeUInt32LE(40, 14);
  pal.writeInt32LE(2, 18);
  pal.writeInt32LE(-2, 22);
  pal.writeUInt16LE(1, 26);
  pal.writeUInt16LE(8, 28);
  pal.writeUInt32LE(2, 46);
  Buffer.from([30, 20, 10, 0, 60, 50, 40, 0]).copy(pal, 54);
  Buffer.from([0, 1, 0, 0, 1, 1, 0, 0]).copy(pal, 62);
  const p = await loadImage(pal);
  assert.deepEqual([...p.data], [10, 20, 30, 40, 50, 60, 40, 50, 60, 40, 50, 60]);

  await assert.rejects(loadImage(join(IMAGES, 'nope.png')), /cannot read image file '.*nope\.png': no such file/);
  await assert.rejects(loadImage(Buffer.from('definitely not an image')), /could not decode <23 bytes> as an image/);
  await assert.rejects(loadImage(new Uint8Array(0)), /is empty/);
  await assert.rejects(loadImage(bmp.subarray(0, 60)), /BMP .*truncated/);
  // Decompression-bomb guard: over 2 × the limit is refused (500×333 = 166,500 pixels).
  await assert.rejects(loadImage(join(IMAGES, 'wide_rgb.png'), { maxImagePixels: 80_000 }), /166500 pixels, over the limit of 160000/);
  const dir = mkdtempSync(join(tmpdir(), 'img-'));
  writeFileSync(join(dir, 'x.bmp'), bmp);
  await assert.rejects(loadImage(join(dir, 'x.bmp'), { maxImagePixels: 1 }), /decompression bomb/);
  await assert.rejects(RawImage.read(42 as unknown as string), /expected a file path/);
});
