/**
 * Tiling plan and seam blending for images larger than one model run.
 *
 * A plan covers the input with tiles of at most `size` pixels (a multiple of the model's
 * `multipleOf`) that overlap by at least `overlap` pixels. Tiles are processed in raster
 * order and composited into a preallocated RGBA output: where a tile overlaps tiles written
 * before it (its top and left neighbours), it is cross-faded in with a weight that ramps
 * from 0 at its own edge to 1 at the far side of the overlap (linear or cosine). Memory is
 * one tile's tensors plus the 8-bit output; nothing image-sized is ever float.
 */
import { roundUp } from './tensor';

export type Feather = 'linear' | 'cosine';

export interface TileOptions {
  /** Tile edge in input pixels (rounded down to a multiple of multipleOf). */
  size: number;
  /** Minimum overlap between neighbouring tiles, in input pixels. */
  overlap: number;
  /** Model constraint: tensor H and W must be divisible by this. */
  multipleOf?: number;
  /** Output pixels per input pixel. */
  scale?: number;
  /**
   * Start every tile at a multiple of multipleOf (the last tile may then be shorter, padded by
   * reflection like the whole image would be). A network that downsamples by multipleOf is then run on
   * the same sampling grid in every tile as on the whole image: with fixed normalization statistics
   * (lib/runtime/whole-image.ts) the tiles reproduce the whole-image run.
   */
  align?: boolean;
}

export interface Span {
  /** Start in input pixels. */
  start: number;
  /** Length in input pixels actually read from the image. */
  length: number;
  /** Length of the tensor along this axis (length rounded up to multipleOf; extra is reflected padding). */
  padded: number;
  /** Overlap with the previous / next span in input pixels (0 at the ends). */
  overlapBefore: number;
  overlapAfter: number;
}

export interface Tile {
  index: number;
  row: number;
  col: number;
  /** Input rectangle read from the image. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Tensor size (>= w, h; padded to multipleOf by reflection). */
  tw: number;
  th: number;
  /** Overlap with the neighbouring tiles, in input pixels. */
  overlapLeft: number;
  overlapTop: number;
  overlapRight: number;
  overlapBottom: number;
}

export interface TilePlan {
  width: number;
  height: number;
  scale: number;
  outWidth: number;
  outHeight: number;
  tiles: Tile[];
  cols: number;
  rows: number;
}

/**
 * Splits one axis of `length` pixels into the fewest spans of at most `size` pixels that overlap by
 * >= `overlap`, evenly spaced, such that no pixel is covered by more than two spans.
 */
export function planAxis(length: number, size: number, overlap: number, multipleOf = 1, align = false): Span[] {
  if (!Number.isInteger(length) || length <= 0) throw new Error(`axis length must be a positive integer, got ${length}`);
  const m = Math.max(1, Math.floor(multipleOf));
  const s = Math.floor(size / m) * m;
  if (s < m || s <= 0) throw new Error(`tile size ${size} is smaller than multipleOf ${m}`);
  if (overlap < 0 || overlap * 2 > s) throw new Error(`overlap ${overlap} must be in [0, ${s / 2}] for tile size ${s}`);
  if (length <= s) return [{ start: 0, length, padded: roundUp(length, m), overlapBefore: 0, overlapAfter: 0 }];
  for (let n = Math.max(2, Math.ceil((length - overlap) / (s - overlap))); ; n++) {
    const len = Math.min(s, roundUp(Math.ceil((length + (n - 1) * overlap) / n), m));
    // From three spans on, no pixel under three spans needs len >= 2 * overlap; len only shrinks as n grows.
    if (n >= 3 && len < 2 * overlap) {
      throw new Error(`cannot tile ${length} px with tiles of ${s} px overlapping by ${overlap} px: use larger tiles (well over twice the overlap) or a smaller overlap`);
    }
    const even = (i: number) => (i * (length - len)) / (n - 1);
    // aligned: interior starts round down to a multiple of m, the last one up (so it stays <= len long)
    const starts = Array.from({ length: n }, (_, i) =>
      !align || m === 1 ? Math.round(even(i)) : i === n - 1 ? Math.ceil(even(i) / m) * m : Math.floor(even(i) / m) * m,
    );
    const lens = starts.map((st, i) => (i === n - 1 ? length - st : len));
    const ok = starts.every((st, i) => i === 0 || (starts[i - 1] + lens[i - 1] - st >= overlap && (i < 2 || st >= starts[i - 2] + lens[i - 2])));
    if (!ok) continue;
    return starts.map((start, i) => ({
      start,
      length: lens[i],
      padded: roundUp(lens[i], m),
      overlapBefore: i === 0 ? 0 : starts[i - 1] + lens[i - 1] - start,
      overlapAfter: i === n - 1 ? 0 : start + lens[i] - starts[i + 1],
    }));
  }
}

