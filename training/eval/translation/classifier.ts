/**
 * The translation judge: a small CNN that sorts 256x256 images into three classes,
 *   0 = domain A, 1 = domain B, 2 = "other" (blurred, low-res, noised, washed-out, or the output
 *   of a random-weight CycleGAN-shaped generator; see degrade.ts),
 * trained on a dataset's trainA/trainB only (the "other" images are made from them) and scored on
 * testA, testB and degraded test images made with unseen seeds and generators (held-out balanced
 * accuracy = mean per-class recall). It works at the resolution users see: its input is RGB plus a
 * fixed high-pass channel (the luminance gradient magnitude: blur and noise live in the finest
 * scale), a 4x4 stride-4 stem sees every pixel, then stride-2 convs, global average
 * pooling and a 64-unit penultimate layer whose activations are the KID features.
 * ~0.1M parameters; a few minutes of single-core tfjs-wasm training per dataset.
 *
 * Stored per dataset under checkpoints/classifiers/<dataset>/ (model.json, weights.bin, meta.json).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadLayersModel, saveLayersModel } from '../../checkpoint';
import type { RgbImage } from '../../data/images';
import { writeFileAtomic } from '../../io/atomic';
import { resizeRgb, Rng } from '../../data/unpaired';
import { crop } from '../../data/bicubic';
import { makeOtherImages } from './degrade';
import { pct, sobelMagnitude } from './metrics';

export const JUDGE_SIZE = 256;
export const CLASSES = ['A', 'B', 'other'] as const;
export type JudgeClass = (typeof CLASSES)[number];
export const FEATURE_LAYER = 'features';
export const JUDGE_VERSION = 3;
/** Input channels: RGB in [-1, 1] plus the luminance gradient magnitude (a fixed high-pass channel). */
export const JUDGE_CHANNELS = 4;

export interface JudgeMeta {
  version: number;
  dataset: string;
  size: number;
  classes: readonly string[];
  epochs: number;
  /** Channel multiplier of the network (absent: 1). */
  width?: number;
  /** Trained on random crops (80-100% of each side) resized back to 256 (absent: false). */
  augment?: boolean;
  trainImages: { A: number; B: number; other: number };
  /** Held-out recall per class (testA, testB, degraded test images) and their mean. */
  heldOut: { A: number; B: number; other: number; balanced: number; images: { A: number; B: number; other: number } };
  /** Held-out recall of "other" per degradation kind. */
  otherByKind: Record<string, number>;
  trainedAt: string;
  seconds: number;
  backend: string;
}

export interface Judge {
  model: tfl.LayersModel;
  /** Same weights, two outputs: [penultimate features, class probabilities]. */
  both: tfl.LayersModel;
  meta: JudgeMeta;
}

/** `width` multiplies every conv's channels (1: ~0.1M parameters); the 64-d feature layer stays (KID's features). */
export function judgeNetwork(seed = 7, width = 1): tfl.LayersModel {
  let s = seed;
  const init = () => tfl.initializers.heNormal({ seed: s++ });
  const inp = tfl.input({ shape: [JUDGE_SIZE, JUDGE_SIZE, JUDGE_CHANNELS], name: 'image' });
  const conv = (x: tfl.SymbolicTensor, filters: number, kernelSize: number, strides: number) =>
    tfl.layers
      .conv2d({ filters, kernelSize, strides, padding: strides === kernelSize ? 'valid' : 'same', activation: 'relu', kernelInitializer: init() })
      .apply(x) as tfl.SymbolicTensor;
  const w = (c: number) => Math.round(c * width);
  let h = conv(inp, w(24), 4, 4); // 64x64: every pixel seen once, fine texture and noise kept
  h = conv(h, w(32), 3, 2); // 32x32
  h = conv(h, w(64), 3, 2); // 16x16
  h = conv(h, w(64), 3, 1);
  h = conv(h, w(96), 3, 2); // 8x8
  h = tfl.layers.globalAveragePooling2d({}).apply(h) as tfl.SymbolicTensor;
  const feat = tfl.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(), name: FEATURE_LAYER }).apply(h) as tfl.SymbolicTensor;
  const d = tfl.layers.dropout({ rate: 0.3 }).apply(feat) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: CLASSES.length, activation: 'softmax', kernelInitializer: init(), name: 'classes' }).apply(d) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: out, name: 'translation_judge' });
}

function withFeatures(model: tfl.LayersModel): tfl.LayersModel {
  return tfl.model({ inputs: model.inputs, outputs: [model.getLayer(FEATURE_LAYER).output as tfl.SymbolicTensor, model.outputs[0]] });
}

