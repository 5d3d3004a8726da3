/**
 * An exponential moving average (EMA) of a model's weights, kept as a second model of the same
 * architecture: after every optimiser update, averaged = d * averaged + (1 - d) * current.
 *
 * Averaging the iterates smooths out the last steps' noise: the EMA generator of GAN training
 * (Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training"; StyleGAN's G_ema)
 * and BasicSR's `ema_decay: 0.999` for super-resolution. The decay warms up as TensorFlow's
 * ExponentialMovingAverage with num_updates: d = min(decay, (1 + n) / (10 + n)) for the n-th
 * update, so an average started from a trained model (or mid-run) follows it closely at first
 * instead of being dominated by where it started.
 *
 * The averaged model is a plain tfjs layers model: trainers save it in their checkpoints beside
 * the trained one (`generator-ema`, `G-ema`, `F-ema`), validation, export and shipping use it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import './layers';

/** The decay a new training run uses unless told otherwise (BasicSR's `ema_decay`). */
export const DEFAULT_EMA = 0.999;

/**
 * The decay a training command line asks for: `--ema D` (value D), `--no-ema` (false) or neither
 * (undefined). A new run keeps an average with DEFAULT_EMA unless --no-ema; a resume keeps what its
 * checkpoint has (undefined here) unless --ema is given.
 */
export function emaFromCli(value: number | false | undefined, resume: boolean): number | undefined {
  if (value === false) return undefined;
  if (value !== undefined) return checkDecay(value);
  return resume ? undefined : DEFAULT_EMA;
}

/** The checkpoint name of the averaged copy of model `name`. */
export const averagedName = (name: string): string => `${name}-ema`;

export function checkDecay(decay: number, flag = '--ema'): number {
  if (!(Number.isFinite(decay) && decay > 0 && decay < 1)) {
    throw new Error(`${flag} must be a decay strictly between 0 and 1 (e.g. 0.999), got ${decay}`);
  }
  return decay;
}

/** A copy of a model (architecture and current weights), built in memory. */
export async function cloneModel(source: tfl.LayersModel): Promise<tfl.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await source.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
}

const variableOf = (w: tfl.LayerVariable): tf.Variable => (w as unknown as { val: tf.Variable }).val;

export class WeightAverage {
  private constructor(
    /** The averaged model (same architecture as the trained one). */
    readonly model: tfl.LayersModel,
    readonly decay: number,
    /** Updates so far (drives the warm-up of the decay). */
    public updates: number,
  ) {}

  /** Starts an average at `source`'s current weights. */
  static async start(source: tfl.LayersModel, decay: number, updates = 0): Promise<WeightAverage> {
    return new WeightAverage(await cloneModel(source), checkDecay(decay), updates);
  }

  /** The decay the next update uses. */
  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  /** averaged = d * averaged + (1 - d) * source, for every weight (in order; shapes must match). */
  update(source: tfl.LayersModel): void {
    const src = source.weights;
    const dst = this.model.weights;
    if (src.length !== dst.length) throw new Error(`WeightAverage: the model has ${src.length} weights, the average ${dst.length}`);
    const d = this.currentDecay();
    tf.tidy(() => {
      const keep = tf.scalar(d);
      const take = tf.scalar(1 - d);
      src.forEach((w, i) => {
        const a = variableOf(dst[i]);
        a.assign(tf.add(tf.mul(a, keep), tf.mul(variableOf(w), take)));
      });
    });
    this.updates++;
  }

  /** Starts over at `source`'s current weights (after a rollback to a checkpoint without an average). */
  restartAt(source: tfl.LayersModel): void {
    this.model.setWeights(source.getWeights());
    this.updates = 0;
  }

  /** What a checkpoint keeps besides the averaged model's weights. */
  state(): { decay: number; updates: number } {
    return { decay: this.decay, updates: this.updates };
  }

  dispose(): void {
    this.model.dispose();
  }
}
