/**
 * DiffAugment (training/models/diffaugment.ts) on the wasm backend (the one CI trains with): each
 * op against a plain-JS evaluation of the reference's formulas (DiffAugment_pytorch.py, same
 * random draws), shapes kept, seeded reproducibility, translation by whole pixels with zeros
 * entering, one zeroed square per image for cutout, gradients (non-zero, finite, the colour op's
 * against central finite differences, the geometric ops' exact masks), and policy parsing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backends';
import { Rng } from '../../training/data/unpaired';
import {
  diffAugment,
  drawCutout,
  drawTranslation,
  formatDiffAugPolicy,
  parseDiffAugPolicy,
  randColor,
  randCutout,
  randTranslation,
  type DiffAugPolicy,
} from '../../training/models/diffaugment';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.next() * 2 - 1);
}

const image = (shape: [number, number, number, number], seed: number) => tf.tensor4d(values(shape.reduce((a, b) => a * b), seed), shape);

/** Runs `f` on a fresh Rng(seed) and returns the output's values and shape, disposing the tensors. */
function run(f: (x: tf.Tensor4D, rng: Rng) => tf.Tensor4D, x: tf.Tensor4D, seed: number): { data: Float32Array; shape: number[] } {
  return tf.tidy(() => {
    const y = f(x, new Rng(seed));
    return { data: y.dataSync() as Float32Array, shape: y.shape };
  });
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** The reference's colour ops in float64, NHWC, with its draws in its order (brightness, saturation, contrast). */
function referenceColor(x: Float32Array, [n, h, w, c]: number[], rng: Rng): Float64Array {
  const y = Float64Array.from(x);
  const per = h * w * c;
  const bright = Array.from({ length: n }, () => rng.next() - 0.5);
  for (let b = 0; b < n; b++) for (let i = 0; i < per; i++) y[b * per + i] += bright[b];
  const sat = Array.from({ length: n }, () => rng.next() * 2);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < h * w; p++) {
      const o = b * per + p * c;
      let m = 0;
      for (let k = 0; k < c; k++) m += y[o + k] / c;
      for (let k = 0; k < c; k++) y[o + k] = (y[o + k] - m) * sat[b] + m;
    }
  }
  const con = Array.from({ length: n }, () => rng.next() + 0.5);
  for (let b = 0; b < n; b++) {
    let m = 0;
    for (let i = 0; i < per; i++) m += y[b * per + i] / per;
    for (let i = 0; i < per; i++) y[b * per + i] = (y[b * per + i] - m) * con[b] + m;
  }
  return y;
}

/**
 * The reference's rand_translation, index for index: pad 1 zero on each side, read the padded image
 * at clamp(i + tx + 1, 0, H + 1), clamp(j + ty + 1, 0, W + 1).
 */
function referenceTranslation(x: Float32Array, [n, h, w, c]: number[], rows: number[], cols: number[]): Float32Array {
  const out = new Float32Array(x.length);
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const pi = clamp(i + rows[b] + 1, 0, h + 1) - 1;
        const pj = clamp(j + cols[b] + 1, 0, w + 1) - 1;
        for (let k = 0; k < c; k++) {
          out[((b * h + i) * w + j) * c + k] = pi >= 0 && pi < h && pj >= 0 && pj < w ? x[((b * h + pi) * w + pj) * c + k] : 0;
        }
      }
    }
  }
  return out;
}

