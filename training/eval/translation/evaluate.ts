/**
 * Scores one translation model (anything behind the Translator interface: manifest ONNX,
 * third-party ONNX, tfjs checkpoint generator) on a dataset's held-out test images at 256x256:
 *   calledTarget / calledSource / calledOther   the judge's verdict on the translations
 *   detail        mean over images of (output luminance-gradient magnitude / input's)
 *   edges         mean over images of the Pearson correlation of input and output gradient maps
 *   kid           KID of the translations against the real target-domain test images, on the
 *                 judge's penultimate features (cubic polynomial kernel, unbiased)
 *   score         the held-out score used to pick checkpoints: calledTarget x min(detail, 1) x
 *                 max(edges, 0): 0 for an identity map, a blur, or a broken output; 1 only when
 *                 every translation is called target and keeps the input's detail and structure
 *   msPerImage    mean wall-clock time of one 256x256 translation
 * With `degrade` (jpeg:Q, noise:S, blur:S, e.g. blur:1+jpeg:60) every 256x256 input is degraded
 * first, the way photos from phones and the web come: detail and edges then compare the output with
 * the degraded input the model was given.
 */
import type { RgbImage } from '../../data/images';
import { applyFixedDegradations, type FixedDegradation } from '../../data/degrade';
import { resizeRgb } from '../../data/unpaired';
import { writeGridPng, type Tile } from '../../viz/grid';
import type { Translator } from '../cyclegan/translators';
import { classShares, judge, type Judge, type JudgeData } from './classifier';
import { kid, pct, structureStats } from './metrics';

export type Direction = 'AtoB' | 'BtoA';

export interface TranslationMetrics {
  images: number;
  calledTarget: number;
  calledSource: number;
  calledOther: number;
  detail: number;
  edges: number;
  kid: number;
  score: number;
  msPerImage: number;
  /**
   * The target share on the test images after the first `unseenFrom` (the images a learning curve
   * scored and a checkpoint pick looked at): a pick by the best of many noisy checkpoints is biased
   * upward on the images it was picked on, not on these.
   */
  unseen?: { from: number; images: number; calledTarget: number };
}

export interface EvalContext {
  data: JudgeData;
  judge: Judge;
  /** Judge features and class shares of the real test images of each domain (computed once). */
  real: Record<'A' | 'B', { features: Float32Array[]; shares: { A: number; B: number; other: number } }>;
}

export async function makeEvalContext(data: JudgeData, j: Judge): Promise<EvalContext> {
  const a = await judge(j, data.testA);
  const b = await judge(j, data.testB);
  return { data, judge: j, real: { A: { features: a.features, shares: classShares(a.probs) }, B: { features: b.features, shares: classShares(b.probs) } } };
}

export function heldOutScore(m: Pick<TranslationMetrics, 'calledTarget' | 'detail' | 'edges'>): number {
  const detail = Number.isFinite(m.detail) ? Math.min(1, Math.max(0, m.detail)) : 0;
  return m.calledTarget * detail * Math.max(0, m.edges);
}

const meanOf = (v: number[]) => {
  const f = v.filter(Number.isFinite);
  return f.length ? f.reduce((s, x) => s + x, 0) / f.length : NaN;
};

/** Test image `index` (256x256) degraded as `d`; the noise is seeded by the index, so every model (and the judge's reference) sees the same photo. */
export function degradeTestInput(img: RgbImage, d: FixedDegradation[], index: number): Promise<RgbImage> {
  return applyFixedDegradations(img, d, `translation-input:${index}`);
}

