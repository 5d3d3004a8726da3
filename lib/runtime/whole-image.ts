/**
 * Tiled image inference that looks like one image: the runtime-independent driver used by the site's
 * worker (onnxruntime-web) and by Node (onnxruntime-node, lib/runtime/node.ts).
 *
 * A model with InstanceNormalization layers normalizes each tile by that tile's own statistics, so a
 * photo larger than one tile comes back as a patchwork. Here such a model runs in two steps
 * (lib/onnx/instance-norm.ts rewrites the graph):
 *   1. statistics: the `stats` variant runs once on a copy of the photo downscaled to fit `statsSize`
 *      (the whole photo when it already fits) and reports every layer's per-channel mean and variance;
 *      optional `refine` passes then run the `probe` variant over the full-resolution tiles with those
 *      statistics fixed and accumulate every layer's statistics over the part of the image each tile
 *      owns (the exact whole-image statistics are the fixed point of this iteration);
 *   2. tiles: the `fixed` variant runs every tile with those statistics, so the network is the same
 *      local operator everywhere and the feathered seams join tiles that already agree.
 * Models without instance norm (the super-resolution ones) run tile by tile exactly as before.
 */
import { blendRect, blendTile, planTiles, type Feather, type Tile, type TilePlan } from '../imaging/tiles';
import { nchwToRGBA, rgbaToNCHW, type Range } from '../imaging/tensor';
import { downscaleRGBA } from '../imaging/resize';
import { normNames, type NormModelInfo, type NormVariant } from '../onnx/instance-norm';

export interface TensorData {
  data: Float32Array;
  dims: number[];
}
export type Feeds = Record<string, TensorData>;
export type Variant = 'plain' | NormVariant;
/** Runs one variant of the model (plain = the file as given) and returns its named outputs. */
export type RunVariant = (variant: Variant, feeds: Feeds) => Promise<Record<string, TensorData>>;

export interface TiledSpec {
  inRange: Range;
  outRange: Range;
  scale: number;
  multipleOf: number;
  /** margin: input pixels at each tile edge given no weight in the seams (the model's receptive radius). */
  tile: { size: number; overlap: number; margin?: number };
  feather: Feather;
}

export type Normalization = 'none' | 'per-tile' | 'whole-image';

export interface NormOptions {
  /** 'whole-image' (default for models with instance norm) or 'per-tile' (each tile its own statistics, as before). */
  mode?: 'whole-image' | 'per-tile';
  /** Long side of the (downscaled) copy the statistics come from (default DEFAULT_STATS_SIZE). */
  statsSize?: number;
  /**
   * Probe passes over the full-resolution tiles that re-measure every layer's statistics with the current
   * ones fixed (default 0). Measured to make things worse, not better (docs/site.md): one pass corrects
   * every layer for upstream statistics it then no longer gets. Kept for the benchmark.
   */
  refine?: number;
}

/**
 * Statistics copy: images up to 2048 px on the long side (3.1 MP at 4:3) give their statistics at full
 * size, so the tiles reproduce the whole-image run; a 12 MP photo is halved (a quarter of the work of
 * the tiles). When that run fails (out of memory, a GPU buffer limit) it is retried at half the size.
 */
export const DEFAULT_STATS_SIZE = 2048;
/** Smallest statistics copy tried before giving up on whole-image statistics. */
export const MIN_STATS_SIZE = 256;

/** Per-layer, per-channel statistics (float64 while accumulating). */
export interface LayerStats {
  mean: Float64Array;
  var: Float64Array;
}

export interface TiledImageArgs {
  width: number;
  height: number;
  /** Input RGBA of a rectangle of the image. */
  read: (x: number, y: number, w: number, h: number) => Uint8ClampedArray | Promise<Uint8ClampedArray>;
  /** The whole image downscaled to w x h (default: read everything and area-average it). */
  readScaled?: (w: number, h: number) => Uint8ClampedArray | Promise<Uint8ClampedArray>;
  spec: TiledSpec;
  /** The model's input/output names and instance-norm layers (inspectInstanceNorm); no layers = a plain tiled run. */
  info: NormModelInfo;
  run: RunVariant;
  norm?: NormOptions;
  out?: Uint8ClampedArray;
  /** Called before every model run; throw from it to cancel (the worker yields to its event loop here). */
  beforeRun?: () => void | Promise<void>;
  /** Whether a failed statistics run may be retried on a smaller copy (default: never). */
  isRetryable?: (e: unknown) => boolean;
  onTile?: (done: number, total: number) => void;
}

