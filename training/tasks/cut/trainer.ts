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
 * Distillation (opts.teacher, after GAN Compression, Li et al. CVPR 2020): a trained generator T
 * (typically a larger one, e.g. the ResNet upload tier) adds lambdaTeacher * mean |G(x) - T(x)| to
 * the x half of L_G, so a small webcam generator learns T's translation with the GAN and NCE
 * terms kept; T is read-only, evaluated on the same (flipped) crop.
 * With DiffAugment (opts.diffAug, training/models/diffaugment.ts) every D above reads D(T(.)):
 * D(T(y)), D(T(G(x))) in both steps, and WGAN-GP's penalty on the gradient of D(T(x_hat)) w.r.t. x_hat.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { checkpointModelFolder, loadLayersModel, readCheckpointState, saveCheckpoint } from '../../checkpoint';
import { buildDiscriminator, buildGenerator } from '../../models/gan';
import { encoderLayerNames, encoderModel } from '../../models/encoder-layers';
import { dAccuracy, ganLoss, globalNorm, gradientPenalty } from '../cyclegan/losses';
import { GanTrainerCore, varsOf, type GanStepMetrics, type GanTrainerOptions } from '../shared/gan-trainer';
import { buildMlpHead, patchNceLoss, projectPatches, samplePatchIds } from './patchnce';
import { IdentityWorker } from './identity-worker';

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
  /**
   * Distil from this trained generator: a checkpoint, checkpoints folder or run folder (its G, the
   * weight average when kept). Same input and output range as G ([-1, 1] NHWC).
   */
  teacher?: string;
  /** Weight of mean |G(x) - T(x)| (used with `teacher`). */
  lambdaTeacher?: number;
  /**
   * Probability that a source photo x is degraded (blur, noise, JPEG: data/source-degrade.ts)
   * before G sees it; the teacher translates the clean x. 0 or absent: never.
   */
  degradeInputs?: number;
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
  /** lambdaTeacher * mean |G(x) - T(x)| (0 without a teacher). */
  distill: number;
}

/** Patch keys of real images: per NCE layer, the sampled locations and their projected features [B, P, nc]. */
export interface PatchKeys {
  ids: Int32Array[];
  k: tf.Tensor3D[];
  /** feature positions per layer (what the locations are drawn from) */
  counts: number[];
}

/** The x half of CUT's L_G (CutTrainer.generatorHalfX). */
export interface CutGeneratorHalf {
  value: tf.Scalar;
  grads: tf.NamedTensorMap;
  parts: { fake: tf.Tensor4D; identityDistance: tf.Scalar; adv: tf.Scalar; nce: tf.Scalar; distill: tf.Scalar };
}

export class CutTrainer extends GanTrainerCore<CutOptions> {
  readonly encoder: tfl.LayersModel;
  /** The worker thread of the identity half (identity-worker.ts); null: computed here. */
  identityWorker: IdentityWorker | null = null;

  private constructor(
    opts: CutOptions,
    readonly G: tfl.LayersModel,
    readonly D: tfl.LayersModel,
    /** One MLP head per NCE layer (names: H0, H1, ...). */
    readonly heads: tfl.LayersModel[],
    readonly nceLayers: string[],
    /** The generator distilled from (opts.teacher), read-only; null: none. */
    readonly teacher: tfl.LayersModel | null = null,
  ) {
    super(opts, varsOf(G, ...heads), varsOf(D));
    this.encoder = encoderModel(G, nceLayers);
  }

  /** The teacher generator of opts.teacher (null without one); refuses one that is not an RGB-to-RGB image model. */
  static async loadTeacher(opts: Pick<CutOptions, 'teacher'>): Promise<tfl.LayersModel | null> {
    if (!opts.teacher) return null;
    const { folder } = await checkpointModelFolder(opts.teacher, 'G').catch((err: Error) => {
      throw new Error(`--teacher: ${err.message} (a resumed run reads its saved teacher: pass --teacher with its new place if it moved)`);
    });
    const T = await loadLayersModel(folder);
    const [inShape, outShape] = [T.inputs[0].shape, T.outputs[0].shape];
    if (T.inputs.length !== 1 || T.outputs.length !== 1 || inShape.length !== 4 || inShape[3] !== 3 || outShape[3] !== 3) {
      T.dispose();
      throw new Error(`--teacher: ${folder} is not an image generator (one NHWC RGB input and output; it has ${JSON.stringify(inShape)} -> ${JSON.stringify(outShape)})`);
    }
    return T;
  }

