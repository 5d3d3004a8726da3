/**
 * Pixels <-> NCHW float32 tensors, following the model contract's pixel ranges.
 * Pure functions: no DOM, no onnxruntime. RGBA is 8-bit, row-major, 4 bytes per pixel;
 * tensors are [1, 3, H, W] float32 RGB.
 */

export type Range = readonly [number, number];

function check(w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) {
    throw new Error(`image size must be positive integers, got ${w}x${h}`);
  }
}

/** Rounds n up to the next multiple of m. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** Reflect index i into [0, n) (101 reflection, like numpy 'reflect'); falls back to clamping when n == 1. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - k;
  return k;
}

/**
 * Converts an RGBA image to a [1,3,outH,outW] float tensor in `range`.
 * When outW/outH exceed w/h the extra columns/rows are filled by reflection
 * (used to pad to the model's `multipleOf`).
 */
export function rgbaToNCHW(
  rgba: Uint8Array | Uint8ClampedArray,
  w: number,
  h: number,
  range: Range,
  outW = w,
  outH = h,
): Float32Array {
  check(w, h);
  if (rgba.length < w * h * 4) throw new Error(`RGBA buffer too small: ${rgba.length} bytes for ${w}x${h}`);
  if (outW < w || outH < h) throw new Error(`padded size ${outW}x${outH} is smaller than ${w}x${h}`);
  const [lo, hi] = range;
  const k = (hi - lo) / 255;
  const plane = outW * outH;
  const out = new Float32Array(3 * plane);
  for (let y = 0; y < outH; y++) {
    const sy = y < h ? y : reflectIndex(y, h);
    for (let x = 0; x < outW; x++) {
      const sx = x < w ? x : reflectIndex(x, w);
      const s = (sy * w + sx) * 4;
      const d = y * outW + x;
      out[d] = rgba[s] * k + lo;
      out[plane + d] = rgba[s + 1] * k + lo;
      out[2 * plane + d] = rgba[s + 2] * k + lo;
    }
  }
  return out;
}

/** Maps a tensor value in `range` to a rounded, clamped 0..255 float (not yet stored). */
export function toByte(v: number, lo: number, k: number): number {
  const b = (v - lo) * k;
  return b <= 0 ? 0 : b >= 255 ? 255 : b;
}

/**
 * Converts a [1,3,th,tw] tensor (range `range`) to RGBA, cropping the top-left w x h.
 * Non-finite values become 0.
 */
export function nchwToRGBA(
  data: Float32Array,
  tw: number,
  th: number,
  range: Range,
  w = tw,
  h = th,
): Uint8ClampedArray {
  check(tw, th);
  if (data.length < 3 * tw * th) throw new Error(`tensor too small: ${data.length} values for 3x${th}x${tw}`);
  if (w > tw || h > th) throw new Error(`crop ${w}x${h} is larger than the tensor ${tw}x${th}`);
  const [lo, hi] = range;
  const k = 255 / (hi - lo);
  const plane = tw * th;
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = y * tw + x;
      const d = (y * w + x) * 4;
      const r = data[s], g = data[plane + s], b = data[2 * plane + s];
      out[d] = Number.isFinite(r) ? Math.round(toByte(r, lo, k)) : 0;
      out[d + 1] = Number.isFinite(g) ? Math.round(toByte(g, lo, k)) : 0;
      out[d + 2] = Number.isFinite(b) ? Math.round(toByte(b, lo, k)) : 0;
      out[d + 3] = 255;
    }
  }
  return out;
}
