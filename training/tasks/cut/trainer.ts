/**
 * CUT and FastCUT (Park, Efros, Zhang, Zhu, ECCV 2020, "Contrastive Learning for Unpaired
 * Image-to-Image Translation"): one generator G: X -> Y, one PatchGAN D judging Y, and PatchNCE
 * between the encoder features of x and of G(x) instead of a second generator and a cycle.
 *
 * Per step (batch of real x and y):
 *   G step:  L_G = lambdaGan * L_adv(D(G(x)), real) + lambdaNce * NCE(G(x), x)          (FastCUT)
 *            L_G = lambdaGan * L_adv(D(G(x)), real) + lambdaNce * (NCE(G(x), x) + NCE(G(y), y)) / 2   (CUT)
 *            NCE is averaged over the encoder layers (training/models/encoder-layers), each with
 *            its own MLP head (trained with G, same Adam settings) and fresh patch locations.
 *            FastCUT also enforces flip equivariance: with probability 1/2 the input is flipped
 *            and the query features are flipped back before they are compared.
 *   D step:  L_D = 1/2 (L_adv(D(y), real) + L_adv(D(G(x)), fake))   (WGAN-GP: no 1/2, + GP)
 * Defaults (the reference's): CUT lambdaNce 1 with identity NCE, FastCUT lambdaNce 10 without it;
 * 256 patches per layer, MLP heads of width 256, tau 0.07, LSGAN, no image pool, Adam 2e-4 / 0.5.
 * Like the CycleGAN trainer, a step whose losses or gradient norms are not finite is not applied.
 * With DiffAugment (opts.diffAug, training/models/diffaugment.ts) every D above reads D(T(.)):
 * D(T(y)), D(T(G(x))) in both steps, and WGAN-GP's penalty on the gradient of D(T(x_hat)) w.r.t. x_hat.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadLayersModel, readCheckpointState, saveCheckpoint } from '../../checkpoint';
import { buildDiscriminator, buildGenerator } from '../../models/gan';
import { encoderLayerNames, encoderModel } from '../../models/encoder-layers';
import { dAccuracy, ganLoss, globalNorm, gradientPenalty } from '../cyclegan/losses';
import { GanTrainerCore, varsOf, type GanStepMetrics, type GanTrainerOptions } from '../shared/gan-trainer';
import { buildMlpHead, patchNceLoss, projectPatches, samplePatchIds } from './patchnce';

export const CUT_MODES = ['cut', 'fastcut'] as const;
export type CutMode = (typeof CUT_MODES)[number];

export interface CutOptions extends GanTrainerOptions {
  mode: CutMode;
  lambdaGan: number;
  lambdaNce: number;
  /** Identity NCE on y -> G(y) (CUT: yes, FastCUT: no). */
  nceIdt: boolean;
  flipEquivariance: boolean;
  /** Patches per layer (256). */
  numPatches: number;
  /** NCE temperature (0.07). */
  nceT: number;
  /** Width of the MLP heads (256). */
  netFNc: number;
}

/** The paper's settings for each mode (what --mode sets unless a flag says otherwise). */
export function modeDefaults(mode: CutMode): Pick<CutOptions, 'lambdaNce' | 'nceIdt' | 'flipEquivariance'> {
  return mode === 'cut' ? { lambdaNce: 1, nceIdt: true, flipEquivariance: false } : { lambdaNce: 10, nceIdt: false, flipEquivariance: true };
}

/** Options that fix the shapes of the saved networks: a resumed run must not change them. */
export const CUT_ARCHITECTURE_KEYS = ['mode', 'generator', 'ngf', 'nBlocks', 'ndf', 'dLayers', 'netFNc'] as const;

export interface CutStepMetrics extends GanStepMetrics {
  /** NCE(G(x), x) times lambdaNce, averaged over layers. */
  nce: number;
  /** NCE(G(y), y) times lambdaNce (0 without identity NCE). */
  nceIdt: number;
  /** Mean |G(x) - x| of this batch (in [-1, 1] units): near 0 means G collapsed to identity. */
  identityDistance: number;
}

export class CutTrainer extends GanTrainerCore<CutOptions> {
  readonly encoder: tfl.LayersModel;

  private constructor(
    opts: CutOptions,
    readonly G: tfl.LayersModel,
    readonly D: tfl.LayersModel,
    /** One MLP head per NCE layer (names: H0, H1, ...). */
    readonly heads: tfl.LayersModel[],
    readonly nceLayers: string[],
  ) {
    super(opts, varsOf(G, ...heads), varsOf(D));
    this.encoder = encoderModel(G, nceLayers);
  }