/**
 * Resizes to 256x256 when needed and packs NHWC floats (optionally mirrored): RGB in [-1, 1] and, as
 * a fourth channel, the Sobel luminance-gradient magnitude (x8, clipped to 1). Blur, low resolution
 * and noise live in the finest scale; with this fixed high-pass channel a small network trained for
 * minutes sees them directly instead of having to learn the filter from colour images.
 */
export async function toJudgeBatch(images: RgbImage[], flips?: boolean[]): Promise<tf.Tensor4D> {
  const S = JUDGE_SIZE;
  const C = JUDGE_CHANNELS;
  const px = S * S * C;
  const data = new Float32Array(images.length * px);
  for (let i = 0; i < images.length; i++) {
    const r = await resizeRgb(images[i], S, S);
    const g = sobelMagnitude(r);
    const o = i * px;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const src = y * S + (flips?.[i] ? S - 1 - x : x);
        const dst = o + (y * S + x) * C;
        for (let c = 0; c < 3; c++) data[dst + c] = r.data[src * 3 + c] / 127.5 - 1;
        data[dst + 3] = Math.min(1, 8 * g[src]);
      }
    }
  }
  return tf.tensor4d(data, [images.length, S, S, C]);
}

/** Class probabilities (rows of [A, B, other]) and penultimate features for each image. */
export async function judge(j: Pick<Judge, 'both'>, images: RgbImage[], batch = 16): Promise<{ probs: Float32Array[]; features: Float32Array[] }> {
  const probs: Float32Array[] = [];
  const features: Float32Array[] = [];
  for (let i = 0; i < images.length; i += batch) {
    const x = await toJudgeBatch(images.slice(i, i + batch));
    const [f, p] = j.both.predict(x) as tf.Tensor[];
    const fd = (await f.data()) as Float32Array;
    const pd = (await p.data()) as Float32Array;
    const nf = f.shape[1]!;
    for (let k = 0; k < x.shape[0]; k++) {
      features.push(fd.slice(k * nf, (k + 1) * nf));
      probs.push(pd.slice(k * CLASSES.length, (k + 1) * CLASSES.length));
    }
    tf.dispose([x, f, p]);
  }
  return { probs, features };
}

export const argmax = (p: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
};

/** Share of images called each class. */
export function classShares(probs: Float32Array[]): { A: number; B: number; other: number } {
  const n = Math.max(1, probs.length);
  const c = [0, 0, 0];
  for (const p of probs) c[argmax(p)]++;
  return { A: c[0] / n, B: c[1] / n, other: c[2] / n };
}

export interface JudgeData {
  dataset: string;
  trainA: RgbImage[];
  trainB: RgbImage[];
  testA: RgbImage[];
  testB: RgbImage[];
}

function balancedSources(a: RgbImage[], b: RgbImage[], cap: number): RgbImage[] {
  return [...a.slice(0, cap), ...b.slice(0, cap)];
}

