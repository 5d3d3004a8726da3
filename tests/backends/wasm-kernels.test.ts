/**
 * Ganvas's wasm gradient kernels against tfjs's cpu backend (the reference), on odd shapes,
 * strides 1 and 2, 'same' and 'valid' padding, batch > 1, channels that are not multiples of 4,
 * depth multipliers and dilations. Relative error must be <= 1e-4, and no buffer may leak.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradientKernels, WASM_GRADIENT_KERNELS } from '../../training/backends/wasm-kernels';
import { registerGanvasGradients } from '../../training/backends/gradients';
import { randomValues, relError, runOn, sizeOf } from './helpers';

type Pad = 'same' | 'valid';
type Case = { n: number; h: number; w: number; ci: number; co: number; kh: number; kw: number; s: [number, number]; pad: Pad };

const CASES: Case[] = [
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

const TOL = 1e-4;

function label(c: Case): string {
  return `n${c.n} ${c.h}x${c.w} ${c.ci}->${c.co} k${c.kh}x${c.kw} s${c.s.join('x')} ${c.pad}`;
}

function outSize(size: number, k: number, s: number, pad: Pad, d = 1): number {
  const eff = (k - 1) * d + 1;
  return pad === 'same' ? Math.ceil(size / s) : Math.ceil((size - eff + 1) / s);
}

async function compare(f: () => tf.Tensor): Promise<number> {
  const ref = await runOn('cpu', f);
  const got = await runOn('wasm', f);
  expect(got.shape).toEqual(ref.shape);
  return relError(ref.values, got.values);
}

beforeAll(async () => {
  registerGanvasGradients();
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
});

describe('wasm gradient kernels are registered', () => {
  it('replaces or adds every kernel in WASM_GRADIENT_KERNELS', () => {
    for (const name of Object.keys(WASM_GRADIENT_KERNELS)) {
      const k = tf.getKernel(name, 'wasm');
      expect(k, name).toBeDefined();
      expect(k!.kernelFunc).toBe(WASM_GRADIENT_KERNELS[name]);
    }
  });
});

describe('Conv2DBackpropFilter / Conv2DBackpropInput on wasm match cpu', () => {
  for (const c of CASES) {
    it(label(c), async () => {
      const xShape = [c.n, c.h, c.w, c.ci];
      const fShape = [c.kh, c.kw, c.ci, c.co];
      const dyShape = [c.n, outSize(c.h, c.kh, c.s[0], c.pad), outSize(c.w, c.kw, c.s[1], c.pad), c.co];
      const xv = randomValues(sizeOf(xShape), 11);
      const fv = randomValues(sizeOf(fShape), 12);
      const dyv = randomValues(sizeOf(dyShape), 13);
      const errFilter = await compare(() =>
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: tf.tensor(xv, xShape), dy: tf.tensor(dyv, dyShape) }, {
          strides: c.s,
          pad: c.pad,
          dataFormat: 'NHWC',
          filterShape: fShape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      const errInput = await compare(() =>
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(fv, fShape) }, {
          strides: c.s,
          pad: c.pad,
          dataFormat: 'NHWC',
          inputShape: xShape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      // the public ops and their gradients, as training uses them
      const errGrad = await compare(() => {
        const x = tf.tensor4d(xv, xShape as [number, number, number, number]);
        const f = tf.tensor4d(fv, fShape as [number, number, number, number]);
        const dy = tf.tensor(dyv, dyShape);
        const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), dy)))([x, f]);
        return tf.concat([tf.reshape(gx, [-1]), tf.reshape(gf, [-1])]);
      });
      expect(errFilter).toBeLessThanOrEqual(TOL);
      expect(errInput).toBeLessThanOrEqual(TOL);
      expect(errGrad).toBeLessThanOrEqual(TOL);
    });
  }

  it('conv2dTranspose forward (Conv2DBackpropInput) matches cpu, stride 2, odd channels', async () => {
    const x = randomValues(2 * 5 * 6 * 7, 21);
    const f = randomValues(3 * 3 * 5 * 7, 22);
    for (const pad of ['same', 'valid'] as const) {
      const err = await compare(() => {
        const outH = pad === 'same' ? 10 : 11;
        const outW = pad === 'same' ? 12 : 13;
        return tf.conv2dTranspose(tf.tensor4d(x, [2, 5, 6, 7]), tf.tensor4d(f, [3, 3, 5, 7]), [2, outH, outW, 5], 2, pad);
      });
      expect(err).toBeLessThanOrEqual(TOL);
    }
  });
});

/** Inserts d-1 zeros between the taps of a [kh, kw, c, m] filter. */
function dilateFilter(values: Float32Array, shape: number[], d: number): { values: Float32Array; shape: number[] } {
  const [kh, kw, c, m] = shape;
  const eh = (kh - 1) * d + 1;
  const ew = (kw - 1) * d + 1;
  const out = new Float32Array(eh * ew * c * m);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let k = 0; k < c * m; k++) out[(i * d * ew + j * d) * c * m + k] = values[(i * kw + j) * c * m + k];
  return { values: out, shape: [eh, ew, c, m] };
}

