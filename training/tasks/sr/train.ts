/**
 * Super-resolution training loop: L1 + Adam with cosine or step LR decay, random augmented
 * patches with on-the-fly MATLAB-bicubic LR, periodic validation Y-PSNR on a benchmark set,
 * atomic checkpoints, exact resume (the sampler's PRNG state is in the checkpoint), a time
 * budget (--max-minutes), NaN rollback, and an optional SRGAN adversarial fine-tune.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import cliProgress from 'cli-progress';
import { initBackend } from '../../backends';
import { adam } from '../../backends/fused-adam';
import { findGeneratorFolder, findLatestCheckpoint, loadCheckpointWithAverages, loadLayersModel, readCheckpointState, saveCheckpoint, saveLayersModel } from '../../checkpoint';
import { describeLoadReport } from '../../data/images';
import { writeFileAtomic } from '../../io/atomic';
import { watchInterrupts } from '../../checkpoint/interrupt';
import { withRunLock } from '../../checkpoint/lock';
import { refuseChangedNetwork } from '../../checkpoint/resume-options';
import { describeSrSources, loadSrDataset, Rng, sampleBatch, sampleDegradedBatch, type DegradeStats, type SrDataset, type SrSampling, type SrSource } from '../../data/sr-dataset';
import { describeFixedDegradations, type DegradeConfig, type FixedDegradation } from '../../data/degrade';
import { buildDiscriminator, buildSrModel, srModelGrown, srOptionsOf, srScaleOf, type SrSkip, type SrTier } from '../../models/sr';
import { evaluatePairs, loadBenchmarkPairs, type BenchmarkPair } from '../../eval/sr/evaluate';
import { tfjsRunner } from '../../eval/sr/runners';
import { averagedName, checkDecay, WeightAverage } from '../../models/weight-average';
import { attachTeacherTargets, checkDistillOptions, type DistillOptions } from './distill';
import { resolveRunner } from './eval-command';
import { nativeThreads } from '../../backends/native/ort';

export type SrPixelLoss = 'l1' | 'mse';

/** The pixel loss between an upscaled batch and its HR patches (mean over every value). */
export function pixelLoss(kind: SrPixelLoss, sr: tf.Tensor, hr: tf.Tensor): tf.Scalar {
  return tf.tidy(() => (kind === 'mse' ? tf.mean(tf.squaredDifference(sr, hr)) : tf.mean(tf.abs(tf.sub(sr, hr)))) as tf.Scalar);
}

/** The distilled pixel loss (`--distill`): (1 - w) * pixel(sr, hr) + w * pixel(sr, teacher). */
export function distillLoss(kind: SrPixelLoss, sr: tf.Tensor, hr: tf.Tensor, teacher: tf.Tensor, weight: number): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mul(1 - weight, pixelLoss(kind, sr, hr)), tf.mul(weight, pixelLoss(kind, sr, teacher))) as tf.Scalar);
}

