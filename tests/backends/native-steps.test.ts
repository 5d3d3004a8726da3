/**
 * Whole training steps on the native backend against plain wasm, same process, same weights,
 * same data: every gradient a trainer computes must agree within 1e-4 (see gradError for the
 * variables whose exact gradient is zero).
 *  - CycleGAN: CycleGanTrainer.trainStep itself (G and D gradients captured where it hands them to
 *    Adam), for each GAN loss, WGAN-GP's double backprop included; resnet and tiny (depthwise) generators.
 *  - SR (L1) and SRGAN (discriminator step, then content + adversarial generator step), with the
 *    SR models and the losses of training/tasks/sr/train.ts; and a 30-step SR loss curve from the
 *    same seed on both backends (same within 1e-3).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../training/backends';
import { nativeStats } from '../../training/backends/native/kernels';
import { CycleGanTrainer, type TrainerOptions } from '../../training/tasks/cyclegan/trainer';
import type { GanLoss } from '../../training/tasks/cyclegan/losses';
import { buildDiscriminator as buildSrDiscriminator, buildSrModel } from '../../training/models/sr';
import { randomValues } from './helpers';
import { toyCycleGanOptions } from '../helpers/toy-data';

const TOL = 1e-4;

/**
 * Largest per-variable relative difference, relative to that variable's largest gradient floored
 * at 1% of the model's largest gradient. A variable whose gradient is zero in exact arithmetic
 * (a conv bias right before an affine-free InstanceNorm: max |gradient| < 1e-5 of the model's) holds
 * only float32 rounding noise on either backend; for those the difference must stay under 1e-5 of
 * the model's largest gradient (`zeroWorst`).
 */
