// Image processors against Python transformers' outputs (test/fixtures/hf/images, made with
// transformers 5 from the PNGs there, converted to RGB first): every processor on every image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from './helpers.js';
import {
  AutoImageProcessor,
  ViTImageProcessor,
  ViTImageProcessorPil,
  DonutImageProcessor,
  DeiTFeatureExtractor,
  DeiTImageProcessor,
  get_size_dict,
} from '../src/processing/image_processors.js';
import { RawImage, loadImage } from '../src/processing/image.js';

const IMAGES = join(FIXTURES, 'hf', 'images');
const PROCESSORS = ['vit-default', 'vit-bicubic-70x50', 'deit-crop', 'beit-48x40', 'donut'];
const IMAGE_FILES = readdirSync(IMAGES).filter((f) => f.endsWith('.png')).sort();

/** A minimal safetensors reader (float32 only), so this test does not depend on src/weights. */
function readF32Safetensors(path: string): Map<string, { dims: number[]; data: Float32Array }> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    assert.equal(e.dtype, 'F32', `${path}: ${name} is ${e.dtype}`);
    const bytes = buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    out.set(name, { dims: e.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) });
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('fixtures cover every processor and image', () => {
  assert.deepEqual(IMAGE_FILES, ['gray_l.png', 'small_rgba.png', 'square_rgb.png', 'tall_rgb.png', 'wide_rgb.png']);
  for (const p of PROCESSORS) assert.deepEqual([...readF32Safetensors(join(IMAGES, p, 'expected.safetensors')).keys()].sort(), IMAGE_FILES);
});

for (const name of PROCESSORS) {
  test(`${name}: pixel_values equal transformers' on every image`, async () => {
    const ip = await AutoImageProcessor.from_pretrained(join(IMAGES, name));
    const expected = readF32Safetensors(join(IMAGES, name, 'expected.safetensors'));
    for (const file of IMAGE_FILES) {
      const want = expected.get(file)!;
      const { pixel_values } = await ip.preprocess(join(IMAGES, file));
      assert.equal(pixel_values.type, 'float32');
      assert.deepEqual(pixel_values.dims, want.dims, `${name}/${file} shape`);
      const d = maxAbsDiff(pixel_values.data as Float32Array, want.data);
      assert.ok(d <= 1e-5, `${name}/${file}: max |diff| ${d}`);
    }
  });
}

test('a batch stacks images in order; RawImage and encoded bytes inputs give the same result', async () => {
  const ip = await ViTImageProcessor.from_pretrained(join(IMAGES, 'vit-bicubic-70x50'));
  const expected = readF32Safetensors(join(IMAGES, 'vit-bicubic-70x50', 'expected.safetensors'));
  const files = ['wide_rgb.png', 'gray_l.png'];
  const inputs = [await RawImage.read(join(IMAGES, files[0]!)), readFileSync(join(IMAGES, files[1]!))];
  const { pixel_values } = await ip.preprocess(inputs);
  assert.deepEqual(pixel_values.dims, [2, 3, 70, 50]);
  const per = 3 * 70 * 50;
  files.forEach((f, i) => {
    const got = (pixel_values.data as Float32Array).subarray(i * per, (i + 1) * per);
    assert.ok(maxAbsDiff(got, expected.get(f)!.data) <= 1e-5, f);
  });
});

test('the PIL backend differs from torchvision by at most one 8-bit level', async () => {
  const tv = await ViTImageProcessor.from_pretrained(join(IMAGES, 'vit-default'));
  const pil = await ViTImageProcessorPil.from_pretrained(join(IMAGES, 'vit-default'));
  assert.equal(tv.backend, 'torchvision');
  assert.equal(pil.backend, 'pil');
  const a = (await tv.preprocess(join(IMAGES, 'wide_rgb.png'))).pixel_values.data as Float32Array;
  const b = (await pil.preprocess(join(IMAGES, 'wide_rgb.png'))).pixel_values.data as Float32Array;
  const d = maxAbsDiff(a, b);
  assert.ok(d > 0 && d <= 1 / 127.5 + 1e-6, `max diff ${d}`);
  const auto = await AutoImageProcessor.from_pretrained(join(IMAGES, 'vit-default'), { backend: 'pil' });
  assert.ok(auto instanceof ViTImageProcessorPil);
});

