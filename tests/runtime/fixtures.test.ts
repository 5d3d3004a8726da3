import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { srModel, translateModel } from '../browser/site/onnx-fixtures';
import { nchwToRGBA, planTiles, rgbaToNCHW, runTiled, cropRGBA } from '../../lib/imaging';

function image(w: number, h: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      out.set([128 + 100 * Math.sin(x / 9), 128 + 90 * Math.cos(y / 6), (x * 3 + y * 5) % 256, 255], i);
    }
  return out;
}

describe('test ONNX fixtures run in onnxruntime and follow the contract', () => {
  it('translate keeps the size and stays in [-1,1]', async () => {
    const s = await ort.InferenceSession.create(translateModel());
    const x = new ort.Tensor('float32', rgbaToNCHW(image(24, 16), 24, 16, [-1, 1]), [1, 3, 16, 24]);
    const y = (await s.run({ input: x })).output;
    expect(y.dims).toEqual([1, 3, 16, 24]);
    const d = y.data as Float32Array;
    expect(Math.max(...d)).toBeLessThanOrEqual(1);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(-1);
  });

  it('sr x4 multiplies H and W by 4 and a tiled run matches the whole image (max diff <= 2/255)', async () => {
    const s = await ort.InferenceSession.create(srModel(4, 31));
    const W = 90, H = 70, S = 4;
    const img = image(W, H);
    const run = async (rgba: Uint8ClampedArray, w: number, h: number) => {
      const out = await s.run({ lr: new ort.Tensor('float32', rgbaToNCHW(rgba, w, h, [0, 1]), [1, 3, h, w]) });
      expect(out.sr.dims).toEqual([1, 3, h * S, w * S]);
      return nchwToRGBA(out.sr.data as Float32Array, w * S, h * S, [0, 1]);
    };
    const whole = await run(img, W, H);
    const plan = planTiles(W, H, { size: 40, overlap: 8, scale: S });
    expect(plan.tiles.length).toBeGreaterThan(4);
    const tiled = await runTiled(plan, (t) => cropRGBA(img, W, t.x, t.y, t.w, t.h), (rgba, t) => run(rgba, t.w, t.h));
    let max = 0;
    for (let i = 0; i < tiled.length; i++) max = Math.max(max, Math.abs(tiled[i] - whole[i]));
    expect(max).toBeLessThanOrEqual(2);
  });
});
