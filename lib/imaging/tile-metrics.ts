/**
 * Does a tiled result look like one image? Two measures over a tile plan (used by tests and benchmarks):
 *   - tile mean colour: each tile's mean RGB in the tiled output vs a reference (the whole-image run)
 *     at the same place;
 *   - steps: the difference in mean colour between two strips either side of a line, across every
 *     tile boundary (the middle of the overlap) and, with the same geometry, across parallel lines every
 *     32 px inside every tile. Measured on the error image (tiled minus reference), where content edges
 *     cancel, a patchwork shows as boundary steps larger than anything inside the tiles.
 * Values are in 8-bit levels (0..255), the largest over the three channels.
 */
import type { TilePlan } from './tiles';

export interface StepOptions {
  /** Strip width in pixels (default 16). */
  strip?: number;
  /** Gap between the two strips (default: the plan's overlap along that boundary, at least 8). */
  gap?: number;
  /** Spacing of the lines measured inside each tile (default 32). */
  every?: number;
}

type Pixels = Uint8ClampedArray | Uint8Array | Float32Array;

function meanRGB(img: Pixels, W: number, x0: number, y0: number, x1: number, y1: number): [number, number, number] {
  let r = 0, g = 0, b = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * W + x) * 4;
      r += img[i];
      g += img[i + 1];
      b += img[i + 2];
    }
  }
  const n = Math.max(1, (x1 - x0) * (y1 - y0));
  return [r / n, g / n, b / n];
}

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

/** Largest per-channel difference between each tile's mean colour in `img` and in `ref` (same size). */
export function tileMeanDiffs(img: Pixels, ref: Pixels, plan: TilePlan): number[] {
  const s = plan.scale, W = plan.outWidth;
  return plan.tiles.map((t) => {
    const r = [t.x * s, t.y * s, (t.x + t.w) * s, (t.y + t.h) * s] as const;
    return maxDiff(meanRGB(img, W, ...r), meanRGB(ref, W, ...r));
  });
}

export interface Step {
  /** 'v' = a vertical line (left/right strips), 'h' = horizontal (above/below). */
  dir: 'v' | 'h';
  /** Position of the line in output pixels, and the span along it. */
  at: number;
  from: number;
  to: number;
  kind: 'boundary' | 'inside';
  step: number;
  /** The tiles the line runs through: the two a boundary separates, or the one a line lies inside. */
  tiles: number[];
}

/**
 * Mean-colour steps across every tile boundary and across lines inside every tile, each measured on
 * the stretch of the line that belongs to one tile (so a step local to one tile is not averaged away).
 */
export function colourSteps(img: Pixels, plan: TilePlan, opts: StepOptions = {}): Step[] {
  const s = plan.scale, W = plan.outWidth, H = plan.outHeight;
  const strip = (opts.strip ?? 16) * s;
  const steps: Step[] = [];
  const across = (dir: 'v' | 'h', at: number, from: number, to: number, gap: number, kind: Step['kind'], tiles: number[]) => {
    const g = Math.round(Math.max(opts.gap ?? gap, 8 * s) / 2);
    const lim = dir === 'v' ? W : H;
    const a0 = Math.max(0, at - g - strip), a1 = at - g, b0 = at + g, b1 = Math.min(lim, at + g + strip);
    if (a1 <= a0 || b1 <= b0) return;
    const m1 = dir === 'v' ? meanRGB(img, W, a0, from, a1, to) : meanRGB(img, W, from, a0, to, a1);
    const m2 = dir === 'v' ? meanRGB(img, W, b0, from, b1, to) : meanRGB(img, W, from, b0, to, b1);
    steps.push({ dir, at, from, to, kind, step: maxDiff(m1, m2), tiles });
  };
  for (const t of plan.tiles) {
    const x0 = t.x * s, y0 = t.y * s, x1 = (t.x + t.w) * s, y1 = (t.y + t.h) * s;
    // the stretch of each line inside this tile, away from the neighbouring overlaps
    const ya = y0 + t.overlapTop * s, yb = y1 - t.overlapBottom * s;
    const xa = x0 + t.overlapLeft * s, xb = x1 - t.overlapRight * s;
    if (t.overlapRight > 0) across('v', Math.round(x1 - (t.overlapRight * s) / 2), ya, yb, t.overlapRight * s, 'boundary', [t.index, t.index + 1]);
    if (t.overlapBottom > 0) across('h', Math.round(y1 - (t.overlapBottom * s) / 2), xa, xb, t.overlapBottom * s, 'boundary', [t.index, t.index + plan.cols]);
    // inside: the same measure on parallel lines every `every` pixels across the tile's own part
    const gapV = Math.max(t.overlapLeft, t.overlapRight) * s, gapH = Math.max(t.overlapTop, t.overlapBottom) * s;
    const every = (opts.every ?? 32) * s;
    for (let x = xa + strip + gapV / 2; x <= xb - strip - gapV / 2; x += every) across('v', Math.round(x), ya, yb, gapV, 'inside', [t.index]);
    for (let y = ya + strip + gapH / 2; y <= yb - strip - gapH / 2; y += every) across('h', Math.round(y), xa, xb, gapH, 'inside', [t.index]);
  }
  return steps;
}

export interface SeamReport {
  /** Largest tile mean-colour difference from the reference (levels). */
  maxTileDiff: number;
  /**
   * Steps of the error image (tiled minus reference): the largest across a tile boundary and the largest
   * inside a tile. A patchwork is an error that jumps at tile boundaries; content edges cancel out.
   */
  maxBoundaryStep: number;
  maxInsideStep: number;
  /** The same two on the tiled image itself (content edges included), for information. */
  imageBoundaryStep: number;
  imageInsideStep: number;
}

export function seamReport(img: Uint8ClampedArray | Uint8Array, ref: Uint8ClampedArray | Uint8Array, plan: TilePlan, opts: StepOptions = {}): SeamReport {
  if (img.length !== ref.length) throw new Error(`seamReport: image and reference differ in size (${img.length} vs ${ref.length} bytes)`);
  const err = new Float32Array(img.length);
  for (let k = 0; k < img.length; k++) err[k] = img[k] - ref[k];
  const max = (xs: Step[], kind: Step['kind']) => Math.max(0, ...xs.filter((x) => x.kind === kind).map((x) => x.step));
  const e = colourSteps(err, plan, opts), st = colourSteps(img, plan, opts);
  return {
    maxTileDiff: Math.max(...tileMeanDiffs(img, ref, plan)),
    maxBoundaryStep: max(e, 'boundary'),
    maxInsideStep: max(e, 'inside'),
    imageBoundaryStep: max(st, 'boundary'),
    imageInsideStep: max(st, 'inside'),
  };
}