export async function trainJudge(
  data: JudgeData,
  opts: { epochs?: number; perClass?: number; otherCount?: number; heldOutOther?: number; seed?: number; width?: number; augment?: boolean; backend?: string; log?: (l: string) => void } = {},
): Promise<Judge> {
  const log = opts.log ?? (() => {});
  const epochs = opts.epochs ?? 6;
  const seed = opts.seed ?? 11;
  const t0 = Date.now();
  if (data.trainA.length < 2 || data.trainB.length < 2) throw new Error(`${data.dataset}: the judge needs at least 2 training images per domain`);
  if (!data.testA.length || !data.testB.length) throw new Error(`${data.dataset}: the judge needs testA/ and testB/ images for its held-out accuracy`);
  const perClass = opts.perClass ?? Math.min(200, Math.max(data.trainA.length, data.trainB.length));
  const otherCount = opts.otherCount ?? perClass;
  log(`judge ${data.dataset}: making ${otherCount} degraded training images from trainA/trainB`);
  const other = (await makeOtherImages(balancedSources(data.trainA, data.trainB, 300), otherCount, seed)).images;
  const pools = [data.trainA, data.trainB, other];
  const width = opts.width ?? 1;
  if (!(width > 0)) throw new Error(`judge width must be > 0, got ${width}`);
  const model = judgeNetwork(seed, width);
  const both = withFeatures(model);
  const optimizer = tf.train.adam(1e-3);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const rng = new Rng(seed);
  const batchPerClass = 8;
  for (let e = 0; e < epochs; e++) {
    if (e === epochs - 2) (optimizer as unknown as { learningRate: number }).learningRate = 3e-4;
    // Balanced epochs: perClass draws from every class (small classes are oversampled), mirrored at random.
    const order: [number, number][] = [];
    for (let c = 0; c < 3; c++) for (let i = 0; i < perClass; i++) order.push([c, rng.int(pools[c].length)]);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0;
    let batches = 0;
    for (let i = 0; i < order.length; i += 3 * batchPerClass) {
      const chunk = order.slice(i, i + 3 * batchPerClass);
      const x = await toJudgeBatch(
        chunk.map(([c, k]) => (opts.augment ? randomCrop(pools[c][k], rng) : pools[c][k])),
        chunk.map(() => rng.next() < 0.5),
      );
      const y = tf.oneHot(tf.tensor1d(chunk.map(([c]) => c), 'int32'), 3);
      lossSum += (await model.trainOnBatch(x, y)) as number;
      batches++;
      tf.dispose([x, y]);
    }
    log(`judge ${data.dataset} epoch ${e + 1}/${epochs}: loss ${(lossSum / batches).toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const heldOutCount = opts.heldOutOther ?? Math.max(20, Math.min(150, Math.round((data.testA.length + data.testB.length) / 2)));
  const ho = await makeOtherImages(balancedSources(data.testA, data.testB, 150), heldOutCount, seed + 1000);
  const j = { model, both };
  const recall = async (imgs: RgbImage[], c: number) => (await judge(j, imgs)).probs.map((p) => argmax(p) === c);
  const rA = await recall(data.testA, 0);
  const rB = await recall(data.testB, 1);
  const rO = await recall(ho.images, 2);
  const frac = (v: boolean[]) => v.filter(Boolean).length / Math.max(1, v.length);
  const otherByKind: Record<string, number> = {};
  for (const k of new Set(ho.kinds)) otherByKind[k] = frac(rO.filter((_, i) => ho.kinds[i] === k));
  const heldOut = { A: frac(rA), B: frac(rB), other: frac(rO), balanced: (frac(rA) + frac(rB) + frac(rO)) / 3, images: { A: rA.length, B: rB.length, other: rO.length } };
  const meta: JudgeMeta = {
    version: JUDGE_VERSION,
    dataset: data.dataset,
    size: JUDGE_SIZE,
    classes: CLASSES,
    epochs,
    ...(width !== 1 ? { width } : {}),
    ...(opts.augment ? { augment: true } : {}),
    trainImages: { A: data.trainA.length, B: data.trainB.length, other: other.length },
    heldOut,
    otherByKind,
    trainedAt: new Date().toISOString(),
    seconds: Math.round((Date.now() - t0) / 1000),
    backend: opts.backend ?? tf.getBackend(),
  };
  log(
    `judge ${data.dataset}: held-out recall A ${pct(heldOut.A)}, B ${pct(heldOut.B)}, other ${pct(heldOut.other)} ` +
      `(${Object.entries(otherByKind).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}), balanced ${pct(heldOut.balanced)}`,
  );
  return { model, both, meta };
}

/**
 * A random crop of 80-100% of each side (aspect kept), for training only: toJudgeBatch resizes it back
 * to 256, so the judge sees each photo at slightly different scales and framings. Degraded "other"
 * images stay degraded (at most a 1.25x enlargement).
 */
function randomCrop(img: RgbImage, rng: Rng): RgbImage {
  const f = 0.8 + 0.2 * rng.next();
  const w = Math.max(1, Math.round(img.width * f));
  const h = Math.max(1, Math.round(img.height * f));
  return crop(img, rng.int(img.width - w + 1), rng.int(img.height - h + 1), w, h);
}

export async function saveJudge(dir: string, j: Judge): Promise<void> {
  await saveLayersModel(dir, j.model);
  await writeFileAtomic(path.join(dir, 'meta.json'), `${JSON.stringify(j.meta, null, 2)}\n`);
}

/** Loads a stored judge; null when the folder holds none or an older (64x64, two-class) classifier. */
export async function loadJudge(dir: string): Promise<Judge | null> {
  let meta: JudgeMeta;
  try {
    meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as JudgeMeta;
  } catch {
    return null;
  }
  if (meta.version !== JUDGE_VERSION || meta.size !== JUDGE_SIZE) return null;
  const model = await loadLayersModel(dir);
  return { model, both: withFeatures(model), meta };
}