export interface SrTrainOptions {
  tier: SrTier;
  scale: number;
  /** A folder, or several (each optionally prescaled; see parseSrSources). */
  data: string | SrSource[];
  out: string;
  steps: number;
  batch: number;
  patch: number;
  lr: number;
  lrMin: number;
  schedule: 'cosine' | 'step';
  /** Warm-up steps with linearly rising LR. */
  warmup: number;
  maxMinutes?: number;
  /**
   * Total wall-time budget across resumes (minutes). The LR schedule then runs on
   * max(step / steps, elapsed / budget), so the cosine reaches its end when the time is up even
   * on a machine whose speed is unknown in advance; training stops when the budget is spent.
   */
  budgetMinutes?: number;
  /** Stop (with a checkpoint) after this many steps in this invocation; --resume continues. */
  stopAfter?: number;
  resume: boolean;
  seed: number;
  backend?: string;
  features?: number[];
  blocks?: number;
  /** Global skip of a new model (bicubic | nearest); a resumed or --init model keeps its own. */
  skip?: SrSkip;
  valSet?: string;
  valEvery: number;
  valLimit?: number;
  ckptEvery: number;
  keep: number;
  limit?: number;
  /** Start from the weights of this checkpoint folder / model folder (fine-tune, GAN). */
  init?: string;
  /**
   * Keep an exponential moving average of the generator's weights with this decay (e.g. 0.999;
   * training/models/weight-average.ts): validated, checkpointed as `generator-ema` and shipped.
   * A run whose checkpoint has an average keeps it on --resume without the flag.
   */
  ema?: number;
  /**
   * Pixel (content) loss: l1 (default; EDSR's choice, it converges better) or mse, which is the
   * quantity PSNR measures (a short, low-LR mse fine-tune of an l1-trained model is a common last
   * PSNR step; on sr-quality-x2 it gained nothing, see training/tasks/sr/shipped.json).
   */
  loss?: SrPixelLoss;
  /**
   * Self-ensemble distillation (training/tasks/sr/distill.ts): a teacher's geometric self-ensemble
   * of every training image is a second target beside HR. Clean (not degraded) training without
   * --gan only; a resume takes the flags, like --loss.
   */
  distill?: DistillOptions;
  /** How patches are drawn from the images: per image (default) or per pixel (see SrDataset.sampleBy). */
  sampleBy?: SrSampling;
  gan: boolean;
  ganLoss: 'bce' | 'lsgan';
  advWeight: number;
  dLr: number;
  /** Train on degraded LR (the photo tier): the random pipeline of training/data/degrade.ts. */
  degrade?: DegradeConfig;
  /** Also validate on the --val-set LR degraded this way (e.g. jpeg:60); logged next to the clean number. */
  valDegrade?: FixedDegradation[];
  log?: (line: string) => void;
  /** Show a progress bar (default: yes). */
  progress?: boolean;
  /** Called after each completed step, before that step's checkpoint (tests use it to poison weights). */
  onStep?: (info: { step: number; lrMult: number }, generator: tfl.LayersModel) => void;
  /** Stops like SIGINT/SIGTERM do: after the current step, with a checkpoint (tests use it). */
  abort?: AbortSignal;
}

export interface SrTrainResult {
  step: number;
  lastLoss: number;
  valPsnr?: number;
  checkpoint: string;
  stoppedBy: 'steps' | 'time';
  stepsPerSecond: number;
  backend: string;
  /** Learning-rate multiplier after NaN rollbacks (1 when none happened). */
  lrMult: number;
  nanRollbacks: number;
}

interface TrainState extends Record<string, unknown> {
  rng: number[];
  lrMult: number;
  elapsedSeconds: number;
  options: Record<string, unknown>;
  /** psnr/degraded: the model validated (the weight average when there is one); raw: the trained weights' clean PSNR beside it */
  valHistory: { step: number; psnr: number; degraded?: number; raw?: number }[];
  nanRollbacks: number;
  /** the tfjs backend of the invocation that wrote the checkpoint */
  backend?: string;
  degradeStats?: DegradeStats;
  /** the weight average's decay and update count (absent: no average) */
  ema?: { decay: number; updates: number };
}