export function planTiles(width: number, height: number, opts: TileOptions): TilePlan {
  const scale = opts.scale ?? 1;
  const m = opts.multipleOf ?? 1;
  const xs = planAxis(width, opts.size, opts.overlap, m, opts.align);
  const ys = planAxis(height, opts.size, opts.overlap, m, opts.align);
  const tiles: Tile[] = [];
  ys.forEach((sy, row) =>
    xs.forEach((sx, col) =>
      tiles.push({
        index: tiles.length,
        row,
        col,
        x: sx.start,
        y: sy.start,
        w: sx.length,
        h: sy.length,
        tw: sx.padded,
        th: sy.padded,
        overlapLeft: sx.overlapBefore,
        overlapTop: sy.overlapBefore,
        overlapRight: sx.overlapAfter,
        overlapBottom: sy.overlapAfter,
      }),
    ),
  );
  return { width, height, scale, outWidth: width * scale, outHeight: height * scale, tiles, cols: xs.length, rows: ys.length };
}

/**
 * Weight of the incoming tile at distance d (0-based) into an overlap of n pixels. The outer `margin`
 * pixels of the overlap on each side (default: a quarter of it) get weight 0 / 1, so neither tile's
 * border pixels (which saw padding instead of image) contribute; the middle ramps linearly or with a
 * raised cosine. A local operator (an upscaler) whose receptive radius is at most `margin` therefore
 * gives exactly its whole-image result (lib/contract/manifest.ts: `tile.margin`).
 */
export function featherWeight(d: number, n: number, feather: Feather = 'linear', margin?: number): number {
  if (n <= 0 || d >= n) return 1;
  if (d < 0) return 0;
  const mg = Math.min(margin ?? Math.floor(n / 4), Math.floor((n - 1) / 2));
  const t = Math.min(1, Math.max(0, (d - mg + 0.5) / (n - 2 * mg)));
  return feather === 'cosine' ? 0.5 - 0.5 * Math.cos(Math.PI * t) : t;
}

/**
 * A tile's own weight along one axis of `len` output pixels: rises over the first `before` pixels,
 * falls over the last `after`. Neighbouring tiles' ramps sum to exactly 1 across their overlap.
 */
export function featherRamp(len: number, before: number, after = 0, feather: Feather = 'linear', margin?: number): Float32Array {
  const r = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    let w = featherWeight(i, before, feather, margin);
    if (after > 0 && i >= len - after) w *= 1 - featherWeight(i - (len - after), after, feather, margin);
    r[i] = w;
  }
  return r;
}

export interface BlendRect {
  /** Output position and size of the tile. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Overlaps with neighbours, in output pixels. */
  left: number;
  top: number;
  right: number;
  bottom: number;
  /** Output pixels at each edge of an overlap that get no weight (default: a quarter of the overlap). */
  margin?: number;
}

/** Output-space rectangle of a planned tile; `margin` in input pixels (see featherWeight). */
export function blendRect(t: Tile, scale: number, margin?: number): BlendRect {
  return {
    x: t.x * scale, y: t.y * scale, w: t.w * scale, h: t.h * scale,
    left: t.overlapLeft * scale, top: t.overlapTop * scale, right: t.overlapRight * scale, bottom: t.overlapBottom * scale,
    ...(margin === undefined ? {} : { margin: margin * scale }),
  };
}

