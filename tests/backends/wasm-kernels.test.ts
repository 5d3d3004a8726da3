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
import {
  compareOn,
  conv2dTransposeErrors,
  CONV_CASES as CASES,
  convInputs,
  convLabel as label,
  DEPTHWISE_CASES,
  depthwiseGradientErrors,
  KERNEL_TOL as TOL,
} from './helpers';

const compare = (f: () => tf.Tensor) => compareOn('wasm', f);

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
      const { xShape, fShape, dyShape, xv, fv, dyv } = convInputs(c);
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
    for (const err of await conv2dTransposeErrors('wasm')) expect(err).toBeLessThanOrEqual(TOL);
  });
});

describe('DepthwiseConv2dNativeBackpropFilter / BackpropInput on wasm match cpu', () => {
  for (const c of DEPTHWISE_CASES) {
    it(`${label(c)} mult ${c.mult} dilation ${c.d}`, async () => {
      const err = await depthwiseGradientErrors('wasm', c);
      expect(err.filter).toBeLessThanOrEqual(TOL);
      expect(err.input).toBeLessThanOrEqual(TOL);
    });
  }
});