  static async create(opts: CutOptions): Promise<CutTrainer> {
    const G = await buildGenerator(opts, 'G', opts.seed * 1000 + 1);
    const D = await buildDiscriminator(opts, 'D', opts.seed * 1000 + 601);
    const layers = encoderLayerNames(G);
    const channels = layers.map((n) => (G.getLayer(n).output as tfl.SymbolicTensor).shape[3] as number);
    const heads = channels.map((c, i) => buildMlpHead(c, opts.netFNc, `H${i}`, opts.seed * 1000 + 901 + 10 * i));
    const t = new CutTrainer(opts, G, D, heads, layers);
    await t.startAverages();
    return t;
  }

  protected generatorModels(): Record<string, tfl.LayersModel> {
    return { G: this.G };
  }

  /** Rebuilds a trainer from a checkpoint (architectures from its model.json files), then restores it. */
  static async resume(checkpointDir: string, override: Partial<CutOptions> = {}): Promise<CutTrainer> {
    const { state } = await readCheckpointState(checkpointDir);
    const saved = state.options as CutOptions | undefined;
    const layers = state.nceLayers as string[] | undefined;
    if (!saved || !layers || !('mode' in saved)) throw new Error(`${checkpointDir} is not a CUT checkpoint (no CUT options in its state)`);
    const load = (n: string) => loadLayersModel(path.join(checkpointDir, 'models', n));
    const G = await load('G');
    const D = await load('D');
    const heads: tfl.LayersModel[] = [];
    for (let i = 0; i < layers.length; i++) heads.push(await load(`H${i}`));
    const t = new CutTrainer({ ...saved, ...override }, G, D, heads, layers);
    await t.restore(checkpointDir);
    return t;
  }

  private modelsByName(): Record<string, tfl.LayersModel> {
    return { G: this.G, D: this.D, ...Object.fromEntries(this.heads.map((h, i) => [`H${i}`, h])) };
  }

  async restore(checkpointDir: string): Promise<void> {
    const r = await this.loadWithAverages(checkpointDir, this.modelsByName(), { G: this.optG, D: this.optD });
    this.restoreProgress(r.step, r.state);
    for (const t of Object.values(r.tensors)) t.dispose();
  }

  async save(dir: string, extraState: Record<string, unknown> = {}, keep = 3): Promise<string> {
    return saveCheckpoint(
      dir,
      {
        step: this.step,
        models: { ...this.modelsByName(), ...this.averagedModels() },
        optimizers: { G: this.optG, D: this.optD },
        state: { ...extraState, task: 'cut', options: this.opts, nceLayers: this.nceLayers, rng: this.rng.state, lrScale: this.lrScale, ...this.averagesState() },
      },
      { keep },
    );
  }

  /**
   * Key patches of the real images (constants: no gradient flows through them, as upstream):
   * per NCE layer, the sampled locations and their projected, normalised features.
   */
  private keys(real: tf.Tensor4D): { ids: Int32Array[]; k: tf.Tensor3D[] } {
    const feats = this.encoder.apply(real) as tf.Tensor4D[];
    const ids = feats.map((f) => samplePatchIds(f.shape[1] * f.shape[2], this.opts.numPatches, this.rng));
    const k = feats.map((f, i) => projectPatches(f, ids[i], this.heads[i]));
    return { ids, k };
  }

  /** NCE loss of query features against precomputed keys, times lambdaNce, averaged over layers. */
  private nce(qFeats: tf.Tensor4D[], keys: { ids: Int32Array[]; k: tf.Tensor3D[] }): tf.Scalar {
    const losses = qFeats.map((f, i) => patchNceLoss(projectPatches(f, keys.ids[i], this.heads[i]), keys.k[i], this.opts.nceT));
    return tf.mul(tf.div(tf.addN(losses), losses.length), this.opts.lambdaNce) as tf.Scalar;
  }

