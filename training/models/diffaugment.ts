/**
 * DiffAugment (Zhao, Liu, Lin, Zhu, Han, NeurIPS 2020, "Differentiable Augmentation for
 * Data-Efficient GAN Training"; reference code: github.com/mit-han-lab/data-efficient-gans,
 * DiffAugment_pytorch.py). The discriminator only ever sees T(x): D(T(real)) and D(T(fake)) in its
 * loss, D(T(G(x))) in the generator's adversarial loss, with a fresh random T on every call. T is
 * made of differentiable tensor ops, so G's gradient flows through it. With few target images
 * (Monet's 255 paintings) it keeps D from memorising the training set.
 *
 * Policies, as the reference (images NHWC in [-1, 1], one random draw per image):
 *   color:       brightness x + u - 0.5; saturation (x - m) * 2u + m with m the per-pixel channel
 *                mean; contrast (x - m) * (u + 0.5) + m with m the image mean (u uniform in [0, 1))
 *   translation: whole-pixel shifts of up to round(size / 8) in each direction, zeros entering
 *   cutout:      one square of round(size / 2) on a side, centred anywhere in the image (clipped
 *                at its borders), set to 0
 * The ops apply in the order the policy names them; the random numbers come from the caller's
 * seeded generator in the reference's order (per op: all images' first parameter, then the second).
 */
import * as tf from '@tensorflow/tfjs-core';

export const DIFFAUG_OPS = ['color', 'translation', 'cutout'] as const;
export type DiffAugOp = (typeof DIFFAUG_OPS)[number];
/** The ops to apply, in order; empty: off. */
export type DiffAugPolicy = readonly DiffAugOp[];

/** Where the random numbers come from (the trainer's seeded Rng). */
export interface UniformSource {
  /** Uniform in [0, 1). */
  next(): number;
}

/** The reference's translation ratio (of the image size) and cutout ratio. */
export const TRANSLATION_RATIO = 0.125;
export const CUTOUT_RATIO = 0.5;

/**
 * '' or 'none': off; otherwise a comma-separated list of color, translation, cutout (each at most
 * once, applied in the order given). Anything else throws, naming the bad word and the valid ones.
 */
export function parseDiffAugPolicy(s: string): DiffAugPolicy {
  const t = s.trim().toLowerCase();
  if (t === '' || t === 'none') return [];
  const ops: DiffAugOp[] = [];
  for (const raw of t.split(',')) {
    const w = raw.trim();
    if (!(DIFFAUG_OPS as readonly string[]).includes(w)) {
      throw new Error(`DiffAugment policy "${s}": unknown augmentation "${w}"; valid: ${DIFFAUG_OPS.join(', ')} (comma-separated), or none`);
    }
    if (ops.includes(w as DiffAugOp)) throw new Error(`DiffAugment policy "${s}": "${w}" is named twice`);
    ops.push(w as DiffAugOp);
  }
  return ops;
}

/** The policy as the run options store it: 'none' or the ops joined by commas. */
export function formatDiffAugPolicy(p: DiffAugPolicy): string {
  return p.length ? p.join(',') : 'none';
}

/** The reference's int(size * ratio + 0.5). */
const scaled = (size: number, ratio: number) => Math.floor(size * ratio + 0.5);

/** Uniform integer in [lo, hi) (torch.randint). */
const randint = (rng: UniformSource, lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo));

/** One uniform [0, 1) value per image, as a [n, 1, 1, 1] tensor. */
function perImage(n: number, rng: UniformSource): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from({ length: n }, () => rng.next()), [n, 1, 1, 1]);
}

/** Brightness, saturation, contrast (the reference's rand_brightness, rand_saturation, rand_contrast). */
export function randColor(x: tf.Tensor4D, rng: UniformSource): tf.Tensor4D {
  const n = x.shape[0];
  const brightness = tf.sub(perImage(n, rng), 0.5);
  let y = tf.add(x, brightness) as tf.Tensor4D;
  const saturation = tf.mul(perImage(n, rng), 2);
  const pixelMean = tf.mean(y, 3, true);
  y = tf.add(tf.mul(tf.sub(y, pixelMean), saturation), pixelMean) as tf.Tensor4D;
  const contrast = tf.add(perImage(n, rng), 0.5);
  const imageMean = tf.mean(y, [1, 2, 3], true);
  return tf.add(tf.mul(tf.sub(y, imageMean), contrast), imageMean) as tf.Tensor4D;
}

