/**
 * The run loop of the unpaired GAN tasks (CycleGAN, CUT/FastCUT): backend, new run or exact resume
 * (refusing changed architecture flags), the shared unpaired data loader, one lock per run folder,
 * live health line, JSONL metrics, sample grids and mode-collapse checks, loss plot, health
 * detectors (divergence with rollback and LR halving, D-overpowering, plus the task's own), atomic
 * checkpoints, runs bounded by --max-minutes or a signal (SIGINT/SIGTERM: after this step, with a
 * checkpoint), final save and the stop report. A task supplies its trainer and the parts that
 * differ (GanTask): what it logs, what the divergence detector watches, its samples and loss plot.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../backends';
import { centerCrop, loadUnpairedDataset, sampleBatch, type Rng, type UnpairedDataset } from '../../data/unpaired';
import type { RgbImage } from '../../data/images';
import { readCheckpointState } from '../../checkpoint';
import { watchInterrupts } from '../../checkpoint/interrupt';
import { withRunLock } from '../../checkpoint/lock';
import { refuseChangedArchitecture } from '../../checkpoint/resume-options';
import { DivergenceDetector, DOverpowerDetector, formatWarning, modeCollapseCheck, type HealthWarning } from '../../health/detectors';
import { MetricsLog } from '../../health/metrics';
import { countParams, macs } from '../../models/stats';
import type { WeightAverage } from '../../models/weight-average';
import type { GanStepMetrics, GanTrainerOptions } from './gan-trainer';

/** The run options both GAN tasks take besides their trainer's options. */
export interface GanRunOptions {
  data: string;
  out: string;
  resume: boolean;
  /** Options the user set explicitly (CLI); on --resume only these are checked against the checkpoint (default: all). */
  explicit?: string[];
  loadSize: number;
  /** On resume, keep the checkpoint's load size (the CLI sets this when --load-size was not given). */
  keepSavedLoadSize?: boolean;
  checkpointEvery: number;
  sampleEvery: number;
  logEvery: number;
  keep: number;
  maxMinutes?: number;
  /** Use at most this many images per folder. */
  limit?: number;
  backend?: string;
  /** Health: D-overpowering window. */
  healthWindow: number;
  /** On resume, keep the checkpoint's steps/decayFrom (the CLI sets this when neither was given). */
  keepSavedSchedule?: boolean;
  /**
   * On resume, keep the checkpoint's DiffAugment policy (the CLI sets this when --diffaug was not
   * given); otherwise a given diffAug replaces it (augmentation is no part of the architecture).
   */
  keepSavedDiffAug?: boolean;
  /** Max rollbacks before giving up. */
  maxRollbacks: number;
  log?: (line: string) => void;
}

export interface GanRunResult<T> {
  trainer: T;
  stepsDone: number;
  stoppedBy: 'steps' | 'max-minutes' | 'signal' | 'rollbacks';
  warnings: HealthWarning[];
  checkpoint: string | null;
  secondsPerStep: number;
}

/** What the loop needs of a trainer (CycleGanTrainer, CutTrainer). */
export interface GanLoopTrainer<M extends GanStepMetrics> {
  step: number;
  /** Multiplies the LRs; a rollback halves it. */
  lrScale: number;
  rng: Rng;
  readonly opts: GanTrainerOptions;
  /** The A->B generator (its size is logged). */
  readonly G: tfl.LayersModel;
  /** Weight averages of the generators by name (empty without --ema). */
  readonly averages: Record<string, { average: WeightAverage }>;
  /** One step on a batch of real A and B images (NHWC floats in [-1, 1]); `aClean`: what `a` was degraded from (GanTask.degradeSource). */
  trainStep(a: Float32Array, b: Float32Array, aClean?: Float32Array): M;
  save(dir: string, extraState: Record<string, unknown>, keep: number): Promise<string>;
  /** Restores everything but the architecture from a checkpoint. */
  restore(checkpointDir: string): Promise<void>;
}

/** The fixed sample and diversity sets (centre crops of the test images, else the first training images). */
export interface SampleSets {
  /** 4 images per domain for the sample grids */
  sampleA: Float32Array[];
  sampleB: Float32Array[];
  /** 8 images per domain for the mode-collapse check */
  divA: Float32Array[];
  divB: Float32Array[];
}

export interface SampleContext<T> {
  trainer: T;
  sets: SampleSets;
  /** samples/step-N.png for the current step */
  gridFile: string;
  /** Mode-collapse check of one direction: a 'diversity' metrics row, and a warning when it fires. */
  diversity(direction: 'AtoB' | 'BtoA', label: string, generated: Float32Array[], real: Float32Array[]): Promise<void>;
}

