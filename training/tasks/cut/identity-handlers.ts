/**
 * The requests a CUT identity worker answers (identity-worker.ts; run by
 * ../shared/half-worker-thread.ts), on the weights the training thread copied in:
 *   'identity': y's keys at the given patch locations, then lambdaNce * NCE(G(y), y) / 2 and its
 *               gradient over G and the heads;
 *   'real':     the real half of the split D step, 1/2 L_adv(D(y), real), and its gradient over D.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assignVars, writeGrads, type HalfViews } from '../shared/half-worker';
import type { HalfHandlers } from '../shared/half-worker-thread';
import type { IdentityWorkerData } from './identity-worker';
import { CutTrainer } from './trainer';

export async function init(v: HalfViews, raw: unknown): Promise<HalfHandlers> {
  const { opts, gShapes, dShapes, layers } = raw as IdentityWorkerData;
  const t = await CutTrainer.create({ ...opts, ema: undefined, teacher: undefined }); // the identity half reads neither
  const gVars = t.generatorVars();
  const dVars = t.discriminatorVars();
  const sameShapes = (vars: tf.Variable[], shapes: number[][]): boolean => vars.length === shapes.length && vars.every((x, i) => x.shape.join() === shapes[i].join());
  const same = sameShapes(gVars, gShapes) && sameShapes(dVars, dShapes) && t.heads.length === layers;
  if (!same) throw new Error("the networks built from the run options differ from the training thread's");
  const shape: [number, number, number, number] = [opts.batchSize, opts.crop, opts.crop, 3];
  return {
    identity: () => {
      assignVars(v.f32('weightsG'), gVars);
      const counts = v.i32('idCounts');
      const ids = Array.from({ length: layers }, (_, i) => v.i32('ids').slice(i * opts.numPatches, i * opts.numPatches + counts[i]));
      const realB = tf.tensor4d(v.f32('realB'), shape);
      const keys = t.keys(realB, ids);
      try {
        const y = t.generatorHalfY(realB, keys, v.i32('flip')[0] === 1);
        try {
          writeGrads(v.f32('gradsG'), v.i32('gPresent'), gVars, y.grads);
          v.f32('scalars')[0] = y.value.dataSync()[0];
          v.f32('scalars')[1] = y.nceIdt.dataSync()[0];
        } finally {
          tf.dispose([y.value, y.nceIdt, Object.values(y.grads)]);
        }
      } finally {
        tf.dispose([realB, keys.k]);
      }
    },
    real: () => {
      assignVars(v.f32('weightsD'), dVars);
      const realB = tf.tensor4d(v.f32('realB'), shape);
      const d = t.discriminatorHalf(true, realB);
      try {
        writeGrads(v.f32('gradsD'), v.i32('dPresent'), dVars, d.grads);
        [d.value, d.loss, d.acc].forEach((x, i) => (v.f32('dScalars')[i] = x.dataSync()[0]));
      } finally {
        tf.dispose([realB, d.value, d.loss, d.acc, Object.values(d.grads)]);
      }
    },
  };
}
