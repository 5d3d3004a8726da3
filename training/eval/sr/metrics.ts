/**
 * Standard SR metrics, computed the way the published tables compute them:
 * - Y channel of ITU-R BT.601 YCbCr from 8-bit RGB: Y = 16 + 65.481 R + 128.553 G + 24.966 B,
 *   RGB in [0,1] (MATLAB rgb2ycbcr on doubles, no rounding of Y);
 * - `shave` pixels cut from every border (shave = scale);
 * - PSNR with peak 255;
 * - SSIM as in Wang et al.'s reference MATLAB code (ssim_index.m): 11x11 Gaussian window with
 *   sigma 1.5, 'valid' filtering, K1 = 0.01, K2 = 0.03, L = 255, mean of the SSIM map.
 */
import type { RgbImage } from '../../data/images';

export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

/** BT.601 luma in [16, 235] as float (not rounded). */
export function rgbToY(img: RgbImage): Plane {
  const n = img.width * img.height;
  const y = new Float64Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    y[i] = 16 + (65.481 * d[3 * i] + 128.553 * d[3 * i + 1] + 24.966 * d[3 * i + 2]) / 255;
  }
  return { width: img.width, height: img.height, data: y };
}

export function shavePlane(p: Plane, shave: number): Plane {
  if (shave <= 0) return p;
  const w = p.width - 2 * shave;
  const h = p.height - 2 * shave;
  if (w <= 0 || h <= 0) throw new Error(`cannot shave ${shave} px from a ${p.width}x${p.height} image`);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) out.set(p.data.subarray((y + shave) * p.width + shave, (y + shave) * p.width + shave + w), y * w);
  return { width: w, height: h, data: out };
}

function sameSize(a: { width: number; height: number }, b: { width: number; height: number }, what: string): void {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`${what}: size mismatch ${a.width}x${a.height} vs ${b.width}x${b.height}`);
}

export function psnrPlane(a: Plane, b: Plane, peak = 255): number {
  sameSize(a, b, 'psnr');
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const e = a.data[i] - b.data[i];
    se += e * e;
  }
  const mse = se / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

function gaussian1d(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    s += g[i];
  }
  for (let i = 0; i < size; i++) g[i] /= s;
  return g;
}

/** 'valid' separable filtering (fspecial('gaussian') is the outer product of two normalised 1-D Gaussians). */
function filterValid(p: Float64Array, w: number, h: number, g: Float64Array): { data: Float64Array; width: number; height: number } {
  const k = g.length;
  const ow = w - k + 1;
  const oh = h - k + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += g[i] * p[row + x + i];
      tmp[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += g[i] * tmp[(y + i) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return { data: out, width: ow, height: oh };
}

export function ssimPlane(a: Plane, b: Plane, opts: { K1?: number; K2?: number; L?: number; window?: number; sigma?: number } = {}): number {
  sameSize(a, b, 'ssim');
  const { K1 = 0.01, K2 = 0.03, L = 255, window = 11, sigma = 1.5 } = opts;
  if (a.width < window || a.height < window) throw new Error(`ssim: image ${a.width}x${a.height} smaller than the ${window}x${window} window`);
  const g = gaussian1d(window, sigma);
  const n = a.data.length;
  const aa = new Float64Array(n);
  const bb = new Float64Array(n);
  const ab = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    aa[i] = a.data[i] * a.data[i];
    bb[i] = b.data[i] * b.data[i];
    ab[i] = a.data[i] * b.data[i];
  }
  const mu1 = filterValid(a.data, a.width, a.height, g).data;
  const mu2 = filterValid(b.data, a.width, a.height, g).data;
  const s11 = filterValid(aa, a.width, a.height, g).data;
  const s22 = filterValid(bb, a.width, a.height, g).data;
  const s12 = filterValid(ab, a.width, a.height, g).data;
  const C1 = (K1 * L) ** 2;
  const C2 = (K2 * L) ** 2;
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i];
    const m2 = mu2[i];
    const v1 = s11[i] - m1 * m1;
    const v2 = s22[i] - m2 * m2;
    const c12 = s12[i] - m1 * m2;
    sum += ((2 * m1 * m2 + C1) * (2 * c12 + C2)) / ((m1 * m1 + m2 * m2 + C1) * (v1 + v2 + C2));
  }
  return sum / mu1.length;
}

/** True when every pixel has R = G = B (e.g. Set14's bridge, stored as 8-bit grayscale). */
export function isGrayscale(img: RgbImage): boolean {
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) return false;
  return true;
}

/** Luma rescaled to the full 0-255 range; for a gray image this is the gray value itself. */
function fullRangeLuma(img: RgbImage): Plane {
  const y = rgbToY(img);
  for (let i = 0; i < y.data.length; i++) y.data[i] = ((y.data[i] - 16) * 255) / 219;
  return y;
}

/**
 * Y-PSNR and Y-SSIM of an 8-bit SR result against 8-bit ground truth, with border shave.
 * When the ground-truth file is grayscale (pass gray: true), the standard scripts compare the gray channel itself
 * (rgb2ycbcr is never applied to a 1-channel image), so both sides use full-range luma then;
 * this is what makes Set14 bicubic x2 come out at the published 30.24 rather than 30.33.
 */
export function srMetrics(sr: RgbImage, hr: RgbImage, shave: number, opts: { gray?: boolean } = {}): { psnr: number; ssim: number } {
  sameSize(sr, hr, 'sr metrics');
  const gray = opts.gray ?? false;
  const luma = gray ? fullRangeLuma : rgbToY;
  const a = shavePlane(luma(sr), shave);
  const b = shavePlane(luma(hr), shave);
  return { psnr: psnrPlane(a, b), ssim: ssimPlane(a, b) };
}
