/**
 * Learning curve of a translation run: scores every checkpoint of a run folder
 * (<run>/checkpoints/step-N, each with models/G and, for CycleGAN, models/F) on the held-out
 * test images with the judge, and writes curve.json + curve.png. Works for any trainer whose
 * checkpoints hold a generator G (A->B) and optionally F (B->A), e.g. CycleGAN and CUT.
 * Checkpoints already in an existing curve.json are not scored again (the same step in the same
 * folder is the same weights: checkpoints are written once, atomically), so the command can be
 * re-run while a training is still writing new ones; a checkpoint pruned mid-way is skipped.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Judge } from './classifier';
import { loadLayersModel, modelFolder, readCheckpointState, type GeneratorWeights } from '../../checkpoint';
import { writeFileAtomic } from '../../io/atomic';
import { exists } from '../../io/fs';
import { writePlotPng } from '../../viz/plot';
import { fastLayersTranslator } from '../cyclegan/translators';
import { evaluateTranslator, makeEvalContext, type Direction, type EvalContext, type TranslationMetrics } from './evaluate';
import type { JudgeData } from './classifier';

export interface CurvePoint {
  step: number;
  checkpoint: string;
  hours: number | null;
  AtoB?: TranslationMetrics;
  BtoA?: TranslationMetrics;
}

export interface Curve {
  run: string;
  dataset: string;
  judge: Judge['meta']['heldOut'];
  /** Images per direction scored at each checkpoint. */
  limit: number | null;
  /** The generators' weight averages (when a checkpoint has them) or their trained weights. */
  weights: GeneratorWeights;
  points: CurvePoint[];
  /** The checkpoint with the highest AtoB held-out score (ties: lower KID, then later step). */
  best: { step: number; checkpoint: string; score: number } | null;
}

/** The checkpoints folder of a run (or the folder itself when it already holds step-N folders), oldest first. */
export async function listCheckpoints(run: string): Promise<string[]> {
  const dir = (await exists(path.join(run, 'checkpoints'))) ? path.join(run, 'checkpoints') : run;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    throw new Error(`${run} is not a run folder: it has no checkpoints/ folder`);
  }
  const steps = names.filter((n) => /^step-\d+$/.test(n)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const out: string[] = [];
  for (const n of steps) if (await exists(path.join(dir, n, 'meta.json'))) out.push(path.join(dir, n));
  return out;
}

export function pickBest(points: CurvePoint[]): Curve['best'] {
  let best: CurvePoint | null = null;
  for (const p of points) {
    if (!p.AtoB) continue;
    if (
      !best ||
      p.AtoB.score > best.AtoB!.score ||
      (p.AtoB.score === best.AtoB!.score && (p.AtoB.kid < best.AtoB!.kid || (p.AtoB.kid === best.AtoB!.kid && p.step > best.step)))
    )
      best = p;
  }
  return best ? { step: best.step, checkpoint: best.checkpoint, score: best.AtoB!.score } : null;
}

/** Scores one checkpoint's generators (G: AtoB, F: BtoA when present). */
export async function scoreCheckpoint(
  ctx: EvalContext,
  ckpt: string,
  opts: { limit?: number; weights?: GeneratorWeights; log?: (l: string) => void } = {},
): Promise<CurvePoint> {
  const st = await readCheckpointState(ckpt);
  const secs = st.state.elapsedSeconds;
  const point: CurvePoint = { step: st.step, checkpoint: ckpt, hours: typeof secs === 'number' ? Number((secs / 3600).toFixed(3)) : null };
  for (const [g, dir] of [
    ['G', 'AtoB'],
    ['F', 'BtoA'],
  ] as [string, Direction][]) {
    // the weight average when the run kept one (models/G-ema), unless the trained weights are asked for
    const folder = await modelFolder(ckpt, g, opts.weights);
    if (!folder) continue;
    const t = await fastLayersTranslator(await loadLayersModel(folder), `${path.basename(ckpt)}#${path.basename(folder)}`);
    try {
      point[dir] = (await evaluateTranslator(ctx, t, dir, { limit: opts.limit, log: opts.log })).metrics;
    } finally {
      await t.dispose();
    }
  }
  if (!point.AtoB) throw new Error(`${ckpt} has no generator at models/G`);
  return point;
}

