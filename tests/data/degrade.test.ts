/**
 * The photo tier's degradations (training/data/degrade.ts): each one changes the image and is
 * reproducible from its seed, out-of-range options name the option, the degraded sampler skips
 * and counts an image it cannot degrade, and known benchmark duplicates are left out of training.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import {
  addGaussianNoise,
  addPoissonNoise,
  applyFixedDegradations,
  convolve,
  DEFAULT_DEGRADE,
  degradeRandom,
  downscale,
  gaussianBlur,
  gaussianKernel,
  jpegRoundTrip,
  parseFixedDegradations,
  toFloat,
  validateDegradeConfig,
  type DegradeConfig,
  type FloatImage,
} from '../../training/data/degrade';
import { expandDataAliases, loadSrDataset, Rng, sampleDegradedBatch, type SrDataset } from '../../training/data/sr-dataset';
import { KNOWN_OVERLAPS } from '../../training/data/known-overlaps';
import { degradeConfigFromOptions } from '../../training/tasks/sr/command';
import type { RgbImage } from '../../training/data/images';

/** A 64x48 test image with edges, gradients and texture (deterministic). */
function testImage(w = 64, h = 48): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = (x * 4) & 255;
      data[i + 1] = x > w / 2 !== y > h / 2 ? 220 : 30;
      data[i + 2] = Math.round(128 + 100 * Math.sin(x * 0.7) * Math.cos(y * 0.5));
    }
  return { width: w, height: h, data };
}

const meanAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

/** Only the named degradation (and the x2 downscale every sample has). */
function only(k: 'blur' | 'aniso' | 'gauss' | 'poisson' | 'jpeg' | 'second' | 'none'): DegradeConfig {
  return {
    ...DEFAULT_DEGRADE,
    resize: ['bicubic'],
    blurProb: k === 'blur' || k === 'aniso' ? 1 : 0,
    anisoProb: k === 'aniso' ? 1 : 0,
    noiseProb: k === 'gauss' || k === 'poisson' ? 1 : 0,
    gaussianProb: k === 'gauss' ? 1 : 0,
    jpegProb: k === 'jpeg' || k === 'second' ? 1 : 0,
    secondProb: k === 'second' ? 1 : 0,
  };
}

