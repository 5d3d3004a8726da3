/**
 * The CycleGAN training loop: data, steps, live GAN-health line, JSONL metrics, loss plot and
 * sample grids, health detectors, atomic checkpoints, exact resume, bounded runs, divergence
 * rollback.
 *
 * Run folder layout:
 *   checkpoints/step-N/     resumable checkpoints (see training/checkpoint)
 *   metrics.jsonl           one line per step, plus {event} lines
 *   loss.png                loss curves, redrawn at every sample step
 *   samples/step-N.png      rows: A | G(A) | F(G(A)) | B | F(B) | G(F(B))
 *   health.log              every warning
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../backends';
import { centerCrop, loadUnpairedDataset, sampleBatch, type UnpairedDataset } from '../../data/unpaired';
import type { RgbImage } from '../../data/images';
import { DivergenceDetector, DOverpowerDetector, formatWarning, modeCollapseCheck, type HealthWarning } from '../../health/detectors';
import { MetricsLog } from '../../health/metrics';
import { writePlotPng, type Panel } from '../../viz/plot';
import { writeGridPng, type Tile } from '../../viz/grid';
import { CycleGanTrainer, type StepMetrics, type TrainerOptions } from './trainer';
import { watchInterrupts } from '../../checkpoint/interrupt';
import { withRunLock } from '../../checkpoint/lock';
import { refuseChangedArchitecture } from '../../checkpoint/resume-options';
import { countParams, macs } from '../../models/stats';

export interface RunOptions extends TrainerOptions {
  data: string;
  out: string;
  resume: boolean;
  /** Options the user set explicitly (CLI); on --resume only these are checked against the checkpoint (default: all). */
  explicit?: string[];
  loadSize: number;
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
  /** Max rollbacks before giving up. */
  maxRollbacks: number;
  log?: (line: string) => void;
  /** Called after every step (tests). */
  onStep?: (m: StepMetrics, t: CycleGanTrainer) => void | Promise<void>;
}

export interface RunResult {
  trainer: CycleGanTrainer;
  stepsDone: number;
  stoppedBy: 'steps' | 'max-minutes' | 'signal' | 'rollbacks';
  warnings: HealthWarning[];
  checkpoint: string | null;
  secondsPerStep: number;
}

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

