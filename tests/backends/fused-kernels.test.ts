/**
 * The fused wasm/native kernels (training/backends/fused-kernels.ts) against tfjs's cpu backend
 * running the plain tf-op formulations: instance norm forward and gradient, the MirrorPad gradient
 * and the integer-factor nearest-upsampling gradient; odd shapes, channels that are not multiples
 * of 4, batch > 1. Also: the fused kernels really run on wasm and native (profiled kernel names),
 * and a second-order gradient through instance norm (WGAN-GP's penalty) still matches cpu, since
 * it takes the plain path.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backends';
import { INSTANCE_NORM, INSTANCE_NORM_GRAD, MIRROR_PAD_GRAD, instanceNormalize } from '../../training/backends/fused-kernels';
import { randomValues, relError, runOn, sizeOf } from './helpers';

const TOL = 1e-4;
const BACKENDS = ['wasm', 'native'];

beforeAll(async () => {
  const report = await initBackend({ backend: 'native', log: () => {} });
  expect(report.name).toBe('native');
});

function input(shape: number[], seed: number, scale = 3, shift = 0.5): tf.Tensor {
  return tf.add(tf.mul(tf.tensor(randomValues(sizeOf(shape), seed), shape), scale), shift);
}

async function kernelsRun(backend: string, f: () => tf.Tensor): Promise<string[]> {
  await tf.setBackend(backend);
  const prof = await tf.profile(() => {
    const y = f();
    y.dataSync();
    y.dispose();
  });
  return prof.kernels.map((k) => k.name);
}

describe('fused instance norm', () => {
  const shapes = [
    [1, 9, 7, 8],
    [2, 5, 6, 7],
    [3, 4, 4, 13],
    [1, 16, 16, 3],
  ];
  for (const shape of shapes) {
    const x = (): tf.Tensor4D => input(shape, 11) as tf.Tensor4D;
    const w = (): tf.Tensor => input(shape, 12, 1, 0);
    const loss = (t: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.square(instanceNormalize(t as tf.Tensor4D, 1e-5)), w()));
    for (const backend of BACKENDS) {
      it(`${backend}: forward and gradient of [${shape}] match cpu`, async () => {
        const refY = await runOn('cpu', () => instanceNormalize(x(), 1e-5));
        const gotY = await runOn(backend, () => instanceNormalize(x(), 1e-5));
        expect(relError(refY.values, gotY.values)).toBeLessThan(TOL);
        const refG = await runOn('cpu', () => tf.grad(loss)(x()));
        const gotG = await runOn(backend, () => tf.grad(loss)(x()));
        expect(relError(refG.values, gotG.values)).toBeLessThan(TOL);
        const names = await kernelsRun(backend, () => tf.grad(loss)(x()));
        expect(names).toContain(INSTANCE_NORM);
        expect(names).toContain(INSTANCE_NORM_GRAD);
        expect(names).not.toContain('Mean');
      });
    }
  }

  it('cpu keeps the plain formulation (no fused kernel there)', async () => {
    const names = await kernelsRun('cpu', () => instanceNormalize(input([1, 4, 4, 4], 1) as tf.Tensor4D, 1e-5));
    expect(names).not.toContain(INSTANCE_NORM);
  });

  it('a constant channel normalises to 0 without NaN (variance 0 + epsilon)', async () => {
    const got = await runOn('native', () => instanceNormalize(tf.fill([1, 5, 5, 6], 2.5) as tf.Tensor4D, 1e-5));
    expect(Math.max(...got.values.map(Math.abs))).toBe(0);
  });

  for (const backend of BACKENDS) {
    it(`${backend}: a second-order gradient through instance norm (gradient penalty) matches cpu`, async () => {
      const shape = [2, 6, 5, 5];
      const wv = randomValues(sizeOf(shape), 5);
      const f = (): tf.Tensor => {
        const k = tf.variable(tf.tensor(randomValues(5 * 5, 9), [1, 1, 5, 5]), true, `k${Math.random()}`);
        const critic = (t: tf.Tensor): tf.Scalar =>
          tf.sum(tf.mul(instanceNormalize(tf.conv2d(t as tf.Tensor4D, k as tf.Tensor4D, 1, 'same'), 1e-5), tf.tensor(wv, shape)));
        // penalty = |d critic / d x|^2, differentiated with respect to the conv weights
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.grad(critic)(input(shape, 3)))), [k]);
        const g = grads[k.name];
        k.dispose();
        return g;
      };
      const ref = await runOn('cpu', f);
      const got = await runOn(backend, f);
      expect(relError(ref.values, got.values)).toBeLessThan(1e-3);
    });
  }
});

describe('fused MirrorPad gradient', () => {
  const cases: { shape: number[]; paddings: [number, number][]; mode: 'reflect' | 'symmetric' }[] = [
    { shape: [2, 5, 6, 3], paddings: [[0, 0], [2, 1], [1, 3], [0, 0]], mode: 'reflect' },
    { shape: [1, 7, 9, 5], paddings: [[0, 0], [1, 1], [1, 1], [0, 0]], mode: 'reflect' },
    { shape: [2, 4, 3, 6], paddings: [[0, 0], [3, 2], [1, 2], [0, 0]], mode: 'symmetric' },
    { shape: [1, 6, 6, 4], paddings: [[0, 0], [0, 0], [2, 0], [0, 0]], mode: 'reflect' },
  ];
  for (const c of cases) {
    for (const backend of BACKENDS) {
      it(`${backend}: ${c.mode} [${c.shape}] pad ${JSON.stringify(c.paddings)} matches cpu`, async () => {
        const padded = c.shape.map((s, i) => s + c.paddings[i][0] + c.paddings[i][1]);
        const f = (): tf.Tensor =>
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(t, c.paddings, c.mode), input(padded, 4, 1, 0))))(input(c.shape, 2));
        const ref = await runOn('cpu', f);
        const got = await runOn(backend, f);
        expect(relError(ref.values, got.values)).toBeLessThan(TOL);
        expect(await kernelsRun(backend, f)).toContain(MIRROR_PAD_GRAD);
      });
    }
  }
});

describe('nearest-upsampling gradient', () => {
  const cases = [
    { shape: [2, 5, 7, 6], size: [10, 14] },
    { shape: [1, 4, 3, 5], size: [12, 6] },
    { shape: [1, 6, 6, 4], size: [9, 9] }, // not an integer factor: the stock kernel
  ];
  for (const c of cases) {
    for (const backend of BACKENDS) {
      it(`${backend}: [${c.shape}] -> ${c.size.join('x')} matches cpu`, async () => {
        const out = [c.shape[0], c.size[0], c.size[1], c.shape[3]];
        const f = (): tf.Tensor =>
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, c.size as [number, number]), input(out, 6, 1, 0))))(input(c.shape, 8));
        const ref = await runOn('cpu', f);
        const got = await runOn(backend, f);
        expect(relError(ref.values, got.values)).toBeLessThan(TOL);
      });
    }
  }
});

describe('Identity and same-dtype Cast share the buffer', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: tf.clone and cast to float32 copy nothing, values survive the original; real casts convert`, async () => {
      await tf.setBackend(backend);
      const wasm = tf.backend() as unknown as { getMemoryOffset(id: object): number };
      const x = tf.tensor([1.5, -2.25, 3, 7.75], [2, 2]);
      const y = tf.clone(x);
      const z = tf.cast(x, 'float32');
      expect(wasm.getMemoryOffset(y.dataId)).toBe(wasm.getMemoryOffset(x.dataId));
      expect(wasm.getMemoryOffset(z.dataId)).toBe(wasm.getMemoryOffset(x.dataId));
      const i = tf.cast(x, 'int32');
      expect(Array.from(i.dataSync())).toEqual([1, -2, 3, 7]);
      x.dispose();
      expect(Array.from(y.dataSync())).toEqual([1.5, -2.25, 3, 7.75]);
      y.dispose();
      expect(Array.from(z.dataSync())).toEqual([1.5, -2.25, 3, 7.75]);
      tf.dispose([z, i]);
      // the gradient a custom op saves is a clone: a fused conv's gradient still matches cpu
      const loss = (t: tf.Tensor): tf.Scalar =>
        tf.sum(tf.square(tf.fused.conv2d({ x: t as tf.Tensor4D, filter: tf.ones([3, 3, 2, 3]) as tf.Tensor4D, strides: 1, pad: 'same', bias: tf.ones([3]), activation: 'relu' })));
      const xs = (): tf.Tensor => input([1, 5, 6, 2], 21);
      const ref = await runOn('cpu', () => tf.grad(loss)(xs()));
      const got = await runOn(backend, () => tf.grad(loss)(xs()));
      expect(relError(ref.values, got.values)).toBeLessThan(TOL);
    });
  }
});

describe('Slice by contiguous blocks', () => {
  const cases: { shape: number[]; begin: number[]; size: number[] }[] = [
    { shape: [1, 66, 66, 5], begin: [0, 1, 1, 0], size: [1, 64, 64, 5] }, // a zero-padding gradient
    { shape: [2, 7, 9, 3], begin: [1, 2, 0, 1], size: [1, 4, 9, 2] }, // cuts the last axis too
    { shape: [3, 5, 4, 6], begin: [0, 0, 0, 0], size: [3, 5, 4, 6] }, // everything
    { shape: [3, 5, 4, 6], begin: [1, 0, 0, 0], size: [2, -1, -1, -1] }, // one contiguous block
    { shape: [4, 10], begin: [1, 3], size: [2, 5] },
    { shape: [11], begin: [4], size: [6] },
    { shape: [2, 3, 4, 5, 6], begin: [1, 1, 0, 2, 0], size: [1, 2, 4, 3, 6] }, // rank 5
    { shape: [2, 3, 4], begin: [0, 3, 0], size: [2, 0, 4] }, // empty
  ];
  for (const backend of BACKENDS) {
    for (const c of cases) {
      it(`${backend}: [${c.shape}] from [${c.begin}] size [${c.size}] matches cpu (float32, int32, bool)`, async () => {
        const x = (): tf.Tensor => input(c.shape, 31);
        const ref = await runOn('cpu', () => tf.slice(x(), c.begin, c.size));
        const got = await runOn(backend, () => tf.slice(x(), c.begin, c.size));
        expect(got.shape).toEqual(ref.shape);
        expect(Array.from(got.values)).toEqual(Array.from(ref.values));
        const xi = (): tf.Tensor => tf.cast(tf.mul(input(c.shape, 32), 100), 'int32');
        const refI = await runOn('cpu', () => tf.slice(xi(), c.begin, c.size));
        const gotI = await runOn(backend, () => tf.slice(xi(), c.begin, c.size));
        expect(Array.from(gotI.values)).toEqual(Array.from(refI.values));
        const xb = (): tf.Tensor => tf.greater(input(c.shape, 33), 0.5);
        const refB = await runOn('cpu', () => tf.slice(xb(), c.begin, c.size));
        const gotB = await runOn(backend, () => tf.slice(xb(), c.begin, c.size));
        expect(Array.from(gotB.values)).toEqual(Array.from(refB.values));
      });
    }
    it(`${backend}: a zero-padding gradient runs our Slice`, async () => {
      await tf.setBackend(backend);
      const registered = tf.getKernel(tf.Slice, backend)!.kernelFunc;
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]]))));
      const x = input([1, 6, 6, 3], 34);
      const dx = g(x);
      expect(Array.from(dx.dataSync())).toEqual(Array.from(tf.mul(x, 2).dataSync()));
      expect(registered.name).toBe('sliceKernel');
      tf.dispose([x, dx]);
    });
  }
});
