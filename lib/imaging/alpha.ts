/**
 * Pre/post-processing around a model run for images the models cannot take as they are:
 * transparency (models see RGB only) and images smaller than a model can process.
 * Pure functions on 8-bit RGBA (row-major, 4 bytes per pixel): no DOM, no onnxruntime.
 *
 *   const prep = prepareInput(rgba, w, h, { minSide: 32 });   // opaque, padded copy + the alpha plane
 *   ... run the model on prep.rgba (prep.width x prep.height) ...
 *   const out = finishOutput(result, prep, scale);             // cropped back, alpha re-attached
 */
import { reflectIndex } from './tensor';

/** True when any pixel is not fully opaque. */
export function hasAlpha(rgba: Uint8Array | Uint8ClampedArray): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return true;
  return false;
}

/** The alpha channel as one byte per pixel. */
export function extractAlpha(rgba: Uint8Array | Uint8ClampedArray, w: number, h: number): Uint8ClampedArray {
  const a = new Uint8ClampedArray(w * h);
  for (let i = 0; i < w * h; i++) a[i] = rgba[i * 4 + 3];
  return a;
}

/**
 * An opaque copy for the model: visible pixels keep their colour; fully transparent pixels (whose
 * colour is undefined, usually black) take the colour of the nearest visible pixel in their row,
 * else in their column, else mid grey, so the model does not see a black or grey halo at the edges
 * of a logo.
 */
export function flattenAlpha(rgba: Uint8Array | Uint8ClampedArray, w: number, h: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(rgba);
  const filled = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) filled[i] = rgba[i * 4 + 3] > 0 ? 1 : 0;
  const copy = (d: number, s: number) => {
    out[d * 4] = out[s * 4];
    out[d * 4 + 1] = out[s * 4 + 1];
    out[d * 4 + 2] = out[s * 4 + 2];
  };
  // rows: nearest visible pixel to the left or right
  const rowDone = new Uint8Array(h);
  for (let y = 0; y < h; y++) {
    const base = y * w;
    const dist = new Int32Array(w).fill(-1);
    const src = new Int32Array(w).fill(-1);
    let last = -1;
    for (let x = 0; x < w; x++) {
      if (filled[base + x]) last = x;
      else if (last >= 0) {
        dist[x] = x - last;
        src[x] = last;
      }
    }
    last = -1;
    for (let x = w - 1; x >= 0; x--) {
      if (filled[base + x]) last = x;
      else if (last >= 0 && (dist[x] < 0 || last - x < dist[x])) {
        dist[x] = last - x;
        src[x] = last;
      }
    }
    let any = false;
    for (let x = 0; x < w; x++) {
      if (filled[base + x]) any = true;
      else if (src[x] >= 0) copy(base + x, base + src[x]);
    }
    rowDone[y] = any ? 1 : 0;
  }
  // rows with no visible pixel: nearest finished row
  let anyRow = -1;
  for (let y = 0; y < h; y++) if (rowDone[y]) anyRow = y;
  for (let y = 0; y < h; y++) {
    if (rowDone[y]) continue;
    let best = -1;
    for (let d = 1; d < h && best < 0; d++) {
      if (y - d >= 0 && rowDone[y - d]) best = y - d;
      else if (y + d < h && rowDone[y + d]) best = y + d;
    }
    for (let x = 0; x < w; x++) {
      if (best >= 0 && anyRow >= 0) copy(y * w + x, best * w + x);
      else {
        const i = (y * w + x) * 4;
        out[i] = out[i + 1] = out[i + 2] = 128;
      }
    }
  }
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return out;
}

/** Resizes a one-byte-per-pixel plane by an integer factor with bilinear interpolation (pixel centres aligned). */
export function upscalePlane(plane: Uint8Array | Uint8ClampedArray, w: number, h: number, scale: number): Uint8ClampedArray {
  if (scale === 1) return new Uint8ClampedArray(plane);
  const W = w * scale, H = h * scale;
  const out = new Uint8ClampedArray(W * H);
  for (let Y = 0; Y < H; Y++) {
    const fy = Math.min(Math.max((Y + 0.5) / scale - 0.5, 0), h - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, h - 1), ty = fy - y0;
    for (let X = 0; X < W; X++) {
      const fx = Math.min(Math.max((X + 0.5) / scale - 0.5, 0), w - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, w - 1), tx = fx - x0;
      const top = plane[y0 * w + x0] * (1 - tx) + plane[y0 * w + x1] * tx;
      const bot = plane[y1 * w + x0] * (1 - tx) + plane[y1 * w + x1] * tx;
      out[Y * W + X] = Math.round(top * (1 - ty) + bot * ty);
    }
  }
  return out;
}

