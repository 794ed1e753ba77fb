// The fast PNG path of the node environment (src/env/png.ts): for the PNGs it takes, the pixels
// equal sharp's decode of the same file (PIL's, by image_processors.test.ts); every other PNG is
// declined (null) so that sharp decodes it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeSimplePng, simplePngSize } from '../src/env/png.js';
import { rng } from './helpers.js';

function pixels(n: number, seed: number): Buffer {
  const r = rng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}

async function sharpRaw(png: Buffer): Promise<{ data: Buffer; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels };
}

test('PNG: 8-bit grey, grey + alpha, RGB and RGBA, plain and interlaced, decode to sharp\'s pixels', async () => {
  const [w, h] = [37, 23];
  for (const channels of [1, 2, 3, 4] as const) {
    for (const progressive of [false, true]) {
      const png = await sharp(pixels(w * h * channels, channels), { raw: { width: w, height: h, channels } }).png({ progressive, compressionLevel: 6 }).toBuffer();
      assert.deepEqual(simplePngSize(png), { width: w, height: h });
      const ours = decodeSimplePng(png);
      assert.ok(ours, `channels ${channels}, interlaced ${progressive}: declined`);
      const ref = await sharpRaw(png);
      assert.equal(ours.channels, ref.channels, `channels ${channels}`);
      assert.deepEqual([ours.width, ours.height], [w, h]);
      assert.deepEqual(Buffer.from(ours.data), ref.data, `channels ${channels}, interlaced ${progressive}`);
    }
  }
});

test('PNG: palette, 16-bit, a tRNS colour key, a bad CRC, a truncated file and not-a-PNG are declined', async () => {
  const [w, h] = [16, 9];
  const rgb = pixels(w * h * 3, 9);
  const palette = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png({ palette: true }).toBuffer();
  assert.equal(decodeSimplePng(palette), null);
  const deep = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  assert.equal(decodeSimplePng(deep), null);
  // A tRNS chunk (grey level 0 transparent) put in front of the first IDAT of a grey PNG.
  const grey = await sharp(pixels(w * h, 4), { raw: { width: w, height: h, channels: 1 } }).png().toBuffer();
  const trns = Buffer.from([0, 0, 0, 2, 0x74, 0x52, 0x4e, 0x53, 0, 0]);
  const crc = crc32(trns.subarray(4));
  const keyed = Buffer.concat([grey.subarray(0, 33), trns, Buffer.from([crc >>> 24, (crc >>> 16) & 255, (crc >>> 8) & 255, crc & 255]), grey.subarray(33)]);
  assert.ok(decodeSimplePng(grey), 'the grey PNG itself is taken');
  assert.equal(decodeSimplePng(keyed), null);
  const bad = Buffer.from(grey);
  bad[bad.length - 20] ^= 0xff; // inside the IDAT: its CRC no longer matches
  assert.equal(decodeSimplePng(bad), null);
  assert.equal(decodeSimplePng(grey.subarray(0, grey.length - 30)), null);
  assert.equal(decodeSimplePng(Buffer.from('not a png at all, just some text bytes here')), null);
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