/** What a resumed run may change: the schedule's length, the DiffAugment policy, the weight-average decay. */
export type ResumeOverride = { steps?: number; decayFrom?: number; diffAug?: string; ema?: number };

/** What a GAN task brings to the shared loop. */
export interface GanTask<T extends GanLoopTrainer<M>, M extends GanStepMetrics, O> {
  /** The newest checkpoint in a folder (null when none). */
  latest(dir: string): Promise<string | null>;
  create(o: O): Promise<T>;
  resume(checkpoint: string, override: ResumeOverride): Promise<T>;
  /** Options that fix the shapes of the saved networks, and the CLI flag of each (for the refusal). */
  architectureKeys: readonly string[];
  flagName(key: string): string;
  /** The line logged after a resume. */
  resumedLine(checkpoint: string, t: T): string;
  /** A degraded copy of a batch of source photos for G, or null to train on the clean ones (CUT's --degrade-inputs). */
  degradeSource?(a: Float32Array, t: T): Promise<Float32Array | null>;
  /** Called once the trainer exists, before the first step (CycleGAN starts its domain worker here). */
  prepare?(t: T, o: O, backend: string, log: (line: string) => void): Promise<void>;
  /** Lines describing the networks and the losses (params and GMACs of G at 256x256). */
  describe(t: T, params: number, gmacs: number): string[];
  /** The 'start' / 'resume' metrics row, from the shared fields. */
  startRow(t: T, row: { event: string; step: number; backend: string; params: number; gmacs256: number }): Record<string, unknown>;
  /** The values the divergence detector checks. */
  divergenceValues(m: M): Record<string, number>;
  /** The task's own health detectors, after D-overpowering, on every applied step. */
  extraHealth?(m: M): HealthWarning | null;
  /** The loss part of the progress line, between the step and the discriminator. */
  lossLine(m: M, t: T): string;
  /** Writes the sample grid and runs the mode-collapse checks. */
  samples(ctx: SampleContext<T>): Promise<void>;
  /** Redraws loss.png from the metrics log. */
  writeLossPlot(metrics: MetricsLog, file: string): Promise<void>;
}

export const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

