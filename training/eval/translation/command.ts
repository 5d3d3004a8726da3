/**
 * CLI for the translation evaluation:
 *   eval translation --model <manifest id | .onnx | checkpoint | run folder>   every metric + a grid
 *   eval curve --run <run folder>                                               learning curve (JSON + PNG)
 *   eval judge --data <dataset folder>                                          (re)train a dataset's judge
 * The judge of a dataset lives in checkpoints/classifiers/<dataset>/ and is trained on first use.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { initBackend } from '../../backends';
import { readCheckpointState, type GeneratorWeights } from '../../checkpoint';
import { writeFileAtomic } from '../../io/atomic';
import { exists } from '../../io/fs';
import { describeFixedDegradations, parseFixedDegradations } from '../../data/degrade';
import { resolveTranslator, type Range } from '../cyclegan/translators';
import { loadJudge, saveJudge, trainJudge, type Judge, type JudgeData } from './classifier';
import { learningCurve } from './curve';
import { describeMetrics, evaluateTranslator, makeEvalContext, type Direction, type TranslationMetrics } from './evaluate';
import { loadJudgeData } from './judge-data';
import { kid, pct } from './metrics';

export const DATASETS_ROOT = path.join('..', 'shared', 'datasets', 'cyclegan');
export const MANIFEST = path.join('public', 'models', 'manifest.json');
export const judgeDir = (dataset: string) => path.join('checkpoints', 'classifiers', dataset);

const int = (name: string, min = 1) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};

/** The stored judge of a dataset, trained (minutes) and stored when there is none yet. */
export async function getJudge(data: JudgeData, dir: string, opts: { epochs?: number; perClass?: number; width?: number; augment?: boolean; retrain?: boolean; dataRoot?: string; log?: (l: string) => void } = {}): Promise<Judge> {
  const log = opts.log ?? (() => {});
  const stored = opts.retrain ? null : await loadJudge(dir);
  if (stored) {
    const h = stored.meta.heldOut;
    log(`judge: ${dir} (held-out recall ${data.dataset}: A ${pct(h.A)}, B ${pct(h.B)}, other ${pct(h.other)}; balanced ${pct(h.balanced)})`);
    return stored;
  }
  log(`judge: none stored in ${dir}; training one on trainA/trainB of ${data.dataset} (a few minutes)`);
  // Data loaded test-only gets its training folders now.
  const full = !data.trainA.length && opts.dataRoot ? await loadJudgeData(opts.dataRoot, { log }) : data;
  const j = await trainJudge(full, { epochs: opts.epochs, perClass: opts.perClass, width: opts.width, augment: opts.augment, log });
  await saveJudge(dir, j);
  log(`judge: stored in ${dir}`);
  return j;
}

export interface TranslationReport {
  model: string;
  dataset: string;
  direction: Direction;
  /** how the inputs were degraded before translation (absent: clean test images) */
  inputs?: string;
  metrics: TranslationMetrics;
  /** For reading the numbers: the judge on the real test images, and the untranslated inputs' KID. */
  reference: { realTargetCalledTarget: number; inputsCalledTarget: number; inputsKid: number };
  judge: Judge['meta']['heldOut'];
  grid: string | null;
}