export function learningRate(o: Pick<SrTrainOptions, 'lr' | 'lrMin' | 'steps' | 'schedule' | 'warmup'>, step: number, timeFraction = 0): number {
  if (o.warmup > 0 && step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const progress = Math.min(1, Math.max(step / Math.max(1, o.steps), timeFraction));
  if (o.schedule === 'step') {
    // Halve at 50%, 75% and 90% of the run.
    const f = progress;
    const k = (f >= 0.5 ? 1 : 0) + (f >= 0.75 ? 1 : 0) + (f >= 0.9 ? 1 : 0);
    return Math.max(o.lrMin, o.lr / 2 ** k);
  }
  const t = progress;
  return o.lrMin + 0.5 * (o.lr - o.lrMin) * (1 + Math.cos(Math.PI * t));
}

function setLr(opt: tf.Optimizer, lr: number): void {
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

function variablesOf(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Trains an SR model; refuses a run folder another live process is writing (training/checkpoint/lock). */
export async function trainSr(o: SrTrainOptions): Promise<SrTrainResult> {
  // refuse impossible distillation options before the run folder is touched
  if (o.distill) {
    checkDistillOptions(o.distill);
    if (o.degrade || o.gan) throw new Error('--distill works with clean training without --gan (the teacher sees the clean LR)');
  }
  return withRunLock(o.out, () => trainSrLocked(o), { log: o.log ?? ((s: string) => console.log(s)) });
}

async function trainSrLocked(o: SrTrainOptions): Promise<SrTrainResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  const report = await initBackend({ backend: o.backend, log });
  const ckptDir = path.join(o.out, 'checkpoints');

  const dataset: SrDataset = await loadSrDataset(o.data, { scale: o.scale, patch: o.patch, limit: o.limit, margin: o.degrade ? DEGRADE_MARGIN : 0 });
  dataset.sampleBy = o.sampleBy ?? 'image';
  if (dataset.sampleBy === 'area') log('patches drawn per area: every LR pixel of the training images equally (--sample-by area)');
  log(`data: ${describeSrSources(dataset.sources)}; ${describeLoadReport({ ...dataset.report, label: 'total' })}`);
  // The scale-augmented copies of one folder skip the same file for the same reason: one line each.
  const skipLines = new Map<string, number>();
  for (const s of dataset.report.skipped) {
    const line = `  skipped ${s.file}: ${s.reason}`;
    skipLines.set(line, (skipLines.get(line) ?? 0) + 1);
  }
  for (const [line, n] of skipLines) log(n > 1 ? `${line} (in ${n} scale copies)` : line);
  if (o.distill) {
    const d = o.distill;
    const teacher = await resolveRunner({ model: d.teacher, scale: o.scale, range: '0,1', tile: 0, backend: o.backend ?? 'auto', threads: nativeThreads() }, log);
    try {
      log(`distillation: teacher ${teacher.name} with a x${d.ensemble} self-ensemble, weight ${d.weight} (loss = ${1 - d.weight} x ${o.loss ?? 'l1'}(sr, hr) + ${d.weight} x ${o.loss ?? 'l1'}(sr, teacher))`);
      const secs = await attachTeacherTargets(dataset, teacher, d.ensemble, log);
      log(`distillation: teacher targets for ${dataset.pairs.length} images in ${secs.toFixed(0)} s`);
    } finally {
      await teacher.dispose?.();
    }
  }

  // A resumed run or an --init fine-tune keeps the architecture it was trained with (saved with
  // its weights), so changing the CLI defaults never breaks an old run; a new run builds one.
  const latest = o.resume ? await findLatestCheckpoint(ckptDir) : null;
  if (o.resume && !latest) log(`--resume: no checkpoint in ${ckptDir}, starting fresh`);
  const source = latest ? path.join(latest, 'models', 'generator') : o.init ? ((await findGeneratorFolder(o.init)) ?? o.init) : null;
  let generator: tfl.LayersModel;
  if (source) {
    generator = await loadLayersModel(source);
    if (latest && (o.features || o.blocks !== undefined || o.skip)) {
      // A resume must not silently drop architecture flags: refuse when they ask for another network.
      const asked = buildSrModel({ tier: o.tier, scale: o.scale, features: o.features, blocks: o.blocks, skip: o.skip, name: 'generator', seed: o.seed });
      const flags = [o.features && `--features ${o.features.join(',')}`, o.blocks !== undefined && `--blocks ${o.blocks}`, o.skip && `--skip ${o.skip}`].filter(Boolean) as string[];
      try {
        refuseChangedNetwork(latest, generator, asked, flags);
      } finally {
        asked.dispose();
      }
    } else {
      // A quality --init takes --features as a width to grow to (below); these flags cannot apply.
      const ignored = [o.features && o.tier !== 'quality' && '--features', o.skip && '--skip'].filter(Boolean);
      if (ignored.length) log(`${ignored.join(' and ')} ${ignored.length > 1 ? 'are' : 'is'} ignored: the generator comes from ${source}`);
    }
    log(`${latest ? 'architecture' : 'architecture and weights'} from ${source}`);
  } else {
    generator = buildSrModel({ tier: o.tier, scale: o.scale, features: o.features, blocks: o.blocks, skip: o.skip, name: 'generator', seed: o.seed });
  }
  const modelScale = srScaleOf(generator);
  if (source && modelScale !== o.scale && latest) throw new Error(`${source} is a x${modelScale} model, but --scale is ${o.scale}`);
  const sourceArch = source && !latest ? srOptionsOf(generator) : undefined;
  const deeper = sourceArch !== undefined && o.blocks !== undefined && o.blocks !== sourceArch.blocks;
  const width = sourceArch?.tier === 'quality' && o.features?.length ? o.features[0] : undefined;
  const wider = sourceArch !== undefined && width !== undefined && width !== sourceArch.features[0];
  if (source && !latest && (modelScale !== o.scale || deeper || wider)) {
    // --init from another scale: the body is scale-free, only the sub-pixel tail starts fresh;
    // --init with more --blocks: the new blocks start as the identity (same function, more capacity);
    // --init with more --features: the new channels start unseen by the old ones (same function).
    const grown = srModelGrown(generator, { scale: o.scale, blocks: o.blocks, features: width }, o.seed);
    generator.dispose();
    generator = grown.model;
    const changes = [
      modelScale !== o.scale && `x${modelScale} -> x${o.scale}`,
      deeper && `${sourceArch!.blocks} -> ${o.blocks} residual blocks`,
      wider && `${sourceArch!.features[0]} -> ${width} features`,
    ].filter(Boolean).join(', ');
    const parts = [
      `${grown.copied.length} layers copied`,
      grown.widened.length && `widened (trained weights kept, new channels unseen by the old ones): ${grown.widened.join(', ')}`,
      grown.fresh.length && `new: ${grown.fresh.join(', ')}`,
      grown.identity.length && `started as the identity: ${grown.identity.join(', ')}`,
    ].filter(Boolean);
    log(`--init ${changes}: ${parts.join('; ')}`);
  }
  const discriminator = o.gan ? buildDiscriminator() : null;
  const gOpt = adam(o.lr, 0.9, 0.999, 1e-8);
  const dOpt = discriminator ? adam(o.dLr, 0.9, 0.999, 1e-8) : null;
  const models: Record<string, tfl.LayersModel> = { generator };
  const optimizers: Record<string, tf.Optimizer> = { generator: gOpt };
  if (discriminator && dOpt) {
    models.discriminator = discriminator;
    optimizers.discriminator = dOpt;
  }
  log(`model: ${o.tier} x${o.scale}, ${generator.countParams()} parameters${discriminator ? ` (+ discriminator ${discriminator.countParams()})` : ''}, ${o.loss ?? 'l1'} loss`);

  // The weight average: asked for with --ema, or kept from the checkpoint being resumed.
  const saved = latest ? await readCheckpointState(latest) : null;
  const savedEma = saved?.models.includes(averagedName('generator')) ? (saved.state as TrainState).ema : undefined;
  const emaDecay = o.ema !== undefined ? checkDecay(o.ema) : savedEma?.decay;
  const average = emaDecay !== undefined ? await WeightAverage.start(generator, emaDecay) : null;
  const averages: Record<string, { of: tfl.LayersModel; average: WeightAverage }> = average ? { generator: { of: generator, average } } : {};
  if (average) {
    log(`weight average (EMA) of the generator, decay ${emaDecay}${savedEma ? '' : latest ? ', started at the resumed weights' : ''}`);
  }

  const archOptions = { tier: o.tier, scale: o.scale, features: o.features ?? null, blocks: o.blocks ?? null, skip: o.skip ?? null, data: describeSrSources(dataset.sources), init: o.init ? path.basename(o.init) : null, gan: o.gan, patch: o.patch, batch: o.batch, loss: o.loss ?? 'l1', degrade: o.degrade ?? null, distill: o.distill ?? null, sampleBy: dataset.sampleBy };
  if (o.degrade) log(`degradations: ${JSON.stringify(o.degrade)}`);
  let step = 0;
  let state: TrainState = { rng: new Rng(o.seed).state(), lrMult: 1, elapsedSeconds: 0, options: archOptions, valHistory: [], nanRollbacks: 0, backend: report.name };

  if (latest) {
    // Restoring Adam's slots needs them to exist: take one zero-LR step first so they are created.
    await warmOptimizer(generator, gOpt, o);
    if (discriminator && dOpt) await warmOptimizer(discriminator, dOpt, o, true);
    const r = await loadCheckpointWithAverages(latest, { models, optimizers }, averages);
    step = r.step;
    state = r.state as TrainState;
    // Batch, patch and pixel loss may change across resumes: keep the history for the model card
    // (checkpoints from before the loss was recorded were all trained with l1).
    const prev = state.options as { batch?: number; patch?: number; loss?: SrPixelLoss; history?: unknown[] };
    const prevLoss = prev.loss ?? 'l1';
    if (prev.batch !== archOptions.batch || prev.patch !== archOptions.patch || prevLoss !== archOptions.loss) {
      state.options = { ...archOptions, history: [...(prev.history ?? []), { untilStep: step, batch: prev.batch, patch: prev.patch, loss: prevLoss }] };
    } else state.options = { ...archOptions, history: prev.history ?? [] };
    log(`resumed from ${latest} at step ${step}`);
  }
  // saved with every checkpoint from now on
  if (average) models[averagedName('generator')] = average.model;
  let rng = new Rng(state.rng);
  state.degradeStats ??= { clean: 0, degraded: 0, failed: 0 };
  state.backend = report.name;

  let valPairs: BenchmarkPair[] | null = null;
  let valDegraded: BenchmarkPair[] | null = null;
  const valTag = o.valDegrade?.length ? describeFixedDegradations(o.valDegrade) : '';
  if (o.valSet && o.valEvery > 0) {
    valPairs = await loadBenchmarkPairs(o.valSet, o.scale, { limit: o.valLimit });
    if (valTag) valDegraded = await loadBenchmarkPairs(o.valSet, o.scale, { limit: o.valLimit, degrade: o.valDegrade });
  }
  let lastValDegraded: number | undefined = state.valHistory.at(-1)?.degraded;
  let lastValRaw: number | undefined;
  // Validates the model that would be shipped: the weight average when there is one (and the
  // trained weights beside it, clean only, so the log shows what the average gains).
  const validate = async (): Promise<number | undefined> => {
    if (!valPairs) return undefined;
    const runner = tfjsRunner(average?.model ?? generator, { name: 'val', scale: o.scale, range: [0, 1] });
    const r = await evaluatePairs(runner, valPairs, o.valSet!, o.scale);
    lastValDegraded = valDegraded ? (await evaluatePairs(runner, valDegraded, o.valSet!, o.scale)).psnr : undefined;
    lastValRaw = average ? (await evaluatePairs(tfjsRunner(generator, { name: 'val-raw', scale: o.scale, range: [0, 1] }), valPairs, o.valSet!, o.scale)).psnr : undefined;
    state.valHistory.push({ step, psnr: r.psnr, ...(lastValDegraded !== undefined ? { degraded: lastValDegraded } : {}), ...(lastValRaw !== undefined ? { raw: lastValRaw } : {}) });
    return r.psnr;
  };
  const valLine = (v: number) =>
    `${o.valSet} x${o.scale} Y-PSNR ${v.toFixed(3)} dB${lastValDegraded !== undefined ? ` (${valTag}: ${lastValDegraded.toFixed(3)} dB)` : ''}${lastValRaw !== undefined ? ` [EMA; trained weights ${lastValRaw.toFixed(3)} dB]` : ''}`;

  const save = async (): Promise<string> => {
    state.rng = rng.state();
    if (average) state.ema = average.state();
    return saveCheckpoint(ckptDir, { step, models, optimizers, state }, { keep: o.keep });
  };

  // SIGINT / SIGTERM (Ctrl-C, kill, a scheduler's time limit): finish the step, checkpoint, exit.
  const interrupts = watchInterrupts(log, o.abort);

  const startTime = performance.now();
  const startElapsed = state.elapsedSeconds;
  const deadline = o.maxMinutes ? startTime + o.maxMinutes * 60_000 : Infinity;
  const startStep = step;
  let lastLoss = NaN;
  let lastCkptPath = latest ?? '';
  let stoppedBy: 'steps' | 'time' = 'steps';
  let lastVal: number | undefined = state.valHistory.at(-1)?.psnr;
  let lastLogAt = performance.now();

  const bar =
    o.progress === false
      ? null
      : new cliProgress.SingleBar(
          {
            format: 'sr {tier} x{scale} |{bar}| step {value}/{total} | loss {loss} | {sps} steps/s | val {val} dB | ETA {eta_formatted}',
            // Redirected to a file: plain log lines (below) instead of bar redraws.
            noTTYOutput: false,
            hideCursor: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
  bar?.start(o.steps, step, { tier: o.tier, scale: o.scale, loss: '-', sps: '-', val: lastVal?.toFixed(2) ?? '-' });

  const vars = variablesOf(generator);
  const pixel = o.loss ?? 'l1';
  const dVars = discriminator ? variablesOf(discriminator) : [];
  const advLoss = (logits: tf.Tensor, real: boolean): tf.Scalar =>
    o.ganLoss === 'lsgan'
      ? (tf.mean(tf.square(tf.sub(logits, real ? 1 : 0))) as tf.Scalar)
      : (tf.losses.sigmoidCrossEntropy(real ? tf.onesLike(logits) : tf.zerosLike(logits), logits) as tf.Scalar);

  while (step < o.steps) {
    const elapsedNow = startElapsed + (performance.now() - startTime) / 1000;
    const budgetFraction = o.budgetMinutes ? elapsedNow / (o.budgetMinutes * 60) : 0;
    if (interrupts.requested || performance.now() > deadline || budgetFraction >= 1 || (o.stopAfter !== undefined && step - startStep >= o.stopAfter)) {
      stoppedBy = 'time';
      if (interrupts.requested) log(`stop requested (signal): checkpointing at step ${step}`);
      break;
    }
    const lr = learningRate(o, step, budgetFraction) * state.lrMult;
    setLr(gOpt, lr);
    const { lr: lrData, hr: hrData, teacher: teacherData }: { lr: Float32Array; hr: Float32Array; teacher?: Float32Array } = o.degrade ? await sampleDegradedBatch(dataset, rng, o.batch, o.degrade, state.degradeStats!, log) : sampleBatch(dataset, rng, o.batch);
    const P = o.patch * o.scale;
    const x = tf.tensor4d(lrData, [o.batch, o.patch, o.patch, 3]);
    const y = tf.tensor4d(hrData, [o.batch, P, P, 3]);
    const yt = teacherData ? tf.tensor4d(teacherData, [o.batch, P, P, 3]) : null;
    let lossValue: number;
    if (!discriminator || !dOpt) {
      const loss = gOpt.minimize(() => {
        const sr = generator.apply(x, { training: true }) as tf.Tensor;
        return yt && o.distill ? distillLoss(pixel, sr, y, yt, o.distill.weight) : pixelLoss(pixel, sr, y);
      }, true, vars)!;
      lossValue = (await loss.data())[0];
      loss.dispose();
    } else {
      setLr(dOpt, o.dLr * (lr / o.lr));
      const fake = tf.tidy(() => generator.apply(x) as tf.Tensor);
      const dl = dOpt.minimize(
        () => tf.add(advLoss(discriminator.apply(y, { training: true }) as tf.Tensor, true), advLoss(discriminator.apply(fake, { training: true }) as tf.Tensor, false)) as tf.Scalar,
        true,
        dVars,
      )!;
      fake.dispose();
      const gl = gOpt.minimize(
        () => {
          const sr = generator.apply(x, { training: true }) as tf.Tensor;
          const content = pixelLoss(pixel, sr, y);
          return tf.add(content, tf.mul(o.advWeight, advLoss(discriminator.apply(sr) as tf.Tensor, true))) as tf.Scalar;
        },
        true,
        vars,
      )!;
      lossValue = (await gl.data())[0];
      const dv = (await dl.data())[0];
      if (!Number.isFinite(dv)) lossValue = NaN;
      gl.dispose();
      dl.dispose();
    }
    x.dispose();
    y.dispose();
    yt?.dispose();

    if (!Number.isFinite(lossValue)) {
      state.nanRollbacks++;
      const back = await findLatestCheckpoint(ckptDir);
      const newMult = state.lrMult * 0.5;
      bar?.stop();
      if (!back) throw new Error(`loss became ${lossValue} at step ${step} before any checkpoint was written; lower --lr (now ${o.lr})`);
      // a checkpoint from before the weight average started (the resumed one) restarts it there
      const r = await loadCheckpointWithAverages(back, { models, optimizers }, averages);
      step = r.step;
      const rolls = state.nanRollbacks;
      state = r.state as TrainState;
      state.lrMult = newMult;
      state.nanRollbacks = rolls;
      rng = new Rng(state.rng);
      log(`loss was ${lossValue}: rolled back to ${back} (step ${step}) and lowered the learning rate x${newMult} (rollback #${rolls})`);
      if (rolls > 5) throw new Error('loss keeps diverging after 5 rollbacks; giving up (try a lower --lr)');
      bar?.start(o.steps, step, { tier: o.tier, scale: o.scale, loss: '-', sps: '-', val: lastVal?.toFixed(2) ?? '-' });
      continue;
    }
    lastLoss = lossValue;
    average?.update(generator);
    step++;
    const secs = (performance.now() - startTime) / 1000;
    state.elapsedSeconds = startElapsed + secs;
    if (o.valEvery > 0 && step % o.valEvery === 0) lastVal = await validate();
    if (lastVal !== undefined && o.valEvery > 0 && step % o.valEvery === 0) log(`step ${step}: ${valLine(lastVal)}`);
    bar?.update(step, {
      loss: lossValue.toFixed(4),
      sps: ((step - startStep) / Math.max(1e-3, secs)).toFixed(2),
      val: lastVal?.toFixed(2) ?? '-',
    });
    o.onStep?.({ step, lrMult: state.lrMult }, generator);
    if (o.ckptEvery > 0 && step % o.ckptEvery === 0) lastCkptPath = await save();
    // The wasm/cpu backends resolve data() without leaving the microtask queue: yield to the
    // event loop now and then so timers (progress bar redraws) run.
    if (step % 5 === 0) await new Promise((r) => setImmediate(r));
    if (!process.stderr.isTTY && performance.now() - lastLogAt > 60_000) {
      lastLogAt = performance.now();
      log(`step ${step}/${o.steps} loss ${lossValue.toFixed(4)} lr ${lr.toExponential(2)} ${((step - startStep) / Math.max(1e-3, secs)).toFixed(2)} steps/s val ${lastVal?.toFixed(3) ?? '-'} dB elapsed ${(state.elapsedSeconds / 60).toFixed(1)} min`);
    }
  }
  bar?.stop();
  interrupts.release();
  if (o.valEvery > 0 && state.valHistory.at(-1)?.step !== step) lastVal = await validate();
  lastCkptPath = await save();
  const secs = (performance.now() - startTime) / 1000;
  const sps = (step - startStep) / Math.max(1e-3, secs);
  log(
    `${stoppedBy === 'time' ? `stopped early (${interrupts.requested ? 'signal' : '--max-minutes / --budget-minutes / --stop-after'})` : 'done'} at step ${step}/${o.steps}: loss ${lastLoss.toFixed(4)}` +
      `${lastVal !== undefined ? `, ${valLine(lastVal)}` : ''}${o.degrade ? `, patches clean/degraded/failed ${state.degradeStats!.clean}/${state.degradeStats!.degraded}/${state.degradeStats!.failed}` : ''}, ${sps.toFixed(2)} steps/s, total ${(state.elapsedSeconds / 60).toFixed(1)} min; checkpoint ${lastCkptPath}`,
  );
  // A plain model folder next to the checkpoints, for export and eval (the weight average when kept).
  await saveLayersModel(path.join(o.out, 'model'), average?.model ?? generator);
  await writeFileAtomic(
    path.join(o.out, 'summary.json'),
    JSON.stringify({ step, steps: o.steps, elapsedSeconds: state.elapsedSeconds, backend: report.name, lastLoss, valHistory: state.valHistory, options: archOptions, parameters: generator.countParams(), data: o.data, nanRollbacks: state.nanRollbacks, degradeStats: state.degradeStats }, null, 1),
  );
  return { step, lastLoss, valPsnr: lastVal, checkpoint: lastCkptPath, stoppedBy, stepsPerSecond: sps, backend: report.name, lrMult: state.lrMult, nanRollbacks: state.nanRollbacks };
}

/** LR pixels of real context around a degraded patch (blur and JPEG see neighbours, not a border). */
export const DEGRADE_MARGIN = 4;

/** One zero-learning-rate step so Adam creates its slot variables (needed before restoring them). */
async function warmOptimizer(model: tfl.LayersModel, opt: tf.Optimizer, o: SrTrainOptions, isDisc = false): Promise<void> {
  setLr(opt, 0);
  const vars = variablesOf(model);
  const p = isDisc ? o.patch * o.scale : o.patch;
  const loss = opt.minimize(() => tf.mean(tf.abs(model.apply(tf.zeros([1, p, p, 3])) as tf.Tensor)) as tf.Scalar, true, vars);
  loss?.dispose();
}
