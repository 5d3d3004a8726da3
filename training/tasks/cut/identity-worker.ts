/**
 * CUT's identity half in a worker thread (a half-step worker, ../shared/half-worker.ts).
 *
 * CUT's L_G is lambdaGan * L_adv(D(G(x))) + lambdaNce * (NCE(G(x), x) + NCE(G(y), y)) / 2: the
 * identity term only reads G and the MLP heads, so with their weights copied to a worker at the
 * start of a step it runs there (G(y), its NCE against y's keys, the gradient) while the training
 * thread computes the x half; the training thread sums the two gradients and applies the update.
 * The patch locations of y are drawn in the training thread (the same RNG draws, in the same
 * order, as a one-thread step), so the two ways compute the same step. FastCUT has no identity
 * half and stays on one thread.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HalfWorker, floatsOf, planHalfWorker, readGrads, writeVars, type RegionSpec } from '../shared/half-worker';
import type { CutOptions, CutTrainer } from './trainer';

/** What the worker receives at start: the run's options (JSON) and the variable shapes it must reproduce. */
export interface IdentityWorkerData {
  opts: CutOptions;
  gShapes: number[][];
  dShapes: number[][];
  layers: number;
}

export function identityRegions(gVars: { size: number }[], dVars: { size: number }[], image: number, layers: number, numPatches: number): RegionSpec {
  return {
    weightsG: { kind: 'f32', size: floatsOf(gVars) },
    weightsD: { kind: 'f32', size: floatsOf(dVars) },
    gradsD: { kind: 'f32', size: floatsOf(dVars) },
    dScalars: { kind: 'f32', size: 3 }, // value, loss, accuracy
    dPresent: { kind: 'i32', size: dVars.length },
    realB: { kind: 'f32', size: image },
    gradsG: { kind: 'f32', size: floatsOf(gVars) },
    scalars: { kind: 'f32', size: 2 }, // value, nceIdt
    ids: { kind: 'i32', size: layers * numPatches },
    idCounts: { kind: 'i32', size: layers },
    flip: { kind: 'i32', size: 1 },
    gPresent: { kind: 'i32', size: gVars.length },
  };
}

/** Whether a CUT run can use the identity worker (see planHalfWorker); otherwise why not. */
export function planIdentityWorker(opts: Pick<CutOptions, 'nceIdt' | 'lambdaNce'>, backend: string, cores?: number): { threads: number } | { why: string } {
  if (!opts.nceIdt || !(opts.lambdaNce > 0)) return { why: 'no identity NCE (FastCUT): nothing to split' };
  return planHalfWorker(backend, cores);
}

export class IdentityWorker {
  private constructor(
    private readonly half: HalfWorker,
    private readonly gVars: tf.Variable[],
    private readonly dVars: tf.Variable[],
    private readonly numPatches: number,
  ) {}

  static async start(trainer: CutTrainer, threads: number): Promise<IdentityWorker> {
    const gVars = trainer.generatorVars();
    const o = trainer.opts;
    const layers = trainer.heads.length;
    const dVars = trainer.discriminatorVars();
    const data: IdentityWorkerData = { opts: JSON.parse(JSON.stringify(o)) as CutOptions, gShapes: gVars.map((v) => v.shape), dShapes: dVars.map((v) => v.shape), layers };
    const regions = identityRegions(gVars, dVars, o.batchSize * o.crop * o.crop * 3, layers, o.numPatches);
    const half = await HalfWorker.start('identity', new URL('./identity-handlers.ts', import.meta.url), regions, data, threads);
    return new IdentityWorker(half, gVars, dVars, o.numPatches);
  }

  /** Sends this step's weights of G and the heads, real y, y's patch locations and the flip, and starts the identity half. */
  startIdentityHalf(bData: Float32Array, ids: Int32Array[], flip: boolean): void {
    const v = this.half.views;
    writeVars(v.f32('weightsG'), this.gVars);
    v.f32('realB').set(bData);
    const all = v.i32('ids');
    ids.forEach((layer, i) => {
      all.set(layer, i * this.numPatches);
      v.i32('idCounts')[i] = layer.length;
    });
    v.i32('flip')[0] = flip ? 1 : 0;
    this.half.post('identity');
  }

  /** The identity half: its loss, gradient (keyed by this thread's variable names) and NCE value. */
  identityHalf(): { value: tf.Scalar; grads: tf.NamedTensorMap; nceIdt: tf.Scalar } {
    this.half.wait('identity');
    const v = this.half.views;
    const s = v.f32('scalars');
    return { value: tf.scalar(s[0]), grads: readGrads(v.f32('gradsG'), v.i32('gPresent'), this.gVars), nceIdt: tf.scalar(s[1]) };
  }

  /**
   * Sends D's weights (this step's, before its update) and starts the real half of the split D
   * step on the real y already sent with the identity half.
   */
  startRealHalf(): void {
    writeVars(this.half.views.f32('weightsD'), this.dVars);
    this.half.post('real');
  }

  /** The real half of the split D step: its loss (halved), gradient over D, loss and accuracy. */
  realHalf(): { value: tf.Scalar; grads: tf.NamedTensorMap; loss: tf.Scalar; acc: tf.Scalar } {
    this.half.wait('real');
    const v = this.half.views;
    const s = v.f32('dScalars');
    return { value: tf.scalar(s[0]), grads: readGrads(v.f32('gradsD'), v.i32('dPresent'), this.dVars), loss: tf.scalar(s[1]), acc: tf.scalar(s[2]) };
  }

  /** Drops the answer of a request a failed step left pending (see HalfWorker.drain). */
  drain(): boolean {
    return this.half.drain();
  }

  terminate(): void {
    this.half.terminate();
  }
}
