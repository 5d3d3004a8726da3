/**
 * The first (64x64, two-class) CycleGAN evaluation, kept as a library for its tests; the command
 * `npm run eval -- cyclegan` now runs the 256x256 evaluation of ../translation (see runEvalCommand).
 * It scored a translation model on a dataset's test split:
 *   classifierTargetShare  share of translated test images the independent domain classifier
 *                          assigns to the target domain
 *   cycleL1                mean |inverse(model(x)) - x| in [0, 1] (needs the inverse direction)
 *   msPer256               mean wall-clock ms to translate one 256x256 image (after a warm-up)
 * and writes a grid (source | translation | reconstruction) plus a JSON report.
 */
import path from 'node:path';
import { initBackend } from '../../backends';
import { type RgbImage } from '../../data/images';
import { resizeRgb, type UnpairedDataset } from '../../data/unpaired';
import { writeGridPng, type Tile } from '../../viz/grid';
import { loadClassifier, predictB, saveClassifier, trainDomainClassifier, type ClassifierMeta } from './classifier';
import { type Translator } from './translators';
import type * as tfl from '@tensorflow/tfjs-layers';

export interface EvalResult {
  dataset: string;
  direction: 'AtoB' | 'BtoA';
  model: string;
  inverse: string | null;
  images: number;
  size: number;
  metrics: { classifierTargetShare: number; cycleL1?: number; msPer256: number };
  classifier: ClassifierMeta;
  grid: string | null;
}

export async function getClassifier(
  ds: UnpairedDataset,
  cacheDir: string,
  opts: { epochs?: number; log?: (l: string) => void } = {},
): Promise<{ model: tfl.LayersModel; meta: ClassifierMeta }> {
  const log = opts.log ?? (() => {});
  const cached = await loadClassifier(cacheDir);
  if (cached) {
    log(`domain classifier: cached ${cacheDir} (held-out accuracy ${(cached.meta.testAccuracy.balanced * 100).toFixed(1)}%)`);
    return cached;
  }
  log(`domain classifier: training on ${ds.trainA.images.length} A vs ${ds.trainB.images.length} B images at 64x64 (cached to ${cacheDir})`);
  const c = await trainDomainClassifier(ds, { epochs: opts.epochs, log });
  await saveClassifier(cacheDir, c.model, c.meta);
  const t = c.meta.testAccuracy;
  log(`domain classifier: held-out accuracy testA ${(t.A * 100).toFixed(1)}%, testB ${(t.B * 100).toFixed(1)}%, balanced ${(t.balanced * 100).toFixed(1)}%`);
  return c;
}

function l1(a: RgbImage, b: RgbImage): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length / 255;
}

const tileOf = (img: RgbImage): Tile => ({ data: Float32Array.from(img.data, (v) => v / 255), width: img.width, height: img.height, range: [0, 1] });

export async function evaluateTranslation(opts: {
  ds: UnpairedDataset;
  direction: 'AtoB' | 'BtoA';
  model: Translator;
  inverse?: Translator | null;
  classifier: { model: tfl.LayersModel; meta: ClassifierMeta };
  size: number;
  gridFile?: string;
  log?: (l: string) => void;
}): Promise<EvalResult> {
  const log = opts.log ?? (() => {});
  const src = opts.direction === 'AtoB' ? opts.ds.testA : opts.ds.testB;
  if (!src || !src.images.length) throw new Error(`${opts.ds.root} has no test${opts.direction === 'AtoB' ? 'A' : 'B'}/ images to translate`);
  const m = opts.model.multipleOf;
  const size = Math.max(m, Math.round(opts.size / m) * m);
  const translated: RgbImage[] = [];
  const recon: RgbImage[] = [];
  const sources: RgbImage[] = [];
  let cycleSum = 0;
  for (const img of src.images) {
    const x = await resizeRgb(img, size, size);
    const y = await opts.model.translate(x);
    sources.push(x);
    translated.push(y);
    if (opts.inverse) {
      const r = await opts.inverse.translate(y);
      recon.push(r);
      cycleSum += l1(r, x);
    }
  }
  // Timing at exactly 256x256 on up to 10 images, after one warm-up run.
  const timing = await Promise.all(src.images.slice(0, 11).map((im) => resizeRgb(im, 256, 256)));
  await opts.model.translate(timing[0]);
  const t0 = performance.now();
  for (const im of timing.slice(1)) await opts.model.translate(im);
  const msPer256 = (performance.now() - t0) / Math.max(1, timing.length - 1);

  const p = await predictB(opts.classifier.model, translated);
  const hits = opts.direction === 'AtoB' ? p.filter((v) => v >= 0.5).length : p.filter((v) => v < 0.5).length;
  const share = hits / p.length;
  let grid: string | null = null;
  if (opts.gridFile) {
    const rows: Tile[][] = [];
    for (let i = 0; i < Math.min(6, sources.length); i++) {
      rows.push([tileOf(sources[i]), tileOf(translated[i]), ...(recon[i] ? [tileOf(recon[i])] : [])]);
    }
    await writeGridPng(opts.gridFile, rows, { labels: ['input', 'translation', ...(recon.length ? ['reconstruction'] : [])] });
    grid = opts.gridFile;
  }
  const metrics: EvalResult['metrics'] = { classifierTargetShare: share, msPer256 };
  if (opts.inverse) metrics.cycleL1 = cycleSum / src.images.length;
  log(
    `${opts.model.label} (${opts.direction}) on ${src.images.length} test images at ${size}x${size}: classifier says target domain for ${(share * 100).toFixed(1)}%` +
      `${metrics.cycleL1 !== undefined ? `, cycle L1 ${metrics.cycleL1.toFixed(4)}` : ''}, ${msPer256.toFixed(1)} ms per 256x256 image`,
  );
  return {
    dataset: path.basename(path.resolve(opts.ds.root)),
    direction: opts.direction,
    model: opts.model.label,
    inverse: opts.inverse?.label ?? null,
    images: src.images.length,
    size,
    metrics,
    classifier: opts.classifier.meta,
    grid,
  };
}

interface EvalCliOptions {
  data: string;
  model?: string;
  inverse?: string;
  direction?: 'AtoB' | 'BtoA';
  manifest: string;
  range: string;
  size: number;
  limit?: number;
  out: string;
  classifierDir?: string;
  classifierEpochs: number;
  backend: string;
}

/**
 * `npm run eval -- cyclegan` is now an alias of `eval translation` (the 256x256 three-class judge,
 * detail, edges, KID); --inverse, --size and --classifier-epochs of the old 64x64 evaluation are ignored.
 */
export async function runEvalCommand(o: EvalCliOptions): Promise<unknown> {
  const { runTranslationEval, getJudge, judgeDir } = await import('../translation/command');
  if (o.inverse || o.size !== 256) console.log('note: eval cyclegan is an alias of eval translation now: --inverse and --size are not used (every score is taken at 256x256)');
  if (!o.model) {
    const { loadJudgeData } = await import('../translation/judge-data');
    await initBackend({ backend: o.backend, log: console.log });
    const data = await loadJudgeData(o.data, { log: console.log });
    await getJudge(data, o.classifierDir ?? judgeDir(data.dataset), { log: console.log });
    console.log('no --model: trained/loaded the judge only');
    return null;
  }
  return runTranslationEval({
    model: o.model,
    data: o.data,
    direction: o.direction,
    manifest: o.manifest,
    range: o.range,
    limit: o.limit,
    out: o.out,
    judgeDir: o.classifierDir,
    backend: o.backend,
  });
}
