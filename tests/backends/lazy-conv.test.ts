/**
 * Conv2D layers with lazy gradients (training/backends/lazy-conv.ts) against tfjs-layers' own
 * Conv2D on the same weights, on native, wasm and cpu: outputs, every parameter gradient, the
 * gradient with respect to the input (when it is asked for), and the parameter gradients of a
 * WGAN-GP gradient penalty (a second derivative through the convolutions) agree; and a
 * parameter-only gradient runs one input-gradient kernel fewer (the first conv's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../training/backends';
import { installLazyConvGradients, LAZY_CONV, uninstallLazyConvGradients } from '../../training/backends/lazy-conv';
import { InstanceNorm } from '../../training/models/layers';
import { randomValues, relError } from './helpers';

beforeAll(async () => {
  expect((await initBackend({ backend: 'native', log: () => {} })).name).toBe('native');
  for (const b of ['wasm', 'cpu']) {
    await tf.setBackend(b);
    installLazyConvGradients(b);
  }
});
afterAll(() => installLazyConvGradients('native'));

/** Pad + 3x3 conv with bias (the image's conv), instance norm, a strided relu conv, a 'same' conv without bias, a 1x1 head. */
function net(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.randomNormal({ mean: 0, stddev: 0.3, seed });
  const input = tfl.input({ shape: [12, 12, 3] });
  let h = tfl.layers.zeroPadding2d({ padding: 1 }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 6, kernelSize: 3, kernelInitializer: init(1), biasInitializer: init(2) }).apply(h) as tfl.SymbolicTensor;
  h = new InstanceNorm({ epsilon: 1e-5 }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(3), biasInitializer: init(4) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(5) }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.conv2d({ filters: 2, kernelSize: 1, kernelInitializer: init(6), biasInitializer: init(7) }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

interface Result {
  out: Float32Array;
  grads: Float32Array[];
  dx: Float32Array;
  gp: Float32Array[];
  backpropInputKernels: number;
  lazyKernels: number;
}

async function measure(backend: string, lazy: boolean): Promise<Result> {
  await tf.setBackend(backend);
  if (lazy) installLazyConvGradients(backend);
  else uninstallLazyConvGradients();
  const m = net();
  const x = tf.tensor4d(randomValues(2 * 12 * 12 * 3, 11), [2, 12, 12, 3]);
  const target = tf.tensor4d(randomValues(2 * 6 * 6 * 2, 12), [2, 6, 6, 2]);
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const loss = (input: tf.Tensor) => tf.mean(tf.square(tf.sub(m.apply(input, { training: true }) as tf.Tensor, target))) as tf.Scalar;
  const out = (m.apply(x) as tf.Tensor).dataSync() as Float32Array;
  let grads: Float32Array[] = [];
  const profile = await tf.profile(() => {
    const g = tf.variableGrads(() => loss(x), vars);
    grads = vars.map((v) => g.grads[v.name].dataSync() as Float32Array);
  });
  const dx = tf.grad((input: tf.Tensor) => loss(input))(x).dataSync() as Float32Array;
  // WGAN-GP: the penalty (|grad_x D(x)| - 1)^2 and its gradient with respect to D's weights
  const gpLoss = () => {
    const gx = tf.grad((input: tf.Tensor) => tf.sum(m.apply(input, { training: true }) as tf.Tensor))(x);
    return tf.mean(tf.square(tf.sub(tf.sqrt(tf.add(tf.sum(tf.square(gx), [1, 2, 3]), 1e-12)), 1))) as tf.Scalar;
  };
  const gpGrads = tf.variableGrads(gpLoss, vars);
  // (the biases of the last conv and of the one before the instance norm do not reach the penalty)
  const gp = vars.map((v) => (gpGrads.grads[v.name]?.dataSync() as Float32Array | undefined) ?? new Float32Array(0));
  return {
    out,
    grads,
    dx,
    gp,
    backpropInputKernels: profile.kernels.filter((k) => k.name === tf.Conv2DBackpropInput).length,
    lazyKernels: profile.kernels.filter((k) => k.name === LAZY_CONV).length,
  };
}

describe('Conv2D layers with lazy gradients', () => {
  for (const backend of ['native', 'wasm', 'cpu']) {
    it(`${backend}: the same values and gradients as tfjs-layers' Conv2D, one input-gradient kernel fewer`, async () => {
      const stock = await measure(backend, false);
      const lazy = await measure(backend, true);
      expect(stock.lazyKernels).toBe(0);
      expect(lazy.lazyKernels).toBe(4); // every conv of the net ran as GanvasConv2D
      expect(relError(lazy.out, stock.out)).toBeLessThan(1e-6);
      // compared against the largest gradient of the set: the bias in front of the instance norm has a
      // gradient of float noise (the norm cancels it), where a per-tensor relative error means nothing
      const close = (got: Float32Array[], want: Float32Array[], tol: number, what: string) => {
        const scale = Math.max(...want.map((w) => maxAbs(w)));
        expect(scale).toBeGreaterThan(0);
        got.forEach((g, i) => expect(maxAbsDiff(g.length ? g : new Float32Array(want[i].length), want[i]) / scale, `${what} ${i}`).toBeLessThan(tol));
      };
      close(lazy.grads, stock.grads, 1e-5, 'parameter');
      expect(relError(lazy.dx, stock.dx)).toBeLessThan(1e-5);
      // the penalty: the same values; a gradient that is zero by construction (a bias seen only through
      // a relu mask's derivative) may be absent instead of zeros
      close(lazy.gp, stock.gp, 1e-4, 'penalty gradient');
      lazy.gp.forEach((g, i) => g.length === 0 && expect(maxAbs(stock.gp[i]), `penalty gradient ${i}`).toBe(0));
      // stock: every conv computes its input gradient (the first one's is thrown away); lazy: the first is skipped
      expect(lazy.backpropInputKernels).toBe(stock.backpropInputKernels - 1);
    });
  }
});
