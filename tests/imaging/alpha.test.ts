import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import {
  apngFrameCount,
  finishOutput,
  flattenAlpha,
  gifFrameCount,
  hasAlpha,
  minInputSide,
  needsPadding,
  padRGBA,
  prepareInput,
  sniffImage,
  upscalePlane,
} from '../../lib/imaging';

function img(w: number, h: number, px: (x: number, y: number) => [number, number, number, number]): Uint8ClampedArray {
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(px(x, y), (y * w + x) * 4);
  return out;
}

describe('transparency around a model run', () => {
  const logo = img(6, 4, (x, y) => (x >= 2 && x < 4 && y >= 1 && y < 3 ? [200, 10, 30, 255] : x === 5 ? [0, 0, 255, 128] : [0, 0, 0, 0]));

  it('finds alpha, and a fully opaque image has none', () => {
    expect(hasAlpha(logo)).toBe(true);
    expect(hasAlpha(img(3, 3, () => [1, 2, 3, 255]))).toBe(false);
  });

  it('flattens to opaque: visible pixels keep their colour, transparent ones take the nearest visible colour in their row', () => {
    const f = flattenAlpha(logo, 6, 4);
    for (let i = 3; i < f.length; i += 4) expect(f[i]).toBe(255);
    expect([...f.subarray((1 * 6 + 2) * 4, (1 * 6 + 2) * 4 + 3)]).toEqual([200, 10, 30]);
    expect([...f.subarray((1 * 6 + 0) * 4, (1 * 6 + 0) * 4 + 3)]).toEqual([200, 10, 30]); // left of the red square
    expect([...f.subarray((1 * 6 + 4) * 4, (1 * 6 + 4) * 4 + 3)]).toEqual([200, 10, 30]); // between red and blue: nearer red
    // a row with only the half-transparent blue column: filled with blue
    expect([...f.subarray(0, 3)]).toEqual([0, 0, 255]);
    // nothing visible at all: mid grey
    expect([...flattenAlpha(img(2, 2, () => [0, 0, 0, 0]), 2, 2).subarray(0, 3)]).toEqual([128, 128, 128]);
  });

  it('upscales a plane bilinearly: flat areas stay exact, edges ramp', () => {
    const p = upscalePlane(new Uint8ClampedArray([0, 255, 0, 255]), 2, 2, 2);
    expect(p.length).toBe(16);
    expect(p[0]).toBe(0);
    expect(p[3]).toBe(255);
    expect(p[1]).toBeGreaterThan(0);
    expect(p[1]).toBeLessThan(255);
  });

  it('prepare -> model -> finish: padded small input cropped back, alpha re-attached at the output size', () => {
    const prep = prepareInput(logo, 6, 4, { minSide: minInputSide(4) });
    expect([prep.width, prep.height]).toEqual([32, 32]);
    expect(prep.alpha).not.toBeNull();
    // a fake x2 "model": nearest-neighbour upscale of the prepared (opaque) input
    const S = 2, W = prep.width * S, H = prep.height * S;
    const out = new Uint8ClampedArray(W * H * 4);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out.set(prep.rgba.subarray(((y >> 1) * prep.width + (x >> 1)) * 4, ((y >> 1) * prep.width + (x >> 1)) * 4 + 4), (y * W + x) * 4);
    const r = finishOutput(out, prep, S);
    expect([r.width, r.height]).toEqual([12, 8]);
    expect(r.rgba[3]).toBe(0); // transparent corner stays transparent
    expect(r.rgba[(3 * 12 + 5) * 4 + 3]).toBe(255); // inside the red square
    expect([...r.rgba.subarray((3 * 12 + 5) * 4, (3 * 12 + 5) * 4 + 3)]).toEqual([200, 10, 30]);
  });

  it('pads by reflection (edge copy for one pixel), and says which sizes need it', () => {
    const strip = img(1, 3, (_x, y) => [y, y, y, 255]);
    const p = padRGBA(strip, 1, 3, 4, 5);
    expect(p[(0 * 4 + 3) * 4]).toBe(0); // row 0 copied across
    expect(p[(4 * 4 + 0) * 4]).toBe(0); // row 4 reflects row 0 (3 rows: 0 1 2 1 0)
    expect(p[(3 * 4 + 0) * 4]).toBe(1);
    expect(needsPadding(1, 4000, 4)).toBe(true);
    expect(needsPadding(3, 3, 1)).toBe(true);
    expect(needsPadding(64, 64, 4)).toBe(false);
  });
});

describe('format sniffing', () => {
  it('counts GIF frames and APNG frames', async () => {
    const w = 8, h = 6, n = 3;
    const raw = Buffer.alloc(w * h * n * 4);
    for (let i = 0; i < raw.length; i += 4) raw.set([Math.floor(i / (w * h * 4)) * 100, 80, 40, 255], i); // a different colour per frame
    const anim = await sharp(raw, { raw: { width: w, height: h * n, channels: 4, pageHeight: h } }).gif({ loop: 0, delay: [50, 50, 50] }).toBuffer();
    expect(gifFrameCount(anim)).toBe(3);
    expect(sniffImage(anim)).toEqual({ kind: 'gif', frames: 3 });
    const still = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#123456' } }).gif().toBuffer();
    expect(gifFrameCount(still)).toBe(1);
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#123456' } }).png().toBuffer();
    expect(apngFrameCount(png)).toBe(0);
    expect(sniffImage(png)).toEqual({ kind: 'other' });
    expect(gifFrameCount(new Uint8Array([1, 2, 3]))).toBe(0);
  });

  it('recognises SVG by type or by content', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(sniffImage(enc('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toEqual({ kind: 'svg' });
    expect(sniffImage(enc('\uFEFF<?xml version="1.0"?>\n<!-- logo -->\n<svg width="1">'))).toEqual({ kind: 'svg' });
    expect(sniffImage(enc('hello'), 'image/svg+xml')).toEqual({ kind: 'svg' });
    expect(sniffImage(enc('<html><svg>'))).toEqual({ kind: 'other' });
  });
});
