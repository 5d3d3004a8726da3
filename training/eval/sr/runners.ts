/**
 * Things that upscale an 8-bit RGB image, behind one interface, so the same evaluator measures
 * plain bicubic, our tfjs checkpoints, any ONNX model that follows the manifest contract
 * (through onnxruntime-node) and third-party tfjs models (UpscalerJS) the same way.
 * Large images run in overlapping tiles; only the centre of each tile is kept, so tiling does
 * not change the result as long as the overlap covers the network's receptive field.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { RgbImage } from '../../data/images';
import { imresize } from '../../data/bicubic';

export type Range = readonly [number, number];

export interface SrRunner {
  name: string;
  scale: number;
  upscale(lr: RgbImage): Promise<RgbImage>;
  dispose?(): Promise<void> | void;
}

export interface TileOptions {
  /** Tile side in LR pixels (0: never tile). */
  tile?: number;
  /** Overlap in LR pixels on each side of a tile. */
  overlap?: number;
  /** Spatial dims passed to the model are padded (reflect) to a multiple of this. */
  multipleOf?: number;
}

export function bicubicRunner(scale: number): SrRunner {
  return { name: 'bicubic', scale, upscale: async (lr) => imresize(lr, scale) };
}

/** Float HWC in `range` -> uint8 (round, clamp), the way a PNG of the result would store it. */
export function floatToRgb(data: ArrayLike<number>, width: number, height: number, range: Range, layout: 'hwc' | 'chw' = 'hwc'): RgbImage {
  const [lo, hi] = range;
  const k = 255 / (hi - lo);
  const out = new Uint8Array(width * height * 3);
  const n = width * height;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = layout === 'hwc' ? data[3 * i + c] : data[c * n + i];
      const b = Math.round((v - lo) * k);
      out[3 * i + c] = b < 0 ? 0 : b > 255 ? 255 : b;
    }
  }
  return { width, height, data: out };
}

function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const p = 2 * (n - 1);
  i = ((i % p) + p) % p;
  return i < n ? i : p - i;
}

/** Crops (x, y, w, h) from img, reflecting pixels that fall outside it. */
export function cropReflect(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const out = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) {
    const sy = reflect(y + r, img.height);
    for (let c = 0; c < w; c++) {
      const sx = reflect(x + c, img.width);
      const s = (sy * img.width + sx) * 3;
      const d = (r * w + c) * 3;
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * Runs `run` on the whole image (padded to multipleOf) or on overlapping tiles, and stitches the
 * centres. `run` gets an RgbImage whose sides are multiples of multipleOf and returns scale x it.
 */
export async function upscaleTiled(lr: RgbImage, scale: number, run: (x: RgbImage) => Promise<RgbImage>, opts: TileOptions = {}): Promise<RgbImage> {
  const m = opts.multipleOf ?? 1;
  const tile = opts.tile ?? 0;
  const ov = opts.overlap ?? 16;
  const roundUp = (v: number) => Math.ceil(v / m) * m;
  if (!tile || (lr.width <= tile && lr.height <= tile)) {
    const W = roundUp(lr.width);
    const H = roundUp(lr.height);
    const sr = await run(W === lr.width && H === lr.height ? lr : cropReflect(lr, 0, 0, W, H));
    return W === lr.width && H === lr.height ? sr : cropSr(sr, 0, 0, lr.width * scale, lr.height * scale);
  }
  const out = new Uint8Array(lr.width * scale * lr.height * scale * 3);
  const OW = lr.width * scale;
  for (let y0 = 0; y0 < lr.height; y0 += tile) {
    for (let x0 = 0; x0 < lr.width; x0 += tile) {
      const w = Math.min(tile, lr.width - x0);
      const h = Math.min(tile, lr.height - y0);
      const px = x0 - ov;
      const py = y0 - ov;
      const pw = roundUp(w + 2 * ov);
      const ph = roundUp(h + 2 * ov);
      const sr = await run(cropReflect(lr, px, py, pw, ph));
      for (let r = 0; r < h * scale; r++) {
        const src = ((ov * scale + r) * sr.width + ov * scale) * 3;
        out.set(sr.data.subarray(src, src + w * scale * 3), ((y0 * scale + r) * OW + x0 * scale) * 3);
      }
    }
  }
  return { width: OW, height: lr.height * scale, data: out };
}

function cropSr(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const out = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) out.set(img.data.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  return { width: w, height: h, data: out };
}

export interface TfjsRunnerOptions extends TileOptions {
  name: string;
  scale: number;
  /** Pixel range the model expects and returns, e.g. [0,1] for ours, [0,255] for UpscalerJS. */
  range: Range;
}

/** A tfjs layers model (NHWC) on the current tfjs backend. */
export function tfjsRunner(model: tfl.LayersModel, opts: TfjsRunnerOptions): SrRunner {
  const [lo, hi] = opts.range;
  const run = async (img: RgbImage): Promise<RgbImage> => {
    const y = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(img.data, (v) => lo + (v / 255) * (hi - lo)), [1, img.height, img.width, 3]);
      return model.predict(x) as tf.Tensor4D;
    });
    const data = await y.data();
    const [, H, W] = y.shape;
    y.dispose();
    if (H !== img.height * opts.scale || W !== img.width * opts.scale) {
      throw new Error(`${opts.name}: ${img.width}x${img.height} gave ${W}x${H}, expected scale ${opts.scale}`);
    }
    return floatToRgb(data, W, H, opts.range);
  };
  return {
    name: opts.name,
    scale: opts.scale,
    upscale: (lr) => upscaleTiled(lr, opts.scale, run, opts),
  };
}