export interface TiledImageResult {
  out: Uint8ClampedArray;
  plan: TilePlan;
  normalization: Normalization;
  /** Size the statistics were taken at (null when not whole-image). */
  statsFrom: { width: number; height: number; refine: number } | null;
  statsMs: number;
}

/** How an image of this size will be run (also tells the caller the plan before anything runs). */
export function planImage(width: number, height: number, spec: TiledSpec, info: NormModelInfo, norm: NormOptions = {}): { plan: TilePlan; normalization: Normalization } {
  const hasNorm = info.layers.length > 0;
  const whole = hasNorm && (norm.mode ?? 'whole-image') === 'whole-image';
  const plan = planTiles(width, height, { size: spec.tile.size, overlap: spec.tile.overlap, multipleOf: spec.multipleOf, scale: spec.scale, align: whole });
  // one tile is the whole image: its own statistics are the whole image's
  return { plan, normalization: !hasNorm ? 'none' : whole && plan.tiles.length > 1 ? 'whole-image' : 'per-tile' };
}

/** Size of the statistics copy: the image itself when it fits in `statsSize`, else scaled to fit. */
export function statsSizeFor(width: number, height: number, statsSize = DEFAULT_STATS_SIZE): { width: number; height: number } {
  const f = Math.min(1, statsSize / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * f)), height: Math.max(1, Math.round(height * f)) };
}

function statsFeeds(info: NormModelInfo, stats: LayerStats[]): Feeds {
  const feeds: Feeds = {};
  stats.forEach((s, k) => {
    const dims = [1, s.mean.length, 1, 1];
    feeds[normNames.normMean(k)] = { data: Float32Array.from(s.mean), dims };
    feeds[normNames.normVar(k)] = { data: Float32Array.from(s.var), dims };
  });
  if (stats.length !== info.layers.length) throw new Error(`statistics for ${stats.length} layers, the model has ${info.layers.length}`);
  return feeds;
}

function readStats(info: NormModelInfo, out: Record<string, TensorData>): LayerStats[] {
  return info.layers.map((_, k) => {
    const m = out[normNames.statMean(k)], v = out[normNames.statVar(k)];
    if (!m || !v) throw new Error(`the statistics pass did not return layer ${k}'s mean and variance`);
    return { mean: Float64Array.from(m.data), var: Float64Array.from(v.data) };
  });
}

/** Whole-image statistics from one run of the `stats` variant on the (downscaled) image. */
export async function statsFromCopy(args: TiledImageArgs, size: { width: number; height: number }): Promise<LayerStats[]> {
  const { width: W, height: H, spec, info } = args;
  const { width: w, height: h } = size;
  let rgba: Uint8ClampedArray;
  if (w === W && h === H) rgba = await args.read(0, 0, W, H);
  else if (args.readScaled) rgba = await args.readScaled(w, h);
  else rgba = downscaleRGBA(await args.read(0, 0, W, H), W, H, w, h);
  const m = Math.max(1, spec.multipleOf);
  const tw = Math.ceil(w / m) * m, th = Math.ceil(h / m) * m;
  await args.beforeRun?.();
  const out = await args.run('stats', { [info.inputName]: { data: rgbaToNCHW(rgba, w, h, spec.inRange, tw, th), dims: [1, 3, th, tw] } });
  return readStats(info, out);
}

/**
 * One probe pass: every tile runs with `stats` fixed and reports each layer's statistics over the part of
 * the image it owns (tiles split their overlaps in the middle, so the parts cover the image once);
 * the parts are merged into whole-image statistics (exact merge of means and variances by pixel count).
 */
