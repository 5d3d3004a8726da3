/**
 * Domain-parallel CycleGAN steps: a worker thread (a half-step worker, ../shared/half-worker.ts)
 * computes the halves of a step that belong to real domain B while the training thread computes
 * domain A's.
 *
 * A CycleGAN step is symmetric in its two domains: L_G is the sum of a half that starts from real a
 * (G(a) judged by D_B, the cycle F(G(a)), F's identity on a) and its mirror image from real b, and
 * L_D is D_A's loss plus D_B's. The halves only read the networks, so with the weights of G, F and
 * D_A copied to the worker at the start of a step, its half b and D_A half run alongside the
 * training thread's half a and D_B half. Everything stateful stays in the training thread: the
 * optimisers (the sums are the ones a one-thread step takes, a's + b's), the image pools and the
 * RNG (the same draws, in the same order), the weight averages and the checkpoints, so a
 * checkpoint never depends on whether a worker ran. DiffAugment draws from the RNG inside the
 * halves, so runs with it stay on one thread.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HalfWorker, floatsOf, planHalfWorker, readGrads, writeVars, type RegionSpec } from '../shared/half-worker';
import type { CycleGanTrainer, DiscriminatorHalf, GeneratorHalf, TrainerOptions } from './trainer';

/** The G half's scalars and the D half's, in the order of their regions. */
export const G_SCALARS = ['adv', 'cycle', 'idt'] as const;
export const D_SCALARS = ['value', 'dReal', 'dFake', 'accReal', 'accFake', 'gp'] as const;

/** The shared buffer's regions for networks with these variables and a batch of `image` floats. */
export function domainRegions(gVars: { size: number }[], daVars: { size: number }[], image: number, batch: number): RegionSpec {
  const f = (size: number) => ({ kind: 'f32' as const, size });
  const i = (size: number) => ({ kind: 'i32' as const, size });
  return {
    weightsG: f(floatsOf(gVars)),
    weightsDA: f(floatsOf(daVars)),
    realA: f(image),
    realB: f(image),
    pooledA: f(image),
    epsA: f(batch),
    gradsG: f(floatsOf(gVars)),
    fakeA: f(image),
    gScalars: f(G_SCALARS.length),
    gradsDA: f(floatsOf(daVars)),
    dScalars: f(D_SCALARS.length),
    gPresent: i(gVars.length),
    daPresent: i(daVars.length),
  };
}

/** What the worker receives at start: the run's options (JSON) and the variable shapes it must reproduce. */
export interface DomainWorkerData {
  opts: TrainerOptions;
  gShapes: number[][];
  daShapes: number[][];
}

/**
 * Whether a run can use a domain worker (see planHalfWorker), and the onnxruntime threads of each
 * side; otherwise why not.
 */
export function planDomainWorker(opts: Pick<TrainerOptions, 'diffAug'>, backend: string, cores?: number): { threads: number } | { why: string } {
  if (opts.diffAug && opts.diffAug !== 'none') return { why: 'DiffAugment draws from the RNG inside each half, so the halves must run in order' };
  return planHalfWorker(backend, cores);
}

export class DomainWorker {
  private constructor(
    private readonly half: HalfWorker,
    private readonly gVars: tf.Variable[],
    private readonly daVars: tf.Variable[],
    private readonly shape: [number, number, number, number],
  ) {}

  /** Starts a worker for `trainer` with `threads` onnxruntime threads; it builds the same networks (their shapes are compared). */
  static async start(trainer: CycleGanTrainer, threads: number): Promise<DomainWorker> {
    const gVars = trainer.generatorVars();
    const daVars = trainer.discriminatorVars('a');
    const { batchSize: n, crop } = trainer.opts;
    const data: DomainWorkerData = {
      opts: JSON.parse(JSON.stringify(trainer.opts)) as TrainerOptions,
      gShapes: gVars.map((v) => v.shape),
      daShapes: daVars.map((v) => v.shape),
    };
    const half = await HalfWorker.start('domain', new URL('./domain-handlers.ts', import.meta.url), domainRegions(gVars, daVars, n * crop * crop * 3, n), data, threads);
    return new DomainWorker(half, gVars, daVars, [n, crop, crop, 3]);
  }

  /** Sends this step's weights of G, F and D_A and the real b batch, and starts half b of L_G. */
  startGeneratorHalf(bData: Float32Array): void {
    const v = this.half.views;
    writeVars(v.f32('weightsG'), this.gVars);
    writeVars(v.f32('weightsDA'), this.daVars);
    v.f32('realB').set(bData);
    this.half.post('generator');
  }

  /** Half b of L_G, as tensors of this thread (the gradient keyed by this thread's variable names). */
  generatorHalf(): GeneratorHalf {
    this.half.wait('generator');
    const v = this.half.views;
    const s = v.f32('gScalars');
    return {
      fake: tf.tensor4d(v.f32('fakeA'), this.shape),
      adv: tf.scalar(s[0]),
      cycle: tf.scalar(s[1]),
      idt: tf.scalar(s[2]),
      grads: readGrads(v.f32('gradsG'), v.i32('gPresent'), this.gVars),
    };
  }

  /** Sends the real a batch, the pooled F(b) and WGAN-GP's weights, and starts D_A's half of L_D (at this step's D_A). */
  startDiscriminatorHalf(aData: Float32Array, pooledA: Float32Array, epsA: Float32Array): void {
    const v = this.half.views;
    v.f32('realA').set(aData);
    v.f32('pooledA').set(pooledA);
    v.f32('epsA').set(epsA);
    this.half.post('discriminator');
  }

  /** D_A's half of L_D, as tensors of this thread. */
  discriminatorHalf(): DiscriminatorHalf {
    this.half.wait('discriminator');
    const v = this.half.views;
    const d = v.f32('dScalars');
    const s = (k: (typeof D_SCALARS)[number]): tf.Scalar => tf.scalar(d[D_SCALARS.indexOf(k)]);
    return {
      value: s('value'),
      grads: readGrads(v.f32('gradsDA'), v.i32('daPresent'), this.daVars),
      parts: { dReal: s('dReal'), dFake: s('dFake'), accReal: s('accReal'), accFake: s('accFake'), gp: s('gp') },
    };
  }

  /** Drops the answer of a request a failed step left pending (see HalfWorker.drain). */
  drain(): boolean {
    return this.half.drain();
  }

  /** Sends a request and waits for its answer (tests: an unknown request must come back as the worker's error). */
  request(cmd: string): void {
    this.half.request(cmd);
  }

  terminate(): void {
    this.half.terminate();
  }
}