/**
 * Composites a processed tile (RGBA, r.w x r.h) into `out` (outW wide). Tiles must arrive in raster
 * order. Every tile has a separable weight (feather ramps on its overlapping sides) and the weights of
 * all tiles covering a pixel sum to 1, so after the last tile each output pixel is the exact weighted
 * average of the tiles covering it; in between, `out` holds the normalised average of those written
 * so far. Needs no image-sized float buffer.
 */
export function blendTile(out: Uint8ClampedArray, outW: number, tile: Uint8ClampedArray, r: BlendRect, feather: Feather = 'linear'): void {
  const ux = featherRamp(r.w, r.left, r.right, feather, r.margin);
  const uy = featherRamp(r.h, r.top, r.bottom, feather, r.margin);
  for (let y = 0; y < r.h; y++) {
    const rowOut = ((r.y + y) * outW + r.x) * 4;
    const rowIn = y * r.w * 4;
    const wy = uy[y];
    const inTop = y < r.top;
    if (!inTop && r.left === 0) {
      out.set(tile.subarray(rowIn, rowIn + r.w * 4), rowOut);
      continue;
    }
    const prevTop = inTop ? 1 - wy : 0;
    for (let x = 0; x < r.w; x++) {
      const wx = ux[x];
      const w = wx * wy;
      const prev = prevTop + (x < r.left ? (1 - wx) * wy : 0);
      const d = rowOut + x * 4;
      const s = rowIn + x * 4;
      if (prev <= 0) {
        out[d] = tile[s];
        out[d + 1] = tile[s + 1];
        out[d + 2] = tile[s + 2];
      } else {
        const a = w / (prev + w);
        const b = 1 - a;
        out[d] = out[d] * b + tile[s] * a;
        out[d + 1] = out[d + 1] * b + tile[s + 1] * a;
        out[d + 2] = out[d + 2] * b + tile[s + 2] * a;
      }
      out[d + 3] = 255;
    }
  }
}

/**
 * Reference driver (used by tests and by the worker): runs `process` on every tile of an RGBA image
 * and returns the assembled output. `read` returns the tile's input RGBA (w x h).
 */
export async function runTiled(
  plan: TilePlan,
  read: (t: Tile) => Uint8ClampedArray | Promise<Uint8ClampedArray>,
  process: (rgba: Uint8ClampedArray, t: Tile) => Uint8ClampedArray | Promise<Uint8ClampedArray>,
  opts: { feather?: Feather; margin?: number; out?: Uint8ClampedArray; onTile?: (done: number, total: number) => void; signal?: { cancelled: boolean } } = {},
): Promise<Uint8ClampedArray> {
  const s = plan.scale;
  const out = opts.out ?? new Uint8ClampedArray(plan.outWidth * plan.outHeight * 4);
  for (const t of plan.tiles) {
    if (opts.signal?.cancelled) throw new CancelledError();
    const input = await read(t);
    const result = await process(input, t);
    blendTile(out, plan.outWidth, result, blendRect(t, s, opts.margin), opts.feather);
    opts.onTile?.(t.index + 1, plan.tiles.length);
  }
  return out;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** Copies a w x h rectangle at (x, y) out of an RGBA image of width W. */
export function cropRGBA(src: Uint8ClampedArray | Uint8Array, W: number, x: number, y: number, w: number, h: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(w * h * 4);
  for (let r = 0; r < h; r++) {
    const s = ((y + r) * W + x) * 4;
    out.set(src.subarray(s, s + w * 4), r * w * 4);
  }
  return out;
}

/** Rough ETA in seconds from elapsed time and tiles done (weights tiles by pixel count). */
export function estimateEta(plan: TilePlan, done: number, elapsedMs: number): number | null {
  if (done <= 0) return null;
  const px = (t: Tile) => t.tw * t.th;
  let doneP = 0, totalP = 0;
  plan.tiles.forEach((t, i) => {
    totalP += px(t);
    if (i < done) doneP += px(t);
  });
  return ((elapsedMs / doneP) * (totalP - doneP)) / 1000;
}
