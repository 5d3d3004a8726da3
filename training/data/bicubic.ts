/**
 * MATLAB-compatible `imresize(img, scale, 'bicubic')` (antialiasing on, the default).
 *
 * The benchmark LR images (Set5/Set14/BSD100 `LR_bicubic`) were made with MATLAB's imresize, and
 * JS/TF bicubic resizers do not reproduce them: MATLAB widens the cubic kernel by 1/scale when
 * downscaling (antialiasing), mirrors the border and resizes one dimension at a time in double
 * precision, rounding to uint8 only at the end. This is a direct port of MATLAB's
 * `contributions()` / `resizeAlongDim()` so training LR matches the benchmark LR bit for bit
 * (or within one grey level where MATLAB's own float order differs).
 */
import type { RgbImage } from './images';

/** Keys' cubic kernel with a = -0.5, as in MATLAB's imresize. */
export function cubic(x: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

interface Contributions {
  /** outLength x taps weights, row-major. */
  weights: Float64Array;
  /** outLength x taps input indices (0-based, border mirrored). */
  indices: Int32Array;
  taps: number;
}

const contribCache = new Map<string, Contributions>();

/** MATLAB's contributions(): weights and (mirrored) source indices for one dimension. */
export function contributions(inLength: number, outLength: number, scale: number, antialiasing = true): Contributions {
  const key = `${inLength},${outLength},${scale},${antialiasing}`;
  const hit = contribCache.get(key);
  if (hit) return hit;
  let kernelWidth = 4;
  let h = cubic;
  if (scale < 1 && antialiasing) {
    h = (x: number) => scale * cubic(scale * x);
    kernelWidth = kernelWidth / scale;
  }
  const P = Math.ceil(kernelWidth) + 2;
  const w = new Float64Array(outLength * P);
  const idx = new Int32Array(outLength * P);
  for (let o = 0; o < outLength; o++) {
    const x = o + 1; // MATLAB 1-based output coordinate
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kernelWidth / 2);
    let sum = 0;
    for (let p = 0; p < P; p++) {
      const j = left + p; // 1-based input index, may be out of range
      const v = h(u - j);
      w[o * P + p] = v;
      sum += v;
      // aux = [1:in, in:-1:1]; indices = aux(mod(j-1, 2*in) + 1)
      const m = (((j - 1) % (2 * inLength)) + 2 * inLength) % (2 * inLength);
      idx[o * P + p] = m < inLength ? m : 2 * inLength - 1 - m;
    }
    for (let p = 0; p < P; p++) w[o * P + p] /= sum;
  }
  // MATLAB also drops all-zero weight columns; zero weights contribute nothing, so keeping them is equivalent.
  const c = { weights: w, indices: idx, taps: P };
  if (contribCache.size > 256) contribCache.clear();
  contribCache.set(key, c);
  return c;
}

/**
 * Resizes planar-interleaved float data (HWC, any channel count) by `scale` with MATLAB's bicubic.
 * Output size is ceil(in * scale) per dimension, as MATLAB computes it. Returns float64 (no rounding).
 */
export function imresizeFloat(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  scale: number,
  antialiasing = true,
): { data: Float64Array; width: number; height: number } {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`imresize: bad scale ${scale}`);
  if (width < 1 || height < 1) throw new Error(`imresize: empty image ${width}x${height}`);
  const outW = Math.ceil(width * scale - 1e-9);
  const outH = Math.ceil(height * scale - 1e-9);
  // MATLAB resizes along dimension 1 (rows, i.e. height) first when the scales are equal.
  const ch = contributions(height, outH, scale, antialiasing);
  const tmp = new Float64Array(outH * width * channels);
  const rowStride = width * channels;
  for (let o = 0; o < outH; o++) {
    const base = o * ch.taps;
    const dst = o * rowStride;
    for (let p = 0; p < ch.taps; p++) {
      const wgt = ch.weights[base + p];
      if (wgt === 0) continue;
      const s = ch.indices[base + p] * rowStride;
      for (let k = 0; k < rowStride; k++) tmp[dst + k] += wgt * src[s + k];
    }
  }
  const cw = contributions(width, outW, scale, antialiasing);
  const out = new Float64Array(outH * outW * channels);
  for (let y = 0; y < outH; y++) {
    const srow = y * rowStride;
    const drow = y * outW * channels;
    for (let o = 0; o < outW; o++) {
      const base = o * cw.taps;
      const d = drow + o * channels;
      for (let p = 0; p < cw.taps; p++) {
        const wgt = cw.weights[base + p];
        if (wgt === 0) continue;
        const s = srow + cw.indices[base + p] * channels;
        for (let c = 0; c < channels; c++) out[d + c] += wgt * tmp[s + c];
      }
    }
  }
  return { data: out, width: outW, height: outH };
}

/** `imresize(uint8 RGB, scale, 'bicubic')`: result rounded and clamped to uint8 like MATLAB. */
export function imresize(img: RgbImage, scale: number): RgbImage {
  const r = imresizeFloat(img.data, img.width, img.height, 3, scale);
  const data = new Uint8Array(r.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(r.data[i]);
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width: r.width, height: r.height, data };
}

/** Top-left crop to a multiple of `scale` in both dimensions (the usual "modcrop"). */
export function modcrop(img: RgbImage, scale: number): RgbImage {
  const w = img.width - (img.width % scale);
  const h = img.height - (img.height % scale);
  return crop(img, 0, 0, w, h);
}

export function crop(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  if (x < 0 || y < 0 || x + w > img.width || y + h > img.height) {
    throw new Error(`crop ${w}x${h}+${x}+${y} is outside the ${img.width}x${img.height} image`);
  }
  if (x === 0 && y === 0 && w === img.width && h === img.height) return img;
  const data = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) data.set(img.data.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  return { width: w, height: h, data };
}

/** Benchmark-style LR: modcrop to the scale, then MATLAB bicubic downscale by 1/scale. */
export function bicubicDownscale(hr: RgbImage, scale: number): { hr: RgbImage; lr: RgbImage } {
  const cropped = modcrop(hr, scale);
  return { hr: cropped, lr: imresize(cropped, 1 / scale) };
}
