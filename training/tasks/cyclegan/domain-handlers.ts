/**
 * The requests a CycleGAN domain worker answers (domain-worker.ts; run by
 * ../shared/half-worker-thread.ts), each on the weights the training thread copied in at the
 * start of the step:
 *   'generator':     half b of L_G (F(b) judged by D_A, the cycle G(F(b)), G's identity on b) and its
 *                    gradient over G's and F's weights, plus F(b) for the image pool;
 *   'discriminator': D_A's half of L_D on real a and the pooled F(b), and its gradient over D_A.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assignVars, writeGrads, type HalfViews } from '../shared/half-worker';
import type { HalfHandlers } from '../shared/half-worker-thread';
import { D_SCALARS, G_SCALARS, type DomainWorkerData } from './domain-worker';
import { CycleGanTrainer } from './trainer';

const sameShapes = (a: number[][], b: number[][]): boolean => a.length === b.length && a.every((s, i) => s.join() === b[i].join());

export async function init(v: HalfViews, raw: unknown): Promise<HalfHandlers> {
  const { opts, gShapes, daShapes } = raw as DomainWorkerData;
  const t = await CycleGanTrainer.create({ ...opts, ema: undefined });
  const gVars = t.generatorVars();
  const daVars = t.discriminatorVars('a');
  if (!sameShapes(gVars.map((x) => x.shape), gShapes) || !sameShapes(daVars.map((x) => x.shape), daShapes)) {
    throw new Error("the networks built from the run options differ from the training thread's");
  }
  const shape: [number, number, number, number] = [opts.batchSize, opts.crop, opts.crop, 3];
  return {
    generator: () => {
      assignVars(v.f32('weightsG'), gVars);
      assignVars(v.f32('weightsDA'), daVars);
      const realB = tf.tensor4d(v.f32('realB'), shape);
      const h = t.generatorHalfOf('b', realB);
      try {
        writeGrads(v.f32('gradsG'), v.i32('gPresent'), gVars, h.grads);
        v.f32('fakeA').set(h.fake.dataSync() as Float32Array);
        G_SCALARS.forEach((k, i) => (v.f32('gScalars')[i] = h[k].dataSync()[0]));
      } finally {
        tf.dispose([realB, h.fake, h.adv, h.cycle, h.idt, Object.values(h.grads)]);
      }
    },
    discriminator: () => {
      const realA = tf.tensor4d(v.f32('realA'), shape);
      const pooled = tf.tensor4d(v.f32('pooledA'), shape);
      const eps = tf.tensor4d(v.f32('epsA'), [opts.batchSize, 1, 1, 1]);
      const d = t.discriminatorHalf('a', realA, pooled, eps);
      try {
        writeGrads(v.f32('gradsDA'), v.i32('daPresent'), daVars, d.grads);
        const scalars = { value: d.value, ...d.parts };
        D_SCALARS.forEach((k, i) => (v.f32('dScalars')[i] = scalars[k].dataSync()[0]));
      } finally {
        tf.dispose([realA, pooled, eps, d.value, Object.values(d.parts), Object.values(d.grads)]);
      }
    },
  };
}