export async function runTranslationEval(o: {
  model: string;
  data?: string;
  direction?: Direction;
  manifest: string;
  range: string;
  limit?: number;
  unseenFrom?: number;
  weights?: GeneratorWeights;
  out: string;
  judgeDir?: string;
  backend: string;
  /** degraded inputs: jpeg:Q, noise:S, blur:S joined by + */
  degrade?: string;
  log?: (l: string) => void;
}): Promise<TranslationReport> {
  const log = o.log ?? ((l: string) => console.log(l));
  await initBackend({ backend: o.backend, log });
  const range = o.range.split(',').map(Number) as Range;
  if (range.length !== 2 || !((range[0] === -1 || range[0] === 0) && range[1] === 1)) throw new Error(`--range must be -1,1 or 0,1, got ${o.range}`);
  const degrade = o.degrade ? parseFixedDegradations(o.degrade) : undefined;
  const generator = o.direction === 'BtoA' ? 'F' : 'G';
  const r = await resolveTranslator(o.model, { manifest: o.manifest, range, generator, weights: o.weights });
  try {
    const direction: Direction = o.direction ?? r.entry?.direction ?? 'AtoB';
    let dataRoot = o.data;
    if (!dataRoot && r.entry?.dataset) dataRoot = path.join(DATASETS_ROOT, r.entry.dataset);
    if (!dataRoot && r.checkpoint) {
      const st = await readCheckpointState(r.checkpoint);
      if (typeof st.state.data === 'string') dataRoot = st.state.data;
    }
    if (!dataRoot) throw new Error(`${o.model} names no dataset (no manifest entry, no checkpoint): pass --data <folder with trainA/trainB/testA/testB>`);
    if (r.entry && r.entry.task !== 'translation') throw new Error(`${o.model} is a ${r.entry.task} model, not a translation model`);
    const data = await loadJudgeData(dataRoot, { log, testOnly: true });
    const j = await getJudge(data, o.judgeDir ?? judgeDir(data.dataset), { log, dataRoot });
    const ctx = await makeEvalContext(data, j);
    await fs.mkdir(o.out, { recursive: true });
    const stem = `${data.dataset}-${direction}-${path.basename(o.model).replace(/\.onnx$/, '')}${degrade ? `-${o.degrade!.replace(/[^a-z0-9.]+/gi, '_')}` : ''}`;
    const gridFile = path.join(o.out, `${stem}.png`);
    const { metrics, grid } = await evaluateTranslator(ctx, r.translator, direction, { limit: o.limit, gridFile, unseenFrom: o.unseenFrom, degrade });
    const [src, tgt] = direction === 'AtoB' ? (['A', 'B'] as const) : (['B', 'A'] as const);
    const reference = {
      realTargetCalledTarget: ctx.real[tgt].shares[tgt],
      inputsCalledTarget: ctx.real[src].shares[tgt],
      inputsKid: kid(ctx.real[src].features, ctx.real[tgt].features),
    };
    const report: TranslationReport = { model: r.translator.label, dataset: data.dataset, direction, ...(degrade ? { inputs: describeFixedDegradations(degrade) } : {}), metrics, reference, judge: j.meta.heldOut, grid };
    log(`${r.translator.label} (${direction})${degrade ? ` on inputs degraded by ${describeFixedDegradations(degrade)}` : ''} ${describeMetrics(metrics, direction)}`);
    log(
      `reference: real test${tgt} images called ${tgt} ${pct(reference.realTargetCalledTarget)}; untranslated test${src} inputs called ${tgt} ` +
        `${pct(reference.inputsCalledTarget)}, KID ${reference.inputsKid.toFixed(4)}`,
    );
    await writeFileAtomic(path.join(o.out, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`);
    log(`report: ${path.join(o.out, `${stem}.json`)}, grid: ${grid}`);
    return report;
  } finally {
    await r.translator.dispose();
  }
}

/** --weights of every command that reads generators from checkpoints (eval, curve, ship). */
export const WEIGHTS_OPTION = (): Option =>
  new Option('--weights <kind>', "a checkpoint's generator weights: average (its weight average, when the run kept one) or trained (the weights the optimizer left)")
    .choices(['average', 'trained'])
    .default('average');

export function registerTranslationEvalCommands(evaluate: Command): void {
  evaluate
    .command('translation')
    .description(
      'score a translation model (manifest id, ONNX file incl. third-party per docs/model-contract.md, or a checkpoint / run folder) on held-out test images at 256x256: ' +
        'share called target / source / other by the dataset judge, detail ratio, edge correlation, KID; writes a grid of 8 translations and a JSON report',
    )
    .requiredOption('--model <id|file|folder>', 'manifest id, .onnx file, checkpoint (step-N) or run folder (newest checkpoint; G for AtoB, F for BtoA)')
    .option('--data <folder>', `dataset with trainA/ trainB/ testA/ testB/ (default: ${DATASETS_ROOT}/<the manifest entry's dataset>, or the checkpoint's)`)
    .addOption(new Option('--direction <d>', 'which way the model maps (default: its manifest entry, else AtoB)').choices(['AtoB', 'BtoA']))
    .option('--manifest <file>', 'manifest for ids and tensor specs', MANIFEST)
    .option('--range <lo,hi>', 'pixel range of an ONNX model without a manifest entry: -1,1 or 0,1', '-1,1')
    .option('--limit <n>', 'at most this many test images', int('--limit'))
    .option('--unseen-from <n>', 'also report the target share on the test images after the first n (those a learning curve with --limit n did not score, so a checkpoint picked by it was not picked on them)', int('--unseen-from'))
    .addOption(WEIGHTS_OPTION())
    .option('--out <folder>', 'where the grid PNG and the JSON report go', path.join('runs', 'eval'))
    .option('--judge-dir <folder>', 'judge to use (default: checkpoints/classifiers/<dataset>)')
    .option('--degrade <spec>', 'degrade every 256x256 input before translation: jpeg:<quality>, noise:<sigma grey levels>, blur:<sigma px>, joined by + (e.g. blur:1+jpeg:60)')
    .option('--backend <name>', 'tfjs backend for the judge and tfjs checkpoints', 'wasm')
    .action(async (opts) => {
      await runTranslationEval(opts);
    });

  evaluate
    .command('curve')
    .description('learning curve: score every checkpoint of a run folder (models/G, and models/F when present) on held-out test images; writes curve.json and curve.png')
    .requiredOption('--run <folder>', 'run folder with checkpoints/step-N (read only)')
    .option('--data <folder>', "dataset (default: the one the run's newest checkpoint names)")
    .option('--out <folder>', 'where curve.json and curve.png go (default: runs/eval/curve-<run name>)')
    .option('--limit <n>', 'test images per direction (the first n by file name; keeps one checkpoint to seconds)', int('--limit'), 60)
    .option('--force', 'score again the checkpoints already in curve.json', false)
    .addOption(WEIGHTS_OPTION())
    .option('--judge-dir <folder>', 'judge to use (default: checkpoints/classifiers/<dataset>)')
    .option('--backend <name>', 'tfjs backend', 'wasm')
    .action(async (opts) => {
      const log = (l: string) => console.log(l);
      await initBackend({ backend: opts.backend, log });
      const dataRoot = opts.data ?? (await dataOfRun(opts.run));
      const data = await loadJudgeData(dataRoot, { log, testOnly: true });
      const j = await getJudge(data, opts.judgeDir ?? judgeDir(data.dataset), { log, dataRoot });
      const out = opts.out ?? path.join('runs', 'eval', `curve-${path.basename(path.resolve(opts.run))}`);
      const curve = await learningCurve({ run: opts.run, data, judge: j, out, limit: opts.limit, weights: opts.weights, force: opts.force, log });
      for (const p of curve.points) log(`step ${p.step}: A->B ${describeMetrics(p.AtoB!, 'AtoB')}`);
      log(curve.best ? `best held-out A->B score: step ${curve.best.step} (${curve.best.score.toFixed(3)}), ${curve.best.checkpoint}` : 'no checkpoint scored');
      log(`curve: ${path.join(out, 'curve.json')}, ${path.join(out, 'curve.png')}`);
    });

  evaluate
    .command('judge')
    .description('train (or retrain) the 3-class 256x256 judge of a dataset (A / B / other) on trainA/trainB only; prints its held-out accuracy')
    .requiredOption('--data <folder>', 'dataset with trainA/ trainB/ testA/ testB/')
    .option('--out <folder>', 'where to store it (default: checkpoints/classifiers/<dataset>)')
    .option('--epochs <n>', 'training epochs', int('--epochs'), 6)
    .option('--per-class <n>', 'images drawn per class and epoch (default 200)', int('--per-class'))
    .option('--width <x>', 'channel multiplier of the judge network (1: ~0.1M parameters; 2: ~4x the compute)', parseFloat, 1)
    .option('--augment', 'train on random crops of 80-100% of each side (resized back to 256) as well as mirror flips', false)
    .option('--backend <name>', 'tfjs backend', 'wasm')
    .action(async (opts) => {
      const log = (l: string) => console.log(l);
      await initBackend({ backend: opts.backend, log });
      const data = await loadJudgeData(opts.data, { log });
      await getJudge(data, opts.out ?? judgeDir(data.dataset), { epochs: opts.epochs, perClass: opts.perClass, width: opts.width, augment: opts.augment, retrain: true, log });
    });
}

/** The dataset folder a run was trained on (from its newest checkpoint's state). */
export async function dataOfRun(run: string): Promise<string> {
  const { listCheckpoints } = await import('./curve');
  const ck = (await listCheckpoints(run)).at(-1);
  if (ck) {
    const st = await readCheckpointState(ck);
    if (typeof st.state.data === 'string' && (await exists(st.state.data))) return st.state.data;
  }
  throw new Error(`cannot tell which dataset ${run} was trained on: pass --data <folder>`);
}