describe('DepthwiseConv2dNativeBackpropFilter / BackpropInput on wasm match cpu', () => {
  const dwCases: (Case & { mult: number; d: number })[] = [
    { ...CASES[0], mult: 1, d: 1 },
    { ...CASES[1], mult: 2, d: 1 },
    { ...CASES[2], mult: 1, d: 1 },
    { ...CASES[3], mult: 3, d: 1 },
    { ...CASES[6], mult: 2, d: 1 },
    { ...CASES[0], mult: 1, d: 2 },
    { ...CASES[4], kh: 3, kw: 3, mult: 2, d: 2 },
    { ...CASES[5], kh: 3, kw: 3, pad: 'valid', mult: 1, d: 3 },
  ];
  for (const c of dwCases) {
    it(`${label(c)} mult ${c.mult} dilation ${c.d}`, async () => {
      const xShape = [c.n, c.h, c.w, c.ci];
      const fShape = [c.kh, c.kw, c.ci, c.mult];
      const dyShape = [c.n, outSize(c.h, c.kh, c.s[0], c.pad, c.d), outSize(c.w, c.kw, c.s[1], c.pad, c.d), c.ci * c.mult];
      const xv = randomValues(sizeOf(xShape), 31);
      const fv = randomValues(sizeOf(fShape), 32);
      const dyv = randomValues(sizeOf(dyShape), 33);
      // tfjs's cpu kernels ignore dilations, so the reference for dilation d uses the
      // equivalent zero-dilated filter with dilation 1.
      const dil = dilateFilter(fv, fShape, c.d);
      const attrs = { strides: c.s, pad: c.pad };
      const refFilter = await runOn('cpu', () => {
        const g = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: tf.tensor(xv, xShape), dy: tf.tensor(dyv, dyShape) }, {
          ...attrs,
          dilations: [1, 1],
          filterShape: dil.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return tf.slice(tf.stridedSlice(g, [0, 0, 0, 0], dil.shape, [c.d, c.d, 1, 1]), [0, 0, 0, 0], fShape);
      });
      const gotFilter = await runOn('wasm', () =>
        tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: tf.tensor(xv, xShape), dy: tf.tensor(dyv, dyShape) }, {
          ...attrs,
          dilations: [c.d, c.d],
          filterShape: fShape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      expect(gotFilter.shape).toEqual(fShape);
      expect(relError(refFilter.values, gotFilter.values)).toBeLessThanOrEqual(TOL);

      const refInput = await runOn('cpu', () =>
        tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(dil.values, dil.shape) }, {
          ...attrs,
          dilations: [1, 1],
          inputShape: xShape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      const gotInput = await runOn('wasm', () =>
        tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(fv, fShape) }, {
          ...attrs,
          dilations: [c.d, c.d],
          inputShape: xShape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      expect(gotInput.shape).toEqual(xShape);
      expect(relError(refInput.values, gotInput.values)).toBeLessThanOrEqual(TOL);
    });
  }
});
