/**
 * The native backend runs depthwise forward passes and stride-1 input gradients on wasm's XNNPACK
 * kernels ('auto' placement, measured faster) and the rest on onnxruntime: every placement gives
 * the cpu backend's result (odd shapes, strides 1/2, same/valid, multipliers, fused bias + relu),
 * with the filter gradient both per tap and as a grouped Conv.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backends';
import {
  depthwiseOnWasm,
  pickDepthwiseFilterGradMethod,
  setDepthwiseFilterGradMethod,
  setDepthwisePlacement,
  type DepthwiseFilterGradMethod,
  type DepthwisePlacement,
} from '../../training/backends/native/kernels';
import { randomValues, relError, runOn, sizeOf } from './helpers';

const TOL = 1e-4;

beforeAll(async () => {
  expect((await initBackend({ backend: 'native', log: () => {} })).name).toBe('native');
});

const cases = [
  { x: [2, 9, 11, 3], k: 3, mult: 1, s: 1, pad: 'same' as const },
  { x: [1, 10, 7, 6], k: 3, mult: 2, s: 2, pad: 'valid' as const },
  { x: [2, 8, 8, 5], k: 3, mult: 1, s: 2, pad: 'same' as const },
  { x: [1, 12, 9, 4], k: 5, mult: 1, s: 1, pad: 'valid' as const },
];

describe('depthwise placement on the native backend', () => {
  it("'auto' puts forward passes and stride-1 input gradients on wasm, the rest on onnxruntime", () => {
    setDepthwisePlacement('auto');
    expect(depthwiseOnWasm(tf.DepthwiseConv2dNative, { strides: [2, 2] })).toBe(true);
    expect(depthwiseOnWasm(tf.DepthwiseConv2dNativeBackpropInput, { strides: [1, 1] })).toBe(true);
    expect(depthwiseOnWasm(tf.DepthwiseConv2dNativeBackpropInput, { strides: [2, 2] })).toBe(false);
    expect(depthwiseOnWasm(tf.DepthwiseConv2dNative, { strides: 1, dilations: [2, 2] })).toBe(false);
    expect(pickDepthwiseFilterGradMethod({ ci: 16, co: 1 })).toBe('conv');
    expect(pickDepthwiseFilterGradMethod({ ci: 128, co: 1 })).toBe('taps');
  });

  const runs: [DepthwisePlacement, DepthwiseFilterGradMethod | 'auto'][] = [
    ['native', 'taps'],
    ['native', 'conv'],
    ['wasm', 'auto'],
    ['auto', 'auto'],
  ];
  for (const [placement, filterGrad] of runs) {
    for (const c of cases) {
      it(`${placement}, filter gradient ${filterGrad}: [${c.x}] k${c.k} x${c.mult} s${c.s} ${c.pad}: forward, fused relu and both gradients match cpu`, async () => {
        const fShape = [c.k, c.k, c.x[3], c.mult];
        const xv = randomValues(sizeOf(c.x), 1);
        const fv = randomValues(sizeOf(fShape), 2);
        const bv = randomValues(c.x[3] * c.mult, 3);
        const loss = (x: tf.Tensor4D, f: tf.Tensor4D): tf.Scalar => {
          const y = tf.fused.depthwiseConv2d({ x, filter: f, strides: c.s, pad: c.pad, bias: tf.tensor1d(bv), activation: 'relu' });
          return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, sizeOf(y.shape)), y.shape))));
        };
        const f = (): tf.Tensor => {
          const [gx, gf] = tf.grads((x: tf.Tensor, w: tf.Tensor) => loss(x as tf.Tensor4D, w as tf.Tensor4D))([tf.tensor(xv, c.x), tf.tensor(fv, fShape)]);
          const y = tf.depthwiseConv2d(tf.tensor4d(xv, c.x as [number, number, number, number]), tf.tensor4d(fv, fShape as [number, number, number, number]), c.s, c.pad);
          return tf.concat([gx, gf, y].map((t) => tf.reshape(t, [-1])));
        };
        const ref = await runOn('cpu', f);
        setDepthwisePlacement(placement);
        setDepthwiseFilterGradMethod(filterGrad);
        try {
          const got = await runOn('native', f);
          expect(relError(ref.values, got.values)).toBeLessThanOrEqual(TOL);
        } finally {
          setDepthwisePlacement('auto');
          setDepthwiseFilterGradMethod('auto');
        }
      });
    }
  }
});
