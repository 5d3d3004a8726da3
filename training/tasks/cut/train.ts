/**
 * CUT/FastCUT training: the GAN run loop CycleGAN uses too (training/tasks/shared/gan-run-loop.ts:
 * the shared unpaired data loader, one lock per run folder, live health line, JSONL metrics, loss
 * plot and sample grids, health detectors (divergence with rollback, D-overpowering, mode
 * collapse), atomic checkpoints with exact resume, bounded runs), plus identity collapse,
 * FastCUT's known failure.
 *
 * Run folder layout:
 *   checkpoints/step-N/     resumable checkpoints: models G, D, H0..Hk (MLP heads), Adam state, RNG
 *   metrics.jsonl           one line per step, plus {event} lines
 *   loss.png                loss curves, redrawn at every sample step
 *   samples/step-N.png      rows: x | G(x) | y | G(y)
 *   health.log              every warning
 */
import * as tf from '@tensorflow/tfjs-core';
import { degradeSourceBatch } from '../../data/source-degrade';
import { IdentityCollapseDetector } from '../../health/detectors';
import type { MetricsLog } from '../../health/metrics';
import { countParams } from '../../models/stats';
import { writePlotPng, type Panel } from '../../viz/plot';
import { writeGridPng, type Tile } from '../../viz/grid';
import { fmt, runGanTask, type GanRunOptions, type GanRunResult, type GanTask } from '../shared/gan-run-loop';
import { startPlannedWorker } from '../shared/half-worker';
import { planIdentityWorker } from './identity-worker';
import { CUT_ARCHITECTURE_KEYS, CutTrainer, type CutOptions, type CutStepMetrics } from './trainer';

export interface CutRunOptions extends CutOptions, GanRunOptions {
  /** Identity collapse: window (steps) and threshold on mean |G(x) - x|. */
  collapseWindow: number;
  collapseThreshold: number;
  onStep?: (m: CutStepMetrics, t: CutTrainer) => void | Promise<void>;
  /**
   * Compute the identity NCE half of every step in a worker thread (identity-worker.ts) when the
   * backend and options allow it (default); false: one thread.
   */
  identityWorker?: boolean;
}

export type CutRunResult = GanRunResult<CutTrainer>;

