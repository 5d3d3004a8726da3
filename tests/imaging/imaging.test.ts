import { describe, expect, it } from 'vitest';
import {
  blendTile,
  cropRGBA,
  featherWeight,
  nchwToRGBA,
  planAxis,
  planTiles,
  reflectIndex,
  rgbaToNCHW,
  runTiled,
  CancelledError,
} from '../../lib/imaging';

function randomImage(w: number, h: number, seed = 1): Uint8ClampedArray {
  let s = seed;
  const out = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = i % 4 === 3 ? 255 : (s >>> 16) & 255;
  }
  return out;
}

/** Smooth test image so a blur has structure at every scale. */
function smoothImage(w: number, h: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      out[i] = 128 + 100 * Math.sin(x / 7);
      out[i + 1] = 128 + 100 * Math.cos(y / 5);
      out[i + 2] = (x * y) % 256;
      out[i + 3] = 255;
    }
  return out;
}

/** Nearest-neighbour x`scale` upsampling followed by a 3x3 box blur with clamped borders: a stand-in for a conv SR model. */
function blurUp(rgba: Uint8ClampedArray, w: number, h: number, scale: number): Uint8ClampedArray {
  const W = w * scale, H = h * scale;
  const up = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < 3; c++) up[(y * W + x) * 3 + c] = rgba[(Math.floor(y / scale) * w + Math.floor(x / scale)) * 4 + c];
  const out = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const yy = Math.min(H - 1, Math.max(0, y + dy)), xx = Math.min(W - 1, Math.max(0, x + dx));
            s += up[(yy * W + xx) * 3 + c];
          }
        out[(y * W + x) * 4 + c] = Math.round(s / 9);
      }
      out[(y * W + x) * 4 + 3] = 255;
    }
  return out;
}

describe('tensor conversion', () => {
  it('round-trips RGBA through [0,1] and [-1,1] NCHW exactly', () => {
    const img = randomImage(7, 5);
    for (const range of [[0, 1], [-1, 1]] as const) {
      const t = rgbaToNCHW(img, 7, 5, range);
      expect(t.length).toBe(3 * 35);
      expect(Math.min(...t)).toBeGreaterThanOrEqual(range[0]);
      expect(Math.max(...t)).toBeLessThanOrEqual(range[1]);
      expect(Array.from(nchwToRGBA(t, 7, 5, range))).toEqual(Array.from(img));
    }
  });

  it('lays out planes as NCHW', () => {
    const img = new Uint8ClampedArray([255, 0, 0, 255, 0, 255, 0, 255]); // red, green (2x1)
    const t = rgbaToNCHW(img, 2, 1, [0, 1]);
    expect(Array.from(t)).toEqual([1, 0, 0, 1, 0, 0]);
  });

  it('pads by reflection to a multiple and crops back', () => {
    const img = randomImage(5, 3);
    const t = rgbaToNCHW(img, 5, 3, [0, 1], 8, 4);
    expect(t.length).toBe(3 * 32);
    // column 5 reflects column 3, column 6 reflects column 2; row 3 reflects row 1
    expect(t[0 * 8 + 5]).toBeCloseTo(img[(0 * 5 + 3) * 4] / 255, 6);
    expect(t[0 * 8 + 6]).toBeCloseTo(img[(0 * 5 + 2) * 4] / 255, 6);
    expect(t[3 * 8 + 1]).toBeCloseTo(img[(1 * 5 + 1) * 4] / 255, 6);
    expect(Array.from(nchwToRGBA(t, 8, 4, [0, 1], 5, 3))).toEqual(Array.from(img));
    expect(reflectIndex(-1, 4)).toBe(1);
    expect(reflectIndex(4, 4)).toBe(2);
    expect(reflectIndex(9, 1)).toBe(0);
  });

  it('clamps out-of-range and non-finite outputs', () => {
    const t = new Float32Array([2, -3, NaN]);
    expect(Array.from(nchwToRGBA(t, 1, 1, [-1, 1]))).toEqual([255, 0, 0, 255]);
  });

  it('rejects bad sizes with a clear message', () => {
    expect(() => rgbaToNCHW(new Uint8ClampedArray(4), 2, 2, [0, 1])).toThrow(/too small/);
    expect(() => rgbaToNCHW(new Uint8ClampedArray(4), 0, 1, [0, 1])).toThrow(/positive integers/);
  });
});

