/** GAN losses, and the WGAN-GP double backward pass checked against finite differences. */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { dAccuracy, ganLoss, gradientPenalty } from '../../training/tasks/cyclegan/losses';
import { lrAt } from '../../training/tasks/cyclegan/trainer';
import { ImagePool } from '../../training/tasks/cyclegan/pool';
import { Rng } from '../../training/data/unpaired';

tf.setBackend('cpu');

function critic(): tfl.LayersModel {
  const inp = tfl.input({ shape: [null, null, 3] });
  let h = tfl.layers.zeroPadding2d({ padding: 1 }).apply(inp) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 4, kernelSize: 4, strides: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 1, kernelSize: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 9 }) }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: h });
}

describe('GAN losses', () => {
  it('lsgan, vanilla and wgan-gp give the textbook values', () => {
    const d = tf.tensor([0, 2]);
    expect(ganLoss('lsgan', d, true).dataSync()[0]).toBeCloseTo((1 + 1) / 2);
    expect(ganLoss('lsgan', d, false).dataSync()[0]).toBeCloseTo((0 + 4) / 2);
    expect(ganLoss('vanilla', d, true).dataSync()[0]).toBeCloseTo((Math.log(2) + Math.log(1 + Math.exp(-2))) / 2, 5);
    expect(ganLoss('vanilla', d, false).dataSync()[0]).toBeCloseTo((Math.log(2) + Math.log(1 + Math.exp(2))) / 2, 5);
    expect(ganLoss('wgan-gp', d, true).dataSync()[0]).toBeCloseTo(-1);
    expect(ganLoss('wgan-gp', d, false).dataSync()[0]).toBeCloseTo(1);
    const acc = dAccuracy('lsgan', tf.tensor([0.9, 0.2]), tf.tensor([0.1, 0.7]));
    expect(acc.real.dataSync()[0]).toBeCloseTo(0.5);
    expect(acc.fake.dataSync()[0]).toBeCloseTo(0.5);
  });

  it('WGAN-GP: the gradient of the penalty w.r.t. the critic weights (double backprop) matches finite differences', () => {
    const D = critic();
    const real = tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 1);
    const fake = tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 2);
    const eps = tf.tensor4d([0.3, 0.8], [2, 1, 1, 1]);
    const vars = D.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const f = () => gradientPenalty((x) => D.apply(x) as tf.Tensor, real, fake, eps);
    const { grads } = tf.variableGrads(f, vars);
    const v = vars[0];
    const g = grads[v.name].dataSync();
    const base = v.dataSync().slice();
    let checked = 0;
    for (const idx of [0, 5, 17, 40, 77]) {
      const e = 3e-3;
      const a = base.slice();
      a[idx] += e;
      v.assign(tf.tensor(a, v.shape));
      const up = f().dataSync()[0];
      a[idx] -= 2 * e;
      v.assign(tf.tensor(a, v.shape));
      const dn = f().dataSync()[0];
      v.assign(tf.tensor(base, v.shape));
      const fd = (up - dn) / (2 * e);
      expect(Math.abs(fd - g[idx]), `weight ${idx}: analytic ${g[idx]} vs finite difference ${fd}`).toBeLessThan(2e-2 * Math.max(1e-3, Math.abs(fd)) + 1e-4);
      checked++;
    }
    expect(checked).toBe(5);
    expect(Object.values(grads).some((t) => tf.max(tf.abs(t)).dataSync()[0] > 0)).toBe(true);
  });
});

describe('schedule and pool', () => {
  it('LR is constant, then decays linearly to 0', () => {
    const o = { steps: 200, decayFrom: 100 };
    expect(lrAt(o, 2e-4, 0)).toBe(2e-4);
    expect(lrAt(o, 2e-4, 99)).toBe(2e-4);
    expect(lrAt(o, 2e-4, 150)).toBeCloseTo(1e-4);
    expect(lrAt(o, 2e-4, 200)).toBe(0);
  });

  it('the history pool fills, then returns old or new images half the time, and round-trips through a tensor', () => {
    const pool = new ImagePool(3);
    const rng = new Rng(5);
    const img = (v: number) => new Float32Array([v, v]);
    for (let i = 0; i < 3; i++) expect(Array.from(pool.query(img(i), 1, rng))).toEqual([i, i]);
    let old = 0;
    for (let i = 10; i < 110; i++) if (pool.query(img(i), 1, rng)[0] !== i) old++;
    expect(old).toBeGreaterThan(30);
    expect(old).toBeLessThan(70);
    const t = pool.toTensor([1, 2, 1])!;
    const copy = new ImagePool(3);
    copy.restore(t);
    expect(copy.images.map((x) => Array.from(x))).toEqual(pool.images.map((x) => Array.from(x)));
  });
});