function gradError(ref: Float32Array[], got: Float32Array[]): { worst: number; index: number; zeroWorst: number } {
  expect(got.length).toBe(ref.length);
  const scale = Math.max(...ref.map((r) => r.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
  let worst = 0;
  let index = -1;
  let zeroWorst = 0;
  for (let i = 0; i < ref.length; i++) {
    expect(got[i].length).toBe(ref[i].length);
    let num = 0;
    let max = 0;
    for (let j = 0; j < ref[i].length; j++) {
      num = Math.max(num, Math.abs(ref[i][j] - got[i][j]));
      max = Math.max(max, Math.abs(ref[i][j]));
    }
    if (max < 1e-5 * scale) {
      zeroWorst = Math.max(zeroWorst, num / scale);
      continue;
    }
    const rel = num / Math.max(max, 1e-2 * scale);
    if (rel > worst) {
      worst = rel;
      index = i;
    }
  }
  return { worst, index, zeroWorst };
}

function expectClose(e: { worst: number; index: number; zeroWorst: number }, what: string): void {
  expect(e.worst, `${what}, variable #${e.index}`).toBeLessThanOrEqual(TOL);
  expect(e.zeroWorst, `${what}, variables with a zero gradient`).toBeLessThanOrEqual(1e-5);
}

const trainerOptions = (loss: GanLoss, generator: TrainerOptions['generator']): TrainerOptions => toyCycleGanOptions({ generator, loss, batchSize: 2 });

/** One CycleGanTrainer step on `backend`; returns the G and D gradients it passed to Adam. */
async function cycleGanGrads(backend: string, o: TrainerOptions, a: Float32Array, b: Float32Array): Promise<{ g: Float32Array[]; d: Float32Array[]; applied: boolean }> {
  await tf.setBackend(backend);
  const t = await CycleGanTrainer.create(o);
  const captured: { g: Float32Array[]; d: Float32Array[] } = { g: [], d: [] };
  const capture = (opt: tf.AdamOptimizer, into: Float32Array[]): void => {
    const apply = opt.applyGradients.bind(opt);
    opt.applyGradients = (grads) => {
      const named = grads as tf.NamedTensorMap;
      for (const v of Object.values(named)) into.push(v.dataSync().slice() as Float32Array);
      apply(grads);
    };
  };
  capture(t.optG, captured.g);
  capture(t.optD, captured.d);
  const m = t.trainStep(a, b);
  t.dispose();
  return { ...captured, applied: m.applied };
}

beforeAll(async () => {
  await initBackend({ backend: 'native', log: () => {} });
});

describe('a whole CycleGAN trainer step: native gradients equal plain wasm', () => {
  const cases: { loss: GanLoss; generator: TrainerOptions['generator'] }[] = [
    { loss: 'lsgan', generator: 'resnet' },
    { loss: 'vanilla', generator: 'resnet' },
    { loss: 'wgan-gp', generator: 'resnet' },
    { loss: 'lsgan', generator: 'tiny' },
  ];
  for (const c of cases) {
    it(`${c.loss}, ${c.generator} generator`, async () => {
      const o = trainerOptions(c.loss, c.generator);
      const n = o.batchSize * o.crop * o.crop * 3;
      const a = randomValues(n, 5);
      const b = randomValues(n, 6);
      const runs = nativeStats().runs;
      const wasm = await cycleGanGrads('wasm', o, a, b);
      expect(nativeStats().runs, 'plain wasm must not touch onnxruntime').toBe(runs);
      const native = await cycleGanGrads('native', o, a, b);
      expect(nativeStats().runs - runs, 'the native step ran on onnxruntime').toBeGreaterThan(50);
      expect(wasm.applied && native.applied).toBe(true);
      expect(wasm.g.length).toBeGreaterThan(10);
      const g = gradError(wasm.g, native.g);
      const d = gradError(wasm.d, native.d);
      expectClose(g, 'generators');
      expectClose(d, 'discriminators');
    });
  }
});

function variablesOf(m: tfl.LayersModel): tf.Variable[] {
  return m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}

async function gradsOn(backend: string, f: () => tf.Scalar, vars: tf.Variable[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const { value, grads } = tf.variableGrads(f, vars);
  const out = vars.map((v) => grads[v.name].dataSync().slice() as Float32Array);
  expect(Number.isFinite(value.dataSync()[0])).toBe(true);
  tf.dispose([value, grads]);
  return out;
}

describe('SR and SRGAN steps: native gradients equal plain wasm', () => {
  const advLoss = (logits: tf.Tensor, real: boolean): tf.Scalar => tf.losses.sigmoidCrossEntropy(real ? tf.onesLike(logits) : tf.zerosLike(logits), logits) as tf.Scalar;

  for (const tier of ['real-time', 'quality'] as const) {
    it(`SR ${tier} x2 (L1)`, async () => {
      await tf.setBackend('wasm');
      const g = buildSrModel({ tier, scale: 2, features: tier === 'real-time' ? [8, 6] : [8], blocks: 2, seed: 3 });
      const x = tf.tensor4d(randomValues(2 * 12 * 10 * 3, 8), [2, 12, 10, 3]);
      const y = tf.tensor4d(randomValues(2 * 24 * 20 * 3, 9), [2, 24, 20, 3]);
      const loss = (): tf.Scalar => tf.mean(tf.abs(tf.sub(g.apply(x, { training: true }) as tf.Tensor, y))) as tf.Scalar;
      const ref = await gradsOn('wasm', loss, variablesOf(g));
      const got = await gradsOn('native', loss, variablesOf(g));
      expectClose(gradError(ref, got), 'generator');
      tf.dispose([x, y]);
      g.dispose();
    });
  }

  it('30 SR steps (Adam) from the same seed give the same loss curve on both backends', async () => {
    const curve = async (backend: string): Promise<number[]> => {
      await tf.setBackend(backend);
      const g = buildSrModel({ tier: 'real-time', scale: 2, features: [8, 6], seed: 5 });
      const opt = tf.train.adam(1e-3);
      const vars = variablesOf(g);
      const losses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const x = tf.tensor4d(randomValues(4 * 10 * 10 * 3, 100 + i), [4, 10, 10, 3]);
        const y = tf.tidy(() => tf.add(tf.image.resizeBilinear(x, [20, 20]), 0.05));
        const l = opt.minimize(() => tf.mean(tf.abs(tf.sub(g.apply(x, { training: true }) as tf.Tensor, y))) as tf.Scalar, true, vars)!;
        losses.push(l.dataSync()[0]);
        tf.dispose([x, y, l]);
      }
      opt.dispose();
      g.dispose();
      return losses;
    };
    const wasm = await curve('wasm');
    const native = await curve('native');
    expect(wasm[29]).toBeLessThan(wasm[0]); // it trains
    const worst = Math.max(...wasm.map((v, i) => Math.abs(v - native[i]) / Math.abs(v)));
    expect(worst).toBeLessThanOrEqual(1e-3);
  });

  it('SRGAN x4: discriminator step and generator step (content + adversarial)', async () => {
    await tf.setBackend('wasm');
    const g = buildSrModel({ tier: 'real-time', scale: 4, features: [8, 6], seed: 4 });
    const d = buildSrDiscriminator({ base: 4, stages: 2 });
    const x = tf.tensor4d(randomValues(2 * 8 * 8 * 3, 10), [2, 8, 8, 3]);
    const y = tf.tensor4d(randomValues(2 * 32 * 32 * 3, 11), [2, 32, 32, 3]);
    const fake = tf.tidy(() => g.apply(x) as tf.Tensor);
    const dLoss = (): tf.Scalar =>
      tf.add(advLoss(d.apply(y, { training: true }) as tf.Tensor, true), advLoss(d.apply(fake, { training: true }) as tf.Tensor, false)) as tf.Scalar;
    const gLoss = (): tf.Scalar => {
      const sr = g.apply(x, { training: true }) as tf.Tensor;
      return tf.add(tf.mean(tf.abs(tf.sub(sr, y))), tf.mul(5e-2, advLoss(d.apply(sr) as tf.Tensor, true))) as tf.Scalar;
    };
    expectClose(gradError(await gradsOn('wasm', dLoss, variablesOf(d)), await gradsOn('native', dLoss, variablesOf(d))), 'discriminator');
    expectClose(gradError(await gradsOn('wasm', gLoss, variablesOf(g)), await gradsOn('native', gLoss, variablesOf(g))), 'generator');
    tf.dispose([x, y, fake]);
    g.dispose();
    d.dispose();
  });
});
