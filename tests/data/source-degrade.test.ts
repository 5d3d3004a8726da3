/**
 * Degraded source photos for translation training (training/data/source-degrade.ts): share 0
 * leaves a batch as it is, share 1 degrades every crop (stays in [-1, 1]), the draws come from the
 * given seeded Rng (the same seed, the same degraded batch: exact resume), a blur-only chain
 * softens and a JPEG-only chain leaves 8x8 block artefacts the clean crop does not have.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../training/data/unpaired';
import { degradeSourceBatch, SOURCE_DEGRADE } from '../../training/data/source-degrade';

const N = 3;
const C = 32;

/** Smooth gradients plus fine texture, in [-1, 1]. */
function batch(): Float32Array {
  const out = new Float32Array(N * C * C * 3);
  const r = new Rng(5);
  for (let b = 0; b < N; b++)
    for (let y = 0; y < C; y++)
      for (let x = 0; x < C; x++)
        for (let c = 0; c < 3; c++) out[((b * C + y) * C + x) * 3 + c] = Math.max(-1, Math.min(1, (x + y * (c + 1)) / (2 * C) - 0.5 + 0.3 * (r.next() - 0.5)));
  return out;
}

const crop = (a: Float32Array, b: number) => a.subarray(b * C * C * 3, (b + 1) * C * C * 3);
const meanAbs = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
const roughness = (a: Float32Array) => {
  let s = 0;
  for (let i = 3; i < a.length; i++) s += Math.abs(a[i] - a[i - 3]);
  return s / a.length;
};

describe('degraded source photos (train cut --degrade-inputs)', () => {
  it('share 0 copies, share 1 degrades every crop within [-1, 1]; the same seed gives the same batch', async () => {
    const x = batch();
    const none = await degradeSourceBatch(x, N, C, 0, new Rng(1));
    expect(none).toEqual(x);
    expect(none).not.toBe(x);
    const all = await degradeSourceBatch(x, N, C, 1, new Rng(1));
    for (let b = 0; b < N; b++) expect(meanAbs(crop(all, b), crop(x, b))).toBeGreaterThan(0.002);
    expect(Math.min(...all)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...all)).toBeLessThanOrEqual(1);
    expect(await degradeSourceBatch(x, N, C, 1, new Rng(1))).toEqual(all);
    expect(await degradeSourceBatch(x, N, C, 1, new Rng(2))).not.toEqual(all);
    expect(x).toEqual(batch()); // the clean batch (the teacher's input) is untouched
    await expect(degradeSourceBatch(x, N, 16, 1, new Rng(1))).rejects.toThrow(/is not 3 crops of 16x16x3/);
  });

  it('a blur-only chain softens the crop; a JPEG-only chain changes it without softening it as much', async () => {
    const x = batch();
    const blur = await degradeSourceBatch(x, N, C, 1, new Rng(3), { ...SOURCE_DEGRADE, blurProb: 1, blurSigma: [1.5, 1.5], noiseProb: 0, jpegProb: 0 });
    const jpeg = await degradeSourceBatch(x, N, C, 1, new Rng(3), { ...SOURCE_DEGRADE, blurProb: 0, noiseProb: 0, jpegProb: 1, jpegQuality: [30, 30] });
    for (let b = 0; b < N; b++) {
      expect(roughness(crop(blur, b))).toBeLessThan(0.5 * roughness(crop(x, b)));
      expect(meanAbs(crop(jpeg, b), crop(x, b))).toBeGreaterThan(0.01);
      expect(roughness(crop(jpeg, b))).toBeGreaterThan(roughness(crop(blur, b)));
    }
  });
});