/** Writes `alpha` (one byte per pixel) into the alpha channel of `rgba`, in place. */
export function attachAlpha(rgba: Uint8ClampedArray, alpha: Uint8Array | Uint8ClampedArray): Uint8ClampedArray {
  if (alpha.length * 4 !== rgba.length) throw new Error(`alpha plane has ${alpha.length} pixels, image has ${rgba.length / 4}`);
  for (let i = 0; i < alpha.length; i++) rgba[i * 4 + 3] = alpha[i];
  return rgba;
}

/** Pads an RGBA image to at least outW x outH on the right and bottom by reflection (edge copy for 1 px). */
export function padRGBA(rgba: Uint8Array | Uint8ClampedArray, w: number, h: number, outW: number, outH: number): Uint8ClampedArray {
  if (outW < w || outH < h) throw new Error(`padded size ${outW}x${outH} is smaller than ${w}x${h}`);
  const out = new Uint8ClampedArray(outW * outH * 4);
  for (let y = 0; y < outH; y++) {
    const sy = y < h ? y : reflectIndex(y, h);
    for (let x = 0; x < outW; x++) {
      const sx = x < w ? x : reflectIndex(x, w);
      const s = (sy * w + sx) * 4, d = (y * outW + x) * 4;
      out[d] = rgba[s];
      out[d + 1] = rgba[s + 1];
      out[d + 2] = rgba[s + 2];
      out[d + 3] = rgba[s + 3];
    }
  }
  return out;
}

/** Top-left w x h crop of an RGBA image that is `stride` pixels wide. */
export function cropTopLeft(rgba: Uint8Array | Uint8ClampedArray, stride: number, w: number, h: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) out.set(rgba.subarray(y * stride * 4, y * stride * 4 + w * 4), y * w * 4);
  return out;
}

export interface PreparedInput {
  /** What the model gets: opaque, at least minSide on each side. */
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
  /** The picture's own size. */
  srcWidth: number;
  srcHeight: number;
  /** The picture's alpha, or null when it is fully opaque. */
  alpha: Uint8ClampedArray | null;
}

/**
 * Smallest side the site feeds a model: a generator with two stride-2 downsamplings and
 * reflection padding needs several pixels at its lowest resolution, so anything thinner is
 * padded by reflection (and the padding cropped off the result).
 */
export function minInputSide(multipleOf: number): number {
  return Math.max(32, 8 * Math.max(1, multipleOf));
}

/** Whether an image of this size needs the page-side preparation (padding) before a model run. */
export function needsPadding(w: number, h: number, multipleOf: number): boolean {
  const m = minInputSide(multipleOf);
  return w < m || h < m;
}

export function prepareInput(rgba: Uint8Array | Uint8ClampedArray, w: number, h: number, opts: { minSide: number }): PreparedInput {
  const alpha = hasAlpha(rgba) ? extractAlpha(rgba, w, h) : null;
  const opaque = alpha ? flattenAlpha(rgba, w, h) : new Uint8ClampedArray(rgba);
  const W = Math.max(w, opts.minSide), H = Math.max(h, opts.minSide);
  const padded = W === w && H === h ? opaque : padRGBA(opaque, w, h, W, H);
  return { rgba: padded, width: W, height: H, srcWidth: w, srcHeight: h, alpha };
}

/** The model's output for a prepared input, cropped to srcWidth*scale x srcHeight*scale with the alpha upscaled and re-attached. */
export function finishOutput(out: Uint8Array | Uint8ClampedArray, prep: PreparedInput, scale: number): { rgba: Uint8ClampedArray; width: number; height: number } {
  const W = prep.width * scale, w = prep.srcWidth * scale, h = prep.srcHeight * scale;
  if (out.length !== W * prep.height * scale * 4) throw new Error(`output has ${out.length / 4} pixels, expected ${W}x${prep.height * scale}`);
  const rgba = W === w && prep.height * scale === h ? new Uint8ClampedArray(out) : cropTopLeft(out, W, w, h);
  if (prep.alpha) attachAlpha(rgba, upscalePlane(prep.alpha, prep.srcWidth, prep.srcHeight, scale));
  return { rgba, width: w, height: h };
}
