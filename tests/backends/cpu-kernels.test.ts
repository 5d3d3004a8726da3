/** The cpu backend's resize-gradient kernels, fixed by Ganvas, against exact references and wasm. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerCpuKernelFixes } from '../../training/backends/cpu-kernels';
import { registerGanvasGradients } from '../../training/backends/gradients';
import { randomValues, relError, runOn, sizeOf } from './helpers';

beforeAll(() => {
  registerGanvasGradients();
  registerCpuKernelFixes();
});

describe('cpu resize gradients (fixed)', () => {
  it('ResizeNearestNeighborGrad with batch > 1 equals the sum of 2x2 blocks', async () => {
    const [n, h, w, c] = [3, 5, 7, 2];
    const dyv = randomValues(n * 4 * h * w * c, 5);
    const f = (): tf.Tensor => {
      const dy = tf.tensor(dyv, [n, 2 * h, 2 * w, c]);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [2 * h, 2 * w]), dy)))(tf.ones([n, h, w, c]));
    };
    const truth = await runOn('cpu', () =>
      tf.sum(tf.reshape(tf.transpose(tf.reshape(tf.tensor(dyv), [n, h, 2, w, 2, c]), [0, 1, 3, 5, 2, 4]), [n, h, w, c, 4]), 4),
    );
    for (const backend of ['cpu', 'wasm']) {
      const got = await runOn(backend, f);
      expect(got.shape).toEqual([n, h, w, c]);
      expect(relError(truth.values, got.values), backend).toBeLessThanOrEqual(1e-5);
    }
  });

  it('ResizeBilinearGrad keeps the input shape for non-square inputs and matches wasm', async () => {
    const shape = [2, 5, 8, 3];
    const xv = randomValues(sizeOf(shape), 6);
    const dyv = randomValues(2 * 9 * 13 * 3, 7);
    const f = (): tf.Tensor => {
      const dy = tf.tensor(dyv, [2, 9, 13, 3]);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeBilinear(a as tf.Tensor4D, [9, 13]), dy)))(tf.tensor(xv, shape));
    };
    const cpu = await runOn('cpu', f);
    const wasm = await runOn('wasm', f);
    expect(cpu.shape).toEqual(shape);
    expect(relError(wasm.values, cpu.values)).toBeLessThanOrEqual(1e-5);
  });
});
