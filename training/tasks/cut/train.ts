/**
 * The CUT/FastCUT training loop, the same machinery as the CycleGAN loop (training/tasks/cyclegan/
 * train.ts): the shared unpaired data loader, one lock per run folder, live health line, JSONL
 * metrics, loss plot and sample grids, health detectors (divergence with rollback,
 * D-overpowering, mode collapse, and identity collapse, FastCUT's known failure), atomic
 * checkpoints with exact resume, bounded runs.
 *
 * Run folder layout:
 *   checkpoints/step-N/     resumable checkpoints: models G, D, H0..Hk (MLP heads), Adam state, RNG
 *   metrics.jsonl           one line per step, plus {event} lines
 *   loss.png                loss curves, redrawn at every sample step
 *   samples/step-N.png      rows: x | G(x) | y | G(y)
 *   health.log              every warning
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../backends';
import { centerCrop, loadUnpairedDataset, sampleBatch, type UnpairedDataset } from '../../data/unpaired';
import type { RgbImage } from '../../data/images';
import { readCheckpointState } from '../../checkpoint';
import { watchInterrupts } from '../../checkpoint/interrupt';
import { withRunLock } from '../../checkpoint/lock';
import { refuseChangedArchitecture } from '../../checkpoint/resume-options';
import {
  DivergenceDetector,
  DOverpowerDetector,
  IdentityCollapseDetector,
  formatWarning,
  modeCollapseCheck,
  type HealthWarning,
} from '../../health/detectors';
import { MetricsLog } from '../../health/metrics';
import { countParams, macs } from '../../models/stats';
import { writePlotPng, type Panel } from '../../viz/plot';
import { writeGridPng, type Tile } from '../../viz/grid';
import { CUT_ARCHITECTURE_KEYS, CutTrainer, type CutOptions, type CutStepMetrics } from './trainer';

export interface CutRunOptions extends CutOptions {
  data: string;
  out: string;
  resume: boolean;
  /** Options the user set explicitly (CLI); on --resume only these are checked against the checkpoint. */
  explicit?: string[];
  loadSize: number;
  checkpointEvery: number;
  sampleEvery: number;
  logEvery: number;
  keep: number;
  maxMinutes?: number;
  limit?: number;
  backend?: string;
  healthWindow: number;
  /** Identity collapse: window (steps) and threshold on mean |G(x) - x|. */
  collapseWindow: number;
  collapseThreshold: number;
  keepSavedSchedule?: boolean;
  maxRollbacks: number;
  log?: (line: string) => void;
  onStep?: (m: CutStepMetrics, t: CutTrainer) => void | Promise<void>;
}

export interface CutRunResult {
  trainer: CutTrainer;
  stepsDone: number;
  stoppedBy: 'steps' | 'max-minutes' | 'signal' | 'rollbacks';
  warnings: HealthWarning[];
  checkpoint: string | null;
  secondsPerStep: number;
}