describe('degradations', () => {
  const hr = testImage();

  it('each random degradation changes the LR and is reproducible from its seed', async () => {
    const plain = (await degradeRandom(hr, 2, only('none'), new Rng(1))).lr;
    for (const k of ['blur', 'aniso', 'gauss', 'poisson', 'jpeg', 'second'] as const) {
      const a = await degradeRandom(hr, 2, only(k), new Rng(5));
      const b = await degradeRandom(hr, 2, only(k), new Rng(5));
      const c = await degradeRandom(hr, 2, only(k), new Rng(6));
      expect(a.lr.width, k).toBe(32);
      expect(a.lr.height, k).toBe(24);
      expect(Buffer.from(a.lr.data).equals(Buffer.from(b.lr.data)), `${k}: same seed, same pixels`).toBe(true);
      expect(a.steps).toEqual(b.steps);
      expect(meanAbsDiff(a.lr.data, plain.data), `${k} changes the image (${a.steps.join(' ')})`).toBeGreaterThan(0.3);
      expect(Buffer.from(a.lr.data).equals(Buffer.from(c.lr.data)), `${k}: another seed, other pixels`).toBe(false);
    }
    // The full default pipeline too.
    const d1 = await degradeRandom(hr, 4, DEFAULT_DEGRADE, new Rng(11));
    const d2 = await degradeRandom(hr, 4, DEFAULT_DEGRADE, new Rng(11));
    expect(Buffer.from(d1.lr.data).equals(Buffer.from(d2.lr.data))).toBe(true);
    expect(d1.lr.width).toBe(16);
  });

  it('the three downscalers differ and area is the block mean', () => {
    const f = toFloat(hr);
    const bic = downscale(f, 2, 'bicubic');
    const bil = downscale(f, 2, 'bilinear');
    const area = downscale(f, 2, 'area');
    expect(area.data[0]).toBeCloseTo((hr.data[0] + hr.data[3] + hr.data[64 * 3] + hr.data[64 * 3 + 3]) / 4, 4);
    // x2 bilinear without antialiasing samples between two pixels: the same as the 2x2 mean.
    expect(meanAbsDiff(bil.data, area.data)).toBeLessThan(1e-4);
    expect(meanAbsDiff(bic.data, area.data)).toBeGreaterThan(0.3);
    // At x4, bilinear without antialiasing aliases: it differs from the box mean.
    expect(meanAbsDiff(downscale(f, 4, 'bilinear').data, downscale(f, 4, 'area').data)).toBeGreaterThan(1);
    expect(() => downscale(testImage(63, 48) as unknown as FloatImage, 2, 'area')).toThrow(/not a multiple of 2/);
  });

  it('the two-pass Gaussian equals the direct 2-D convolution (exactly when isotropic)', () => {
    // A smooth image: the second pass interpolates linearly between pixels.
    const w = 48;
    const data = new Float32Array(w * w * 3).map((_, i) => 128 + 80 * Math.sin((Math.floor(i / 3) % w) * 0.3) * Math.cos(Math.floor(i / 3 / w) * 0.2));
    const img = { width: w, height: w, data };
    const err = (a: FloatImage, b: FloatImage) => {
      let m = 0;
      for (let y = 12; y < w - 12; y++) for (let x = 12; x < w - 12; x++) for (let c = 0; c < 3; c++) m = Math.max(m, Math.abs(a.data[(y * w + x) * 3 + c] - b.data[(y * w + x) * 3 + c]));
      return m;
    };
    expect(err(gaussianBlur(img, 1.3, 1.3, 0), convolve(img, gaussianKernel(1.3, 1.3, 0)))).toBeLessThan(1e-3);
    expect(err(gaussianBlur(img, 2.5, 0.7, 0.6), convolve(img, gaussianKernel(2.5, 0.7, 0.6)))).toBeLessThan(1);
  });

  it('noise is seeded; gray noise is the same on R, G and B', () => {
    const f = toFloat(hr);
    const g1 = addGaussianNoise(f, 5, true, new Rng(3));
    expect(Array.from(addGaussianNoise(f, 5, true, new Rng(3)).data)).toEqual(Array.from(g1.data));
    expect(g1.data[0] - f.data[0]).toBeCloseTo(g1.data[1] - f.data[1], 4);
    const p = addPoissonNoise(f, 1, false, new Rng(3));
    expect(meanAbsDiff(p.data, f.data)).toBeGreaterThan(0.3);
  });

  it('JPEG is a real baseline encoder: lower quality, bigger error; the same input gives the same pixels', async () => {
    const e95 = meanAbsDiff((await jpegRoundTrip(hr, 95)).data, hr.data);
    const e30 = meanAbsDiff((await jpegRoundTrip(hr, 30)).data, hr.data);
    expect(e95).toBeGreaterThan(0);
    expect(e30).toBeGreaterThan(e95 * 1.5);
    expect(Array.from((await jpegRoundTrip(hr, 60)).data)).toEqual(Array.from((await jpegRoundTrip(hr, 60)).data));
  });

  it('eval --degrade specs parse, apply in order, and name the option when wrong', async () => {
    const d = parseFixedDegradations('noise:5+jpeg:75');
    expect(d).toEqual([{ kind: 'noise', sigma: 5 }, { kind: 'jpeg', quality: 75 }]);
    const a = await applyFixedDegradations(hr, d, 'Set5/x.png');
    expect(Array.from((await applyFixedDegradations(hr, d, 'Set5/x.png')).data)).toEqual(Array.from(a.data));
    expect(meanAbsDiff(a.data, hr.data)).toBeGreaterThan(1);
    expect(meanAbsDiff((await applyFixedDegradations(hr, parseFixedDegradations('blur:1'), 'k')).data, hr.data)).toBeGreaterThan(1);
    for (const bad of ['jpeg:0', 'jpeg:101', 'jpeg:60.5', 'noise:-1', 'blur:0', 'sharpen:2', '']) expect(() => parseFixedDegradations(bad), bad).toThrow(/--degrade/);
  });

  it('out-of-range training options give a message naming the option', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ jpegQuality: '0,90' }, /--jpeg-quality .*\[1, 100\]/],
      [{ jpegQuality: '30,101' }, /--jpeg-quality/],
      [{ blurSigma: '-0.5,2' }, /--blur-sigma .*sigma/],
      [{ noiseSigma: '-1,5' }, /--noise-sigma/],
      [{ noiseSigma: '9,2' }, /--noise-sigma .*min is above max/],
      [{ poissonScale: 'a,b' }, /--poisson-scale must be "min,max"/],
      [{ jpegProb: '1.5' }, /--jpeg-prob .*probability/],
      [{ resize: 'bicubic,lanczos' }, /--resize .*lanczos/],
    ];
    for (const [raw, msg] of cases) expect(() => degradeConfigFromOptions(raw, 2), JSON.stringify(raw)).toThrow(msg);
    expect(degradeConfigFromOptions({ jpegQuality: '40,80' }, 4)).toMatchObject({ jpegQuality: [40, 80], blurSigma: [0.2, 3] });
    expect(() => validateDegradeConfig({ ...DEFAULT_DEGRADE, blurSigma: [-1, 1] })).toThrow(/--blur-sigma/);
  });

  it('the sampler skips and counts an image it cannot degrade, and is reproducible from the Rng state', async () => {
    const good = testImage(80, 80);
    const tiny = testImage(20, 20); // too small for a 16 px LR patch at x2 (the loader skips these; a sampler must not crash on one)
    const ds: SrDataset = {
      pairs: [
        { hr: good, lr: (await degradeRandom(good, 2, only('none'), new Rng(1))).lr },
        { hr: tiny, lr: (await degradeRandom(tiny, 2, only('none'), new Rng(1))).lr },
      ],
      report: { folder: 'x', loaded: 2, grayscaleExpanded: 0, downscaled: 0, skipped: [] },
      sources: [],
      scale: 2,
      patch: 16,
      margin: 4,
    };
    const stats = { clean: 0, degraded: 0, failed: 0 };
    const logs: string[] = [];
    const cfg = { ...DEFAULT_DEGRADE, cleanProb: 0 };
    const rng = new Rng(2);
    const state = rng.state();
    const a = await sampleDegradedBatch(ds, rng, 6, cfg, stats, (s) => logs.push(s));
    expect(stats.failed).toBe(1);
    expect(stats.degraded).toBe(6);
    expect(ds.failed?.has(1)).toBe(true);
    expect(logs.join('\n')).toMatch(/degradation failed on image #1 \(20x20\): too small.*skipping this image/);
    expect(a.lr.every(Number.isFinite)).toBe(true);
    // Same Rng state, same patches (the failed image stays skipped, draws are sequential).
    const again = await sampleDegradedBatch({ ...ds, failed: new Map() }, new Rng(state), 6, cfg, { clean: 0, degraded: 0, failed: 0 });
    expect(Array.from(again.lr)).toEqual(Array.from(a.lr));
    expect(Array.from(again.hr)).toEqual(Array.from(a.hr));
  });
});