export async function refineStats(args: TiledImageArgs, plan: TilePlan, stats: LayerStats[]): Promise<LayerStats[]> {
  const { spec, info } = args;
  const fixed = statsFeeds(info, stats);
  const acc = stats.map((s) => ({ n: 0, sum: new Float64Array(s.mean.length), sq: new Float64Array(s.mean.length) }));
  for (const t of plan.tiles) {
    const [x0, x1] = owned(t.x, t.w, t.overlapLeft, t.overlapRight);
    const [y0, y1] = owned(t.y, t.h, t.overlapTop, t.overlapBottom);
    // the last tile's reflection padding belongs to the image edge, as in a whole-image run
    const bottomPad = t.overlapBottom === 0 ? t.th - t.h : 0, rightPad = t.overlapRight === 0 ? t.tw - t.w : 0;
    const region = new Float32Array([y0 / t.th, x0 / t.tw, (y1 + bottomPad) / t.th, (x1 + rightPad) / t.tw]);
    const n = (y1 + bottomPad - y0) * (x1 + rightPad - x0);
    const rgba = await args.read(t.x, t.y, t.w, t.h);
    await args.beforeRun?.();
    const out = await args.run('probe', {
      ...fixed,
      [info.inputName]: { data: rgbaToNCHW(rgba, t.w, t.h, spec.inRange, t.tw, t.th), dims: [1, 3, t.th, t.tw] },
      [normNames.region]: { data: region, dims: [4] },
    });
    const part = readStats(info, out);
    part.forEach((p, k) => {
      const a = acc[k];
      for (let c = 0; c < p.mean.length; c++) {
        a.sum[c] += n * p.mean[c];
        a.sq[c] += n * (p.var[c] + p.mean[c] * p.mean[c]);
      }
      a.n += n;
    });
  }
  return acc.map((a) => {
    const mean = a.sum.map((s) => s / a.n);
    return { mean, var: a.sq.map((s, c) => Math.max(0, s / a.n - mean[c] * mean[c])) };
  });
}

/** The tile-relative range [a, b) a tile owns along one axis: overlaps split in the middle. */
function owned(_start: number, len: number, before: number, after: number): [number, number] {
  return [Math.floor(before / 2), len - Math.ceil(after / 2)];
}

function checkOutput(y: TensorData, t: Tile, S: number): void {
  const [n, c, oh, ow] = y.dims;
  if (n !== 1 || c !== 3 || oh !== t.th * S || ow !== t.tw * S) {
    throw new ContractError(`The model returned ${y.dims.join('x')} for a 1x3x${t.th}x${t.tw} input; expected 1x3x${t.th * S}x${t.tw * S} (scale ${S}).`);
  }
}

export class ContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractError';
  }
}

/** Runs a whole image through the model in tiles (see the module comment) and assembles the output. */
export async function runTiledImage(args: TiledImageArgs): Promise<TiledImageResult> {
  const { width: W, height: H, spec, info } = args;
  const S = spec.scale;
  const { plan, normalization } = planImage(W, H, spec, info, args.norm);
  const out = args.out ?? new Uint8ClampedArray(plan.outWidth * plan.outHeight * 4);
  let feeds: Feeds = {};
  let statsFrom: TiledImageResult['statsFrom'] = null;
  let statsMs = 0;
  if (normalization === 'whole-image') {
    const t0 = performance.now();
    let size = statsSizeFor(W, H, args.norm?.statsSize ?? DEFAULT_STATS_SIZE);
    let stats: LayerStats[];
    for (;;) {
      try {
        stats = await statsFromCopy(args, size);
        break;
      } catch (e) {
        // a statistics copy too large for this backend: halve it (cancellation and contract errors pass through)
        const long = Math.max(size.width, size.height);
        if (e instanceof ContractError || (e as Error)?.name === 'CancelledError' || long / 2 < MIN_STATS_SIZE || !args.isRetryable?.(e)) throw e;
        size = statsSizeFor(W, H, Math.floor(long / 2));
      }
    }
    const refine = Math.max(0, Math.floor(args.norm?.refine ?? 0));
    for (let i = 0; i < refine; i++) stats = await refineStats(args, plan, stats);
    feeds = statsFeeds(info, stats);
    statsFrom = { ...size, refine };
    statsMs = performance.now() - t0;
  }
  const variant: Variant = normalization === 'whole-image' ? 'fixed' : 'plain';
  for (const t of plan.tiles) {
    const rgba = await args.read(t.x, t.y, t.w, t.h);
    await args.beforeRun?.();
    const x = { data: rgbaToNCHW(rgba, t.w, t.h, spec.inRange, t.tw, t.th), dims: [1, 3, t.th, t.tw] };
    const res = await args.run(variant, { ...feeds, [info.inputName]: x });
    const y = res[info.outputName] ?? Object.values(res)[0];
    checkOutput(y, t, S);
    const tileOut = nchwToRGBA(y.data, y.dims[3], y.dims[2], spec.outRange, t.w * S, t.h * S);
    blendTile(out, plan.outWidth, tileOut, blendRect(t, S, spec.tile.margin), spec.feather);
    args.onTile?.(t.index + 1, plan.tiles.length);
  }
  return { out, plan, normalization, statsFrom, statsMs };
}