/**
 * The translation of each image (rows, columns): the output at (i, j) is the input at
 * (i + rows, j + cols), or 0 outside it, so content moves by (-rows, -cols).
 */
export function drawTranslation(n: number, h: number, w: number, rng: UniformSource): { rows: number[]; cols: number[] } {
  const sh = scaled(h, TRANSLATION_RATIO);
  const sw = scaled(w, TRANSLATION_RATIO);
  const rows = Array.from({ length: n }, () => randint(rng, -sh, sh + 1));
  const cols = Array.from({ length: n }, () => randint(rng, -sw, sw + 1));
  return { rows, cols };
}

/** Whole-pixel translation with zero padding (the reference's rand_translation): one pad, one slice per image. */
export function randTranslation(x: tf.Tensor4D, rng: UniformSource): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const { rows, cols } = drawTranslation(n, h, w, rng);
  const sh = scaled(h, TRANSLATION_RATIO);
  const sw = scaled(w, TRANSLATION_RATIO);
  if (rows.every((r) => r === 0) && cols.every((c) => c === 0)) return x;
  const padded = tf.pad(x, [[0, 0], [sh, sh], [sw, sw], [0, 0]]);
  const parts = rows.map((r, b) => tf.slice(padded, [b, sh + r, sw + cols[b], 0], [1, h, w, -1]));
  return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as tf.Tensor4D;
}

/**
 * The square each image loses (rows r0..r1, columns c0..c1, inclusive, already clipped to the
 * image): the reference's centre offset in [0, size + 1 - side % 2) and side round(size / 2).
 */
export function drawCutout(n: number, h: number, w: number, rng: UniformSource): { r0: number; r1: number; c0: number; c1: number }[] {
  const sh = scaled(h, CUTOUT_RATIO);
  const sw = scaled(w, CUTOUT_RATIO);
  const oy = Array.from({ length: n }, () => randint(rng, 0, h + (1 - (sh % 2))));
  const ox = Array.from({ length: n }, () => randint(rng, 0, w + (1 - (sw % 2))));
  return oy.map((o, b) => {
    const top = o - Math.floor(sh / 2);
    const left = ox[b] - Math.floor(sw / 2);
    return { r0: Math.max(0, top), r1: Math.min(h - 1, top + sh - 1), c0: Math.max(0, left), c1: Math.min(w - 1, left + sw - 1) };
  });
}

/** One zeroed square per image (the reference's rand_cutout): x times a mask 1 - rowIn * colIn. */
export function randCutout(x: tf.Tensor4D, rng: UniformSource): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const boxes = drawCutout(n, h, w, rng);
  const rowIn = new Float32Array(n * h);
  const colIn = new Float32Array(n * w);
  boxes.forEach((b, i) => {
    rowIn.fill(1, i * h + b.r0, i * h + b.r1 + 1);
    colIn.fill(1, i * w + b.c0, i * w + b.c1 + 1);
  });
  const mask = tf.sub(1, tf.mul(tf.tensor4d(rowIn, [n, h, 1, 1]), tf.tensor4d(colIn, [n, 1, w, 1])));
  return tf.mul(x, mask) as tf.Tensor4D;
}

const OPS: Record<DiffAugOp, (x: tf.Tensor4D, rng: UniformSource) => tf.Tensor4D> = {
  color: randColor,
  translation: randTranslation,
  cutout: randCutout,
};

/**
 * T(x) for a batch of NHWC images in [-1, 1]: the policy's ops in order, each with fresh random
 * parameters per image from `rng`. Only differentiable ops touch x (add, mul, mean, pad, slice,
 * concat), so gradients, including the second-order ones of WGAN-GP's penalty, flow through it.
 * An empty policy returns x itself and draws nothing. Call inside a tidy (or a gradient function).
 */
export function diffAugment(x: tf.Tensor4D, policy: DiffAugPolicy, rng: UniformSource): tf.Tensor4D {
  let y = x;
  for (const op of policy) y = OPS[op](y, rng);
  return y;
}