function durationText(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

type LoopOptions<T, M> = GanRunOptions & GanTrainerOptions & { onStep?: (m: M, t: T) => void | Promise<void> };

/** Trains one GAN task; refuses a run folder another live process is writing (training/checkpoint/lock). */
export async function runGanTask<T extends GanLoopTrainer<M>, M extends GanStepMetrics, O extends LoopOptions<T, M>>(
  o: O,
  task: GanTask<T, M, O>,
): Promise<GanRunResult<T>> {
  return withRunLock(o.out, () => runLocked(o, task), { log: o.log ?? ((l: string) => console.log(l)) });
}

async function runLocked<T extends GanLoopTrainer<M>, M extends GanStepMetrics, O extends LoopOptions<T, M>>(
  o: O,
  task: GanTask<T, M, O>,
): Promise<GanRunResult<T>> {
  const log = o.log ?? ((l: string) => console.log(l));
  const backend = await initBackend({ backend: o.backend, log });
  if (o.crop % 4 !== 0) throw new Error(`--crop must be a multiple of 4 (the generators downsample twice), got ${o.crop}`);
  const ckptDir = path.join(o.out, 'checkpoints');
  await fs.mkdir(path.join(o.out, 'samples'), { recursive: true });

  let trainer: T;
  let elapsedBefore = 0;
  let loadSize = o.loadSize;
  const latest = o.resume ? await task.latest(ckptDir) : null;
  if (o.resume && !latest) log(`--resume: no checkpoint in ${ckptDir}, starting from scratch`);
  if (!o.resume && (await task.latest(ckptDir))) {
    throw new Error(`${o.out} already holds checkpoints: pass --resume to continue that run, or choose another --out`);
  }
  if (latest) {
    const st = (await readCheckpointState(latest)).state as { options?: Record<string, unknown>; elapsedSeconds?: number; loadSize?: number };
    // crop comes with the checkpoint's options; so does the load size unless --load-size is given
    if (o.keepSavedLoadSize && typeof st.loadSize === 'number') loadSize = st.loadSize;
    if (st.options) refuseChangedArchitecture(latest, st.options, o as unknown as Record<string, unknown>, task.architectureKeys, o.explicit, task.flagName);
    // The architecture and data options come from the checkpoint; schedule length may be extended,
    // and the DiffAugment policy changed.
    const override: ResumeOverride = o.keepSavedSchedule ? {} : { steps: o.steps, decayFrom: Math.min(o.decayFrom, o.steps) };
    if (!o.keepSavedDiffAug && o.diffAug !== undefined) override.diffAug = o.diffAug;
    // --ema on a resume starts (or re-decays) the weight averages; without it the checkpoint's are kept
    if (o.ema !== undefined) override.ema = o.ema;
    trainer = await task.resume(latest, override);
    elapsedBefore = st.elapsedSeconds ?? 0;
    log(task.resumedLine(latest, trainer));
    const savedAug = (st.options?.diffAug as string | undefined) ?? 'none';
    const aug = trainer.opts.diffAug ?? 'none';
    if (aug !== savedAug) log(`DiffAugment now ${aug} (the checkpoint trained with ${savedAug})`);
  } else {
    trainer = await task.create(o);
  }
  const to = trainer.opts;
  if (loadSize < to.crop) throw new Error(`--load-size (${loadSize}) must be at least the crop (${to.crop})`);
  const params = countParams(trainer.G);
  const gmacs = macs(trainer.G, 256, 256) / 1e9;
  for (const line of task.describe(trainer, params, gmacs)) log(line);
  await task.prepare?.(trainer, o, backend.name, log);
  const averaged = Object.entries(trainer.averages);
  if (averaged.length) {
    const a = averaged[0][1].average;
    log(`weight average (EMA) of ${averaged.map(([n]) => n).join(' and ')}, decay ${a.decay}, ${a.updates} updates so far (checkpointed as ${averaged.map(([n]) => `${n}-ema`).join(', ')})`);
  }

  const ds: UnpairedDataset = await loadUnpairedDataset(o.data, { loadSize, limit: o.limit, withTest: true, minImages: Math.max(2, to.batchSize), log });
  const metrics = new MetricsLog(path.join(o.out, 'metrics.jsonl'));
  if (latest) await metrics.truncateAfter(trainer.step);
  await metrics.append(task.startRow(trainer, { event: latest ? 'resume' : 'start', step: trainer.step, backend: backend.name, params, gmacs256: gmacs }));

  // Fixed sample and diversity sets (centre crops, no randomness).
  const pick = (imgs: RgbImage[] | undefined, fallback: RgbImage[], k: number) =>
    (imgs && imgs.length ? imgs : fallback).slice(0, k).map((im) => centerCrop(im, to.crop));
  const sets: SampleSets = {
    sampleA: pick(ds.testA?.images, ds.trainA.images, 4),
    sampleB: pick(ds.testB?.images, ds.trainB.images, 4),
    divA: pick(ds.testA?.images, ds.trainA.images, 8),
    divB: pick(ds.testB?.images, ds.trainB.images, 8),
  };

  const warnings: HealthWarning[] = [];
  const dOver = new DOverpowerDetector({ window: o.healthWindow });
  const diverge = new DivergenceDetector();
  const warn = async (w: HealthWarning) => {
    warnings.push(w);
    const line = formatWarning(w);
    log(line);
    await fs.appendFile(path.join(o.out, 'health.log'), `${line}\n`);
    await metrics.append({ event: 'health', ...w });
  };

  let stop: GanRunResult<T>['stoppedBy'] | null = null;
  const interrupts = watchInterrupts(log);

  const t0 = Date.now();
  const elapsed = () => elapsedBefore + (Date.now() - t0) / 1000;
  const save = async () => {
    const p = await trainer.save(ckptDir, { elapsedSeconds: elapsed(), data: o.data, loadSize, backend: backend.name }, o.keep);
    await metrics.append({ event: 'checkpoint', step: trainer.step, path: p });
    return p;
  };
  let lastCkpt: string | null = latest;
  const startStep = trainer.step;
  let rollbacks = 0;
  let stepTimeAvg = 0;
  const tty = process.stdout.isTTY;

  const doSamples = async () => {
    await task.samples({
      trainer,
      sets,
      gridFile: path.join(o.out, 'samples', `step-${String(trainer.step).padStart(7, '0')}.png`),
      diversity: async (direction, label, generated, real) => {
        const mc = modeCollapseCheck(trainer.step, generated, real, { label });
        await metrics.append({ event: 'diversity', step: trainer.step, direction, generated: mc.generatedDiversity, real: mc.realDiversity, ratio: mc.ratio });
        if (mc.warning) await warn(mc.warning);
      },
    });
    await task.writeLossPlot(metrics, path.join(o.out, 'loss.png'));
  };

  while (trainer.step < to.steps && !stop) {
    if (interrupts.requested) {
      stop = 'signal';
      break;
    }
    if (o.maxMinutes !== undefined && (Date.now() - t0) / 60000 >= o.maxMinutes) {
      stop = 'max-minutes';
      break;
    }
    const ts = Date.now();
    const a = sampleBatch(ds.trainA.images, to.batchSize, to.crop, trainer.rng);
    const b = sampleBatch(ds.trainB.images, to.batchSize, to.crop, trainer.rng);
    const degraded = task.degradeSource ? await task.degradeSource(a, trainer) : null;
    const m = degraded ? trainer.trainStep(degraded, b, a) : trainer.trainStep(a, b);
    const dt = (Date.now() - ts) / 1000;
    stepTimeAvg = stepTimeAvg ? 0.9 * stepTimeAvg + 0.1 * dt : dt;

    const bad = diverge.check(trainer.step + (m.applied ? 0 : 1), task.divergenceValues(m));
    if (bad || !m.applied) {
      if (bad) await warn(bad);
      rollbacks++;
      const ck = await task.latest(ckptDir);
      if (!ck || rollbacks > o.maxRollbacks) {
        log(
          ck
            ? `giving up after ${rollbacks - 1} rollbacks; lower --lr and resume`
            : `diverged before the first checkpoint: restart with a lower --lr (now ${to.lr * trainer.lrScale})`,
        );
        stop = 'rollbacks';
        break;
      }
      const scale = trainer.lrScale * 0.5;
      await trainer.restore(ck);
      trainer.lrScale = Math.min(trainer.lrScale, scale);
      // (a checkpoint to roll back to is this run's own or the resumed one: the rows after it go)
      await metrics.truncateAfter(trainer.step);
      await metrics.append({ event: 'rollback', step: trainer.step, checkpoint: ck, lrScale: trainer.lrScale });
      log(`rolled back to ${ck} (step ${trainer.step}), learning rates now x${trainer.lrScale}`);
      continue;
    }

    await metrics.append({ ...m, applied: undefined, seconds: dt });
    const ow = dOver.update({ step: m.step, dAccReal: m.dAccReal, dAccFake: m.dAccFake, gAdv: m.gAdv });
    if (ow) await warn(ow);
    const extra = task.extraHealth?.(m);
    if (extra) await warn(extra);

    if (m.step % o.logEvery === 0 || m.step === to.steps || tty) {
      const remaining = (to.steps - m.step) * stepTimeAvg;
      const line =
        `step ${m.step}/${to.steps} | ${task.lossLine(m, trainer)} | D real ${fmt(m.dReal)} fake ${fmt(m.dFake)}${to.loss === 'wgan-gp' ? ` gp ${fmt(m.gp)}` : ''}` +
        ` | acc real ${fmt(m.dAccReal, 2)} fake ${fmt(m.dAccFake, 2)} | |gradG| ${fmt(m.gradNormG, 2)} |gradD| ${fmt(m.gradNormD, 2)}` +
        ` | lr ${m.lr.toExponential(2)} | ${stepTimeAvg.toFixed(2)} s/step, eta ${durationText(remaining)}`;
      if (tty) process.stdout.write(`\r${line}\x1b[K`);
      else log(line);
    }
    if (o.onStep) await o.onStep(m, trainer);
    if (m.step % o.sampleEvery === 0) {
      if (tty) process.stdout.write('\n');
      await doSamples();
    }
    if (m.step % o.checkpointEvery === 0) lastCkpt = await save();
  }
  if (tty) process.stdout.write('\n');
  interrupts.release();
  if (stop !== 'rollbacks' && trainer.step > startStep && trainer.step % o.checkpointEvery !== 0) lastCkpt = await save();
  if (trainer.step > startStep && trainer.step % o.sampleEvery !== 0) await doSamples();
  const stoppedBy = stop ?? 'steps';
  log(
    `stopped (${stoppedBy}) at step ${trainer.step}/${to.steps} after ${durationText((Date.now() - t0) / 1000)} this session` +
      `${lastCkpt ? `; checkpoint ${lastCkpt} (continue with --resume)` : ''}`,
  );
  await metrics.append({ event: 'stop', step: trainer.step, reason: stoppedBy, elapsedSeconds: elapsed() });
  return { trainer, stepsDone: trainer.step - startStep, stoppedBy, warnings, checkpoint: lastCkpt, secondsPerStep: stepTimeAvg };
}
