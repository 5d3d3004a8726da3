/**
 * The pure parts behind full-size translation in one piece: aligned tile plans, the area downscaler
 * for the statistics copy, and the seam measures the tests and benchmarks rely on.
 */
import { describe, expect, it } from 'vitest';
import { planAxis, planTiles } from '../../lib/imaging/tiles';
import { downscaleRGBA } from '../../lib/imaging/resize';
import { colourSteps, seamReport, tileMeanDiffs } from '../../lib/imaging/tile-metrics';
import { statsSizeFor } from '../../lib/runtime/whole-image';

describe('aligned tile plans', () => {
  it('start every tile at a multiple of multipleOf, keep the overlap and the size bound, cover the axis', () => {
    for (const [len, size, ov, m] of [[2048, 512, 32, 4], [4032, 512, 32, 4], [3024, 512, 32, 4], [1001, 256, 16, 8], [777, 512, 32, 4], [513, 512, 32, 4]]) {
      const spans = planAxis(len, size, ov, m, true);
      expect(spans[0].start).toBe(0);
      const last = spans[spans.length - 1];
      expect(last.start + last.length).toBe(len);
      for (const [i, s] of spans.entries()) {
        expect(s.start % m).toBe(0);
        expect(s.padded % m).toBe(0);
        expect(s.padded).toBeLessThanOrEqual(size);
        expect(s.padded - s.length).toBeLessThan(m);
        if (i < spans.length - 1) expect(s.padded).toBe(s.length); // only the last tile is padded, at the image edge
        if (i > 0) {
          expect(s.overlapBefore).toBeGreaterThanOrEqual(ov);
          expect(spans[i - 1].overlapAfter).toBe(s.overlapBefore);
        }
        if (i > 1) expect(s.start).toBeGreaterThanOrEqual(spans[i - 2].start + spans[i - 2].length);
      }
    }
  });

  it('leave unaligned plans unchanged and a single tile as it was', () => {
    expect(planAxis(1000, 256, 32, 4, false)).toEqual(planAxis(1000, 256, 32, 4));
    expect(planAxis(300, 512, 32, 4, true)).toEqual([{ start: 0, length: 300, padded: 300, overlapBefore: 0, overlapAfter: 0 }]);
    expect(planTiles(2048, 1536, { size: 512, overlap: 32, multipleOf: 4, align: true }).tiles.length).toBe(20);
  });
});

describe('downscaleRGBA (area average)', () => {
  it('averages exactly over integer and fractional footprints', () => {
    // 4x2 -> 2x1: each output pixel is the mean of a 2x2 block
    const src = new Uint8ClampedArray([0, 0, 0, 255, 100, 100, 100, 255, 10, 20, 30, 255, 50, 60, 70, 255, 200, 0, 0, 255, 100, 100, 100, 255, 30, 20, 10, 255, 70, 60, 50, 255]);
    expect([...downscaleRGBA(src, 4, 2, 2, 1)]).toEqual([100, 50, 50, 255, 40, 40, 40, 255]);
    // 3 -> 2 pixels: weights 2/3, 1/3 and 1/3, 2/3
    const row = new Uint8ClampedArray([0, 0, 0, 255, 90, 90, 90, 255, 180, 180, 180, 255]);
    expect([...downscaleRGBA(row, 3, 1, 2, 1)]).toEqual([30, 30, 30, 255, 150, 150, 150, 255]);
  });

  it('keeps a flat image flat and the mean of any image', () => {
    const W = 97, H = 61;
    const img = new Uint8ClampedArray(W * H * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 251));
    const small = downscaleRGBA(img, W, H, 40, 25);
    const mean = (a: Uint8ClampedArray) => a.reduce((s, v, i) => (i % 4 === 0 ? s + v : s), 0) / (a.length / 4);
    expect(Math.abs(mean(small) - mean(img))).toBeLessThan(0.6);
    expect([...downscaleRGBA(new Uint8ClampedArray(W * H * 4).fill(77), W, H, 13, 9)].every((v, i) => v === (i % 4 === 3 ? 255 : 77))).toBe(true);
  });

  it('rejects upscaling and short buffers with a clear message', () => {
    expect(() => downscaleRGBA(new Uint8ClampedArray(16), 2, 2, 3, 2)).toThrow(/no larger than the source/);
    expect(() => downscaleRGBA(new Uint8ClampedArray(8), 2, 2, 1, 1)).toThrow(/needs 16/);
  });

  it('statistics copy size: the image itself up to statsSize, else scaled to fit', () => {
    expect(statsSizeFor(2048, 1536, 2048)).toEqual({ width: 2048, height: 1536 });
    expect(statsSizeFor(4032, 3024, 2048)).toEqual({ width: 2048, height: 1536 });
    expect(statsSizeFor(3000, 4000, 1000)).toEqual({ width: 750, height: 1000 });
  });
});

describe('seam measures', () => {
  const W = 600, H = 400;
  const plan = planTiles(W, H, { size: 256, overlap: 32, multipleOf: 4, align: true });
  const smooth = () => {
    const img = new Uint8ClampedArray(W * H * 4);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) img.set([60 + (x * 120) / W, 90 + (y * 100) / H, 150, 255], (y * W + x) * 4);
    return img;
  };

  it('a patchwork (each tile offset by its own colour) steps at tile boundaries, not inside', () => {
    const ref = smooth();
    const patch = ref.slice();
    for (const t of plan.tiles) {
      // each tile's own part (overlaps split in the middle) gets an offset, like per-tile normalization
      const x0 = t.x + Math.floor(t.overlapLeft / 2), x1 = t.x + t.w - Math.ceil(t.overlapRight / 2);
      const y0 = t.y + Math.floor(t.overlapTop / 2), y1 = t.y + t.h - Math.ceil(t.overlapBottom / 2);
      const off = ((t.index * 7) % 5) * 4 - 8;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) patch[(y * W + x) * 4] += off;
    }
    const rep = seamReport(patch, ref, plan);
    expect(rep.maxBoundaryStep).toBeGreaterThan(4);
    expect(rep.maxInsideStep).toBeLessThan(0.01);
    expect(rep.maxTileDiff).toBeGreaterThan(4);
    const same = seamReport(ref, ref, plan);
    expect([same.maxTileDiff, same.maxBoundaryStep, same.maxInsideStep]).toEqual([0, 0, 0]);
    // on the image itself a smooth gradient steps by the same amount everywhere
    const st = colourSteps(ref, plan);
    const b = st.filter((s) => s.kind === 'boundary'), i = st.filter((s) => s.kind === 'inside');
    expect(b.length).toBe((plan.cols - 1) * plan.rows + (plan.rows - 1) * plan.cols);
    expect(i.length).toBeGreaterThan(b.length);
    expect(Math.max(...b.map((s) => s.step))).toBeLessThanOrEqual(Math.max(...i.map((s) => s.step)) + 1);
    expect(tileMeanDiffs(ref, ref, plan).every((d) => d === 0)).toBe(true);
  });
});
