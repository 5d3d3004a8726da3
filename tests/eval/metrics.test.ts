/**
 * The translation metrics on synthetic images: identity gives detail 1 and edges 1, a blur lowers
 * detail (and edges), more detail raises it, KID of a set against itself is ~0 and grows with a
 * shift between the sets.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../training/data/images';
import { detailRatio, edgeCorrelation, gradientMagnitude, kid, pearson, structureStats } from '../../training/eval/translation/metrics';
import { addNoise, gaussianBlur, washOut } from '../../training/eval/translation/degrade';
import { heldOutScore } from '../../training/eval/translation/evaluate';
import { Rng } from '../../training/data/unpaired';

/** A textured test picture: stripes, a bright disc, smooth gradients and some pixel noise. */
function picture(seed: number, size = 96): RgbImage {
  const rng = new Rng(seed);
  const data = new Uint8Array(size * size * 3);
  const period = 6 + (seed % 5);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const stripe = Math.floor((x + y * 0.3) / period) % 2 ? 60 : 0;
      const disc = (x - 50) ** 2 + (y - 40) ** 2 < 300 ? 90 : 0;
      const v = 40 + stripe + disc + y * 0.5 + rng.next() * 20;
      data[(y * size + x) * 3] = Math.min(255, v + 20);
      data[(y * size + x) * 3 + 1] = Math.min(255, v);
      data[(y * size + x) * 3 + 2] = Math.min(255, v * 0.7);
    }
  }
  return { width: size, height: size, data };
}

describe('detail ratio and edge correlation', () => {
  it('identity output gives detail 1 and edges 1', () => {
    const img = picture(1);
    expect(detailRatio(img, img)).toBeCloseTo(1, 10);
    expect(edgeCorrelation(img, img)).toBeCloseTo(1, 10);
    const s = structureStats(img, { ...img, data: img.data.slice() });
    expect(s.detail).toBeCloseTo(1, 10);
    expect(s.edges).toBeCloseTo(1, 10);
  });

  it('a blurred output has detail < 1 and lower edge correlation; stronger blur, less detail', async () => {
    const img = picture(2);
    const soft = await gaussianBlur(img, 1.5);
    const softer = await gaussianBlur(img, 4);
    expect(detailRatio(img, soft)).toBeLessThan(0.8);
    expect(detailRatio(img, softer)).toBeLessThan(detailRatio(img, soft));
    expect(edgeCorrelation(img, softer)).toBeLessThan(0.9);
  });

  it('noise adds detail but breaks structure; a grey wash keeps structure and loses contrast', () => {
    const img = picture(3);
    const noisy = addNoise(img, 60, new Rng(5), true);
    expect(detailRatio(img, noisy)).toBeGreaterThan(1.2);
    expect(edgeCorrelation(img, noisy)).toBeLessThan(0.6);
    const washed = washOut(img, 1, 0.4);
    expect(detailRatio(img, washed)).toBeLessThan(0.6);
    expect(edgeCorrelation(img, washed)).toBeGreaterThan(0.95);
  });

  it('gradient of a flat image is 0; pearson of a constant is 0; sizes must match', () => {
    const flat: RgbImage = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(128) };
    expect(Math.max(...gradientMagnitude(flat))).toBe(0);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBe(0);
    expect(() => detailRatio(picture(1, 16), picture(1, 32))).toThrow(/differ in size/);
  });

  it('the held-out score is 0 for identity-like (called source), blurred or structureless outputs', () => {
    expect(heldOutScore({ calledTarget: 0, detail: 1, edges: 1 })).toBe(0);
    expect(heldOutScore({ calledTarget: 1, detail: 1, edges: 1 })).toBe(1);
    expect(heldOutScore({ calledTarget: 1, detail: 1.6, edges: 0.8 })).toBeCloseTo(0.8);
    expect(heldOutScore({ calledTarget: 1, detail: 0.42, edges: 0.32 })).toBeCloseTo(0.1344);
    expect(heldOutScore({ calledTarget: 1, detail: NaN, edges: -0.2 })).toBe(0);
  });
});

describe('KID (unbiased MMD^2, cubic polynomial kernel)', () => {
  const set = (n: number, d: number, seed: number, shift = 0) => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.next() * 2 - 1 + shift));
  };

  it('a set against itself is ~0, two samples of one distribution ~0, a shifted set clearly > 0', () => {
    const X = set(60, 16, 1);
    const Y = set(60, 16, 2);
    const Z = set(60, 16, 3, 0.5);
    expect(kid(X, Z)).toBeGreaterThan(0.5);
    // Against itself the unbiased estimate is -2 (mean k(x,x) - mean k(x,y)) / m: ~0, shrinking as 1/m.
    expect(Math.abs(kid(X, X))).toBeLessThan(0.05 * kid(X, Z));
    expect(Math.abs(kid(set(240, 16, 1), set(240, 16, 1)))).toBeLessThan(Math.abs(kid(X, X)) / 2);
    expect(Math.abs(kid(X, Y))).toBeLessThan(0.05 * kid(X, Z));
    expect(kid(X, set(60, 16, 4, 1))).toBeGreaterThan(kid(X, Z));
  });

  it('matches a direct evaluation of the unbiased estimator on a tiny case', () => {
    const X = [Float32Array.of(1, 0), Float32Array.of(0, 1), Float32Array.of(1, 1)];
    const Y = [Float32Array.of(0, 0), Float32Array.of(2, 1)];
    const k = (a: Float32Array, b: Float32Array) => ((a[0] * b[0] + a[1] * b[1]) / 2 + 1) ** 3;
    let xx = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) xx += k(X[i], X[j]);
    const yy = 2 * k(Y[0], Y[1]);
    let xy = 0;
    for (const a of X) for (const b of Y) xy += k(a, b);
    expect(kid(X, Y)).toBeCloseTo(xx / 6 + yy / 2 - (2 * xy) / 6, 5);
  });

  it('uses random subsets for sets above the subset size, and refuses sets too small', () => {
    const X = set(50, 8, 5);
    const Z = set(50, 8, 6, 0.5);
    const full = kid(X, Z);
    const sub = kid(X, Z, { subsetSize: 20, subsets: 50 });
    expect(Math.abs(sub - full)).toBeLessThan(0.5 * full);
    expect(() => kid([X[0]], Z)).toThrow(/at least 2/);
  });
});