  /** One G step (with the MLP heads) and one D step on real x (A) and y (B): NHWC floats in [-1, 1]. */
  trainStep(aData: Float32Array, bData: Float32Array): CutStepMetrics {
    const o = this.opts;
    const n = o.batchSize;
    const shape: [number, number, number, number] = [n, o.crop, o.crop, 3];
    const lr = this.applyLearningRates();
    const G = (x: tf.Tensor) => this.G.apply(x) as tf.Tensor4D;
    // D sees T(x) (DiffAugment) everywhere: real, fake, G's adversarial term and WGAN-GP's interpolates.
    const D = this.augmented((x: tf.Tensor) => this.D.apply(x) as tf.Tensor);
    const realA = tf.tensor4d(aData, shape);
    const realB = tf.tensor4d(bData, shape);
    const flip = o.flipEquivariance && this.rng.next() < 0.5;
    const m: Record<string, number> = {};
    let applied = true;
    const useNce = o.lambdaNce > 0;
    const keysA = useNce ? tf.tidy(() => this.keys(realA)) : null;
    const keysB = useNce && o.nceIdt ? tf.tidy(() => this.keys(realB)) : null;
    let fakeB: tf.Tensor4D | null = null;
    try {
      // ---- generator and MLP heads
      const parts: Record<string, tf.Scalar> = {};
      const gOut = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          let input: tf.Tensor4D = o.nceIdt ? tf.concat([realA, realB], 0) : realA;
          if (flip) input = tf.reverse(input, 2);
          const out = G(input);
          const fB = o.nceIdt ? tf.slice(out, [0, 0, 0, 0], [n, -1, -1, -1]) : out;
          fakeB = tf.keep(fB);
          parts.identityDistance = tf.keep(tf.mean(tf.abs(tf.sub(fB, o.nceIdt ? tf.slice(input, [0, 0, 0, 0], [n, -1, -1, -1]) : input))) as tf.Scalar);
          const adv = tf.mul(ganLoss(o.loss, D(fB), true), o.lambdaGan) as tf.Scalar;
          let total: tf.Scalar = adv;
          let nceX: tf.Scalar = tf.scalar(0);
          let nceY: tf.Scalar = tf.scalar(0);
          if (keysA) {
            let q = this.encoder.apply(out) as tf.Tensor4D[];
            if (flip) q = q.map((f) => tf.reverse(f, 2));
            const part = (from: number) => q.map((f) => tf.slice(f, [from, 0, 0, 0], [n, -1, -1, -1]));
            nceX = this.nce(o.nceIdt ? part(0) : q, keysA);
            if (keysB) {
              nceY = this.nce(part(n), keysB);
              total = tf.add(total, tf.mul(tf.add(nceX, nceY), 0.5)) as tf.Scalar;
            } else total = tf.add(total, nceX) as tf.Scalar;
          }
          parts.adv = tf.keep(adv);
          parts.nce = tf.keep(nceX);
          parts.nceIdt = tf.keep(nceY);
          return total;
        }, this.gVars);
        return { value, grads, norm: globalNorm(Object.values(grads)) };
      });
      const gOk = this.update(this.optG, gOut, parts, m, 'gradNormG', ['adv', 'nce', 'nceIdt']);

      // ---- discriminator (no image pool, as the reference)
      const fake = fakeB as unknown as tf.Tensor4D;
      const eps = tf.tensor4d(Float32Array.from({ length: n }, () => this.rng.next()), [n, 1, 1, 1]);
      const dParts: Record<string, tf.Scalar> = {};
      const dOut = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const dr = D(realB);
          const df = D(fake);
          const lReal = ganLoss(o.loss, dr, true);
          const lFake = ganLoss(o.loss, df, false);
          const acc = dAccuracy(o.loss, dr, df);
          let loss = tf.mul(tf.add(lReal, lFake), o.loss === 'wgan-gp' ? 1 : 0.5) as tf.Scalar;
          let gp: tf.Scalar = tf.scalar(0);
          if (o.loss === 'wgan-gp') {
            gp = gradientPenalty(D, realB, fake, eps);
            loss = tf.add(loss, tf.mul(gp, o.gpWeight)) as tf.Scalar;
          }
          dParts.dReal = tf.keep(lReal);
          dParts.dFake = tf.keep(lFake);
          dParts.accReal = tf.keep(acc.real);
          dParts.accFake = tf.keep(acc.fake);
          dParts.gp = tf.keep(gp);
          return loss;
        }, this.dVars);
        return { value, grads, norm: globalNorm(Object.values(grads)) };
      });
      const dOk = this.update(this.optD, dOut, dParts, m, 'gradNormD', ['dReal', 'dFake', 'gp'], gOk);
      applied = gOk && dOk;
      tf.dispose(eps);
    } finally {
      tf.dispose([realA, realB, fakeB as unknown as tf.Tensor]);
      if (keysA) tf.dispose(keysA.k);
      if (keysB) tf.dispose(keysB.k);
    }
    return this.finishStep(m, applied, lr, m.adv, { nce: m.nce, nceIdt: m.nceIdt }, { identityDistance: m.identityDistance });
  }

  /** Translates NHWC [-1, 1] images with G. */
  translate(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.G.apply(x) as tf.Tensor4D);
  }

  dispose(): void {
    for (const m of [this.G, this.D, ...this.heads]) m.dispose();
    this.disposeOptimizers();
  }
}
