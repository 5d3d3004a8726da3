/**
 * The CycleGAN G step takes its gradient in two halves (one per real domain) to halve its peak
 * memory: the sum must equal the gradient of the whole L_G taken on one tape, and the peak must
 * really drop.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { CycleGanTrainer, type TrainerOptions } from '../../training/tasks/cyclegan/trainer';
import { ganLoss, l1 } from '../../training/tasks/cyclegan/losses';
import { toyCycleGanOptions } from '../helpers/toy-data';

tf.setBackend('cpu');

const OPTS: TrainerOptions = toyCycleGanOptions({ generator: 'tiny', seed: 3 });

/** L_G on one tape, written from the paper's formula (the header of trainer.ts). */
function wholeLoss(t: CycleGanTrainer, a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  const G = (x: tf.Tensor) => t.G.apply(x) as tf.Tensor;
  const F = (x: tf.Tensor) => t.F.apply(x) as tf.Tensor;
  const fB = G(a);
  const fA = F(b);
  const adv = tf.add(ganLoss('lsgan', t.DB.apply(fB) as tf.Tensor, true), ganLoss('lsgan', t.DA.apply(fA) as tf.Tensor, true));
  const cycle = tf.mul(tf.add(l1(F(fB), a), l1(G(fA), b)), OPTS.lambdaCycle);
  const idt = tf.mul(tf.add(l1(G(b), b), l1(F(a), a)), OPTS.lambdaCycle * OPTS.lambdaIdt);
  return tf.addN([adv, cycle, idt]) as tf.Scalar;
}

describe('CycleGAN generator gradients in two halves', () => {
  it('equal the gradient of the whole loss on one tape, with half the peak memory', async () => {
    const t = await CycleGanTrainer.create(OPTS);
    const a = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 11);
    const b = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 12);
    const gVars = [...t.G.trainableWeights, ...t.F.trainableWeights].map((w) => (w as unknown as { val: tf.Variable }).val);

    let split!: ReturnType<CycleGanTrainer['generatorGradients']>;
    // tf.profile returns the engine's one profile object: read its peak before the next profile
    const splitPeak = (await tf.profile(() => {
      split = t.generatorGradients(a, b);
    })).peakBytes;
    let whole!: { value: tf.Scalar; grads: tf.NamedTensorMap };
    const wholePeak = (await tf.profile(() => {
      whole = tf.variableGrads(() => wholeLoss(t, a, b), gVars);
    })).peakBytes;

    expect(split.value.dataSync()[0]).toBeCloseTo(whole.value.dataSync()[0], 4);
    const parts = Object.fromEntries(Object.entries(split.parts).map(([k, v]) => [k, v.dataSync()[0]]));
    expect(parts.advA2B + parts.advB2A + parts.cycle + parts.idt).toBeCloseTo(whole.value.dataSync()[0], 4);
    expect(parts.idt).toBeGreaterThan(0);
    expect(Object.keys(split.grads).sort()).toEqual(Object.keys(whole.grads).sort());
    for (const [name, g] of Object.entries(whole.grads)) {
      const mine = split.grads[name].dataSync();
      const ref = g.dataSync();
      let num = 0;
      let den = 0;
      for (let i = 0; i < ref.length; i++) {
        num += (mine[i] - ref[i]) ** 2;
        den += ref[i] ** 2;
      }
      expect(Math.sqrt(num / Math.max(den, 1e-30)), name).toBeLessThan(1e-5);
    }
    const norm = Math.sqrt(Object.values(whole.grads).reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0], 0));
    expect(split.norm.dataSync()[0]).toBeCloseTo(norm, 3);
    // the translations handed to the D step are G(a) and F(b)
    const gA = t.G.apply(a) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(gA, split.fakeB))).dataSync()[0]).toBeLessThan(1e-6);

    // one half's activations at a time: the peak is well under the one-tape peak
    expect(splitPeak).toBeLessThan(0.7 * wholePeak);
    t.dispose();
  }, 60_000);
});