  static async create(opts: CutOptions): Promise<CutTrainer> {
    const G = await buildGenerator(opts, 'G', opts.seed * 1000 + 1);
    const D = await buildDiscriminator(opts, 'D', opts.seed * 1000 + 601);
    const layers = encoderLayerNames(G);
    const channels = layers.map((n) => (G.getLayer(n).output as tfl.SymbolicTensor).shape[3] as number);
    const heads = channels.map((c, i) => buildMlpHead(c, opts.netFNc, `H${i}`, opts.seed * 1000 + 901 + 10 * i));
    const t = new CutTrainer(opts, G, D, heads, layers, await CutTrainer.loadTeacher(opts));
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
    const opts = { ...saved, ...override };
    const t = new CutTrainer(opts, G, D, heads, layers, await CutTrainer.loadTeacher(opts));
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
   * per NCE layer, the sampled locations and their projected, normalised features. `ids` given:
   * those locations (drawn elsewhere); otherwise drawn here from the run's RNG.
   */
  keys(real: tf.Tensor4D, ids?: Int32Array[]): PatchKeys {
    return tf.tidy(() => {
      const feats = this.encoder.apply(real) as tf.Tensor4D[];
      const at = ids ?? feats.map((f) => samplePatchIds(f.shape[1] * f.shape[2], this.opts.numPatches, this.rng));
      return { ids: at, k: feats.map((f, i) => projectPatches(f, at[i], this.heads[i])), counts: feats.map((f) => f.shape[1] * f.shape[2]) };
    });
  }

  /** NCE loss of query features against precomputed keys, times lambdaNce, averaged over layers. */
  private nce(qFeats: tf.Tensor4D[], keys: PatchKeys): tf.Scalar {
    const losses = qFeats.map((f, i) => patchNceLoss(projectPatches(f, keys.ids[i], this.heads[i]), keys.k[i], this.opts.nceT));
    return tf.mul(tf.div(tf.addN(losses), losses.length), this.opts.lambdaNce) as tf.Scalar;
  }

  /** The generator side's variables (G's, then the MLP heads'): what optG trains. */
  generatorVars(): tf.Variable[] {
    return this.gVars;
  }

  /** The discriminator's variables: what optD trains. */
  discriminatorVars(): tf.Variable[] {
    return this.dVars;
  }

  /** The NCE query features of G's output for `input`, flipped back when the input was flipped. */
  private queries(out: tf.Tensor4D, flip: boolean): tf.Tensor4D[] {
    const q = this.encoder.apply(out) as tf.Tensor4D[];
    return flip ? q.map((f) => tf.reverse(f, 2)) : q;
  }

  /**
   * The x half of L_G and its gradient over the generator side: lambdaGan * L_adv(D(G(x))) plus
   * NCE(G(x), x) (halved when the identity half exists, `withIdentity`), with the translation and
   * the mean |G(x) - x|.
   */
  generatorHalfX(realA: tf.Tensor4D, keysA: PatchKeys | null, flip: boolean, withIdentity: boolean, teacherInput?: Float32Array): CutGeneratorHalf {
    const o = this.opts;
    const D = this.augmented((x: tf.Tensor) => this.D.apply(x) as tf.Tensor);
    const kept: Record<string, tf.Tensor> = {};
    const keep = <T extends tf.Tensor>(k: string, t: T): T => ((kept[k] = tf.keep(t)), t);
    const teacher = this.teacher;
    // T(x) is a constant of this step: computed outside the gradient, on the same (flipped) input,
    // or on the clean photo the input was degraded from
    const target = teacher
      ? tf.tidy(() => {
          const x = teacherInput ? tf.tensor4d(teacherInput, realA.shape) : realA;
          return teacher.apply(flip ? tf.reverse(x, 2) : x) as tf.Tensor4D;
        })
      : null;
    try {
      const { value, grads } = tf.variableGrads(() => {
        const input = flip ? tf.reverse(realA, 2) : realA;
        const out = this.G.apply(input) as tf.Tensor4D;
        keep('fake', out);
        keep('identityDistance', tf.mean(tf.abs(tf.sub(out, input))));
        const adv = keep('adv', tf.mul(ganLoss(o.loss, D(out), true), o.lambdaGan) as tf.Scalar);
        const nce = keep('nce', keysA ? this.nce(this.queries(out, flip), keysA) : tf.scalar(0));
        const distill = keep('distill', target ? (tf.mul(tf.mean(tf.abs(tf.sub(out, target))), o.lambdaTeacher ?? 0) as tf.Scalar) : tf.scalar(0));
        const g = keysA ? tf.add(adv, tf.mul(nce, withIdentity ? 0.5 : 1)) : adv;
        return (target ? tf.add(g, distill) : g) as tf.Scalar;
      }, this.gVars);
      return { value, grads, parts: kept as CutGeneratorHalf['parts'] };
    } finally {
      target?.dispose();
    }
  }

  /** The identity half of L_G (CUT): lambdaNce * NCE(G(y), y) / 2 and its gradient over the generator side. */
  generatorHalfY(realB: tf.Tensor4D, keysB: PatchKeys, flip: boolean): { value: tf.Scalar; grads: tf.NamedTensorMap; nceIdt: tf.Scalar } {
    let nceIdt: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const input = flip ? tf.reverse(realB, 2) : realB;
      const nce = this.nce(this.queries(this.G.apply(input) as tf.Tensor4D, flip), keysB);
      nceIdt = tf.keep(nce);
      return tf.mul(nce, 0.5) as tf.Scalar;
    }, this.gVars);
    return { value, grads, nceIdt: nceIdt! };
  }

  /**
   * Whether the D step is taken as two halves, L_D = 1/2 L_adv(D(y), real) + 1/2 L_adv(D(G(x)), fake),
   * each with its own gradient (summed): not for WGAN-GP, whose penalty and accuracy threshold mix
   * real and fake, nor with DiffAugment, whose draws happen inside D's calls.
   */
  get splitDiscriminator(): boolean {
    return this.opts.loss !== 'wgan-gp' && this.diffAugPolicy.length === 0;
  }

  /** One half of the split D step (see splitDiscriminator): the real or the fake term, its gradient over D, its loss and accuracy. */
  discriminatorHalf(real: boolean, x: tf.Tensor): { value: tf.Scalar; grads: tf.NamedTensorMap; loss: tf.Scalar; acc: tf.Scalar } {
    const o = this.opts;
    const kept: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const d = this.D.apply(x) as tf.Tensor;
      const loss = ganLoss(o.loss, d, real);
      const acc = dAccuracy(o.loss, d, d); // constant thresholds for these losses: each half needs only its own scores
      kept.push(tf.keep(loss), tf.keep(real ? acc.real : acc.fake));
      return tf.mul(loss, 0.5) as tf.Scalar;
    }, this.dVars);
    return { value, grads, loss: kept[0], acc: kept[1] };
  }

  /**
   * Moves the identity half of every following step to a worker thread (identity-worker.ts) with
   * `threads` onnxruntime threads; the step computes the same sums either way.
   */
  async startIdentityWorker(threads: number): Promise<void> {
    if (this.identityWorker) return;
    this.identityWorker = await IdentityWorker.start(this, threads);
  }

  /**
   * One G step (with the MLP heads) and one D step on real x (A) and y (B): NHWC floats in [-1, 1].
   * `aClean`: the clean photos `aData` was degraded from (--degrade-inputs): the teacher translates those.
   */
  trainStep(aData: Float32Array, bData: Float32Array, aClean?: Float32Array): CutStepMetrics {
    const o = this.opts;
    const n = o.batchSize;
    const shape: [number, number, number, number] = [n, o.crop, o.crop, 3];
    const lr = this.applyLearningRates();
    // D sees T(x) (DiffAugment) everywhere: real, fake, G's adversarial term and WGAN-GP's interpolates.
    const D = this.augmented((x: tf.Tensor) => this.D.apply(x) as tf.Tensor);
    const realA = tf.tensor4d(aData, shape);
    const realB = tf.tensor4d(bData, shape);
    const flip = o.flipEquivariance && this.rng.next() < 0.5;
    const m: Record<string, number> = {};
    let applied = true;
    const useNce = o.lambdaNce > 0;
    const withIdentity = useNce && o.nceIdt;
    const keysA = useNce ? this.keys(realA) : null;
    // the identity half's patch locations, drawn right after x's (the order of a one-thread step)
    const idsB = withIdentity ? keysA!.counts.map((count) => samplePatchIds(count, o.numPatches, this.rng)) : null;
    const remote = withIdentity ? this.identityWorker : null;
    let fakeB: tf.Tensor | null = null;
    try {
      // ---- generator and MLP heads: the identity half in the worker (when there is one) beside the x half
      remote?.startIdentityHalf(bData, idsB!, flip);
      const x = this.generatorHalfX(realA, keysA, flip, withIdentity, aClean && this.teacher ? aClean : undefined);
      fakeB = x.parts.fake;
      let y: { value: tf.Scalar; grads: tf.NamedTensorMap; nceIdt: tf.Scalar } | null = null;
      if (remote) y = remote.identityHalf();
      else if (withIdentity) {
        const keysB = this.keys(realB, idsB!);
        try {
          y = this.generatorHalfY(realB, keysB, flip);
        } finally {
          tf.dispose(keysB.k);
        }
      }
      const parts: Record<string, tf.Scalar> = {
        adv: x.parts.adv,
        nce: x.parts.nce,
        nceIdt: y ? y.nceIdt : tf.scalar(0),
        identityDistance: x.parts.identityDistance,
        distill: x.parts.distill,
      };
      const gOut = tf.tidy(() => {
        const grads: tf.NamedTensorMap = {};
        for (const k of new Set([...Object.keys(x.grads), ...Object.keys(y?.grads ?? {})])) {
          grads[k] = x.grads[k] && y?.grads[k] ? tf.add(x.grads[k], y.grads[k]) : (x.grads[k] ?? y!.grads[k]).clone();
        }
        const value = y ? tf.add(x.value, y.value) : x.value.clone();
        return { value, grads, norm: globalNorm(Object.values(grads)) };
      });
      tf.dispose([x.value, Object.values(x.grads), y ? [y.value, Object.values(y.grads)] : []]);
      const gOk = this.update(this.optG, gOut, parts, m, 'gradNormG', ['adv', 'nce', 'nceIdt', 'distill']);

      // ---- discriminator (no image pool, as the reference)
      const fake = fakeB as tf.Tensor4D;
      const eps = tf.tensor4d(Float32Array.from({ length: n }, () => this.rng.next()), [n, 1, 1, 1]);
      let dOut: { value: tf.Tensor; grads: tf.NamedTensorMap; norm: tf.Tensor };
      let dParts: Record<string, tf.Scalar> = {};
      if (this.splitDiscriminator) {
        // the real half in the worker (when there is one) beside the fake half here
        const useWorker = remote !== null;
        if (useWorker) remote.startRealHalf();
        const fakeHalf = this.discriminatorHalf(false, fake);
        const realHalf = useWorker ? remote.realHalf() : this.discriminatorHalf(true, realB);
        dOut = tf.tidy(() => {
          const grads: tf.NamedTensorMap = {};
          for (const v of this.dVars) grads[v.name] = tf.add(realHalf.grads[v.name], fakeHalf.grads[v.name]);
          return { value: tf.add(realHalf.value, fakeHalf.value), grads, norm: globalNorm(Object.values(grads)) };
        });
        dParts = { dReal: realHalf.loss, dFake: fakeHalf.loss, accReal: realHalf.acc, accFake: fakeHalf.acc, gp: tf.scalar(0) };
        tf.dispose([realHalf.value, fakeHalf.value, Object.values(realHalf.grads), Object.values(fakeHalf.grads)]);
      } else {
        dOut = tf.tidy(() => {
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
      }
      const dOk = this.update(this.optD, dOut, dParts, m, 'gradNormD', ['dReal', 'dFake', 'gp'], gOk);
      applied = gOk && dOk;
      tf.dispose(eps);
    } finally {
      tf.dispose([realA, realB, fakeB ?? []]);
      if (keysA) tf.dispose(keysA.k);
      remote?.drain();
    }
    return this.finishStep(m, applied, lr, m.adv, { nce: m.nce, nceIdt: m.nceIdt, distill: m.distill }, { identityDistance: m.identityDistance });
  }

  /** Translates NHWC [-1, 1] images with G. */
  translate(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.G.apply(x) as tf.Tensor4D);
  }

  dispose(): void {
    this.identityWorker?.terminate();
    this.identityWorker = null;
    for (const m of [this.G, this.D, ...this.heads, ...(this.teacher ? [this.teacher] : [])]) m.dispose();
    this.disposeOptimizers();
  }
}
