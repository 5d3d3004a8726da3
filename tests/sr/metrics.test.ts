import { describe, expect, it } from 'vitest';
import { psnrPlane, rgbToY, shavePlane, ssimPlane, srMetrics, type Plane } from '../../training/eval/sr/metrics';
import { imresize, imresizeFloat, contributions } from '../../training/data/bicubic';
import { Rng, copyPatch } from '../../training/data/sr-dataset';
import type { RgbImage } from '../../training/data/images';

function randomImage(w: number, h: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { width: w, height: h, data };
}

describe('SR metrics', () => {
  it('BT.601 Y of white, black and pure colours', () => {
    const img: RgbImage = { width: 4, height: 1, data: new Uint8Array([255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0]) };
    const y = rgbToY(img).data;
    expect(y[0]).toBeCloseTo(235, 10);
    expect(y[1]).toBeCloseTo(16, 10);
    expect(y[2]).toBeCloseTo(16 + 65.481, 10);
    expect(y[3]).toBeCloseTo(16 + 128.553, 10);
  });

  it('PSNR of a constant error of 1 grey level is 48.13 dB; identical images give SSIM 1', () => {
    const a: Plane = { width: 20, height: 20, data: new Float64Array(400).fill(100) };
    const b: Plane = { width: 20, height: 20, data: new Float64Array(400).fill(101) };
    expect(psnrPlane(a, b)).toBeCloseTo(10 * Math.log10(255 * 255), 6);
    const img = randomImage(32, 32, 3);
    expect(srMetrics(img, img, 2).ssim).toBeCloseTo(1, 12);
    expect(srMetrics(img, img, 2).psnr).toBe(Infinity);
  });

  it('SSIM drops with noise and is symmetric', () => {
    const a = rgbToY(randomImage(40, 40, 1));
    const b: Plane = { ...a, data: a.data.map((v, i) => v + ((i * 7919) % 13) - 6) };
    const s1 = ssimPlane(a, b);
    expect(s1).toBeLessThan(1);
    expect(s1).toBeGreaterThan(0);
    expect(ssimPlane(b, a)).toBeCloseTo(s1, 12);
  });

  it('shave removes the border', () => {
    const p = shavePlane({ width: 6, height: 5, data: Float64Array.from({ length: 30 }, (_, i) => i) }, 2);
    expect([p.width, p.height]).toEqual([2, 1]);
    expect(Array.from(p.data)).toEqual([14, 15]);
  });

  it('rejects size mismatches with a clear message', () => {
    expect(() => srMetrics(randomImage(8, 8, 1), randomImage(8, 9, 1), 0)).toThrow(/size mismatch/);
  });
});

describe('MATLAB bicubic', () => {
  it('weights sum to one and mirror the border', () => {
    const c = contributions(10, 5, 0.5);
    for (let o = 0; o < 5; o++) {
      let s = 0;
      for (let p = 0; p < c.taps; p++) s += c.weights[o * c.taps + p];
      expect(s).toBeCloseTo(1, 12);
    }
    expect(Math.min(...c.indices)).toBe(0);
    expect(Math.max(...c.indices)).toBe(9);
  });

  it('keeps a constant image constant and upsamples to ceil(size * scale)', () => {
    const img: RgbImage = { width: 7, height: 5, data: new Uint8Array(105).fill(77) };
    const up = imresize(img, 3);
    expect([up.width, up.height]).toEqual([21, 15]);
    expect(up.data.every((v) => v === 77)).toBe(true);
    const down = imresizeFloat(new Float64Array(12 * 8).fill(0.25), 12, 8, 1, 1 / 4);
    expect([down.width, down.height]).toEqual([3, 2]);
    for (const v of down.data) expect(v).toBeCloseTo(0.25, 12);
  });
});

describe('patch sampler PRNG and augmentation', () => {
  it('Rng state round-trips exactly', () => {
    const a = new Rng(42);
    for (let i = 0; i < 10; i++) a.next();
    const b = new Rng(a.state());
    for (let i = 0; i < 100; i++) expect(b.nextUint32()).toBe(a.nextUint32());
    expect(() => new Rng([1, 2])).toThrow(/4 numbers/);
  });

  it('the 8 dihedral transforms are distinct permutations of the patch', () => {
    const img = randomImage(3, 3, 9);
    const seen = new Set<string>();
    for (let t = 0; t < 8; t++) {
      const out = new Float32Array(27);
      copyPatch(img, 0, 0, 3, t, out, 0);
      seen.add(Array.from(out).join(','));
      expect(Array.from(out, (v) => Math.round(v * 255)).sort().join()).toBe(Array.from(img.data).sort().join());
    }
    expect(seen.size).toBe(8);
  });
});
