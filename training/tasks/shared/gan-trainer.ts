/**
 * What the CycleGAN and CUT trainers share: the optimiser and schedule options, the metrics every
 * GAN step reports, the LR schedule, and the trainer core: options, seeded RNG, one Adam for the
 * generator side and one for the discriminator side, the LR scale that divergence rollbacks halve,
 * where the newest checkpoint is, and DiffAugment in front of the discriminators (augment, augmented).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../data/unpaired';
import { findLatestCheckpoint, loadCheckpointWithAverages, type RestoredCheckpoint } from '../../checkpoint';
import { adam } from '../../backends/fused-adam';
import type { NetOptions } from '../../models/gan';
import { averagedName, WeightAverage } from '../../models/weight-average';
import { diffAugment, parseDiffAugPolicy, type DiffAugPolicy } from '../../models/diffaugment';
import type { GanLoss } from '../cyclegan/losses';

export interface GanTrainerOptions extends NetOptions {
  loss: GanLoss;
  /** WGAN-GP penalty weight. */
  gpWeight: number;
  lr: number;
  /** Discriminator LR (default: lr). */
  lrD: number;
  beta1: number;
  batchSize: number;
  crop: number;
  /** Total steps; LR constant until decayFrom, then linear to 0 at steps. */
  steps: number;
  decayFrom: number;
  seed: number;
  /**
   * DiffAugment policy for everything the discriminators see ('none' or e.g.
   * 'color,translation,cutout'; absent: off, as in runs from before the option).
   */
  diffAug?: string;
  /**
   * Keep an exponential moving average of the generators' weights with this decay (e.g. 0.999;
   * training/models/weight-average.ts), saved as G-ema (and F-ema) in every checkpoint; the
   * learning curve, export and shipping use it. Absent: none.
   */
  ema?: number;
}

/** The metrics of one GAN step (a task's trainer adds its own losses). */
export interface GanStepMetrics {
  step: number;
  gAdv: number;
  dReal: number;
  dFake: number;
  gp: number;
  dAccReal: number;
  dAccFake: number;
  gradNormG: number;
  gradNormD: number;
  lr: number;
  /** False when a loss or gradient norm was NaN/Inf and the update was skipped. */
  applied: boolean;
}

export type Vars = tf.Variable[];
export type Grads = Parameters<tf.AdamOptimizer['applyGradients']>[0];

/** The trainable variables of some models, in order. */
export const varsOf = (...models: tfl.LayersModel[]): Vars =>
  models.flatMap((m) => m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));

/** LR at `step`: constant, then linear decay to 0 (the paper's 100 + 100 epochs, in steps). */
export function lrAt(o: Pick<GanTrainerOptions, 'steps' | 'decayFrom'>, base: number, step: number): number {
  if (step < o.decayFrom) return base;
  const span = Math.max(1, o.steps - o.decayFrom);
  return base * Math.max(0, 1 - (step - o.decayFrom) / span);
}

/** State and setup both GAN trainers share; the subclass owns the networks and the step itself. */
export abstract class GanTrainerCore<O extends GanTrainerOptions> {
  step = 0;
  /** Multiplies both LRs; halved on every divergence rollback. */
  lrScale = 1;
  rng: Rng;
  readonly optG: tf.AdamOptimizer;
  readonly optD: tf.AdamOptimizer;
  /** The parsed DiffAugment policy (empty: off). */
  readonly diffAugPolicy: DiffAugPolicy;
  /** Weight averages of the generators by checkpoint name (G, F), when opts.ema is set. */
  averages: Record<string, { of: tfl.LayersModel; average: WeightAverage }> = {};

  protected constructor(
    readonly opts: O,
    /** Trained by optG: the generators (and whatever trains with them). */
    protected readonly gVars: Vars,
    /** Trained by optD: the discriminators. */
    protected readonly dVars: Vars,
  ) {
    this.diffAugPolicy = parseDiffAugPolicy(opts.diffAug ?? '');
    this.rng = new Rng(opts.seed);
    this.optG = adam(opts.lr, opts.beta1, 0.999);
    this.optD = adam(opts.lrD, opts.beta1, 0.999);
  }

  /**
   * T(x) before a discriminator (training/models/diffaugment.ts), with fresh random parameters from
   * the run's RNG; with DiffAugment off this is x itself and draws nothing, so a run without the
   * option computes and draws exactly what it did before the option existed.
   */
  protected augment(x: tf.Tensor): tf.Tensor {
    return this.diffAugPolicy.length ? diffAugment(x as tf.Tensor4D, this.diffAugPolicy, this.rng) : x;
  }

  /** A discriminator that sees T(x) instead of x (itself when DiffAugment is off). */
  protected augmented(d: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
    return this.diffAugPolicy.length ? (x) => d(this.augment(x)) : d;
  }

