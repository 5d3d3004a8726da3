/**
 * Numerical parity between a tfjs LayersModel and its ONNX export run by onnxruntime-node (CPU),
 * and, on a mismatch, the first layer where the two diverge.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { convertToOnnx, type ConvertOptions } from './convert';

/** fp32 export: max |onnx - tfjs| <= FP32_TOLERANCE * max(1, max |tfjs output|). */
export const FP32_TOLERANCE = 1e-4;
/** fp16 weights: max |onnx - tfjs| <= FP16_TOLERANCE * max(output range width, tfjs output spread). */
export const FP16_TOLERANCE = 2e-2;

export type Range = [number, number];

export interface SizeReport {
  height: number;
  width: number;
  /** ONNX output dims (NCHW). */
  outputDims: number[];
  maxAbsDiff: number;
  bound: number;
  /** Set (and maxAbsDiff = Infinity) when the ONNX and tfjs outputs differ in shape. */
  shapeMismatch?: string;
}

export interface Divergence {
  layerName: string;
  className: string;
  maxAbsDiff: number;
  /** max |tfjs activation| of that layer. */
  refMaxAbs: number;
}

/** Deterministic uniform values in [lo, hi) (mulberry32). */
export function seededUniform(n: number, [lo, hi]: Range, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/** NHWC tfjs tensor -> NCHW Float32Array (other ranks unchanged). */
export function toNchw(t: tf.Tensor): { data: Float32Array; dims: number[] } {
  if (t.rank !== 4) return { data: t.dataSync() as Float32Array, dims: t.shape.slice() };
  const n = tf.tidy(() => tf.transpose(t, [0, 3, 1, 2]));
  const data = n.dataSync() as Float32Array;
  const dims = n.shape.slice();
  n.dispose();
  return { data, dims };
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** Max |a - b| (Infinity on a NaN or a length mismatch). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function spread(a: Float32Array): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi - lo;
}

export function bound(ref: Float32Array, fp16: boolean, outputRange: Range, tolerance?: number): number {
  if (fp16) return (tolerance ?? FP16_TOLERANCE) * Math.max(outputRange[1] - outputRange[0], spread(ref));
  return (tolerance ?? FP32_TOLERANCE) * Math.max(1, maxAbs(ref));
}

export function randomInput(height: number, width: number, channels: number, range: Range, seed: number): tf.Tensor4D {
  return tf.tensor4d(seededUniform(height * width * channels, range, seed), [1, height, width, channels]);
}

export async function runOnnx(session: ort.InferenceSession, inputName: string, x: tf.Tensor4D): Promise<ort.InferenceSession.OnnxValueMapType> {
  const { data, dims } = toNchw(x);
  return session.run({ [inputName]: new ort.Tensor('float32', data, dims) });
}

/** Compares one input size; the returned report says whether it is within bound. */
export async function compareAtSize(
  model: LayersModel,
  session: ort.InferenceSession,
  io: { inputName: string; outputName: string },
  height: number,
  width: number,
  opts: { inputRange: Range; outputRange: Range; fp16: boolean; tolerance?: number; seed: number },
): Promise<{ report: SizeReport; input: tf.Tensor4D }> {
  const channels = model.inputs[0].shape[3] ?? 3;
  const x = randomInput(height, width, channels, opts.inputRange, opts.seed);
  let y: tf.Tensor;
  try {
    y = tf.tidy(() => model.predict(x) as tf.Tensor);
  } catch (err) {
    x.dispose();
    throw new Error(`tfjs model.predict failed on a ${height}x${width} input (is the size too small, or not a multiple the model needs?): ${(err as Error).message}`);
  }
  const ref = toNchw(y);
  y.dispose();
  let results: ort.InferenceSession.OnnxValueMapType;
  try {
    results = await runOnnx(session, io.inputName, x);
  } catch (err) {
    x.dispose();
    throw new Error(`onnxruntime failed to run the export on a ${height}x${width} input although tfjs could: ${(err as Error).message}`);
  }
  const out = results[io.outputName];
  if (!out) throw new Error(`the ONNX session produced no output named "${io.outputName}"`);
  const dims = out.dims.map(Number);
  const b = bound(ref.data, opts.fp16, opts.outputRange, opts.tolerance);
  if (dims.join(',') !== ref.dims.join(',')) {
    const shapeMismatch = `the ONNX output has shape [${dims.join(', ')}] but tfjs gives [${ref.dims.join(', ')}] (NCHW)`;
    return { report: { height, width, outputDims: dims, maxAbsDiff: Infinity, bound: b, shapeMismatch }, input: x };
  }
  const diff = maxAbsDiff(out.data as Float32Array, ref.data);
  return { report: { height, width, outputDims: dims, maxAbsDiff: diff, bound: b }, input: x };
}

/**
 * Finds the first top-level layer (topological order) whose ONNX value differs from the tfjs
 * activation by more than `relTolerance * max(1, max |activation|)`, using a debug export
 * that exposes every layer output. Returns the first offender and all per-layer differences.
 */
export async function locateDivergence(
  model: LayersModel,
  convertOpts: ConvertOptions,
  x: tf.Tensor4D,
  relTolerance: number,
): Promise<{ first: Divergence | null; layers: Divergence[] }> {
  const debug = convertToOnnx(model, { ...convertOpts, debugOutputs: true });
  const session = await ort.InferenceSession.create(debug.bytes);
  try {
    const results = await runOnnx(session, debug.inputName, x);
    const probe = tfl.model({ inputs: model.inputs, outputs: debug.trace.map((e) => e.tensor) });
    const acts = tf.tidy(() => {
      const r = probe.predict(x);
      return Array.isArray(r) ? r : [r];
    });
    const layers: Divergence[] = [];
    let first: Divergence | null = null;
    debug.trace.forEach((e, i) => {
      const ref = toNchw(acts[i]);
      const got = results[e.value];
      const diff = got && got.dims.map(Number).join(',') === ref.dims.join(',') ? maxAbsDiff(got.data as Float32Array, ref.data) : Infinity;
      const d: Divergence = { layerName: e.layerName, className: e.className, maxAbsDiff: diff, refMaxAbs: maxAbs(ref.data) };
      layers.push(d);
      if (!first && !(diff <= relTolerance * Math.max(1, d.refMaxAbs))) first = d;
    });
    tf.dispose(acts);
    return { first, layers };
  } finally {
    await session.release();
  }
}
