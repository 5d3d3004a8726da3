/**
 * The MirrorPad gradient Ganvas registers (tfjs-core's drops the reflected borders), checked
 * against central finite differences of L(x) = sum(w * mirrorPad(x)) on cpu and wasm.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerGanvasGradients } from '../../training/backends/gradients';
import { randomValues, relError, sizeOf } from './helpers';

type Mode = 'reflect' | 'symmetric';
const CASES: { shape: number[]; paddings: [number, number][]; mode: Mode }[] = [
  { shape: [2, 5, 6, 3], paddings: [[0, 0], [2, 1], [1, 3], [0, 0]], mode: 'reflect' },
  { shape: [1, 4, 5, 2], paddings: [[0, 0], [3, 3], [4, 2], [0, 0]], mode: 'reflect' },
  { shape: [2, 4, 3, 3], paddings: [[0, 0], [4, 2], [1, 3], [0, 0]], mode: 'symmetric' },
  { shape: [7], paddings: [[3, 5]], mode: 'symmetric' },
  { shape: [1, 6, 5, 3], paddings: [[0, 0], [1, 1], [1, 1], [0, 0]], mode: 'reflect' },
  { shape: [3, 5], paddings: [[1, 2], [4, 1]], mode: 'reflect' },
];

beforeAll(() => registerGanvasGradients());

describe('MirrorPad gradient', () => {
  for (const backend of ['cpu', 'wasm']) {
    for (const c of CASES) {
      it(`${backend}: ${c.mode} [${c.shape}] pad ${JSON.stringify(c.paddings)} matches finite differences`, async () => {
        await tf.setBackend(backend);
        const xv = randomValues(sizeOf(c.shape), 7);
        const paddedShape = c.shape.map((s, i) => s + c.paddings[i][0] + c.paddings[i][1]);
        const w = tf.tensor(randomValues(sizeOf(paddedShape), 8), paddedShape);
        const loss = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.mirrorPad(x, c.paddings, c.mode), w));
        const analytic = tf.tidy(() => tf.grad(loss)(tf.tensor(xv, c.shape)));
        const got = (await analytic.data()) as Float32Array;
        analytic.dispose();
        // L is linear in x, so a central difference with a large step is exact up to rounding.
        const h = 0.5;
        const numeric = new Float32Array(xv.length);
        for (let i = 0; i < xv.length; i++) {
          const plus = xv.slice();
          const minus = xv.slice();
          plus[i] += h;
          minus[i] -= h;
          const lp = tf.tidy(() => loss(tf.tensor(plus, c.shape)));
          const lm = tf.tidy(() => loss(tf.tensor(minus, c.shape)));
          numeric[i] = ((await lp.data())[0] - (await lm.data())[0]) / (2 * h);
          lp.dispose();
          lm.dispose();
        }
        expect(relError(numeric, got)).toBeLessThan(1e-3);
        // and the border really matters here: a centre-only slice of dy would be far off
        const centreOnly = tf.tidy(() => tf.slice(w, c.paddings.map((p) => p[0]), c.shape));
        expect(relError(numeric, (await centreOnly.data()) as Float32Array)).toBeGreaterThan(0.1);
        centreOnly.dispose();
        w.dispose();
      });
    }
  }
});