describe('DiffAugment ops', () => {
  const shape: [number, number, number, number] = [3, 16, 12, 3];
  const ops: [string, (x: tf.Tensor4D, rng: Rng) => tf.Tensor4D][] = [
    ['color', randColor],
    ['translation', randTranslation],
    ['cutout', randCutout],
    ['color,translation,cutout', (x, rng) => diffAugment(x, ['color', 'translation', 'cutout'], rng)],
  ];
  for (const [name, f] of ops) {
    it(`${name}: keeps the shape, changes the image, same seed -> same output, other seed -> other output`, () => {
      const x = image(shape, 1);
      const before = x.dataSync().slice();
      const a = run(f, x, 5);
      const again = run(f, x, 5);
      const other = run(f, x, 6);
      expect(a.shape).toEqual(shape);
      expect(Array.from(x.dataSync())).toEqual(Array.from(before));
      expect(maxAbsDiff(a.data, before)).toBeGreaterThan(0.01);
      expect(Array.from(a.data)).toEqual(Array.from(again.data));
      expect(maxAbsDiff(a.data, other.data)).toBeGreaterThan(0.01);
      for (const v of a.data) expect(Number.isFinite(v)).toBe(true);
      x.dispose();
    });
  }

  it('color equals the reference formulas (brightness +[-0.5, 0.5), saturation x[0, 2) about the pixel mean, contrast x[0.5, 1.5) about the image mean)', () => {
    const x = image(shape, 2);
    const got = run(randColor, x, 9).data;
    const want = referenceColor(x.dataSync() as Float32Array, shape, new Rng(9));
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    x.dispose();
  });

  it('translation moves each image by whole pixels (up to size / 8), zeros entering, as the reference indexes it', () => {
    const x = image(shape, 3);
    const got = run(randTranslation, x, 4).data;
    const { rows, cols } = drawTranslation(3, 16, 12, new Rng(4));
    // the reference's int(size * 0.125 + 0.5): 2 rows, 2 columns at most
    for (const r of rows) expect(Math.abs(r)).toBeLessThanOrEqual(2);
    for (const c of cols) expect(Math.abs(c)).toBeLessThanOrEqual(2);
    expect(Array.from(got)).toEqual(Array.from(referenceTranslation(x.dataSync() as Float32Array, shape, rows, cols)));
    x.dispose();
  });

  it('translation: over many draws every shift in [-s, s] occurs, and shifted content is the input moved, zeros where it left', () => {
    const seen = new Set<number>();
    const rng = new Rng(1);
    for (let k = 0; k < 200; k++) for (const r of drawTranslation(1, 32, 32, rng).rows) seen.add(r);
    expect([...seen].sort((a, b) => a - b)).toEqual([-4, -3, -2, -1, 0, 1, 2, 3, 4]);
    // Find a seed with a non-zero shift on both axes for a 1-image, 8x8, 1-channel ramp: out(i, j) = in(i + r, j + c).
    let seed = 1;
    while (drawTranslation(1, 8, 8, new Rng(seed)).rows[0] === 0 || drawTranslation(1, 8, 8, new Rng(seed)).cols[0] === 0) seed++;
    const { rows, cols } = drawTranslation(1, 8, 8, new Rng(seed));
    const [r, c] = [rows[0], cols[0]];
    const ramp = tf.tensor4d(Float32Array.from({ length: 64 }, (_, i) => i + 1), [1, 8, 8, 1]);
    const out = run(randTranslation, ramp, seed).data;
    let zeros = 0;
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 8; j++) {
        const inside = i + r >= 0 && i + r < 8 && j + c >= 0 && j + c < 8;
        expect(out[i * 8 + j]).toBe(inside ? (i + r) * 8 + (j + c) + 1 : 0);
        if (!inside) zeros++;
      }
    }
    expect(zeros).toBe(64 - (8 - Math.abs(r)) * (8 - Math.abs(c)));
    ramp.dispose();
  });

  it('cutout zeroes exactly one square (side size / 2, clipped at the borders) per image and keeps every other pixel', () => {
    const n = 4;
    const [h, w] = [16, 16];
    // all-ones images with no zero of their own: the zeros are the cutout
    const ones = tf.ones([n, h, w, 3]) as tf.Tensor4D;
    for (const seed of [1, 2, 3, 4, 5]) {
      const out = run(randCutout, ones, seed).data;
      const boxes = drawCutout(n, h, w, new Rng(seed));
      for (let b = 0; b < n; b++) {
        const box = boxes[b];
        // one axis-aligned rectangle: the bounding box of the zeros is all zeros, and matches the draw
        let [r0, r1, c0, c1, count] = [h, -1, w, -1, 0];
        for (let i = 0; i < h; i++) {
          for (let j = 0; j < w; j++) {
            const px = [0, 1, 2].map((k) => out[((b * h + i) * w + j) * 3 + k]);
            expect(px[0] === px[1] && px[1] === px[2]).toBe(true);
            if (px[0] === 0) {
              [r0, r1, c0, c1, count] = [Math.min(r0, i), Math.max(r1, i), Math.min(c0, j), Math.max(c1, j), count + 1];
            } else expect(px[0]).toBe(1);
          }
        }
        expect({ r0, r1, c0, c1 }).toEqual(box);
        expect(count).toBe((r1 - r0 + 1) * (c1 - c0 + 1));
        expect(r1 - r0 + 1).toBeLessThanOrEqual(8);
        expect(c1 - c0 + 1).toBeLessThanOrEqual(8);
      }
    }
    // Unclipped squares are exactly 8x8; the centre can be anywhere in the image.
    const sides = new Set<string>();
    const rng = new Rng(3);
    for (let k = 0; k < 300; k++) {
      const [b] = drawCutout(1, h, w, rng);
      expect(b.r0).toBeGreaterThanOrEqual(0);
      expect(b.r1).toBeLessThan(h);
      if (b.r0 > 0 && b.r1 < h - 1 && b.c0 > 0 && b.c1 < w - 1) sides.add(`${b.r1 - b.r0 + 1}x${b.c1 - b.c0 + 1}`);
    }
    expect([...sides]).toEqual(['8x8']);
    ones.dispose();
  });

  it('an empty policy returns the input itself and draws no random numbers', () => {
    const x = image([1, 4, 4, 3], 1);
    const rng = new Rng(7);
    expect(diffAugment(x, [], rng)).toBe(x);
    expect(rng.state).toBe(7);
    x.dispose();
  });
});