  /** The generators by checkpoint name (G, and F for CycleGAN): what the weight averages follow. */
  protected abstract generatorModels(): Record<string, tfl.LayersModel>;

  /** Starts the weight averages of the generators at their current weights when opts.ema is set. */
  protected async startAverages(): Promise<void> {
    if (this.opts.ema === undefined) return;
    for (const [name, of] of Object.entries(this.generatorModels())) this.averages[name] = { of, average: await WeightAverage.start(of, this.opts.ema) };
  }

  /**
   * Loads a checkpoint into `models` and `optimizers`, and the weight averages it holds; averages
   * asked for (opts.ema) that it lacks start at its weights (a run resumed with a new --ema, or a
   * rollback to the checkpoint the averages started after).
   */
  protected async loadWithAverages(checkpointDir: string, models: Record<string, tfl.LayersModel>, optimizers: Record<string, tf.Optimizer>): Promise<RestoredCheckpoint> {
    if (this.opts.ema !== undefined && !Object.keys(this.averages).length) await this.startAverages();
    return loadCheckpointWithAverages(checkpointDir, { models, optimizers }, this.averages);
  }

  /** The averaged generators as checkpoint models (G-ema, F-ema). */
  protected averagedModels(): Record<string, tfl.LayersModel> {
    return Object.fromEntries(Object.entries(this.averages).map(([name, a]) => [averagedName(name), a.average.model]));
  }

  /** The averages' state for a checkpoint (absent without averages). */
  protected averagesState(): { ema?: { decay: number; updates: number } } {
    const first = Object.values(this.averages)[0];
    return first ? { ema: first.average.state() } : {};
  }

  static async latest(dir: string): Promise<string | null> {
    return findLatestCheckpoint(dir);
  }

  currentLr(): { g: number; d: number } {
    return {
      g: lrAt(this.opts, this.opts.lr, this.step) * this.lrScale,
      d: lrAt(this.opts, this.opts.lrD, this.step) * this.lrScale,
    };
  }

  /** Sets both optimisers to this step's learning rates; returns them. */
  protected applyLearningRates(): { g: number; d: number } {
    const lr = this.currentLr();
    (this.optG as unknown as { learningRate: number }).learningRate = lr.g;
    (this.optD as unknown as { learningRate: number }).learningRate = lr.d;
    return lr;
  }

  /** Step, RNG and LR scale from a loaded checkpoint. */
  protected restoreProgress(step: number, state: Record<string, unknown>): void {
    const s = state as { rng: number; lrScale?: number };
    this.step = step;
    this.rng = new Rng(s.rng);
    this.lrScale = s.lrScale ?? 1;
  }

  /**
   * One network's update in a step: reads its loss parts and gradient norm (as `normKey`) into
   * `m`, applies the gradients with `opt` when those named in `finite` and the norm are all finite
   * and `allowed` (D is not updated after a bad G step), and disposes the update's tensors.
   * Returns whether the values were finite.
   */
  protected update(
    opt: tf.AdamOptimizer,
    out: { value: tf.Tensor; grads: tf.NamedTensorMap; norm: tf.Tensor },
    parts: Record<string, tf.Scalar>,
    m: Record<string, number>,
    normKey: 'gradNormG' | 'gradNormD',
    finite: string[],
    allowed = true,
  ): boolean {
    for (const [k, v] of Object.entries(parts)) m[k] = v.dataSync()[0];
    m[normKey] = out.norm.dataSync()[0];
    const ok = [...finite, normKey].every((k) => Number.isFinite(m[k]));
    if (ok && allowed) opt.applyGradients(out.grads as unknown as Grads);
    tf.dispose([out.value, out.norm, Object.values(out.grads), Object.values(parts)]);
    return ok;
  }

  /**
   * Ends a step: counts it when it was applied and returns its metrics, the task's generator
   * losses after gAdv and its `extra` values after the gradient norms (the order of the
   * metrics.jsonl rows).
   */
  protected finishStep<L extends object, X extends object>(
    m: Record<string, number>,
    applied: boolean,
    lr: { g: number },
    gAdv: number,
    gLosses: L,
    extra: X,
  ): GanStepMetrics & L & X {
    if (applied) {
      this.step++;
      for (const a of Object.values(this.averages)) a.average.update(a.of);
    }
    return {
      step: this.step,
      gAdv,
      ...gLosses,
      dReal: m.dReal ?? NaN,
      dFake: m.dFake ?? NaN,
      gp: m.gp ?? 0,
      dAccReal: m.accReal ?? NaN,
      dAccFake: m.accFake ?? NaN,
      gradNormG: m.gradNormG,
      gradNormD: m.gradNormD ?? NaN,
      ...extra,
      lr: lr.g,
      applied,
    };
  }

  protected disposeOptimizers(): void {
    this.optG.dispose();
    this.optD.dispose();
    for (const a of Object.values(this.averages)) a.average.dispose();
  }
}
