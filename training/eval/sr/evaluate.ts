/**
 * Benchmark evaluation on Set5 / Set14 / BSD100 with the official MATLAB-bicubic LR images:
 * LR `sr/<set>/LR_bicubic/X<s>/<name>.png` (w x h) pairs with the top-left crop HR[0:h*s, 0:w*s]
 * (modcrop). The runner's uint8 output is compared on the BT.601 Y channel, shave = scale.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { decodeImageFile, type RgbImage } from '../../data/images';
import { crop } from '../../data/bicubic';
import { applyFixedDegradations, type FixedDegradation } from '../../data/degrade';
import { srMetrics } from './metrics';
import type { SrRunner } from './runners';

export const BENCHMARK_SETS = ['Set5', 'Set14', 'BSD100'] as const;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** `/work/shared/datasets/sr` resolved as `../shared/datasets/sr` from the repo root. */
export const DEFAULT_SR_ROOT = path.resolve(REPO_ROOT, '../shared/datasets/sr');
export const repoRoot = REPO_ROOT;

export interface ImageResult {
  name: string;
  psnr: number;
  ssim: number;
  seconds: number;
}

export interface SetResult {
  set: string;
  scale: number;
  model: string;
  images: number;
  psnr: number;
  ssim: number;
  /** Mean wall seconds of runner.upscale per image. */
  secondsPerImage: number;
  /** The LR degradation evaluated (e.g. "jpeg:60"); absent for the official clean LR. */
  degrade?: string;
  perImage: ImageResult[];
}

export interface BenchmarkPair {
  name: string;
  lr: RgbImage;
  hr: RgbImage;
  /** The HR file is single-channel (Set14 bridge): metrics use the gray values, not BT.601 Y. */
  gray: boolean;
}

export interface BenchmarkLoadOptions {
  root?: string;
  limit?: number;
  /** Degrade the official LR images first (e.g. baseline JPEG at quality 60): `eval sr --degrade`. */
  degrade?: FixedDegradation[];
}

/** Loads the LR/HR pairs of one benchmark set at one scale (HR cropped to LR size * scale). */
export async function loadBenchmarkPairs(set: string, scale: number, opts: BenchmarkLoadOptions = {}): Promise<BenchmarkPair[]> {
  const root = opts.root ?? DEFAULT_SR_ROOT;
  const hrDir = path.join(root, set, 'HR');
  const lrDir = path.join(root, set, 'LR_bicubic', `X${scale}`);
  let names: string[];
  try {
    names = (await fs.readdir(lrDir)).filter((n) => /\.(png|bmp|jpe?g)$/i.test(n)).sort();
  } catch {
    throw new Error(`benchmark set not found: ${lrDir} (expected <root>/${set}/LR_bicubic/X${scale}/*.png; --data-root sets <root>)`);
  }
  if (opts.limit) names = names.slice(0, opts.limit);
  const pairs: BenchmarkPair[] = [];
  for (const name of names) {
    const official = await decodeImageFile(path.join(lrDir, name));
    const lr = opts.degrade?.length ? await applyFixedDegradations(official, opts.degrade, `${set}/X${scale}/${name}`) : official;
    const hrFull = await decodeImageFile(path.join(hrDir, name));
    if (hrFull.width < lr.width * scale || hrFull.height < lr.height * scale) {
      throw new Error(`${set}/${name}: HR ${hrFull.width}x${hrFull.height} is smaller than LR ${lr.width}x${lr.height} x${scale}`);
    }
    const gray = ((await sharp(path.join(hrDir, name)).metadata()).channels ?? 3) < 3;
    pairs.push({ name, lr, hr: crop(hrFull, 0, 0, lr.width * scale, lr.height * scale), gray });
  }
  return pairs;
}

export async function evaluatePairs(runner: SrRunner, pairs: BenchmarkPair[], set: string, scale: number, onImage?: (r: ImageResult) => void): Promise<SetResult> {
  if (runner.scale !== scale) throw new Error(`${runner.name} is a x${runner.scale} model, asked to evaluate x${scale}`);
  const perImage: ImageResult[] = [];
  for (const p of pairs) {
    const t0 = performance.now();
    const sr = await runner.upscale(p.lr);
    const seconds = (performance.now() - t0) / 1000;
    const m = srMetrics(sr, p.hr, scale, { gray: p.gray });
    const r = { name: p.name, ...m, seconds };
    perImage.push(r);
    onImage?.(r);
  }
  const mean = (f: (r: ImageResult) => number) => perImage.reduce((s, r) => s + f(r), 0) / Math.max(1, perImage.length);
  return {
    set,
    scale,
    model: runner.name,
    images: perImage.length,
    psnr: mean((r) => r.psnr),
    ssim: mean((r) => r.ssim),
    secondsPerImage: mean((r) => r.seconds),
    perImage,
  };
}

export async function evaluateSet(runner: SrRunner, set: string, scale: number, opts: BenchmarkLoadOptions = {}): Promise<SetResult> {
  return evaluatePairs(runner, await loadBenchmarkPairs(set, scale, opts), set, scale);
}
