/**
 * CycleGAN (Zhu et al. 2017) training state and one optimisation step.
 *
 * G: A -> B, F: B -> A, D_A judges A images, D_B judges B images. Per step (batch of real A and B):
 *   G step:  L_G = L_adv(D_B(G(a)), real) + L_adv(D_A(F(b)), real)
 *                + lambda * (|F(G(a)) - a|_1 + |G(F(b)) - b|_1)
 *                + lambda * lambdaIdt * (|G(b) - b|_1 + |F(a) - a|_1)
 *   D step:  L_D_B = 1/2 (L_adv(D_B(b), real) + L_adv(D_B(pool_B(G(a))), fake)), same for D_A
 *            (WGAN-GP: E[D(fake)] - E[D(real)] + 10 GP, no 1/2).
 * Adam (lr 2e-4, beta1 0.5) for the two generators together and the two discriminators together.
 * A step whose losses or gradient norms are not finite is not applied (the loop rolls back).
 * With DiffAugment (opts.diffAug, training/models/diffaugment.ts) every D above reads D(T(.)), T
 * drawn afresh for each call: real images, pooled fakes, G's and F's adversarial terms (gradients
 * flow through T into the generators) and WGAN-GP's interpolates (penalty on grad of D(T(x_hat))).
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadLayersModel, saveCheckpoint } from '../../checkpoint';
import { GanTrainerCore, varsOf, type GanStepMetrics, type GanTrainerOptions } from '../shared/gan-trainer';
import { dAccuracy, ganLoss, globalNorm, gradientPenalty, l1 } from './losses';
import { ImagePool } from './pool';
import { buildDiscriminator, buildGenerator } from './models';
import { DomainWorker } from './domain-worker';

export { lrAt } from '../shared/gan-trainer';

export interface TrainerOptions extends GanTrainerOptions {
  lambdaCycle: number;
  /** Identity loss weight, as a fraction of lambdaCycle (paper: 0.5). */
  lambdaIdt: number;
  poolSize: number;
}

export interface StepMetrics extends GanStepMetrics {
  gAdvA2B: number;
  gAdvB2A: number;
  cycle: number;
  idt: number;
}

/** One half of L_G (see CycleGanTrainer.generatorHalfOf): the translation, the loss parts and the gradient over all of gVars. */
export interface GeneratorHalf {
  fake: tf.Tensor;
  adv: tf.Scalar;
  cycle: tf.Scalar;
  idt: tf.Scalar;
  grads: tf.NamedTensorMap;
}

export interface GeneratorGradients {
  value: tf.Scalar;
  grads: tf.NamedTensorMap;
  norm: tf.Scalar;
  parts: Record<'advA2B' | 'advB2A' | 'cycle' | 'idt', tf.Scalar>;
  fakeA: tf.Tensor;
  fakeB: tf.Tensor;
}

/** One discriminator's half of L_D (see CycleGanTrainer.discriminatorHalf). */
export interface DiscriminatorHalf {
  value: tf.Scalar;
  grads: tf.NamedTensorMap;
  parts: Record<'dReal' | 'dFake' | 'accReal' | 'accFake' | 'gp', tf.Scalar>;
}

/**
 * L_G's gradient from its two halves: the sum of their gradients (a's + b's, as one tape of the
 * whole loss would give), their global norm, the loss and its parts, and the two translations.
 * Disposes the halves.
 */
export function combineGeneratorHalves(a: GeneratorHalf, b: GeneratorHalf): GeneratorGradients {
  try {
    return tf.tidy(() => {
      const grads: tf.NamedTensorMap = {};
      for (const k of new Set([...Object.keys(a.grads), ...Object.keys(b.grads)])) {
        grads[k] = a.grads[k] && b.grads[k] ? tf.add(a.grads[k], b.grads[k]) : (a.grads[k] ?? b.grads[k]).clone();
      }
      const parts = { advA2B: a.adv.clone(), advB2A: b.adv.clone(), cycle: tf.add(a.cycle, b.cycle) as tf.Scalar, idt: tf.add(a.idt, b.idt) as tf.Scalar };
      const value = tf.addN([parts.advA2B, parts.advB2A, parts.cycle, parts.idt]) as tf.Scalar;
      return { value, grads, norm: globalNorm(Object.values(grads)) as tf.Scalar, parts, fakeA: b.fake.clone(), fakeB: a.fake.clone() };
    });
  } finally {
    for (const h of [a, b]) tf.dispose([h.fake, h.adv, h.cycle, h.idt, Object.values(h.grads)]);
  }
}