const BSD200 = path.resolve(__dirname, '../../../shared/datasets/sr/BSD200');
const T91 = path.resolve(__dirname, '../../../shared/datasets/sr/T91');

describe.skipIf(!existsSync(path.join(BSD200, '302003.png')) || !existsSync(T91))('training data 291', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-291-'));
    // Set5's woman under another name, a normal BSD200 photo, an odd-sized and a tiny image.
    await fs.copyFile(path.join(BSD200, '302003.png'), path.join(dir, 'renamed.png'));
    await fs.copyFile(path.join(BSD200, '100075.png'), path.join(dir, '100075.png'));
    await fs.copyFile(path.join(T91, 't1.bmp'), path.join(dir, 't1.bmp'));
    await sharp({ create: { width: 67, height: 53, channels: 3, background: '#336699' } }).png().toFile(path.join(dir, 'odd.png'));
    await sharp({ create: { width: 9, height: 9, channels: 3, background: '#808080' } }).png().toFile(path.join(dir, 'tiny.png'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('"291" is T91 + BSD200, and the copy of Set5 woman is left out by content and logged', async () => {
    expect(expandDataAliases('291@0.5,mine', '/d')).toBe('/d/T91@0.5,/d/BSD200@0.5,mine');
    expect(KNOWN_OVERLAPS.some((o) => o.file.endsWith('302003.png'))).toBe(true);
    const ds = await loadSrDataset(dir, { scale: 2, patch: 16, margin: 4 });
    expect(ds.report.loaded).toBe(3); // 100075, t1, odd (67x53 is modcropped to 66x52)
    const skipped = Object.fromEntries(ds.report.skipped.map((s) => [s.file, s.reason]));
    expect(skipped['renamed.png']).toMatch(/same photo as the benchmark image Set5 woman/);
    expect(skipped['tiny.png']).toMatch(/too small/);
    // Every loaded image survives a degraded batch.
    const stats = { clean: 0, degraded: 0, failed: 0 };
    await sampleDegradedBatch(ds, new Rng(1), 8, DEFAULT_DEGRADE, stats);
    expect(stats.failed).toBe(0);
  });
});
