/**
 * The domain classifier's third class, "other": photos of either domain made broken or degraded
 * the ways a bad generator breaks them, so that a blur, a grey wash or noise cannot pass as the
 * target domain:
 *   blur        Gaussian blur, sigma 1.5-5 px at 256x256
 *   lowres      downscaled 4-8x and scaled back up (bilinear): the look of a 64 px model
 *   noise       additive Gaussian noise, sigma 8-60 /255, grey or per channel
 *   washout     desaturated towards grey and contrast pulled towards the mean (often with a blur):
 *               the "washed-out grey blur" of an early CycleGAN
 *   random-gen  the output of a random-weight CycleGAN-shaped ResNet generator (reflect pad, conv,
 *               instance norm, residual blocks, transposed convs, tanh), a new one every few images
 * All randomness comes from one seeded Rng, so a classifier's training and held-out sets are
 * reproducible (training and held-out use different seeds, generators included).
 */
import sharp, { type Sharp } from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { RgbImage } from '../../data/images';
import { Rng } from '../../data/unpaired';
import { resnetGenerator } from '../../models/resnet-generator';
import { tfjsTranslator } from '../cyclegan/translators';

export const DEGRADATIONS = ['blur', 'lowres', 'noise', 'washout', 'random-gen'] as const;
export type Degradation = (typeof DEGRADATIONS)[number];

const u = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.next();

async function viaSharp(img: RgbImage, f: (s: Sharp) => Sharp): Promise<RgbImage> {
  const s = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: 3 } });
  const { data, info } = await f(s).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

export function gaussianBlur(img: RgbImage, sigma: number): Promise<RgbImage> {
  return viaSharp(img, (s) => s.blur(Math.max(0.3, sigma)));
}

export async function lowRes(img: RgbImage, factor: number): Promise<RgbImage> {
  const w = Math.max(4, Math.round(img.width / factor));
  const h = Math.max(4, Math.round(img.height / factor));
  const small = await viaSharp(img, (s) => s.resize(w, h, { fit: 'fill', kernel: 'linear' }));
  return viaSharp(small, (s) => s.resize(img.width, img.height, { fit: 'fill', kernel: 'linear' }));
}

export function addNoise(img: RgbImage, sigma: number, rng: Rng, perChannel: boolean): RgbImage {
  const out = new Uint8Array(img.data.length);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  for (let i = 0; i < img.width * img.height; i++) {
    const g = perChannel ? 0 : gauss();
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round(img.data[i * 3 + c] + sigma * (perChannel ? gauss() : g))));
  }
  return { width: img.width, height: img.height, data: out };
}

/** Mixes every pixel towards its grey value by `desat` and pulls contrast towards the image mean by `contrast` (1 = unchanged). */
export function washOut(img: RgbImage, desat: number, contrast: number, tint: [number, number, number] = [0, 0, 0]): RgbImage {
  const n = img.width * img.height;
  let m = 0;
  for (let i = 0; i < img.data.length; i++) m += img.data[i];
  m /= img.data.length;
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < n; i++) {
    const grey = 0.299 * img.data[i * 3] + 0.587 * img.data[i * 3 + 1] + 0.114 * img.data[i * 3 + 2];
    for (let c = 0; c < 3; c++) {
      const v = (1 - desat) * img.data[i * 3 + c] + desat * grey;
      out[i * 3 + c] = Math.max(0, Math.min(255, Math.round(m + contrast * (v - m) + tint[c])));
    }
  }
  return { width: img.width, height: img.height, data: out };
}

/**
 * A CycleGAN ResNet generator with random weights drawn from N(0, std) (biases too), seeded: the
 * kind of untrained, third-party-shaped model whose output the evaluation must call "other".
 */
export function randomCycleGanGenerator(seed: number, opts: { ngf?: number; nBlocks?: number; std?: number } = {}): tfl.LayersModel {
  const g = resnetGenerator({ ngf: opts.ngf ?? 8, nBlocks: opts.nBlocks ?? 3, name: `random_generator_${seed}` });
  const std = opts.std ?? 0.02;
  const ws = g.getWeights();
  const fresh = ws.map((w, i) => tf.randomNormal(w.shape, 0, w.shape.length > 1 ? std : std / 2, 'float32', seed * 997 + i));
  g.setWeights(fresh);
  tf.dispose(fresh); // getWeights() returns the live variables' values: only the fresh copies go
  return g;
}

/** One degraded copy of `img` of the given kind (`gen` is required for random-gen). */
export async function degrade(img: RgbImage, kind: Degradation, rng: Rng, gen?: tfl.LayersModel): Promise<RgbImage> {
  switch (kind) {
    case 'blur':
      return gaussianBlur(img, u(rng, 1.5, 5));
    case 'lowres':
      return lowRes(img, u(rng, 4, 8));
    case 'noise': {
      const base = rng.next() < 0.3 ? await gaussianBlur(img, u(rng, 1, 3)) : img;
      return addNoise(base, u(rng, 8, 60), rng, rng.next() < 0.5);
    }
    case 'washout': {
      const base = rng.next() < 0.7 ? await gaussianBlur(img, u(rng, 1, 4)) : img;
      const t = u(rng, -12, 12);
      return washOut(base, u(rng, 0.5, 1), u(rng, 0.3, 0.75), [t * u(rng, 0, 1), t * u(rng, 0, 1), t * u(rng, 0, 1)]);
    }
    case 'random-gen': {
      if (!gen) throw new Error('degrade(random-gen) needs a generator');
      const t = tfjsTranslator(gen, 'random', [-1, 1]);
      return t.translate(img);
    }
  }
}

/**
 * `count` degraded images drawn from `sources` (round-robin over the kinds, random source
 * images); a new random generator every `perGenerator` random-gen images, with ngf 8-16,
 * 2-4 blocks and init std 0.02-0.1 (seeds from `seed`, so held-out sets use unseen generators).
 */
export async function makeOtherImages(
  sources: RgbImage[],
  count: number,
  seed: number,
  opts: { kinds?: readonly Degradation[]; perGenerator?: number } = {},
): Promise<{ images: RgbImage[]; kinds: Degradation[] }> {
  const rng = new Rng(seed);
  const kinds = opts.kinds ?? DEGRADATIONS;
  const perGenerator = opts.perGenerator ?? 6;
  const images: RgbImage[] = [];
  const used: Degradation[] = [];
  let gen: tfl.LayersModel | undefined;
  let genUses = 0;
  let genSeed = seed * 101;
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length];
    const src = sources[rng.int(sources.length)];
    if (kind === 'random-gen' && (!gen || genUses >= perGenerator)) {
      gen?.dispose();
      const stds = [0.02, 0.05, 0.1];
      gen = randomCycleGanGenerator(genSeed++, { ngf: 8, nBlocks: 2 + rng.int(3), std: stds[rng.int(stds.length)] });
      genUses = 0;
    }
    if (kind === 'random-gen') genUses++;
    images.push(await degrade(src, kind, rng, gen));
    used.push(kind);
  }
  gen?.dispose();
  return { images, kinds: used };
}