/** Judges a set of (input, output) pairs of one direction. */
export async function scorePairs(ctx: EvalContext, direction: Direction, inputs: RgbImage[], outputs: RgbImage[], msPerImage = NaN, unseenFrom?: number): Promise<TranslationMetrics> {
  const { probs, features } = await judge(ctx.judge, outputs);
  const s = classShares(probs);
  const rest = unseenFrom !== undefined && unseenFrom > 0 && unseenFrom < probs.length ? classShares(probs.slice(unseenFrom)) : null;
  const stats = inputs.map((x, i) => structureStats(x, outputs[i]));
  const target = direction === 'AtoB' ? 'B' : 'A';
  const m = {
    images: inputs.length,
    calledTarget: direction === 'AtoB' ? s.B : s.A,
    calledSource: direction === 'AtoB' ? s.A : s.B,
    calledOther: s.other,
    detail: meanOf(stats.map((t) => t.detail)),
    edges: meanOf(stats.map((t) => t.edges)),
    kid: kid(features, ctx.real[target].features),
    score: 0,
    msPerImage,
    ...(rest ? { unseen: { from: unseenFrom!, images: probs.length - unseenFrom!, calledTarget: direction === 'AtoB' ? rest.B : rest.A } } : {}),
  };
  m.score = heldOutScore(m);
  return m;
}

/** Translates the held-out source images (testA for AtoB) and scores them. */
export async function evaluateTranslator(
  ctx: EvalContext,
  model: Translator,
  direction: Direction,
  opts: { limit?: number; gridFile?: string; gridImages?: number; log?: (l: string) => void; unseenFrom?: number; degrade?: FixedDegradation[] } = {},
): Promise<{ metrics: TranslationMetrics; grid: string | null }> {
  const src = (direction === 'AtoB' ? ctx.data.testA : ctx.data.testB).slice(0, opts.limit);
  const inputs: RgbImage[] = [];
  const outputs: RgbImage[] = [];
  let ms = 0;
  const m = Math.max(1, model.multipleOf);
  for (const [i, img] of src.entries()) {
    let x = await resizeRgb(img, 256, 256);
    if (opts.degrade?.length) x = await degradeTestInput(x, opts.degrade, i);
    // A model that needs another multiple gets the nearest size it accepts; its output is scored at 256.
    const side = Math.max(m, Math.round(256 / m) * m);
    const t0 = performance.now();
    let y = await model.translate(side === 256 ? x : await resizeRgb(x, side, side));
    ms += performance.now() - t0;
    if (y.width !== 256 || y.height !== 256) y = await resizeRgb(y, 256, 256);
    inputs.push(x);
    outputs.push(y);
  }
  const metrics = await scorePairs(ctx, direction, inputs, outputs, ms / Math.max(1, src.length), opts.unseenFrom);
  let grid: string | null = null;
  if (opts.gridFile) {
    await writeTranslationGrid(opts.gridFile, inputs, outputs, opts.gridImages ?? 8);
    grid = opts.gridFile;
  }
  opts.log?.(`${model.label} (${direction}): ${describeMetrics(metrics, direction)}`);
  return { metrics, grid };
}

const tile = (img: RgbImage): Tile => ({ data: Float32Array.from(img.data, (v) => v / 255), width: img.width, height: img.height, range: [0, 1] });

/** `count` test translations at full 256 px, two input | output pairs per row. */
export async function writeTranslationGrid(file: string, inputs: RgbImage[], outputs: RgbImage[], count = 8): Promise<void> {
  const rows: Tile[][] = [];
  const n = Math.min(count, inputs.length);
  for (let i = 0; i < n; i += 2) {
    const row = [tile(inputs[i]), tile(outputs[i])];
    if (i + 1 < n) row.push(tile(inputs[i + 1]), tile(outputs[i + 1]));
    rows.push(row);
  }
  await writeGridPng(file, rows, { labels: n > 1 ? ['input', 'translation', 'input', 'translation'] : ['input', 'translation'] });
}

export function describeMetrics(m: TranslationMetrics, direction: Direction): string {
  const [src, dst] = direction === 'AtoB' ? ['A', 'B'] : ['B', 'A'];
  return (
    `${m.images} test images at 256x256: called target (${dst}) ${pct(m.calledTarget)}, source (${src}) ${pct(m.calledSource)}, other ${pct(m.calledOther)}; ` +
    `detail ${m.detail.toFixed(2)}, edges ${m.edges.toFixed(2)}, KID ${m.kid.toFixed(4)}, score ${m.score.toFixed(3)}` +
    (Number.isFinite(m.msPerImage) ? `; ${m.msPerImage.toFixed(0)} ms per image` : '') +
    (m.unseen ? `; called target on the ${m.unseen.images} images after the first ${m.unseen.from}: ${pct(m.unseen.calledTarget)}` : '')
  );
}
