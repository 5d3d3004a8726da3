/**
 * Evaluator calibration: plain bicubic upsampling of the official LR images, measured by our
 * evaluator, must reproduce the published bicubic numbers (Y-PSNR, within 0.05 dB), and our
 * MATLAB-compatible imresize must reproduce the benchmark LR images (within rounding).
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { evaluateSet, DEFAULT_SR_ROOT, loadBenchmarkPairs } from '../../training/eval/sr/evaluate';
import { bicubicRunner } from '../../training/eval/sr/runners';
import { bicubicDownscale, imresizeFloat } from '../../training/data/bicubic';
import { decodeImageFile } from '../../training/data/images';

const haveData = existsSync(path.join(DEFAULT_SR_ROOT, 'Set5', 'LR_bicubic', 'X2'));

describe.skipIf(!haveData)('SR evaluator calibration against published bicubic numbers', () => {
  // Published (SRCNN / VDSR tables): Set5 x2 33.66, Set5 x4 28.42, Set14 x2 30.24.
  it.each([
    ['Set5', 2, 33.66, 0.9299],
    ['Set5', 4, 28.42, 0.8104],
    ['Set14', 2, 30.24, 0.8688],
  ] as const)('%s x%i bicubic = %f dB', async (set, scale, psnr, ssim) => {
    const r = await evaluateSet(bicubicRunner(scale), set, scale);
    expect(Math.abs(r.psnr - psnr)).toBeLessThanOrEqual(0.05);
    // SSIM as published varies with the script (e.g. 0.9299 vs 0.9304); stay within 0.002.
    expect(Math.abs(r.ssim - ssim)).toBeLessThanOrEqual(0.002);
  });

  it('grayscale HR files (Set14 bridge) are flagged', async () => {
    const pairs = await loadBenchmarkPairs('Set14', 2);
    expect(pairs.filter((p) => p.gray).map((p) => p.name)).toEqual(['bridge.png']);
  });

  it('MATLAB-style imresize reproduces the benchmark LR images to within rounding', async () => {
    for (const [name, scale] of [['butterfly.png', 2], ['bird.png', 4]] as const) {
      const hr = await decodeImageFile(path.join(DEFAULT_SR_ROOT, 'Set5', 'HR', name));
      const lr = await decodeImageFile(path.join(DEFAULT_SR_ROOT, 'Set5', 'LR_bicubic', `X${scale}`, name));
      const { hr: cropped, lr: mine } = bicubicDownscale(hr, scale);
      expect([mine.width, mine.height]).toEqual([lr.width, lr.height]);
      let se = 0;
      let maxDiff = 0;
      for (let i = 0; i < lr.data.length; i++) {
        const d = mine.data[i] - lr.data[i];
        se += d * d;
        maxDiff = Math.max(maxDiff, Math.abs(d));
      }
      // Unrounded float result vs the stored uint8 LR: within rounding noise.
      const f = imresizeFloat(cropped.data, cropped.width, cropped.height, 3, 1 / scale);
      let seF = 0;
      for (let i = 0; i < lr.data.length; i++) seF += (f.data[i] - lr.data[i]) ** 2;
      expect(Math.sqrt(seF / lr.data.length)).toBeLessThan(0.45);
      expect(Math.sqrt(se / lr.data.length)).toBeLessThan(0.6);
      expect(maxDiff).toBeLessThanOrEqual(8);
    }
  });
});