export interface OnnxRunnerOptions extends TileOptions {
  name: string;
  scale: number;
  inputName: string;
  outputName: string;
  inputRange: Range;
  outputRange: Range;
  /** onnxruntime-node intra-op threads (default 1, to share a small machine fairly). */
  threads?: number;
}

/** An ONNX model (NCHW float32 RGB, manifest contract) through onnxruntime-node on the CPU. */
export async function onnxRunner(file: string, opts: OnnxRunnerOptions): Promise<SrRunner> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const [lo, hi] = opts.inputRange;
  const run = async (img: RgbImage): Promise<RgbImage> => {
    const n = img.width * img.height;
    const chw = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) chw[c * n + i] = lo + (img.data[3 * i + c] / 255) * (hi - lo);
    const feeds = { [opts.inputName]: new ort.Tensor('float32', chw, [1, 3, img.height, img.width]) };
    const res = await session.run(feeds);
    const out = res[opts.outputName];
    if (!out) throw new Error(`${opts.name}: the model has no output "${opts.outputName}" (it has ${Object.keys(res).join(', ')})`);
    const [, , H, W] = out.dims as number[];
    if (H !== img.height * opts.scale || W !== img.width * opts.scale) {
      throw new Error(`${opts.name}: ${img.width}x${img.height} gave ${W}x${H}, expected scale ${opts.scale}`);
    }
    const r = floatToRgb(out.data as Float32Array, W, H, opts.outputRange, 'chw');
    out.dispose?.();
    return r;
  };
  return {
    name: opts.name,
    scale: opts.scale,
    upscale: (lr) => upscaleTiled(lr, opts.scale, run, opts),
    dispose: () => session.release(),
  };
}

function transposeRgb(img: RgbImage): RgbImage {
  const { width: W, height: H } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * 3;
      const d = (x * H + y) * 3;
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { width: H, height: W, data: out };
}

function mirrorRgb(img: RgbImage, leftRight: boolean, topBottom: boolean): RgbImage {
  if (!leftRight && !topBottom) return img;
  const { width: W, height: H } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < H; y++) {
    const sy = topBottom ? H - 1 - y : y;
    for (let x = 0; x < W; x++) {
      const s = (sy * W + (leftRight ? W - 1 - x : x)) * 3;
      const d = (y * W + x) * 3;
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { width: W, height: H, data: out };
}

/**
 * The eight symmetries of the square: k in 0..7, bit 2 transposes, then bit 0 mirrors left-right and
 * bit 1 top-bottom. `inverse` undoes transform k (the mirrors first, then the transpose).
 */
export function dihedral(img: RgbImage, k: number, inverse = false): RgbImage {
  const swap = (k & 4) !== 0;
  if (inverse) {
    const m = mirrorRgb(img, (k & 1) !== 0, (k & 2) !== 0);
    return swap ? transposeRgb(m) : m;
  }
  return mirrorRgb(swap ? transposeRgb(img) : img, (k & 1) !== 0, (k & 2) !== 0);
}

/** The transforms a self-ensemble of n uses: 2 = left-right mirror, 4 = both mirrors, 8 = all. */
export const SELF_ENSEMBLES = [1, 2, 4, 8] as const;

/**
 * Geometric self-ensemble (EDSR+, Lim et al. 2017): upscales the n transformed copies of the input,
 * undoes each transform on its output and averages them (n times the compute). Works with any
 * runner; each output is 8-bit already, so the mean is rounded once more.
 */
export function selfEnsemble(runner: SrRunner, n: number): SrRunner {
  if (!(SELF_ENSEMBLES as readonly number[]).includes(n)) throw new Error(`self-ensemble size must be one of ${SELF_ENSEMBLES.join(', ')}, got ${n}`);
  if (n === 1) return runner;
  return {
    name: `${runner.name}+x${n}`,
    scale: runner.scale,
    async upscale(lr) {
      let sum: Float32Array | null = null;
      let size = { width: 0, height: 0 };
      for (let k = 0; k < n; k++) {
        const sr = dihedral(await runner.upscale(dihedral(lr, k)), k, true);
        if (!sum) {
          sum = new Float32Array(sr.data.length);
          size = { width: sr.width, height: sr.height };
        }
        for (let i = 0; i < sum.length; i++) sum[i] += sr.data[i];
      }
      const out = new Uint8Array(sum!.length);
      for (let i = 0; i < out.length; i++) out[i] = Math.round(sum![i] / n);
      return { ...size, data: out };
    },
    dispose: () => runner.dispose?.(),
  };
}