const FLAGS: Record<string, string> = { nBlocks: '--blocks', dLayers: '--d-layers', netFNc: '--netf-nc' };
const flagName = (k: string) => FLAGS[k] ?? `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

function durationText(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

/** Trains CUT or FastCUT; refuses a run folder another live process is writing. */
export async function runCut(o: CutRunOptions): Promise<CutRunResult> {
  return withRunLock(o.out, () => runCutLocked(o), { log: o.log ?? ((l: string) => console.log(l)) });
}

async function runCutLocked(o: CutRunOptions): Promise<CutRunResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const backend = await initBackend({ backend: o.backend, log });
  if (o.crop % 4 !== 0) throw new Error(`--crop must be a multiple of 4 (the generators downsample twice), got ${o.crop}`);
  if (o.loadSize < o.crop) throw new Error(`--load-size (${o.loadSize}) must be at least --crop (${o.crop})`);
  const ckptDir = path.join(o.out, 'checkpoints');
  await fs.mkdir(path.join(o.out, 'samples'), { recursive: true });

  let trainer: CutTrainer;
  let elapsedBefore = 0;
  const latest = o.resume ? await CutTrainer.latest(ckptDir) : null;
  if (o.resume && !latest) log(`--resume: no checkpoint in ${ckptDir}, starting from scratch`);
  if (!o.resume && (await CutTrainer.latest(ckptDir))) {
    throw new Error(`${o.out} already holds checkpoints: pass --resume to continue that run, or choose another --out`);
  }
  if (latest) {
    const st = (await readCheckpointState(latest)).state as { options?: Record<string, unknown>; elapsedSeconds?: number };
    if (st.options) refuseChangedArchitecture(latest, st.options, o as unknown as Record<string, unknown>, CUT_ARCHITECTURE_KEYS, o.explicit, flagName);
    trainer = await CutTrainer.resume(latest, o.keepSavedSchedule ? {} : { steps: o.steps, decayFrom: Math.min(o.decayFrom, o.steps) });
    elapsedBefore = st.elapsedSeconds ?? 0;
    log(`resumed from ${latest} at step ${trainer.step} (rng ${trainer.rng.state}, lr scale ${trainer.lrScale})`);
  } else {
    trainer = await CutTrainer.create(o);
  }
  const to = trainer.opts;
  const params = countParams(trainer.G);
  const gmacs = macs(trainer.G, 256, 256) / 1e9;
  log(`${to.mode === 'cut' ? 'CUT' : 'FastCUT'}: generator ${to.generator} ngf ${to.ngf} blocks ${to.nBlocks}: ${(params / 1e6).toFixed(3)}M parameters, ${gmacs.toFixed(2)} GMACs at 256x256`);
  log(`discriminator: PatchGAN ndf ${to.ndf} layers ${to.dLayers}: ${(countParams(trainer.D) / 1e6).toFixed(3)}M parameters`);
  log(
    `PatchNCE on ${trainer.nceLayers.length} encoder layers (${trainer.nceLayers.join(', ')}), ${to.numPatches} patches each, MLP heads ${to.netFNc} ` +
      `(${(trainer.heads.reduce((a, h) => a + countParams(h), 0) / 1e6).toFixed(3)}M parameters), tau ${to.nceT}, lambda NCE ${to.lambdaNce}` +
      `${to.nceIdt ? ' with identity NCE' : ''}${to.flipEquivariance ? ', flip equivariance' : ''}; loss ${to.loss} x${to.lambdaGan}, lr ${to.lr}/${to.lrD}, decay from step ${to.decayFrom} to ${to.steps}`,
  );

  const ds: UnpairedDataset = await loadUnpairedDataset(o.data, { loadSize: o.loadSize, limit: o.limit, withTest: true, minImages: Math.max(2, to.batchSize), log });
  const metrics = new MetricsLog(path.join(o.out, 'metrics.jsonl'));
  if (latest) await metrics.truncateAfter(trainer.step);
  await metrics.append({ event: latest ? 'resume' : 'start', step: trainer.step, task: 'cut', backend: backend.name, params, gmacs256: gmacs, nceLayers: trainer.nceLayers, options: to });

  const pick = (imgs: RgbImage[] | undefined, fallback: RgbImage[], k: number) =>
    (imgs && imgs.length ? imgs : fallback).slice(0, k).map((im) => centerCrop(im, to.crop));
  const sampleA = pick(ds.testA?.images, ds.trainA.images, 4);
  const sampleB = pick(ds.testB?.images, ds.trainB.images, 4);
  const divA = pick(ds.testA?.images, ds.trainA.images, 8);
  const divB = pick(ds.testB?.images, ds.trainB.images, 8);

  const warnings: HealthWarning[] = [];
  const dOver = new DOverpowerDetector({ window: o.healthWindow });
  const diverge = new DivergenceDetector();
  const collapse = new IdentityCollapseDetector({ window: o.collapseWindow, threshold: o.collapseThreshold });
  const warn = async (w: HealthWarning) => {
    warnings.push(w);
    const line = formatWarning(w);
    log(line);
    await fs.appendFile(path.join(o.out, 'health.log'), `${line}\n`);
    await metrics.append({ event: 'health', ...w });
  };

  let stop: CutRunResult['stoppedBy'] | null = null;
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

  const translateAll = (images: Float32Array[]) =>
    images.map((im) => tf.tidy(() => trainer.translate(tf.tensor4d(im, [1, to.crop, to.crop, 3])).dataSync() as Float32Array).slice());
  const doSamples = async () => {
    const gA = translateAll(sampleA);
    const gB = translateAll(sampleB);
    const tile = (d: Float32Array): Tile => ({ data: d, width: to.crop, height: to.crop });
    const rows = sampleA.slice(0, Math.min(sampleA.length, sampleB.length)).map((a, i) => [tile(a), tile(gA[i]), tile(sampleB[i]), tile(gB[i])]);
    await writeGridPng(path.join(o.out, 'samples', `step-${String(trainer.step).padStart(7, '0')}.png`), rows, { labels: ['x (A)', 'G(x)', 'y (B)', 'G(y)'] });
    const mc = modeCollapseCheck(trainer.step, translateAll(divA), divB, { label: 'G: A->B' });
    await metrics.append({ event: 'diversity', step: trainer.step, direction: 'AtoB', generated: mc.generatedDiversity, real: mc.realDiversity, ratio: mc.ratio });
    if (mc.warning) await warn(mc.warning);
    await writeCutLossPlot(metrics, path.join(o.out, 'loss.png'));
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
      nce: m.nce,
      nceIdt: m.nceIdt,
      dReal: m.dReal,
      dFake: m.dFake,
      gradNormG: m.gradNormG,
      gradNormD: m.gradNormD,
    });
    if (bad || !m.applied) {
      if (bad) await warn(bad);
      rollbacks++;
      const ck = await CutTrainer.latest(ckptDir);
      if (!ck || rollbacks > o.maxRollbacks) {
        log(ck ? `giving up after ${rollbacks - 1} rollbacks; lower --lr and resume` : `diverged before the first checkpoint: restart with a lower --lr (now ${to.lr * trainer.lrScale})`);
        stop = 'rollbacks';
        break;
      }
      const scale = trainer.lrScale * 0.5;
      await trainer.restore(ck);
      trainer.lrScale = Math.min(trainer.lrScale, scale);
      await metrics.truncateAfter(trainer.step);
      await metrics.append({ event: 'rollback', step: trainer.step, checkpoint: ck, lrScale: trainer.lrScale });
      log(`rolled back to ${ck} (step ${trainer.step}), learning rates now x${trainer.lrScale}`);
      continue;
    }

    await metrics.append({ ...m, applied: undefined, seconds: dt });
    const ow = dOver.update({ step: m.step, dAccReal: m.dAccReal, dAccFake: m.dAccFake, gAdv: m.gAdv });
    if (ow) await warn(ow);
    const ic = collapse.update(m.step, m.identityDistance);
    if (ic) await warn(ic);

    if (m.step % o.logEvery === 0 || m.step === to.steps || tty) {
      const remaining = (to.steps - m.step) * stepTimeAvg;
      const line =
        `step ${m.step}/${to.steps} | G adv ${fmt(m.gAdv)} nce ${fmt(m.nce)}${to.nceIdt ? ` nce_idt ${fmt(m.nceIdt)}` : ''} |G(x)-x| ${fmt(m.identityDistance)}` +
        ` | D real ${fmt(m.dReal)} fake ${fmt(m.dFake)}${to.loss === 'wgan-gp' ? ` gp ${fmt(m.gp)}` : ''} | acc real ${fmt(m.dAccReal, 2)} fake ${fmt(m.dAccFake, 2)}` +
        ` | |gradG| ${fmt(m.gradNormG, 2)} |gradD| ${fmt(m.gradNormD, 2)} | lr ${m.lr.toExponential(2)} | ${stepTimeAvg.toFixed(2)} s/step, eta ${durationText(remaining)}`;
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

/** Redraws the CUT loss plot from the metrics log. */
export async function writeCutLossPlot(metrics: MetricsLog, file: string): Promise<void> {
  const rows = (await metrics.read()).filter((r) => typeof r.step === 'number' && r.event === undefined && typeof r.nce === 'number');
  const series = (name: string, key: string) => ({ name, points: rows.map((r) => [r.step as number, r[key] as number] as [number, number]) });
  const panels: Panel[] = [
    { title: 'generator losses', series: [series('G adv', 'gAdv'), series('NCE(G(x), x)', 'nce'), series('NCE(G(y), y)', 'nceIdt')] },
    { title: 'mean |G(x) - x| (identity collapse when ~0)', series: [series('|G(x) - x|', 'identityDistance')] },
    { title: 'discriminator', series: [series('D real', 'dReal'), series('D fake', 'dFake'), series('acc real', 'dAccReal'), series('acc fake', 'dAccFake')] },
    { title: 'gradient norms', series: [series('|grad G|', 'gradNormG'), series('|grad D|', 'gradNormD')] },
  ];
  await writePlotPng(file, panels, { title: `CUT training, step ${rows.length ? rows[rows.length - 1].step : 0}` });
}
