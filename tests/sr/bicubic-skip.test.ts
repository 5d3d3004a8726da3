/**
 * The SR models' bicubic global skip: with the residual branch silenced, a model must upsample
 * exactly like MATLAB's imresize bicubic (the training/benchmark resizer), so the network only
 * has to learn the detail bicubic misses. Checked at x2, x3 and x4 against `imresize`, away from
 * the 2-pixel border where the skip mirrors (ONNX-style reflect) and MATLAB mirrors symmetrically.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backends';
import { imresize } from '../../training/data/bicubic';
import { buildSrModel, countParameters } from '../../training/models/sr';
import { parseSrSources, withScaleAugmentation } from '../../training/data/sr-dataset';

function testImage(w: number, h: number): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = Math.round(127 + 100 * Math.sin(0.7 * x + 0.3 * c) * Math.cos(0.45 * y - c) + 20 * ((x * 7 + y * 13 + c * 5) % 3) - 20);
  return { width: w, height: h, data };
}

describe('SR bicubic skip', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
  });

  it.each([2, 3, 4])('x%i with a zero residual equals MATLAB imresize bicubic', (scale) => {
    const model = buildSrModel({ tier: 'real-time', scale, features: [8, 8], seed: 3 });
    const tail = model.getLayer('tail_conv');
    tail.setWeights(tail.getWeights().map((w) => tf.zerosLike(w)));
    const img = testImage(17, 13);
    const x = tf.tidy(() => tf.div(tf.tensor4d(img.data, [1, img.height, img.width, 3], 'float32'), 255));
    const y = model.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([1, img.height * scale, img.width * scale, 3]);
    const got = y.dataSync();
    const ref = imresize(img, scale);
    let maxDiff = 0;
    const W = img.width * scale;
    const border = 2 * scale;
    for (let yy = border; yy < img.height * scale - border; yy++)
      for (let xx = border; xx < W - border; xx++)
        for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(got[(yy * W + xx) * 3 + c] * 255 - ref.data[(yy * W + xx) * 3 + c]));
    // imresize rounds to uint8: at most half a grey level apart (plus float noise).
    expect(maxDiff).toBeLessThanOrEqual(0.51);
    x.dispose();
    y.dispose();
  });

  it('its weights are fixed: not trainable and not counted in the trainable parameters', () => {
    const model = buildSrModel({ tier: 'real-time', scale: 4 });
    const fixed = model.getLayer('skip_bicubic');
    expect(fixed.trainable).toBe(false);
    expect(model.trainableWeights.some((w) => w.originalName.startsWith('skip_bicubic'))).toBe(false);
    // The default real-time x4 stays inside the 60K-parameter budget, fixed weights included.
    expect(countParameters(model)).toBeLessThanOrEqual(60_000);
  });

  it('--data takes several folders, each optionally prescaled', () => {
    expect(parseSrSources('a, b@0.5')).toEqual([{ folder: 'a' }, { folder: 'b', prescale: 0.5 }]);
    expect(() => parseSrSources('a@2')).toThrow(/factor after @/);
    expect(() => parseSrSources(' , ')).toThrow(/no folder/);
    // Scale augmentation multiplies each folder's own prescale; 1 keeps it as is.
    expect(withScaleAugmentation(parseSrSources('a, b@0.5'), [1, 0.8])).toEqual([{ folder: 'a' }, { folder: 'a', prescale: 0.8 }, { folder: 'b', prescale: 0.5 }, { folder: 'b', prescale: 0.4 }]);
    expect(withScaleAugmentation([{ folder: 'a' }], [1])).toEqual([{ folder: 'a' }]);
    expect(() => withScaleAugmentation([{ folder: 'a' }], [1.5])).toThrow(/\(0, 1\]/);
  });
});
