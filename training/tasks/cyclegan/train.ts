/**
 * CycleGAN training: the shared GAN run loop (training/tasks/shared/gan-run-loop.ts: data, steps,
 * live GAN-health line, JSONL metrics, loss plot and sample grids, health detectors, atomic
 * checkpoints, exact resume, bounded runs, divergence rollback) with CycleGAN's trainer, log
 * lines, two-direction samples and mode-collapse checks, and loss plot.
 *
 * Run folder layout:
 *   checkpoints/step-N/     resumable checkpoints (see training/checkpoint)
 *   metrics.jsonl           one line per step, plus {event} lines
 *   loss.png                loss curves, redrawn at every sample step
 *   samples/step-N.png      rows: A | G(A) | F(G(A)) | B | F(B) | G(F(B))
 *   health.log              every warning
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MetricsLog } from '../../health/metrics';
import { countParams } from '../../models/stats';
import { writePlotPng, type Panel } from '../../viz/plot';
import { writeGridPng, type Tile } from '../../viz/grid';
import { startPlannedWorker } from '../shared/half-worker';
import { planDomainWorker } from './domain-worker';
import { CycleGanTrainer, type StepMetrics, type TrainerOptions } from './trainer';
import { fmt, runGanTask, type GanRunOptions, type GanRunResult, type GanTask } from '../shared/gan-run-loop';

export interface RunOptions extends TrainerOptions, GanRunOptions {
  /**
   * Compute domain B's halves of every step in a worker thread (domain-worker.ts) when the backend
   * and options allow it (default); false: one thread.
   */
  domainWorker?: boolean;
  /** Called after every step (tests). */
  onStep?: (m: StepMetrics, t: CycleGanTrainer) => void | Promise<void>;
}

export type RunResult = GanRunResult<CycleGanTrainer>;

/** Options that fix the shapes of the saved networks: a resumed run must not change them. */
export const CYCLEGAN_ARCHITECTURE_KEYS = ['generator', 'ngf', 'nBlocks', 'ndf', 'dLayers'] as const;
const FLAGS: Record<string, string> = { generator: '--generator', ngf: '--ngf', nBlocks: '--blocks', ndf: '--ndf', dLayers: '--d-layers' };

/** What CycleGAN brings to the shared GAN run loop (training/tasks/shared/gan-run-loop.ts). */
const CYCLEGAN_TASK: GanTask<CycleGanTrainer, StepMetrics, RunOptions> = {
  latest: (dir) => CycleGanTrainer.latest(dir),
  create: (o) => CycleGanTrainer.create(o),
  resume: (checkpoint, override) => CycleGanTrainer.resume(checkpoint, override),
  prepare: async (t, o, backend, log) => {
    if (o.domainWorker === false) return log('domain worker: off (--no-domain-worker): both domains\' halves of a step on this thread');
    const plan = await startPlannedWorker(planDomainWorker(t.opts, backend), backend, (n) => t.startDomainWorker(n));
    if ('why' in plan) return log(`domain worker: not used (${plan.why}); both domains' halves of a step on this thread`);
    log(`domain worker: domain B's halves of each step (F(b) and its cycle, D_A's loss) in a worker thread beside domain A's, ${plan.threads} onnxruntime thread(s) each (--no-domain-worker: one thread)`);
  },
  architectureKeys: CYCLEGAN_ARCHITECTURE_KEYS,
  flagName: (k) => FLAGS[k] ?? k,
  resumedLine: (latest, t) =>
    `resumed from ${latest} at step ${t.step} (rng ${t.rng.state}, pools ${t.poolA.images.length}/${t.poolB.images.length}, lr scale ${t.lrScale})`,
  describe: (t, params, gmacs) => {
    const to = t.opts;
    return [
      `generator: ${to.generator} ngf ${to.ngf} blocks ${to.nBlocks}: ${(params / 1e6).toFixed(3)}M parameters, ${gmacs.toFixed(2)} GMACs at 256x256 (x2: G and F)`,
      `discriminator: PatchGAN ndf ${to.ndf} layers ${to.dLayers}: ${(countParams(t.DA) / 1e6).toFixed(3)}M parameters (x2)`,
      `loss ${to.loss}, lambda cycle ${to.lambdaCycle}, identity ${to.lambdaIdt}, pool ${to.poolSize}, lr ${to.lr}/${to.lrD} beta1 ${to.beta1}, decay from step ${to.decayFrom} to ${to.steps}`,
      `DiffAugment: ${to.diffAug ?? 'none'}`,
    ];
  },
  startRow: (t, row) => ({ ...row, options: t.opts }),
  divergenceValues: (m) => ({ gAdv: m.gAdv, cycle: m.cycle, idt: m.idt, dReal: m.dReal, dFake: m.dFake, gradNormG: m.gradNormG, gradNormD: m.gradNormD }),
  lossLine: (m) => `G adv ${fmt(m.gAdv)} cyc ${fmt(m.cycle)} idt ${fmt(m.idt)}`,
  samples: async ({ trainer, sets, gridFile, diversity }) => {
    const crop = trainer.opts.crop;
    await writeGridPng(gridFile, sampleGrid(trainer, sets.sampleA, sets.sampleB, crop), {
      labels: ['A', 'G(A)', 'F(G(A))', 'B', 'F(B)', 'G(F(B))'],
    });
    for (const [dir, src, real] of [['AtoB', sets.divA, sets.divB], ['BtoA', sets.divB, sets.divA]] as const) {
      await diversity(dir, dir === 'AtoB' ? 'G: A->B' : 'F: B->A', translateAll(trainer, src, crop, dir), real);
    }
  },
  writeLossPlot: (metrics, file) => writeLossPlot(metrics, file),
};

/** Trains a CycleGAN; refuses a run folder another live process is writing (training/checkpoint/lock). */
export async function runCycleGan(o: RunOptions): Promise<RunResult> {
  return runGanTask(o, CYCLEGAN_TASK);
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