describe('tiling plan', () => {
  it('covers each axis with bounded, overlapping spans that respect multipleOf', () => {
    for (const [len, size, ov, m] of [[1000, 256, 32, 4], [257, 256, 16, 8], [100, 256, 16, 4], [513, 128, 24, 1], [3000, 512, 64, 4], [500, 256, 16, 1], [12000, 512, 32, 4]]) {
      const spans = planAxis(len, size, ov, m);
      expect(spans[0].start).toBe(0);
      const last = spans[spans.length - 1];
      expect(last.start + last.length).toBe(len);
      for (const [i, s] of spans.entries()) {
        expect(s.padded % m).toBe(0);
        expect(s.length).toBeLessThanOrEqual(size);
        if (i > 0) {
          expect(s.overlapBefore).toBeGreaterThanOrEqual(ov);
          expect(s.start).toBeGreaterThan(spans[i - 1].start);
          expect(spans[i - 1].start + spans[i - 1].length - s.start).toBe(s.overlapBefore);
          expect(spans[i - 1].overlapAfter).toBe(s.overlapBefore);
        }
        if (i > 1) expect(s.start).toBeGreaterThanOrEqual(spans[i - 2].start + spans[i - 2].length); // never 3 tiles on one pixel
      }
    }
    expect(planAxis(100, 256, 16, 4)).toEqual([{ start: 0, length: 100, padded: 100, overlapBefore: 0, overlapAfter: 0 }]);
    expect(planAxis(99, 256, 16, 4)[0].padded).toBe(100);
  });

  it('plans a 2000x1500 x4 upscale as a grid with an 8000x6000 output', () => {
    const plan = planTiles(2000, 1500, { size: 256, overlap: 16, multipleOf: 1, scale: 4 });
    expect(plan.outWidth).toBe(8000);
    expect(plan.outHeight).toBe(6000);
    expect(plan.tiles.length).toBe(plan.rows * plan.cols);
    expect(plan.cols).toBe(9);
    expect(plan.rows).toBe(7);
    expect(Math.max(...plan.tiles.map((t) => t.w * t.h))).toBeLessThanOrEqual(256 * 256);
  });

  it('rejects impossible options', () => {
    expect(() => planAxis(100, 2, 0, 4)).toThrow(/multipleOf/);
    expect(() => planAxis(100, 64, 40, 1)).toThrow(/overlap/);
    // an overlap under half the tile that still cannot cover the axis without a pixel under three
    // tiles: a clear error, not a planner that loops for ever (seen with a 96 px tile, 46 px overlap)
    expect(() => planAxis(200, 96, 46, 1)).toThrow(/cannot tile 200 px with tiles of 96 px overlapping by 46 px/);
    expect(planAxis(200, 112, 46, 1).length).toBe(3);
  });
});

describe('seam blending', () => {
  it('feather weights ramp from ~0 to ~1 across the overlap', () => {
    for (const f of ['linear', 'cosine'] as const) {
      const ws = Array.from({ length: 16 }, (_, d) => featherWeight(d, 16, f));
      for (let i = 1; i < ws.length; i++) expect(ws[i]).toBeGreaterThanOrEqual(ws[i - 1]);
      expect(ws[0]).toBe(0); // border quarter ignored
      expect(ws[15]).toBe(1);
      expect(ws[8] + featherWeight(7, 16, f)).toBeCloseTo(1, 6); // symmetric: neighbours sum to 1
      expect(ws[6]).toBeGreaterThan(ws[5]);
      expect(featherWeight(16, 16, f)).toBe(1);
    }
  });

  it('an explicit margin gives the outer `margin` pixels of each side no weight (an upscaler\'s receptive radius)', () => {
    const ws = Array.from({ length: 42 }, (_, d) => featherWeight(d, 42, 'linear', 19));
    expect(ws.slice(0, 19).every((w) => w === 0)).toBe(true); // the incoming tile's border: it saw padding
    expect(ws.slice(23).every((w) => w === 1)).toBe(true); // the previous tile's border
    expect(ws[19]).toBeGreaterThan(0);
    expect(ws[22]).toBeLessThan(1);
    for (let d = 0; d < 42; d++) expect(ws[d] + featherWeight(41 - d, 42, 'linear', 19)).toBeCloseTo(1, 6);
    // a margin too large for the overlap still leaves a blended seam (here 2 pixels)
    expect([6, 7, 8, 9].map((d) => featherWeight(d, 16, 'linear', 99))).toEqual([0, 0.25, 0.75, 1]);
  });

  it('tiling a pointwise op reproduces the whole-image result exactly', async () => {
    const W = 301, H = 203;
    const img = randomImage(W, H, 7);
    const invert = (rgba: Uint8ClampedArray) => rgba.map((v, i) => (i % 4 === 3 ? 255 : 255 - v));
    const plan = planTiles(W, H, { size: 64, overlap: 12 });
    const out = await runTiled(plan, (t) => cropRGBA(img, W, t.x, t.y, t.w, t.h), (rgba) => invert(rgba));
    expect(Array.from(out)).toEqual(Array.from(invert(img)));
  });

  it('tiling a blurring x2 upscaler matches the whole-image run within 1/255 and hides seams', async () => {
    const W = 150, H = 110, S = 2;
    const img = smoothImage(W, H);
    const whole = blurUp(img, W, H, S);
    for (const feather of ['linear', 'cosine'] as const) {
      const plan = planTiles(W, H, { size: 48, overlap: 8, scale: S });
      const out = await runTiled(plan, (t) => cropRGBA(img, W, t.x, t.y, t.w, t.h), (rgba, t) => blurUp(rgba, t.w, t.h, S), { feather });
      let maxDiff = 0;
      for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - whole[i]));
      expect(maxDiff).toBeLessThanOrEqual(1); // the blur differs only at tile borders, which get weight 0
    }
  });

  it('without blending, hard seams would be visible (the test can fail)', () => {
    const out = new Uint8ClampedArray(12 * 4 * 4).fill(0);
    const tile = new Uint8ClampedArray(12 * 4 * 4).fill(200);
    blendTile(out, 12, tile, { x: 0, y: 0, w: 12, h: 4, left: 8, top: 0, right: 0, bottom: 0 });
    expect(out[0]).toBe(0); // left overlap border keeps the old value
    expect(out[4 * 4]).toBeGreaterThan(0); // ramp in the middle of the overlap
    expect(out[4 * 4]).toBeLessThan(200);
    expect(out[8 * 4]).toBe(200);
  });

  it('honours cancellation between tiles', async () => {
    const plan = planTiles(100, 100, { size: 32, overlap: 4 });
    const signal = { cancelled: false };
    let n = 0;
    await expect(
      runTiled(plan, (t) => new Uint8ClampedArray(t.w * t.h * 4), (rgba) => {
        if (++n === 3) signal.cancelled = true;
        return rgba;
      }, { signal }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(n).toBe(3);
  });
});