export async function learningCurve(opts: {
  run: string;
  data: JudgeData;
  judge: Judge;
  out: string;
  limit?: number;
  weights?: GeneratorWeights;
  force?: boolean;
  log?: (l: string) => void;
}): Promise<Curve> {
  const log = opts.log ?? (() => {});
  const weights = opts.weights ?? 'average';
  const file = path.join(opts.out, 'curve.json');
  let previous: CurvePoint[] = [];
  if (!opts.force && (await exists(file))) {
    try {
      const old = JSON.parse(await fs.readFile(file, 'utf8')) as Curve;
      if (old.limit === (opts.limit ?? null) && old.dataset === opts.data.dataset && (old.weights ?? 'average') === weights) previous = old.points;
    } catch {
      previous = [];
    }
  }
  const ckpts = await listCheckpoints(opts.run);
  if (!ckpts.length) throw new Error(`${opts.run} holds no complete checkpoint (step-N folders with meta.json)`);
  const ctx = await makeEvalContext(opts.data, opts.judge);
  const points = new Map<number, CurvePoint>(previous.map((p) => [p.step, p]));
  const curve: Curve = { run: opts.run, dataset: opts.data.dataset, judge: opts.judge.meta.heldOut, limit: opts.limit ?? null, weights, points: [], best: null };
  const save = async () => {
    curve.points = [...points.values()].sort((a, b) => a.step - b.step);
    curve.best = pickBest(curve.points);
    await fs.mkdir(opts.out, { recursive: true });
    await writeFileAtomic(file, `${JSON.stringify(curve, null, 1)}\n`);
  };
  for (const c of ckpts) {
    const step = Number(path.basename(c).slice(5));
    if (points.has(step) && path.resolve(points.get(step)!.checkpoint) === path.resolve(c)) continue;
    const t0 = Date.now();
    try {
      points.set(step, await scoreCheckpoint(ctx, c, { limit: opts.limit, weights, log }));
    } catch (err) {
      if (!(await exists(c))) {
        log(`${c}: removed while it was scored (pruned by the training), skipped`);
        continue;
      }
      throw err;
    }
    log(`step ${step}: scored in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await save();
  }
  await save();
  await plotCurve(curve, path.join(opts.out, 'curve.png'));
  return curve;
}

export async function plotCurve(curve: Curve, file: string): Promise<void> {
  const series = (dir: Direction, key: keyof TranslationMetrics, name: string) => ({
    name,
    points: curve.points.filter((p) => p[dir]).map((p) => [p.step, p[dir]![key]] as [number, number]),
  });
  const hasF = curve.points.some((p) => p.BtoA);
  const panels = [
    { title: 'held-out score (called target x detail x edges)', series: [series('AtoB', 'score', 'A->B'), ...(hasF ? [series('BtoA', 'score', 'B->A')] : [])], yRange: [0, 1] as [number, number] },
    {
      title: 'judge verdict on A->B translations',
      series: [series('AtoB', 'calledTarget', 'called B (target)'), series('AtoB', 'calledSource', 'called A (source)'), series('AtoB', 'calledOther', 'called other')],
      yRange: [0, 1] as [number, number],
    },
    { title: 'A->B structure', series: [series('AtoB', 'detail', 'detail ratio'), series('AtoB', 'edges', 'edge correlation')] },
    { title: 'KID vs real test images (judge features)', series: [series('AtoB', 'kid', 'A->B'), ...(hasF ? [series('BtoA', 'kid', 'B->A')] : [])] },
  ];
  await writePlotPng(file, panels, { title: `${curve.dataset}: learning curve of ${curve.run} (held-out test images, 256x256)` });
}
