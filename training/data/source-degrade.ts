/**
 * Degraded source photos for translation training (`train cut --degrade-inputs <p>`): the photos
 * people translate are JPEGs, slightly soft, noisy (webcams most of all), while the training
 * photos are clean. With probability `p` each source crop goes through a camera-like chain before
 * the generator sees it: Gaussian blur, then sensor noise, then a baseline JPEG round trip (each
 * step drawn on its own; at least one). The clean crop stays available: a distillation teacher
 * translates the clean photo, so the student learns to give a degraded photo the teacher's
 * translation of the clean one. Every draw comes from the trainer's seeded Rng (exact resume).
 */
import { addGaussianNoise, gaussianBlur, jpegRoundTrip, toFloat, toUint8, type FloatImage } from './degrade';
import type { Rng } from './unpaired';

export interface SourceDegradeConfig {
  blurProb: number;
  /** Gaussian sigma range in pixels of the training crop (crops are taken at the 256 px test scale) */
  blurSigma: [number, number];
  noiseProb: number;
  /** Gaussian noise sigma range in 8-bit grey levels */
  noiseSigma: [number, number];
  /** probability that the noise is the same on the three channels */
  grayNoiseProb: number;
  jpegProb: number;
  /** JPEG quality range, drawn uniformly as an integer */
  jpegQuality: [number, number];
}

/** What phone photos, web JPEGs and webcam frames look like at 256 px. */
export const SOURCE_DEGRADE: SourceDegradeConfig = {
  blurProb: 0.5,
  blurSigma: [0.4, 1.5],
  noiseProb: 0.4,
  noiseSigma: [1, 10],
  grayNoiseProb: 0.3,
  jpegProb: 0.6,
  jpegQuality: [30, 90],
};

const uniform = (rng: Rng, [lo, hi]: [number, number]) => lo + (hi - lo) * rng.next();

/** One crop through the chain; `rng` draws which steps and how strong. */
async function degradeOne(img: FloatImage, rng: Rng, c: SourceDegradeConfig): Promise<FloatImage> {
  let blur = rng.next() < c.blurProb;
  const noise = rng.next() < c.noiseProb;
  let jpeg = rng.next() < c.jpegProb;
  if (!blur && !noise && !jpeg) {
    if (rng.next() < 0.5) jpeg = true;
    else blur = true;
  }
  let x = img;
  if (blur) {
    const s = uniform(rng, c.blurSigma);
    x = gaussianBlur(x, s, s, 0);
  }
  if (noise) x = addGaussianNoise(x, uniform(rng, c.noiseSigma), rng.next() < c.grayNoiseProb, rng);
  if (jpeg) {
    const q = Math.round(uniform(rng, c.jpegQuality));
    x = toFloat(await jpegRoundTrip(toUint8(x), q));
  }
  return x;
}

/**
 * A copy of `batch` (NHWC floats in [-1, 1], `n` crops of `crop` x `crop`) in which each crop is
 * degraded with probability `prob`; the others are copied unchanged.
 */
export async function degradeSourceBatch(batch: Float32Array, n: number, crop: number, prob: number, rng: Rng, c: SourceDegradeConfig = SOURCE_DEGRADE): Promise<Float32Array> {
  const size = crop * crop * 3;
  if (batch.length !== n * size) throw new Error(`degradeSourceBatch: ${batch.length} values is not ${n} crops of ${crop}x${crop}x3`);
  const out = new Float32Array(batch);
  for (let b = 0; b < n; b++) {
    if (!(rng.next() < prob)) continue;
    const view = batch.subarray(b * size, (b + 1) * size);
    const img: FloatImage = { width: crop, height: crop, data: Float32Array.from(view, (v) => (v + 1) * 127.5) };
    const d = await degradeOne(img, rng, c);
    for (let i = 0; i < size; i++) out[b * size + i] = Math.min(1, Math.max(-1, d.data[i] / 127.5 - 1));
  }
  return out;
}