/**
 * L_D = L_D_A + L_D_B from its halves: D_A's gradients then D_B's (the order of the trainer's
 * dVars), their global norm, and each loss part as the mean of the two discriminators'. Disposes the halves.
 */
export function combineDiscriminatorHalves(a: DiscriminatorHalf, b: DiscriminatorHalf): { dOut: { value: tf.Scalar; grads: tf.NamedTensorMap; norm: tf.Scalar }; dParts: Record<string, tf.Scalar> } {
  const grads = { ...a.grads, ...b.grads };
  const dParts: Record<string, tf.Scalar> = {};
  for (const k of Object.keys(a.parts) as (keyof DiscriminatorHalf['parts'])[]) dParts[k] = tf.tidy(() => tf.div(tf.add(a.parts[k], b.parts[k]), 2) as tf.Scalar);
  const value = tf.add(a.value, b.value) as tf.Scalar;
  const norm = tf.tidy(() => globalNorm(Object.values(grads)));
  tf.dispose([a.value, b.value, Object.values(a.parts), Object.values(b.parts)]);
  return { dOut: { value, grads, norm }, dParts };
}

export class CycleGanTrainer extends GanTrainerCore<TrainerOptions> {
  readonly poolA: ImagePool;
  readonly poolB: ImagePool;
  /**
   * The worker thread that computes half b of the G step and D_A's half of the D step while this
   * thread computes the other halves (training/tasks/cyclegan/domain-worker.ts); null: both here.
   */
  domainB: DomainWorker | null = null;

  private constructor(
    opts: TrainerOptions,
    readonly G: tfl.LayersModel,
    readonly F: tfl.LayersModel,
    readonly DA: tfl.LayersModel,
    readonly DB: tfl.LayersModel,
  ) {
    super(opts, varsOf(G, F), varsOf(DA, DB));
    this.poolA = new ImagePool(opts.poolSize);
    this.poolB = new ImagePool(opts.poolSize);
  }

  static async create(opts: TrainerOptions): Promise<CycleGanTrainer> {
    const G = await buildGenerator(opts, 'G_A2B', opts.seed * 1000 + 1);
    const F = await buildGenerator(opts, 'F_B2A', opts.seed * 1000 + 301);
    const DA = await buildDiscriminator(opts, 'D_A', opts.seed * 1000 + 601);
    const DB = await buildDiscriminator(opts, 'D_B', opts.seed * 1000 + 801);
    const t = new CycleGanTrainer(opts, G, F, DA, DB);
    await t.startAverages();
    return t;
  }

  protected generatorModels(): Record<string, tfl.LayersModel> {
    return { G: this.G, F: this.F };
  }

  /**
   * Rebuilds a trainer from a checkpoint: the architectures come from the checkpoint's own
   * model.json files, then weights, Adam state, pools, RNG, LR scale and step are restored.
   */
  static async resume(checkpointDir: string, override: Partial<TrainerOptions> = {}): Promise<CycleGanTrainer> {
    const load = (n: string) => loadLayersModel(path.join(checkpointDir, 'models', n));
    const [G, F, DA, DB] = [await load('G'), await load('F'), await load('DA'), await load('DB')];
    const meta = await import('../../checkpoint').then((m) => m.readCheckpointState(checkpointDir));
    const saved = meta.state.options as TrainerOptions;
    if (!saved) throw new Error(`${checkpointDir} is not a CycleGAN checkpoint (no options in its state)`);
    const t = new CycleGanTrainer({ ...saved, ...override }, G, F, DA, DB);
    await t.restore(checkpointDir);
    return t;
  }

  /** Restores everything but the architecture from a checkpoint into this trainer. */
  async restore(checkpointDir: string): Promise<void> {
    // Adam's slots are created lazily; restoring before the first step fills them.
    const r = await this.loadWithAverages(checkpointDir, { G: this.G, F: this.F, DA: this.DA, DB: this.DB }, { G: this.optG, D: this.optD });
    this.restoreProgress(r.step, r.state);
    this.poolA.restore(r.tensors.poolA);
    this.poolB.restore(r.tensors.poolB);
    for (const t of Object.values(r.tensors)) t.dispose();
  }