const FLAGS: Record<string, string> = { nBlocks: '--blocks', dLayers: '--d-layers', netFNc: '--netf-nc' };
const flagName = (k: string) => FLAGS[k] ?? `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** What CUT brings to the shared GAN run loop: its trainer, log lines, one-direction samples, identity collapse. */
function cutTask(o: CutRunOptions): GanTask<CutTrainer, CutStepMetrics, CutRunOptions> {
  const collapse = new IdentityCollapseDetector({ window: o.collapseWindow, threshold: o.collapseThreshold });
  return {
    latest: (dir) => CutTrainer.latest(dir),
    create: (opts) => CutTrainer.create(opts),
    // --teacher on a resume points at the teacher's new place (or starts distilling); without it the saved one is read
    resume: (checkpoint, override) =>
      CutTrainer.resume(checkpoint, { ...override, ...(o.teacher ? { teacher: o.teacher, lambdaTeacher: o.lambdaTeacher } : {}), ...(o.degradeInputs !== undefined ? { degradeInputs: o.degradeInputs } : {}) }),
    // (a resumed run keeps its saved --degrade-inputs unless the command line gives one)
    degradeSource: async (a, t) => (t.opts.degradeInputs ? degradeSourceBatch(a, t.opts.batchSize, t.opts.crop, t.opts.degradeInputs, t.rng) : null),
    prepare: async (t, opts, backend, log) => {
      if (opts.identityWorker === false) return log('identity worker: off (--no-identity-worker): the whole generator step on this thread');
      const plan = await startPlannedWorker(planIdentityWorker(t.opts, backend), backend, (n) => t.startIdentityWorker(n));
      if ('why' in plan) return log(`identity worker: not used (${plan.why})`);
      log(`identity worker: the identity NCE half of each generator step (G(y) and its NCE) in a worker thread beside the x half, ${plan.threads} onnxruntime thread(s) each (--no-identity-worker: one thread)`);
    },
    architectureKeys: CUT_ARCHITECTURE_KEYS,
    flagName,
    resumedLine: (latest, t) => `resumed from ${latest} at step ${t.step} (rng ${t.rng.state}, lr scale ${t.lrScale})`,
    describe: (t, params, gmacs) => {
      const to = t.opts;
      return [
        `${to.mode === 'cut' ? 'CUT' : 'FastCUT'}: generator ${to.generator} ngf ${to.ngf} blocks ${to.nBlocks}: ${(params / 1e6).toFixed(3)}M parameters, ${gmacs.toFixed(2)} GMACs at 256x256`,
        `discriminator: PatchGAN ndf ${to.ndf} layers ${to.dLayers}: ${(countParams(t.D) / 1e6).toFixed(3)}M parameters`,
        `PatchNCE on ${t.nceLayers.length} encoder layers (${t.nceLayers.join(', ')}), ${to.numPatches} patches each, MLP heads ${to.netFNc} ` +
          `(${(t.heads.reduce((a, h) => a + countParams(h), 0) / 1e6).toFixed(3)}M parameters), tau ${to.nceT}, lambda NCE ${to.lambdaNce}` +
          `${to.nceIdt ? ' with identity NCE' : ''}${to.flipEquivariance ? ', flip equivariance' : ''}; loss ${to.loss} x${to.lambdaGan}, lr ${to.lr}/${to.lrD}, decay from step ${to.decayFrom} to ${to.steps}`,
        `DiffAugment: ${to.diffAug ?? 'none'}`,
        `source photos degraded (blur, noise, JPEG) before G: ${to.degradeInputs ? `${Math.round(to.degradeInputs * 100)}% of them${t.teacher ? ', the teacher translates the clean ones' : ''}` : 'never'}`,
        ...(t.teacher ? [`distilling from ${to.teacher} (${(countParams(t.teacher) / 1e6).toFixed(3)}M parameters): lambda ${to.lambdaTeacher} x mean |G(x) - T(x)|`] : []),
      ];
    },
    startRow: (t, { event, step, ...row }) => ({ event, step, task: 'cut', ...row, nceLayers: t.nceLayers, options: t.opts }),
    divergenceValues: (m) => ({ gAdv: m.gAdv, nce: m.nce, nceIdt: m.nceIdt, distill: m.distill, dReal: m.dReal, dFake: m.dFake, gradNormG: m.gradNormG, gradNormD: m.gradNormD }),
    extraHealth: (m) => collapse.update(m.step, m.identityDistance),
    lossLine: (m, t) =>
      `G adv ${fmt(m.gAdv)} nce ${fmt(m.nce)}${t.opts.nceIdt ? ` nce_idt ${fmt(m.nceIdt)}` : ''}${t.teacher ? ` distill ${fmt(m.distill)}` : ''} |G(x)-x| ${fmt(m.identityDistance)}`,
    samples: async ({ trainer, sets, gridFile, diversity }) => {
      const crop = trainer.opts.crop;
      const translateAll = (images: Float32Array[]) =>
        images.map((im) => tf.tidy(() => trainer.translate(tf.tensor4d(im, [1, crop, crop, 3])).dataSync() as Float32Array).slice());
      const { sampleA, sampleB } = sets;
      const gA = translateAll(sampleA);
      const gB = translateAll(sampleB);
      const tile = (d: Float32Array): Tile => ({ data: d, width: crop, height: crop });
      const rows = sampleA.slice(0, Math.min(sampleA.length, sampleB.length)).map((a, i) => [tile(a), tile(gA[i]), tile(sampleB[i]), tile(gB[i])]);
      await writeGridPng(gridFile, rows, { labels: ['x (A)', 'G(x)', 'y (B)', 'G(y)'] });
      await diversity('AtoB', 'G: A->B', translateAll(sets.divA), sets.divB);
    },
    writeLossPlot: (metrics, file) => writeCutLossPlot(metrics, file),
  };
}

/** Trains CUT or FastCUT; refuses a run folder another live process is writing. */
export async function runCut(o: CutRunOptions): Promise<CutRunResult> {
  return runGanTask(o, cutTask(o));
}

/** Redraws the CUT loss plot from the metrics log. */
export async function writeCutLossPlot(metrics: MetricsLog, file: string): Promise<void> {
  const rows = (await metrics.read()).filter((r) => typeof r.step === 'number' && r.event === undefined && typeof r.nce === 'number');
  const series = (name: string, key: string) => ({ name, points: rows.map((r) => [r.step as number, r[key] as number] as [number, number]) });
  const distilled = rows.some((r) => typeof r.distill === 'number' && r.distill > 0);
  const panels: Panel[] = [
    { title: 'generator losses', series: [series('G adv', 'gAdv'), series('NCE(G(x), x)', 'nce'), series('NCE(G(y), y)', 'nceIdt'), ...(distilled ? [series('distill |G(x) - T(x)|', 'distill')] : [])] },
    { title: 'mean |G(x) - x| (identity collapse when ~0)', series: [series('|G(x) - x|', 'identityDistance')] },
    { title: 'discriminator', series: [series('D real', 'dReal'), series('D fake', 'dFake'), series('acc real', 'dAccReal'), series('acc fake', 'dAccFake')] },
    { title: 'gradient norms', series: [series('|grad G|', 'gradNormG'), series('|grad D|', 'gradNormD')] },
  ];
  await writePlotPng(file, panels, { title: `CUT training, step ${rows.length ? rows[rows.length - 1].step : 0}` });
}