function durationText(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

/** Options that fix the shapes of the saved networks: a resumed run must not change them. */
export const CYCLEGAN_ARCHITECTURE_KEYS = ['generator', 'ngf', 'nBlocks', 'ndf', 'dLayers'] as const;
const FLAGS: Record<string, string> = { generator: '--generator', ngf: '--ngf', nBlocks: '--blocks', ndf: '--ndf', dLayers: '--d-layers' };

/** Trains a CycleGAN; refuses a run folder another live process is writing (training/checkpoint/lock). */
export async function runCycleGan(o: RunOptions): Promise<RunResult> {
  return withRunLock(o.out, () => runCycleGanLocked(o), { log: o.log ?? ((l: string) => console.log(l)) });
}

async function runCycleGanLocked(o: RunOptions): Promise<RunResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const backend = await initBackend({ backend: o.backend, log });
  if (o.crop % 4 !== 0) throw new Error(`--crop must be a multiple of 4 (the generators downsample twice), got ${o.crop}`);
  if (o.loadSize < o.crop) throw new Error(`--load-size (${o.loadSize}) must be at least --crop (${o.crop})`);
  const ckptDir = path.join(o.out, 'checkpoints');
  await fs.mkdir(path.join(o.out, 'samples'), { recursive: true });

  let trainer: CycleGanTrainer;
  let elapsedBefore = 0;
  const latest = o.resume ? await CycleGanTrainer.latest(ckptDir) : null;
  if (o.resume && !latest) log(`--resume: no checkpoint in ${ckptDir}, starting from scratch`);
  if (!o.resume && (await CycleGanTrainer.latest(ckptDir))) {
    throw new Error(`${o.out} already holds checkpoints: pass --resume to continue that run, or choose another --out`);
  }
  if (latest) {
    const saved = (await import('../../checkpoint').then((m) => m.readCheckpointState(latest))).state.options as Record<string, unknown> | undefined;
    if (saved) refuseChangedArchitecture(latest, saved, o as unknown as Record<string, unknown>, CYCLEGAN_ARCHITECTURE_KEYS, o.explicit, (k) => FLAGS[k] ?? k);
    // The architecture and data options come from the checkpoint; schedule length may be extended.
    trainer = await CycleGanTrainer.resume(latest, o.keepSavedSchedule ? {} : { steps: o.steps, decayFrom: Math.min(o.decayFrom, o.steps) });
    const st = (await import('../../checkpoint').then((m) => m.readCheckpointState(latest))).state as { elapsedSeconds?: number };
    elapsedBefore = st.elapsedSeconds ?? 0;
    log(`resumed from ${latest} at step ${trainer.step} (rng ${trainer.rng.state}, pools ${trainer.poolA.images.length}/${trainer.poolB.images.length}, lr scale ${trainer.lrScale})`);
  } else {
    trainer = await CycleGanTrainer.create(o);
  }
  const to = trainer.opts;
  const params = countParams(trainer.G);
  const gmacs = macs(trainer.G, 256, 256) / 1e9;
  log(
    `generator: ${to.generator} ngf ${to.ngf} blocks ${to.nBlocks}: ${(params / 1e6).toFixed(3)}M parameters, ${gmacs.toFixed(2)} GMACs at 256x256 (x2: G and F)`,
  );
  log(`discriminator: PatchGAN ndf ${to.ndf} layers ${to.dLayers}: ${(countParams(trainer.DA) / 1e6).toFixed(3)}M parameters (x2)`);
  log(`loss ${to.loss}, lambda cycle ${to.lambdaCycle}, identity ${to.lambdaIdt}, pool ${to.poolSize}, lr ${to.lr}/${to.lrD} beta1 ${to.beta1}, decay from step ${to.decayFrom} to ${to.steps}`);

  const ds: UnpairedDataset = await loadUnpairedDataset(o.data, { loadSize: o.loadSize, limit: o.limit, withTest: true, minImages: Math.max(2, to.batchSize), log });
  const metrics = new MetricsLog(path.join(o.out, 'metrics.jsonl'));
  if (latest) await metrics.truncateAfter(trainer.step);
  await metrics.append({ event: latest ? 'resume' : 'start', step: trainer.step, backend: backend.name, params, gmacs256: gmacs, options: to });

  // Fixed sample and diversity sets (centre crops, no randomness).
  const pick = (imgs: RgbImage[] | undefined, fallback: RgbImage[], k: number) =>
    (imgs && imgs.length ? imgs : fallback).slice(0, k).map((im) => centerCrop(im, to.crop));
  const sampleA = pick(ds.testA?.images, ds.trainA.images, 4);
  const sampleB = pick(ds.testB?.images, ds.trainB.images, 4);
  const divA = pick(ds.testA?.images, ds.trainA.images, 8);
  const divB = pick(ds.testB?.images, ds.trainB.images, 8);

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

  let stop: RunResult['stoppedBy'] | null = null;
  const interrupts = watchInterrupts(log);

  const t0 = Date.now();
  const elapsed = () => elapsedBefore + (Date.now() - t0) / 1000;
  const save = async () => {
    const p = await trainer.save(ckptDir, { elapsedSeconds: elapsed(), data: o.data, loadSize: o.loadSize, backend: backend.name }, o.keep);
    await metrics.append({ event: 'checkpoint', step: trainer.step, path: p });
    return p;
  };
  let lastCkpt: string | null = latest;
  const startStep = trainer.step;
  let rollbacks = 0;
  let stepTimeAvg = 0;
  const tty = process.stdout.isTTY;

  const doSamples = async () => {
    const grid = sampleGrid(trainer, sampleA, sampleB, to.crop);
    await writeGridPng(path.join(o.out, 'samples', `step-${String(trainer.step).padStart(7, '0')}.png`), grid, {
      labels: ['A', 'G(A)', 'F(G(A))', 'B', 'F(B)', 'G(F(B))'],
    });
    for (const [dir, src, real] of [['AtoB', divA, divB], ['BtoA', divB, divA]] as const) {
      const gen = translateAll(trainer, src, to.crop, dir);
      const mc = modeCollapseCheck(trainer.step, gen, real as Float32Array[], { label: dir === 'AtoB' ? 'G: A->B' : 'F: B->A' });
      await metrics.append({ event: 'diversity', step: trainer.step, direction: dir, generated: mc.generatedDiversity, real: mc.realDiversity, ratio: mc.ratio });
      if (mc.warning) await warn(mc.warning);
    }
    await writeLossPlot(metrics, path.join(o.out, 'loss.png'));
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
    const m = trainer.trainStep(a, b);
    const dt = (Date.now() - ts) / 1000;
    stepTimeAvg = stepTimeAvg ? 0.9 * stepTimeAvg + 0.1 * dt : dt;

    const bad = diverge.check(trainer.step + (m.applied ? 0 : 1), {
      gAdv: m.gAdv,
      cycle: m.cycle,
      idt: m.idt,
      dReal: m.dReal,
      dFake: m.dFake,
      gradNormG: m.gradNormG,
      gradNormD: m.gradNormD,
    });
    if (bad || !m.applied) {
      if (bad) await warn(bad);
      rollbacks++;
      const ck = await CycleGanTrainer.latest(ckptDir);
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
      if (latest || lastCkpt) await metrics.truncateAfter(trainer.step);
      await metrics.append({ event: 'rollback', step: trainer.step, checkpoint: ck, lrScale: trainer.lrScale });
      log(`rolled back to ${ck} (step ${trainer.step}), learning rates now x${trainer.lrScale}`);
      continue;
    }

    await metrics.append({ ...m, applied: undefined, seconds: dt });
    const ow = dOver.update({ step: m.step, dAccReal: m.dAccReal, dAccFake: m.dAccFake, gAdv: m.gAdv });
    if (ow) await warn(ow);

    if (m.step % o.logEvery === 0 || m.step === to.steps || tty) {
      const remaining = (to.steps - m.step) * stepTimeAvg;
      const line =
        `step ${m.step}/${to.steps} | G adv ${fmt(m.gAdv)} cyc ${fmt(m.cycle)} idt ${fmt(m.idt)} | D real ${fmt(m.dReal)} fake ${fmt(m.dFake)}` +
        `${to.loss === 'wgan-gp' ? ` gp ${fmt(m.gp)}` : ''} | acc real ${fmt(m.dAccReal, 2)} fake ${fmt(m.dAccFake, 2)} | |gradG| ${fmt(m.gradNormG, 2)} |gradD| ${fmt(m.gradNormD, 2)}` +
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

function translateAll(t: CycleGanTrainer, images: Float32Array[], crop: number, dir: 'AtoB' | 'BtoA'): Float32Array[] {
  return images.map((im) =>
    tf.tidy(() => t.translate(tf.tensor4d(im, [1, crop, crop, 3]), dir).dataSync() as Float32Array).slice(),
  );
}

function sampleGrid(t: CycleGanTrainer, as: Float32Array[], bs: Float32Array[], crop: number): Tile[][] {
  const tile = (d: Float32Array): Tile => ({ data: d, width: crop, height: crop });
  const rows: Tile[][] = [];
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const [gA, fgA, fB, gfB] = tf.tidy(() => {
      const a = tf.tensor4d(as[i], [1, crop, crop, 3]);
      const b = tf.tensor4d(bs[i], [1, crop, crop, 3]);
      const ga = t.translate(a, 'AtoB');
      const fb = t.translate(b, 'BtoA');
      return [ga, t.translate(ga, 'BtoA'), fb, t.translate(fb, 'AtoB')].map((x) => x.dataSync() as Float32Array);
    });
    rows.push([tile(as[i]), tile(gA), tile(fgA), tile(bs[i]), tile(fB), tile(gfB)]);
  }
  return rows;
}

/** Redraws the loss plot from the metrics log. */
export async function writeLossPlot(metrics: MetricsLog, file: string): Promise<void> {
  const rows = (await metrics.read()).filter((r) => typeof r.step === 'number' && r.event === undefined && typeof r.gAdv === 'number');
  const series = (name: string, key: string) => ({ name, points: rows.map((r) => [r.step as number, r[key] as number] as [number, number]) });
  const panels: Panel[] = [
    { title: 'generator losses', series: [series('G adv (both)', 'gAdv'), series('cycle', 'cycle'), series('identity', 'idt')] },
    { title: 'discriminator losses', series: [series('D real', 'dReal'), series('D fake', 'dFake')] },
    { title: 'discriminator accuracy', series: [series('acc real', 'dAccReal'), series('acc fake', 'dAccFake')], yRange: [0, 1] },
    { title: 'gradient norms', series: [series('|grad G|', 'gradNormG'), series('|grad D|', 'gradNormD')] },
  ];
  await writePlotPng(file, panels, { title: `CycleGAN training, step ${rows.length ? rows[rows.length - 1].step : 0}` });
}
