/**
 * The fused Adam optimizer (training/backends/fused-adam.ts) against tfjs's own tf.train.adam:
 * the same variables, values, moments and iteration count after several steps on wasm and
 * native (where the fused kernel runs: profiled kernel names) and on cpu (where it falls back to
 * tfjs's update); checkpoints (getWeights / setWeights) interchangeable both ways.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backends';
import { ADAM_UPDATE, adam } from '../../training/backends/fused-adam';
import { randomValues, relError } from './helpers';

const TOL = 1e-5;

beforeAll(async () => {
  const report = await initBackend({ backend: 'native', log: () => {} });
  expect(report.name).toBe('native');
});

const SHAPES = [[3, 3, 5, 7], [7], [13, 1]];
let uid = 0;

/** Fresh variables with fixed values and a loss whose gradients differ per element and per step. */
function problem(): { vars: tf.Variable[]; loss: (step: number) => tf.Scalar } {
  const tag = uid++;
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(randomValues(s.reduce((a, b) => a * b), 40 + i), s), true, `adamtest${tag}_${i}`));
  const targets = SHAPES.map((s, i) => tf.tensor(randomValues(s.reduce((a, b) => a * b), 70 + i), s));
  const loss = (step: number) =>
    tf.tidy(() => tf.addN(vars.map((v, i) => tf.sum(tf.mul(tf.square(tf.sub(v, targets[i])), 1 + 0.3 * step + i)))) as tf.Scalar);
  return { vars, loss };
}

async function run(backend: string, make: 'fused' | 'tfjs', steps: number, lrs = [1e-2, 5e-3, 2e-2]) {
  await tf.setBackend(backend);
  const { vars, loss } = problem();
  const opt = make === 'fused' ? adam(lrs[0], 0.5, 0.999) : (tf.train.adam(lrs[0], 0.5, 0.999) as tf.AdamOptimizer);
  for (let s = 0; s < steps; s++) {
    (opt as unknown as { learningRate: number }).learningRate = lrs[s % lrs.length]; // trainers schedule the LR this way
    opt.minimize(() => loss(s), false, vars);
  }
  const weights = await opt.getWeights();
  return { vars, opt, values: vars.map((v) => v.dataSync().slice()), weights: await Promise.all(weights.map(async (w) => ({ name: w.name, data: (await w.tensor.data()).slice() }))) };
}

describe('fused Adam', () => {
  for (const backend of ['wasm', 'native', 'cpu']) {
    it(`matches tf.train.adam over 6 steps on ${backend} (values, moments, iterations)`, async () => {
      const fused = await run(backend, 'fused', 6);
      const plain = await run(backend, 'tfjs', 6);
      fused.values.forEach((v, i) => expect(relError(plain.values[i], v), `variable ${i}`).toBeLessThanOrEqual(TOL));
      expect(fused.weights.map((w) => w.name.replace(/adamtest\d+_/, ''))).toEqual(plain.weights.map((w) => w.name.replace(/adamtest\d+_/, '')));
      fused.weights.forEach((w, i) => expect(relError(plain.weights[i].data, w.data), w.name).toBeLessThanOrEqual(TOL));
      expect(fused.opt.iterations).toBe(6);
      // and the variables really moved
      const start = await run(backend, 'fused', 0);
      expect(relError(start.values[0], fused.values[0])).toBeGreaterThan(1e-3);
    });
  }

  it('runs one GanvasAdamUpdate per variable on wasm and native, none on cpu', async () => {
    for (const backend of ['wasm', 'native', 'cpu']) {
      await tf.setBackend(backend);
      const { vars, loss } = problem();
      const opt = adam(1e-2);
      const grads = tf.variableGrads(() => loss(0), vars);
      const prof = await tf.profile(() => opt.applyGradients(grads.grads));
      const names = prof.kernels.map((k) => k.name);
      expect(names.filter((n) => n === ADAM_UPDATE).length, backend).toBe(backend === 'cpu' ? 0 : vars.length);
      if (backend !== 'cpu') expect(names, backend).not.toContain('Sqrt');
    }
  });

  it('continues a plain tfjs Adam checkpoint (and the reverse) exactly as tfjs Adam would', async () => {
    await tf.setBackend('native');
    const a = await run('native', 'tfjs', 3);
    const b = await run('native', 'fused', 3);
    // swap states: plain -> fused and fused -> plain, then one more step each from the same values
    const next = async (from: typeof a, make: 'fused' | 'tfjs') => {
      const { vars, loss } = problem();
      vars.forEach((v, i) => v.assign(tf.tensor(from.values[i], v.shape)));
      const opt = make === 'fused' ? adam(1e-2, 0.5, 0.999) : (tf.train.adam(1e-2, 0.5, 0.999) as tf.AdamOptimizer);
      const names = vars.map((v) => v.name);
      await opt.setWeights(
        from.weights.map((w, i) => ({
          name: i === 0 ? w.name : w.name.replace(/^adamtest\d+_(\d+)/, (_, k) => names[Number(k)]),
          tensor: tf.tensor(w.data, i === 0 ? [] : vars[(i - 1) % vars.length].shape),
        })),
      );
      opt.minimize(() => loss(3), false, vars);
      return vars.map((v) => v.dataSync().slice());
    };
    const viaFused = await next(a, 'fused');
    const viaPlain = await next(a, 'tfjs');
    viaFused.forEach((v, i) => expect(relError(viaPlain[i], v)).toBeLessThanOrEqual(TOL));
    const back = await next(b, 'tfjs');
    const same = await next(b, 'fused');
    back.forEach((v, i) => expect(relError(same[i], v)).toBeLessThanOrEqual(TOL));
  });
});
