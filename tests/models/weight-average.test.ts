/**
 * The weight average (EMA) against its formula: d = min(decay, (1 + n) / (10 + n)) for the n-th
 * update, averaged = d * averaged + (1 - d) * current, on a real layers model with custom layers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { InstanceNorm } from '../../training/models/layers';
import { checkDecay, cloneModel, WeightAverage } from '../../training/models/weight-average';

function tinyNet(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3] });
  let h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.randomNormal({ seed: 3 }) }).apply(input) as tfl.SymbolicTensor;
  h = new InstanceNorm({ epsilon: 1e-5 }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.conv2d({ filters: 3, kernelSize: 1, kernelInitializer: tfl.initializers.randomNormal({ seed: 4 }) }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

const values = (m: tfl.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

describe('WeightAverage', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('follows the warmed-up EMA formula, is independent of the trained model, and restarts', async () => {
    const net = tinyNet();
    const avg = await WeightAverage.start(net, 0.9);
    expect(values(avg.model)).toEqual(values(net));
    let expected = values(net);
    for (let n = 0; n < 30; n++) {
      // a fake optimiser step: every weight moves
      net.setWeights(net.getWeights().map((w, i) => tf.add(w, tf.fill(w.shape, 0.1 * (i + 1) * Math.sin(n + 1)))));
      const d = Math.min(0.9, (1 + n) / (10 + n));
      expect(avg.currentDecay()).toBeCloseTo(d, 12);
      avg.update(net);
      const current = values(net);
      expected = expected.map((e, i) => e.map((v, j) => d * v + (1 - d) * current[i][j]));
    }
    expect(avg.updates).toBe(30);
    expect(avg.currentDecay()).toBeCloseTo(31 / 40, 12); // still warming up: (1 + n) / (10 + n) < 0.9 until n = 80
    const got = values(avg.model);
    got.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 5)));
    // the average is its own model: it differs from the trained weights and changing those does not touch it
    expect(got[0]).not.toEqual(values(net)[0]);
    net.setWeights(net.getWeights().map((w) => tf.zerosLike(w)));
    expect(values(avg.model)[0]).toEqual(got[0]);
    // outputs come from the averaged weights
    const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 5);
    expect(Array.from((avg.model.predict(x) as tf.Tensor).dataSync())).not.toEqual(Array.from((net.predict(x) as tf.Tensor).dataSync()));
    avg.restartAt(net);
    expect(avg.updates).toBe(0);
    expect(values(avg.model)).toEqual(values(net));
    expect(avg.state()).toEqual({ decay: 0.9, updates: 0 });
  });

  it('clones a model with its custom layers and weights', async () => {
    const net = tinyNet();
    const copy = await cloneModel(net);
    expect(copy.layers.map((l) => l.getClassName())).toEqual(net.layers.map((l) => l.getClassName()));
    expect(values(copy)).toEqual(values(net));
  });

  it('refuses a decay outside (0, 1) with the option named', () => {
    for (const bad of [0, 1, -0.5, 1.5, NaN]) expect(() => checkDecay(bad)).toThrow(/--ema must be a decay strictly between 0 and 1 \(e\.g\. 0\.999\)/);
    expect(checkDecay(0.999)).toBe(0.999);
  });
});
