/**
 * An independent domain classifier for scoring translations: a small CNN trained on
 * trainA (label 0) vs trainB (label 1) at 64x64, with held-out accuracy on testA/testB.
 * It shares nothing with the GAN (not the discriminator, not its data pipeline's jitter), so
 * "the classifier calls 80% of translated horses zebras" is an outside opinion.
 *
 * Cached per dataset under checkpoints/classifiers/<dataset>/ (model.json, weights.bin, meta.json).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadLayersModel, saveLayersModel } from '../../checkpoint';
import { type RgbImage } from '../../data/images';
import { writeFileAtomic } from '../../io/atomic';
import { resizeRgb, Rng, type UnpairedDataset } from '../../data/unpaired';

export const CLASSIFIER_SIZE = 64;

export interface ClassifierMeta {
  dataset: string;
  size: number;
  epochs: number;
  trainImages: { A: number; B: number };
  /** Held-out accuracy on testA / testB and their mean (balanced accuracy). */
  testAccuracy: { A: number; B: number; balanced: number; images: { A: number; B: number } };
  trainedAt: string;
  seconds: number;
}

export function domainClassifier(seed = 7): tfl.LayersModel {
  let s = seed;
  const init = () => tfl.initializers.heNormal({ seed: s++ });
  const inp = tfl.input({ shape: [CLASSIFIER_SIZE, CLASSIFIER_SIZE, 3] });
  let h = inp as tfl.SymbolicTensor;
  for (const f of [16, 32, 64, 64]) {
    h = tfl.layers.conv2d({ filters: f, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init() }).apply(h) as tfl.SymbolicTensor;
  }
  h = tfl.layers.globalAveragePooling2d({}).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.dropout({ rate: 0.2 }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init() }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: out, name: 'domain_classifier' });
}

/** Downscales RGB images to 64x64 and packs them as NHWC floats in [0, 1]. */
export async function toClassifierBatch(images: RgbImage[]): Promise<tf.Tensor4D> {
  const n = images.length;
  const px = CLASSIFIER_SIZE * CLASSIFIER_SIZE * 3;
  const data = new Float32Array(n * px);
  for (let i = 0; i < n; i++) {
    const r = await resizeRgb(images[i], CLASSIFIER_SIZE, CLASSIFIER_SIZE);
    for (let k = 0; k < px; k++) data[i * px + k] = r.data[k] / 255;
  }
  return tf.tensor4d(data, [n, CLASSIFIER_SIZE, CLASSIFIER_SIZE, 3]);
}

/** P(domain B) for each image. */
export async function predictB(model: tfl.LayersModel, images: RgbImage[]): Promise<Float32Array> {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i += 32) {
    const x = await toClassifierBatch(images.slice(i, i + 32));
    const p = model.predict(x) as tf.Tensor;
    out.set(p.dataSync() as Float32Array, i);
    tf.dispose([x, p]);
  }
  return out;
}

export async function trainDomainClassifier(
  ds: UnpairedDataset,
  opts: { epochs?: number; seed?: number; log?: (l: string) => void } = {},
): Promise<{ model: tfl.LayersModel; meta: ClassifierMeta }> {
  const log = opts.log ?? (() => {});
  const epochs = opts.epochs ?? 6;
  const t0 = Date.now();
  const rng = new Rng(opts.seed ?? 11);
  const A = await toClassifierBatch(ds.trainA.images);
  const B = await toClassifierBatch(ds.trainB.images);
  const model = domainClassifier(opts.seed ?? 7);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  // Balanced epochs: as many B as A draws (the smaller domain is oversampled), random flips.
  const nA = ds.trainA.images.length;
  const nB = ds.trainB.images.length;
  const perEpoch = 2 * Math.max(nA, nB);
  for (let e = 0; e < epochs; e++) {
    const idx: [number, number][] = [];
    for (let i = 0; i < perEpoch / 2; i++) idx.push([0, rng.int(nA)], [1, rng.int(nB)]);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    let lossSum = 0;
    let batches = 0;
    for (let i = 0; i < idx.length; i += 32) {
      const chunk = idx.slice(i, i + 32);
      const flips = chunk.map(() => rng.next() < 0.5);
      const { x, y } = tf.tidy(() => {
        const parts = chunk.map(([d, k], j) => {
          const img = tf.slice(d ? B : A, [k, 0, 0, 0], [1, -1, -1, -1]);
          return flips[j] ? tf.reverse(img, 2) : img;
        });
        return { x: tf.concat(parts, 0), y: tf.tensor2d(chunk.map(([d]) => d), [chunk.length, 1]) };
      });
      const r = (await model.trainOnBatch(x, y)) as number[];
      lossSum += r[0];
      batches++;
      tf.dispose([x, y]);
    }
    log(`domain classifier epoch ${e + 1}/${epochs}: loss ${(lossSum / batches).toFixed(4)}`);
  }
  tf.dispose([A, B]);
  const testA = ds.testA?.images ?? [];
  const testB = ds.testB?.images ?? [];
  if (!testA.length || !testB.length) throw new Error(`${ds.root}: the domain classifier needs testA/ and testB/ for its held-out accuracy`);
  const pa = await predictB(model, testA);
  const pb = await predictB(model, testB);
  const accA = pa.filter((p) => p < 0.5).length / pa.length;
  const accB = pb.filter((p) => p >= 0.5).length / pb.length;
  const meta: ClassifierMeta = {
    dataset: path.basename(path.resolve(ds.root)),
    size: CLASSIFIER_SIZE,
    epochs,
    trainImages: { A: nA, B: nB },
    testAccuracy: { A: accA, B: accB, balanced: (accA + accB) / 2, images: { A: pa.length, B: pb.length } },
    trainedAt: new Date().toISOString(),
    seconds: (Date.now() - t0) / 1000,
  };
  return { model, meta };
}

export async function saveClassifier(dir: string, model: tfl.LayersModel, meta: ClassifierMeta): Promise<void> {
  await saveLayersModel(dir, model);
  await writeFileAtomic(path.join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
}

export async function loadClassifier(dir: string): Promise<{ model: tfl.LayersModel; meta: ClassifierMeta } | null> {
  try {
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as ClassifierMeta;
    return { model: await loadLayersModel(dir), meta };
  } catch {
    return null;
  }
}
