/**
 * Geometric self-ensemble (`eval sr --self-ensemble n`): the eight symmetries of the square and their
 * inverses on RGB images, and the ensemble of a real shipped model on real benchmark images.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { RgbImage } from '../../training/data/images';
import { DEFAULT_SR_ROOT, evaluateSet, loadBenchmarkPairs } from '../../training/eval/sr/evaluate';
import { bicubicRunner, dihedral, onnxRunner, selfEnsemble } from '../../training/eval/sr/runners';
import { runSrEval } from '../../training/tasks/sr/eval-command';

function randomImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, data };
}

const pixel = (img: RgbImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe('the eight symmetries of the square', () => {
  it('are eight different images, each undone exactly by its inverse, with the corners where they belong', () => {
    const img = randomImage(7, 4, 3);
    const seen = new Set<string>();
    for (let k = 0; k < 8; k++) {
      const t = dihedral(img, k);
      expect([t.width, t.height]).toEqual(k & 4 ? [4, 7] : [7, 4]);
      seen.add(Buffer.from(t.data).toString('hex'));
      expect(dihedral(t, k, true)).toEqual(img);
    }
    expect(seen.size).toBe(8);
    // Mirror left-right: the top-left pixel moves to the top-right; transpose: (x, y) -> (y, x).
    expect(pixel(dihedral(img, 1), 6, 0)).toEqual(pixel(img, 0, 0));
    expect(pixel(dihedral(img, 2), 0, 3)).toEqual(pixel(img, 0, 0));
    expect(pixel(dihedral(img, 4), 3, 6)).toEqual(pixel(img, 6, 3));
  });

  it('refuses an ensemble size other than 1, 2, 4 or 8', () => {
    expect(() => selfEnsemble(bicubicRunner(2), 3)).toThrow(/one of 1, 2, 4, 8, got 3/);
    expect(selfEnsemble(bicubicRunner(2), 1).name).toBe('bicubic');
  });
});

const haveData = existsSync(path.join(DEFAULT_SR_ROOT, 'Set5', 'LR_bicubic', 'X2'));
const model = path.resolve(__dirname, '../../public/models/sr-realtime-x2.onnx');

describe.skipIf(!haveData)('self-ensemble on Set5 x2', () => {
  it('of bicubic (which commutes with flips) gives bicubic back, on square and non-square images', async () => {
    const pairs = await loadBenchmarkPairs('Set5', 2);
    expect(pairs.some((p) => p.lr.width !== p.lr.height)).toBe(true); // woman: 114x172
    const plain = bicubicRunner(2);
    const ens = selfEnsemble(plain, 8);
    for (const p of pairs) {
      const a = await plain.upscale(p.lr);
      const b = await ens.upscale(p.lr);
      expect([b.width, b.height]).toEqual([a.width, a.height]);
      let worst = 0;
      for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
      expect(worst).toBeLessThanOrEqual(1); // rounding only
    }
  });

  it('of the shipped real-time x2 model changes its output and does not lose PSNR', async () => {
    const opts = { name: 'sr-realtime-x2', scale: 2, inputName: 'input', outputName: 'output', inputRange: [0, 1] as const, outputRange: [0, 1] as const };
    const single = await evaluateSet(await onnxRunner(model, opts), 'Set5', 2);
    const ens = selfEnsemble(await onnxRunner(model, opts), 8);
    const eight = await evaluateSet(ens, 'Set5', 2);
    await ens.dispose?.();
    expect(eight.model).toBe('sr-realtime-x2+x8');
    // A wrong inverse would misplace pixels and cost decibels; the right one averages out some error.
    expect(eight.psnr).toBeGreaterThan(single.psnr);
    expect(eight.psnr - single.psnr).toBeLessThan(0.5);
    const woman = (r: typeof single) => r.perImage.find((i) => i.name === 'woman.png')!.psnr;
    expect(woman(eight)).toBeGreaterThan(woman(single) - 0.02);
  }, 120_000);

  it('is one flag of `eval sr`', async () => {
    const logs: string[] = [];
    const r = await runSrEval({ model: 'bicubic', scale: 2, sets: ['Set5'], root: DEFAULT_SR_ROOT, limit: 1, range: '0,1', tile: 0, backend: 'wasm', selfEnsemble: 2, log: (l) => logs.push(l) });
    expect(r[0].model).toBe('bicubic+x2');
    expect(logs.some((l) => /^bicubic\+x2 x2 Set5: Y-PSNR/.test(l))).toBe(true);
  });
});