test('config keys: defaults, legacy forms, overrides and to_dict round trip', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ip-'));
  // An old DeiT feature-extractor config: int sizes, feature_extractor_type.
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ feature_extractor_type: 'DeiTFeatureExtractor', size: 64, crop_size: 32, resample: 3, do_normalize: true, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225] }));
  const ip = await AutoImageProcessor.from_pretrained(dir, { do_center_crop: false });
  assert.ok(ip instanceof DeiTImageProcessor);
  assert.equal(DeiTFeatureExtractor, DeiTImageProcessor);
  assert.deepEqual(ip.size, { height: 64, width: 64 });
  assert.deepEqual(ip.crop_size, { height: 32, width: 32 });
  assert.equal(ip.do_center_crop, false);
  assert.equal(ip.rescale_factor, 1 / 255);
  const { pixel_values } = await ip.preprocess(join(IMAGES, 'tall_rgb.png'));
  assert.deepEqual(pixel_values.dims, [1, 3, 64, 64]);
  const d = ip.to_dict();
  assert.equal(d.image_processor_type, 'DeiTImageProcessor');
  await ip.save_pretrained(join(dir, 'saved'));
  const again = await AutoImageProcessor.from_pretrained(join(dir, 'saved'));
  assert.deepEqual(again.to_dict(), d);
  // Donut's old [width, height] size list.
  const donut = new DonutImageProcessor({ size: [1920, 2560] });
  assert.deepEqual(donut.size, { height: 2560, width: 1920 });
  assert.deepEqual(new ViTImageProcessor().size, { height: 224, width: 224 });
  assert.deepEqual(get_size_dict(384, { default_to_square: false }), { shortest_edge: 384 });
});

test('shortest_edge sizes keep the aspect ratio', async () => {
  const ip = new DeiTImageProcessor({ size: { shortest_edge: 40 }, crop_size: { height: 40, width: 40 } });
  const { pixel_values } = await ip.preprocess(join(IMAGES, 'wide_rgb.png'), { do_center_crop: false });
  assert.deepEqual(pixel_values.dims, [1, 3, 40, Math.trunc((40 * 500) / 333)]);
});

test('errors name the file, key or value and what was expected', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ip-'));
  await assert.rejects(AutoImageProcessor.from_pretrained(dir), /preprocessor_config\.json/);
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ image_processor_type: 'CLIPImageProcessor' }));
  await assert.rejects(AutoImageProcessor.from_pretrained(dir), /unsupported image processor type 'CLIPImageProcessor'.*ViTImageProcessor, DeiTImageProcessor, BeitImageProcessor, DonutImageProcessor/);
  writeFileSync(join(dir, 'preprocessor_config.json'), '{ not json');
  await assert.rejects(AutoImageProcessor.from_pretrained(dir), /preprocessor_config\.json: not valid JSON/);
  assert.throws(() => new ViTImageProcessor({ size: { height: 10 } }), /size must have one of the following set of keys/);
  assert.throws(() => new ViTImageProcessor({ resample: 9 }), /resample must be a PIL resampling filter id/);
  assert.throws(() => new ViTImageProcessor({ image_mean: 'x' }), /image_mean must be a number or a list/);
  const vit = new ViTImageProcessor({ image_mean: [0.5, 0.5] });
  await assert.rejects(vit.preprocess(join(IMAGES, 'square_rgb.png')), /image_mean must have 3 elements/);
  await assert.rejects(vit.preprocess([]), /no images given/);
  await assert.rejects(new ViTImageProcessor({ resample: 4 }).preprocess(join(IMAGES, 'square_rgb.png'), { size: { height: 8, width: 8 } }), /BOX.*not supported by the torchvision backend/);
  await assert.rejects(new ViTImageProcessor({ do_resize: false }).preprocess([join(IMAGES, 'square_rgb.png'), join(IMAGES, 'tall_rgb.png')]), /same size to be stacked/);
  // The processors' input is RGB whatever the file holds.
  assert.equal((await loadImage(join(IMAGES, 'gray_l.png'))).channels, 3);
});