  async save(dir: string, extraState: Record<string, unknown> = {}, keep = 3): Promise<string> {
    const shape = [this.opts.crop, this.opts.crop, 3];
    const tensors: Record<string, tf.Tensor> = {};
    const pa = this.poolA.toTensor(shape);
    const pb = this.poolB.toTensor(shape);
    if (pa) tensors.poolA = pa;
    if (pb) tensors.poolB = pb;
    try {
      return await saveCheckpoint(
        dir,
        {
          step: this.step,
          models: { G: this.G, F: this.F, DA: this.DA, DB: this.DB, ...this.averagedModels() },
          optimizers: { G: this.optG, D: this.optD },
          tensors,
          state: { ...extraState, options: this.opts, rng: this.rng.state, lrScale: this.lrScale, ...this.averagesState() },
        },
        { keep },
      );
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }

  /**
   * The generators' loss and its gradient for real batches a and b. L_G is a sum of two halves,
   * one per real domain: a -> G -> D_B's verdict, the cycle F(G(a)) and F's identity on a; and
   * the mirror image for b. Its gradient is the sum of theirs, taken one half after the other so
   * that only one half's activations are on the tape at a time: this halves a step's peak memory
   * (a light-generator step at 256 px fits the 4 GiB wasm heap). Returns the summed gradients,
   * their global norm, the loss and its parts, and the two translations (kept for the D step).
   */
  generatorGradients(realA: tf.Tensor, realB: tf.Tensor): GeneratorGradients {
    return combineGeneratorHalves(this.generatorHalfOf('a', realA), this.generatorHalfOf('b', realB));
  }

  /**
   * One half of L_G by real domain: 'a' translates a with G, judged by D_B, back with F (F's
   * identity on a); 'b' the mirror image with F, D_A and G. Its gradient is over all of gVars.
   */
  generatorHalfOf(domain: 'a' | 'b', real: tf.Tensor): GeneratorHalf {
    const G = (x: tf.Tensor) => this.G.apply(x) as tf.Tensor;
    const F = (x: tf.Tensor) => this.F.apply(x) as tf.Tensor;
    // The adversarial terms judge T(G(a)) and T(F(b)) (DiffAugment; T is the identity when off).
    return domain === 'a'
      ? this.generatorHalf(G, F, this.augmented((x) => this.DB.apply(x) as tf.Tensor), real)
      : this.generatorHalf(F, G, this.augmented((x) => this.DA.apply(x) as tf.Tensor), real);
  }

  /** One half of L_G (see generatorGradients): g translates `real`, `back` returns it, `judge` is g's discriminator. */
  private generatorHalf(
    g: (x: tf.Tensor) => tf.Tensor,
    back: (x: tf.Tensor) => tf.Tensor,
    judge: (x: tf.Tensor) => tf.Tensor,
    real: tf.Tensor,
  ): GeneratorHalf {
    const o = this.opts;
    const kept: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => (kept.push(tf.keep(t)), t);
    const { value, grads } = tf.variableGrads(() => {
      const fake = keep(g(real));
      const adv = keep(ganLoss(o.loss, judge(fake), true));
      const cycle = keep(tf.mul(l1(back(fake), real), o.lambdaCycle) as tf.Scalar);
      const idt = keep(o.lambdaIdt > 0 ? (tf.mul(l1(back(real), real), o.lambdaCycle * o.lambdaIdt) as tf.Scalar) : tf.scalar(0));
      return tf.addN([adv, cycle, idt]) as tf.Scalar;
    }, this.gVars);
    value.dispose();
    const [fake, adv, cycle, idt] = kept as [tf.Tensor, tf.Scalar, tf.Scalar, tf.Scalar];
    return { fake, adv, cycle, idt, grads };
  }

  /**
   * Moves domain B's halves of every following step to a worker thread (domain-worker.ts) with
   * `threads` onnxruntime threads; the step computes the same sums either way.
   */
  async startDomainWorker(threads: number): Promise<void> {
    if (this.domainB) return;
    this.domainB = await DomainWorker.start(this, threads);
  }

  /** The generators' variables (G's, then F's): what optG trains and each half of L_G differentiates. */
  generatorVars(): tf.Variable[] {
    return this.gVars;
  }

  /** The discriminators' variables by the real domain their loss half belongs to ('a': D_A, 'b': D_B). */
  discriminatorVars(domain: 'a' | 'b'): tf.Variable[] {
    return varsOf(domain === 'a' ? this.DA : this.DB);
  }

  /**
   * One discriminator's half of L_D and its gradient over that discriminator's weights: D_B on
   * real b and pooled G(a) (domain 'b'), D_A on real a and pooled F(b) ('a'). `eps` are WGAN-GP's
   * interpolation weights (unused by the other losses).
   */
  discriminatorHalf(domain: 'a' | 'b', real: tf.Tensor, pooled: tf.Tensor, eps: tf.Tensor): DiscriminatorHalf {
    const o = this.opts;
    const net = domain === 'a' ? this.DA : this.DB;
    // The discriminators see T(x) (DiffAugment): real images, pooled fakes and WGAN-GP's interpolates.
    const D = this.augmented((x: tf.Tensor) => net.apply(x) as tf.Tensor);
    const parts: Partial<DiscriminatorHalf['parts']> = {};
    const { value, grads } = tf.variableGrads(() => {
      const half = o.loss === 'wgan-gp' ? 1 : 0.5;
      const dr = D(real);
      const df = D(pooled);
      const lr_ = ganLoss(o.loss, dr, true);
      const lf = ganLoss(o.loss, df, false);
      const acc = dAccuracy(o.loss, dr, df);
      let loss = tf.mul(tf.add(lr_, lf), half);
      let gp: tf.Scalar = tf.scalar(0);
      if (o.loss === 'wgan-gp') {
        gp = gradientPenalty(D, real, pooled, eps);
        loss = tf.add(loss, tf.mul(gp, o.gpWeight));
      }
      Object.assign(parts, { dReal: tf.keep(lr_), dFake: tf.keep(lf), accReal: tf.keep(acc.real), accFake: tf.keep(acc.fake), gp: tf.keep(gp) });
      return loss as tf.Scalar;
    }, this.discriminatorVars(domain));
    return { value, grads, parts: parts as DiscriminatorHalf['parts'] };
  }

  /** One G step and one D step on a batch of real A and B images (NHWC floats in [-1, 1]). */
  trainStep(aData: Float32Array, bData: Float32Array): StepMetrics {
    const o = this.opts;
    const n = o.batchSize;
    const shape: [number, number, number, number] = [n, o.crop, o.crop, 3];
    const lr = this.applyLearningRates();
    const realA = tf.tensor4d(aData, shape);
    const realB = tf.tensor4d(bData, shape);
    const remote = this.domainB;
    let applied = true;
    const m: Record<string, number> = {};
    try {
      // ---- generators: half b in the worker (when there is one) while this thread takes half a
      remote?.startGeneratorHalf(bData);
      const halfA = this.generatorHalfOf('a', realA);
      const halfB = remote ? remote.generatorHalf() : this.generatorHalfOf('b', realB);
      const { fakeA, fakeB, parts, ...gOut } = combineGeneratorHalves(halfA, halfB);
      const fbData = fakeB.dataSync() as Float32Array;
      const faData = fakeA.dataSync() as Float32Array;
      tf.dispose([fakeB, fakeA]);
      // ---- discriminators, on pooled fakes (RNG draws in the order of the sequential step)
      const pooledBData = this.poolB.query(fbData, n, this.rng);
      const pooledAData = this.poolA.query(faData, n, this.rng);
      const epsAData = Float32Array.from({ length: n }, () => this.rng.next());
      const epsBData = Float32Array.from({ length: n }, () => this.rng.next());
      remote?.startDiscriminatorHalf(aData, pooledAData, epsAData);
      // the G update does not change what the D step computes, so it runs while the worker works
      const gOk = this.update(this.optG, gOut, parts, m, 'gradNormG', ['advA2B', 'advB2A', 'cycle', 'idt']);
      const pooledB = tf.tensor4d(pooledBData, shape);
      const epsB = tf.tensor4d(epsBData, [n, 1, 1, 1]);
      const dB = this.discriminatorHalf('b', realB, pooledB, epsB);
      tf.dispose([pooledB, epsB]);
      let dA: DiscriminatorHalf;
      if (remote) dA = remote.discriminatorHalf();
      else {
        const pooledA = tf.tensor4d(pooledAData, shape);
        const epsA = tf.tensor4d(epsAData, [n, 1, 1, 1]);
        dA = this.discriminatorHalf('a', realA, pooledA, epsA);
        tf.dispose([pooledA, epsA]);
      }
      const { dOut, dParts } = combineDiscriminatorHalves(dA, dB);
      const dOk = this.update(this.optD, dOut, dParts, m, 'gradNormD', ['dReal', 'dFake', 'gp'], gOk);
      applied = gOk && dOk;
    } finally {
      tf.dispose([realA, realB]);
      remote?.drain();
    }
    return this.finishStep(m, applied, lr, m.advA2B + m.advB2A, { gAdvA2B: m.advA2B, gAdvB2A: m.advB2A, cycle: m.cycle, idt: m.idt }, {});
  }

  /** Translates NHWC [-1, 1] images with G (AtoB) or F (BtoA). */
  translate(x: tf.Tensor4D, direction: 'AtoB' | 'BtoA'): tf.Tensor4D {
    return tf.tidy(() => (direction === 'AtoB' ? this.G : this.F).apply(x) as tf.Tensor4D);
  }

  dispose(): void {
    this.domainB?.terminate();
    this.domainB = null;
    for (const m of [this.G, this.F, this.DA, this.DB]) m.dispose();
    this.disposeOptimizers();
  }
}