describe('DiffAugment gradients', () => {
  const policies: DiffAugPolicy[] = [['color'], ['translation'], ['cutout'], ['color', 'translation', 'cutout']];
  for (const p of policies) {
    it(`${p.join(',')}: d sum(T(x)) / dx is finite and non-zero`, () => {
      const x = image([2, 16, 16, 3], 4);
      const g = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(diffAugment(v as tf.Tensor4D, p, new Rng(8))))(x).dataSync() as Float32Array);
      expect(g.every((v) => Number.isFinite(v))).toBe(true);
      expect(g.some((v) => v !== 0)).toBe(true);
      x.dispose();
    });
  }

  it('translation and cutout pass the gradient exactly where the input survives (1) and nowhere else (0)', () => {
    const x = image([2, 8, 8, 1], 5);
    const seed = 12;
    for (const op of ['translation', 'cutout'] as const) {
      const g = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(diffAugment(v as tf.Tensor4D, [op], new Rng(seed))))(x).dataSync() as Float32Array);
      // which input pixels reach the output: run the op (same draws) on an image of pixel ids 1..128
      const ids = tf.tensor4d(Float32Array.from({ length: 128 }, (_, i) => i + 1), [2, 8, 8, 1]);
      const out = run((v, rng) => diffAugment(v, [op], rng), ids, seed).data;
      ids.dispose();
      const survives = new Set(Array.from(out).filter((v) => v > 0));
      for (let i = 0; i < 128; i++) expect(g[i]).toBe(survives.has(i + 1) ? 1 : 0);
    }
    x.dispose();
  });

  it('color: the gradient of a non-linear function of T(x) matches central finite differences', () => {
    const shape: [number, number, number, number] = [2, 3, 2, 3];
    const size = 36;
    const x0 = values(size, 21);
    const wts = tf.tensor4d(values(size, 22), shape);
    // f(x) = sum(w * T(x)^2), T drawn from the same seed on every evaluation
    const f = (v: tf.Tensor) => tf.sum(tf.mul(wts, tf.square(diffAugment(v as tf.Tensor4D, ['color'], new Rng(31)))));
    const x = tf.tensor4d(x0, shape);
    const g = tf.tidy(() => tf.grad(f)(x).dataSync() as Float32Array);
    x.dispose();
    const at = (i: number, d: number) =>
      tf.tidy(() => {
        const v = x0.slice();
        v[i] += d;
        return f(tf.tensor4d(v, shape)).dataSync()[0];
      });
    const eps = 1e-2;
    let nonZero = 0;
    for (let i = 0; i < size; i++) {
      const fd = (at(i, eps) - at(i, -eps)) / (2 * eps);
      expect(Math.abs(fd - g[i]), `x[${i}]: analytic ${g[i]}, finite difference ${fd}`).toBeLessThan(2e-3 + 1e-2 * Math.abs(fd));
      if (Math.abs(g[i]) > 1e-3) nonZero++;
    }
    expect(nonZero).toBeGreaterThan(size / 2);
    wts.dispose();
  });
});

describe('DiffAugment policies', () => {
  it('parses none, single ops and lists (order kept); formats them back', () => {
    expect(parseDiffAugPolicy('')).toEqual([]);
    expect(parseDiffAugPolicy('none')).toEqual([]);
    expect(parseDiffAugPolicy('color')).toEqual(['color']);
    expect(parseDiffAugPolicy('color,translation,cutout')).toEqual(['color', 'translation', 'cutout']);
    expect(parseDiffAugPolicy(' Translation , color ')).toEqual(['translation', 'color']);
    expect(formatDiffAugPolicy([])).toBe('none');
    expect(formatDiffAugPolicy(parseDiffAugPolicy('color, cutout'))).toBe('color,cutout');
  });

  it('refuses unknown words, naming them and the valid ones, and repeated ops', () => {
    expect(() => parseDiffAugPolicy('color,rotate')).toThrow(/unknown augmentation "rotate"; valid: color, translation, cutout/);
    expect(() => parseDiffAugPolicy('colour')).toThrow(/"colour".*color, translation, cutout/);
    expect(() => parseDiffAugPolicy('color,')).toThrow(/unknown augmentation ""/);
    expect(() => parseDiffAugPolicy('cutout,cutout')).toThrow(/"cutout" is named twice/);
  });
});
