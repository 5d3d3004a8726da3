/**
 * Upscaling a large photo on the site runs the model in tiles. An SR network is a local operator: an
 * output pixel depends on the input within its receptive radius, so if every tile's outer `margin`
 * (>= that radius) gets no weight in the seam blend, the tiled picture equals the whole-image run.
 * Here: the radius each shipped ONNX really has (measured by perturbing one input pixel) is what its
 * manifest entry's `tile.margin` says, the analytic `receptiveRadius` of the tfjs builders agrees, and
 * the widest shipped upscaler tiles to its whole-image result; the old quarter-of-the-overlap margin
 * (16 px overlap, 4 px margin, under a 19 px radius) did not (off by 1/255 here and there: small,
 * because the influence of far pixels decays, but not the picture the evaluation measured).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../../training/backends';
import { buildSrModel, receptiveRadius } from '../../training/models/sr';
import { srTile } from '../../training/tasks/sr/ship';
import { createNodeTiler } from '../../lib/runtime/node';
import { parseManifest } from '../../lib/contract/manifest';
import { decodeImageFile } from '../../training/data/images';
import { DEFAULT_SR_ROOT } from '../../training/eval/sr/evaluate';

const root = path.resolve(__dirname, '../..');
const manifest = parseManifest(JSON.parse(readFileSync(path.join(root, 'public/models/manifest.json'), 'utf8')));
const srModels = manifest.models.filter((m) => m.task === 'super-resolution');

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
});

/** LR distance from a perturbed centre pixel to the farthest output pixel that changed. */
async function measuredRadius(file: string, scale: number): Promise<number> {
  const session = await ort.InferenceSession.create(readFileSync(file));
  const N = 64, c = 32;
  let seed = 7;
  const x = Float32Array.from({ length: 3 * N * N }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 0.8 + 0.1);
  const x2 = x.slice();
  for (let ch = 0; ch < 3; ch++) x2[ch * N * N + c * N + c] = 1 - x[ch * N * N + c * N + c];
  const run = async (v: Float32Array) => {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', v, [1, 3, N, N]) });
    return out[session.outputNames[0]].data as Float32Array;
  };
  const [a, b] = [await run(x), await run(x2)];
  await session.release();
  const M = N * scale;
  let r = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue; // pixels that do not depend on the centre are computed identically
    const p = i % (M * M);
    const lrY = Math.floor(Math.floor(p / M) / scale), lrX = Math.floor((p % M) / scale);
    r = Math.max(r, Math.abs(lrY - c), Math.abs(lrX - c));
  }
  return r;
}

describe('SR tiling margin = receptive radius', () => {
  it('receptiveRadius counts the longest conv chain of each builder', () => {
    expect(receptiveRadius(buildSrModel({ tier: 'real-time', scale: 2, seed: 1 }))).toBe(6); // 5x5 + 3 x 3x3 + tail
    expect(receptiveRadius(buildSrModel({ tier: 'quality', scale: 4, features: [8], blocks: 8, seed: 1 }))).toBe(19); // head + 16 + body + tail
    expect(receptiveRadius(buildSrModel({ tier: 'quality', scale: 2, features: [8], blocks: 2, skip: 'nearest', seed: 1 }))).toBe(7);
    expect(srTile(19)).toEqual({ size: 256, overlap: 42, margin: 19 });
  });

  it.each(srModels.map((m) => [m.id, m] as const))('%s: the manifest margin is the measured radius of the ONNX', async (_id, m) => {
    expect(m.tile?.margin, 'every SR entry names its margin').toBeDefined();
    const r = await measuredRadius(path.join(root, 'public/models', m.file), m.scale);
    expect(r).toBeGreaterThan(2);
    expect(m.tile!.margin).toBe(r);
    expect(m.tile!.overlap).toBeGreaterThan(2 * r);
  });

  it('the widest shipped upscaler tiles to its whole-image result; a quarter-overlap margin does not', async () => {
    const m = srModels.reduce((a, b) => ((b.tile?.margin ?? 0) > (a.tile?.margin ?? 0) ? b : a));
    const img = await decodeImageFile(path.join(DEFAULT_SR_ROOT, 'Set14/LR_bicubic/X2/baboon.png')); // textured: seams would show
    const W = 200, H = 150;
    const rgba = new Uint8ClampedArray(W * H * 4);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < 4; c++) rgba[(y * W + x) * 4 + c] = c === 3 ? 255 : img ? img.data[(y * img.width + x) * 3 + c] : (x * 7 + y * 13 + c * 50) % 256;
    const tiler = await createNodeTiler(readFileSync(path.join(root, 'public/models', m.file)));
    const spec = (tile: { size: number; overlap: number; margin?: number }) =>
      ({ inRange: m.input.range, outRange: m.output.range, scale: m.scale, multipleOf: m.multipleOf, tile, feather: 'linear' }) as const;
    try {
      const whole = await tiler.runImage(rgba, W, H, spec({ size: 256, overlap: 0 }));
      expect(whole.plan.tiles.length).toBe(1);
      const diff = (a: Uint8ClampedArray) => {
        let max = 0, n = 0;
        a.forEach((v, i) => {
          const d = Math.abs(v - whole.out[i]);
          if (d > 0) n++;
          max = Math.max(max, d);
        });
        return { max, n };
      };
      // small tiles so that the 200x150 picture needs several (a tile must be well over twice the overlap)
      const size = Math.max(96, 2 * m.tile!.overlap + 20);
      const tiled = await tiler.runImage(rgba, W, H, spec({ ...m.tile!, size }));
      expect(tiled.plan.tiles.length).toBeGreaterThanOrEqual(6);
      const oldWay = await tiler.runImage(rgba, W, H, spec({ size, overlap: 16 }));
      const [now, before] = [diff(tiled.out), diff(oldWay.out)];
      console.log(`${m.id}: tiled vs whole: ${now.n} values differ (max ${now.max}/255) with margin ${m.tile!.margin}; ${before.n} (max ${before.max}/255) with 16 px overlap, quarter margin`);
      expect(now.max).toBeLessThanOrEqual(1);
      expect(before.n).toBeGreaterThan(0);
      expect(now.n).toBeLessThan(before.n / 10);
    } finally {
      await tiler.release();
    }
  });
});
