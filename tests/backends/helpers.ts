/** Shared helpers for the backend tests: run the same computation on two backends and compare; the convolution cases. */
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';

/** Deterministic pseudo-random values in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** max |a - b| / max |a|: the relative error of b against the reference a. */
export function relError(reference: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (reference.length !== actual.length) throw new Error(`length ${actual.length} != ${reference.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < reference.length; i++) {
    num = Math.max(num, Math.abs(reference[i] - actual[i]));
    den = Math.max(den, Math.abs(reference[i]));
  }
  return den === 0 ? num : num / den;
}

/** Runs f on the named backend, returning its output's shape and values; checks no tensor leaks. */
export async function runOn(backend: string, f: () => tf.Tensor): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const dataBefore = tf.engine().backend.numDataIds();
  const y = tf.tidy(f);
  const values = (await y.data()) as Float32Array;
  const shape = y.shape.slice();
  y.dispose();
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new Error(`${backend}: ${leaked} tensors leaked`);
  const leakedData = tf.engine().backend.numDataIds() - dataBefore;
  if (leakedData !== 0) throw new Error(`${backend}: ${leakedData} backend buffers leaked`);
  return { shape, values };
}

/** Runs f on cpu (the reference) and on `backend`: the relative error of the backend's output (same shape required). */
export async function compareOn(backend: string, f: () => tf.Tensor): Promise<number> {
  const ref = await runOn('cpu', f);
  const got = await runOn(backend, f);
  expect(got.shape).toEqual(ref.shape);
  return relError(ref.values, got.values);
}

/** Runs one kernel directly (attrs untyped, as the kernel tables take them). */
export const kernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

/** Relative error a kernel may have against cpu. */
export const KERNEL_TOL = 1e-4;

/** Convolution padding: 'same', 'valid' or explicit symmetric pixels. */
export type Pad = 'same' | 'valid' | number;

/** A convolution test case: NHWC input n x h x w x ci, kh x kw filter to co channels. */
export type ConvCase = { n: number; h: number; w: number; ci: number; co: number; kh: number; kw: number; s: [number, number]; pad: Pad };

/** Odd shapes, strides 1/2/3, 'same' and 'valid', batch > 1, channels that are not multiples of 4. */
export const CONV_CASES: ConvCase[] = [
  { n: 2, h: 9, w: 11, ci: 3, co: 5, kh: 3, kw: 3, s: [1, 1], pad: 'same' },
  { n: 2, h: 9, w: 11, ci: 3, co: 5, kh: 3, kw: 3, s: [2, 2], pad: 'same' },
  { n: 1, h: 10, w: 7, ci: 6, co: 7, kh: 4, kw: 4, s: [2, 2], pad: 'valid' },
  { n: 3, h: 13, w: 12, ci: 5, co: 3, kh: 3, kw: 3, s: [2, 2], pad: 'valid' },
  { n: 1, h: 8, w: 9, ci: 4, co: 6, kh: 7, kw: 7, s: [1, 1], pad: 'valid' },
  { n: 2, h: 11, w: 10, ci: 7, co: 9, kh: 1, kw: 1, s: [1, 1], pad: 'same' },
  { n: 1, h: 12, w: 15, ci: 3, co: 2, kh: 5, kw: 3, s: [1, 2], pad: 'same' },
  { n: 2, h: 7, w: 7, ci: 2, co: 3, kh: 2, kw: 2, s: [2, 2], pad: 'same' },
  { n: 2, h: 9, w: 8, ci: 3, co: 4, kh: 1, kw: 1, s: [2, 2], pad: 'valid' },
  { n: 1, h: 11, w: 10, ci: 5, co: 3, kh: 3, kw: 2, s: [3, 2], pad: 'same' },
  { n: 1, h: 16, w: 12, ci: 6, co: 5, kh: 4, kw: 4, s: [2, 2], pad: 'same' },
];

/** Depthwise cases: some of CONV_CASES with depth multipliers and dilations. */
export const DEPTHWISE_CASES: (ConvCase & { mult: number; d: number })[] = [
  { ...CONV_CASES[0], mult: 1, d: 1 },
  { ...CONV_CASES[1], mult: 2, d: 1 },
  { ...CONV_CASES[2], mult: 1, d: 1 },
  { ...CONV_CASES[3], mult: 3, d: 1 },
  { ...CONV_CASES[6], mult: 2, d: 1 },
  { ...CONV_CASES[0], mult: 1, d: 2 },
  { ...CONV_CASES[4], kh: 3, kw: 3, mult: 2, d: 2 },
  { ...CONV_CASES[5], kh: 3, kw: 3, pad: 'valid', mult: 1, d: 3 },
];

export function convLabel(c: ConvCase): string {
  return `n${c.n} ${c.h}x${c.w} ${c.ci}->${c.co} k${c.kh}x${c.kw} s${c.s.join('x')} ${c.pad}`;
}

/** Output size of a convolution along one axis (filter size k, stride s, dilation d). */
export function convOutSize(size: number, k: number, s: number, pad: Pad, d = 1): number {
  const eff = (k - 1) * d + 1;
  if (typeof pad === 'number') return Math.floor((size + 2 * pad - eff) / s) + 1;
  return pad === 'same' ? Math.ceil(size / s) : Math.ceil((size - eff + 1) / s);
}

/** Inserts d-1 zeros between the taps of a [kh, kw, c, m] filter. */
export function dilateFilter(values: Float32Array, shape: number[], d: number): { values: Float32Array; shape: number[] } {
  const [kh, kw, c, m] = shape;
  const eh = (kh - 1) * d + 1;
  const ew = (kw - 1) * d + 1;
  const out = new Float32Array(eh * ew * c * m);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let k = 0; k < c * m; k++) out[(i * d * ew + j * d) * c * m + k] = values[(i * kw + j) * c * m + k];
  return { values: out, shape: [eh, ew, c, m] };
}

/** conv2dTranspose forward (Conv2DBackpropInput), stride 2, odd channels, 'same' and 'valid': the error of each against cpu. */
export async function conv2dTransposeErrors(backend: string): Promise<number[]> {
  const x = randomValues(2 * 5 * 6 * 7, 21);
  const f = randomValues(3 * 3 * 5 * 7, 22);
  const errors: number[] = [];
  for (const pad of ['same', 'valid'] as const) {
    const outH = pad === 'same' ? 10 : 11;
    const outW = pad === 'same' ? 12 : 13;
    errors.push(await compareOn(backend, () => tf.conv2dTranspose(tf.tensor4d(x, [2, 5, 6, 7]), tf.tensor4d(f, [3, 3, 5, 7]), [2, outH, outW, 5], 2, pad)));
  }
  return errors;
}

/** Shapes and values of a convolution case: x, the filter and the output gradient dy (seeds 11, 12, 13). */
export function convInputs(c: ConvCase) {
  const xShape = [c.n, c.h, c.w, c.ci];
  const fShape = [c.kh, c.kw, c.ci, c.co];
  const dyShape = [c.n, convOutSize(c.h, c.kh, c.s[0], c.pad), convOutSize(c.w, c.kw, c.s[1], c.pad), c.co];
  return { xShape, fShape, dyShape, xv: randomValues(sizeOf(xShape), 11), fv: randomValues(sizeOf(fShape), 12), dyv: randomValues(sizeOf(dyShape), 13) };
}

/** The same for a depthwise case (seeds 31, 32, 33), with the filter zero-dilated for the cpu reference. */
export function depthwiseInputs(c: ConvCase & { mult: number; d: number }) {
  const xShape = [c.n, c.h, c.w, c.ci];
  const fShape = [c.kh, c.kw, c.ci, c.mult];
  const dyShape = [c.n, convOutSize(c.h, c.kh, c.s[0], c.pad, c.d), convOutSize(c.w, c.kw, c.s[1], c.pad, c.d), c.ci * c.mult];
  const fv = randomValues(sizeOf(fShape), 32);
  // tfjs's cpu kernels ignore dilations, so the reference for dilation d uses the
  // equivalent zero-dilated filter with dilation 1.
  const dil = dilateFilter(fv, fShape, c.d);
  return { xShape, fShape, dyShape, xv: randomValues(sizeOf(xShape), 31), fv, dyv: randomValues(sizeOf(dyShape), 33), dil };
}

/**
 * DepthwiseConv2dNativeBackpropFilter and BackpropInput on `backend` against cpu (dilated through
 * the zero-dilated filter): the relative error of each; the output shapes must be right.
 */
export async function depthwiseGradientErrors(backend: string, c: ConvCase & { mult: number; d: number }): Promise<{ filter: number; input: number }> {
  const { xShape, fShape, dyShape, xv, fv, dyv, dil } = depthwiseInputs(c);
  const attrs = { strides: c.s, pad: c.pad };
  const refFilter = await runOn('cpu', () => {
    const g = kernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: tf.tensor(xv, xShape), dy: tf.tensor(dyv, dyShape) }, { ...attrs, dilations: [1, 1], filterShape: dil.shape });
    return tf.slice(tf.stridedSlice(g, [0, 0, 0, 0], dil.shape, [c.d, c.d, 1, 1]), [0, 0, 0, 0], fShape);
  });
  const gotFilter = await runOn(backend, () =>
    kernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: tf.tensor(xv, xShape), dy: tf.tensor(dyv, dyShape) }, { ...attrs, dilations: [c.d, c.d], filterShape: fShape }),
  );
  expect(gotFilter.shape).toEqual(fShape);
  const refInput = await runOn('cpu', () =>
    kernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(dil.values, dil.shape) }, { ...attrs, dilations: [1, 1], inputShape: xShape }),
  );
  const gotInput = await runOn(backend, () =>
    kernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(fv, fShape) }, { ...attrs, dilations: [c.d, c.d], inputShape: xShape }),
  );
  expect(gotInput.shape).toEqual(xShape);
  return { filter: relError(refFilter.values, gotFilter.values), input: relError(refInput.values, gotInput.values) };
}
