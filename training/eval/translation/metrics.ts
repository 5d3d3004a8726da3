/**
 * Image statistics for judging a translation against its input (pure functions, 8-bit RGB):
 *   detail ratio      mean luminance-gradient magnitude (forward differences) of the output / the input's
 *                     (a blurry output is well below 1; real zebras carry ~1.6x horses' detail)
 *   edge correlation  Pearson correlation of the input's and output's gradient-magnitude maps
 *                     (does the output keep the photo's structure? identity gives 1)
 *   KID               kernel inception distance (Binkowski et al. 2018): unbiased MMD^2 with the
 *                     cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, as in the paper and
 *                     clean-fid, on any feature vectors (here: the domain classifier's penultimate layer)
 */
import type { RgbImage } from '../../data/images';

/** A share in [0, 1] as the percentage every report prints: 0.617 -> "61.7%". */
export const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

/** Rec. 601 luma in [0, 1], one value per pixel. */
export function luminance(img: RgbImage): Float32Array {
  const n = img.width * img.height;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = (0.299 * img.data[i * 3] + 0.587 * img.data[i * 3 + 1] + 0.114 * img.data[i * 3 + 2]) / 255;
  return y;
}

/**
 * Luminance-gradient magnitude by forward differences, hypot(Y[r][c+1] - Y[r][c], Y[r+1][c] - Y[r][c])
 * (0 across the last row/column), one value per pixel: the finest-scale operator, so a blur shows
 * fully. (With it the shipped models' detail and edges match the independent judge's numbers to
 * ~0.01; a Sobel operator, which smooths first, reads 0.1-0.15 higher on blurry outputs.)
 */
export function gradientMagnitude(img: RgbImage): Float32Array {
  const { width: w, height: h } = img;
  const y = luminance(img);
  const g = new Float32Array(w * h);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const i = r * w + c;
      const gx = c + 1 < w ? y[i + 1] - y[i] : 0;
      const gy = r + 1 < h ? y[i + w] - y[i] : 0;
      g[i] = Math.hypot(gx, gy);
    }
  }
  return g;
}

/** Sobel gradient magnitude of the luminance / 8 (borders replicated): the judge's fixed high-pass input channel. */
export function sobelMagnitude(img: RgbImage): Float32Array {
  const { width: w, height: h } = img;
  const y = luminance(img);
  const g = new Float32Array(w * h);
  const at = (r: number, c: number) => y[Math.min(h - 1, Math.max(0, r)) * w + Math.min(w - 1, Math.max(0, c))];
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const gx = at(r - 1, c + 1) + 2 * at(r, c + 1) + at(r + 1, c + 1) - at(r - 1, c - 1) - 2 * at(r, c - 1) - at(r + 1, c - 1);
      const gy = at(r + 1, c - 1) + 2 * at(r + 1, c) + at(r + 1, c + 1) - at(r - 1, c - 1) - 2 * at(r - 1, c) - at(r - 1, c + 1);
      g[r * w + c] = Math.hypot(gx, gy) / 8;
    }
  }
  return g;
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return a.length ? s / a.length : NaN;
}

function checkSameSize(a: RgbImage, b: RgbImage): void {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`input ${a.width}x${a.height} and output ${b.width}x${b.height} differ in size`);
}

/** Mean gradient magnitude of `output` over `input`'s (NaN for a perfectly flat input). */
export function detailRatio(input: RgbImage, output: RgbImage): number {
  checkSameSize(input, output);
  const gi = mean(gradientMagnitude(input));
  return gi > 0 ? mean(gradientMagnitude(output)) / gi : NaN;
}

/** Pearson correlation of two equally long arrays (0 when one of them is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`pearson: lengths differ (${a.length} vs ${b.length})`);
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Pearson correlation of the input's and output's gradient-magnitude maps. */
export function edgeCorrelation(input: RgbImage, output: RgbImage): number {
  checkSameSize(input, output);
  return pearson(gradientMagnitude(input), gradientMagnitude(output));
}

/** Both structure statistics at once (one gradient pass per image). */
export function structureStats(input: RgbImage, output: RgbImage): { detail: number; edges: number } {
  checkSameSize(input, output);
  const gi = gradientMagnitude(input);
  const go = gradientMagnitude(output);
  const mi = mean(gi);
  return { detail: mi > 0 ? mean(go) / mi : NaN, edges: pearson(gi, go) };
}

/**
 * KID between feature sets X (m x d) and Y (n x d): the unbiased MMD^2 estimate with the
 * polynomial kernel (x.y / d + 1)^3. With more than `subsetSize` rows in either set it averages
 * `subsets` random subsets of that size (clean-fid's scheme: 100 subsets of up to 1000); smaller
 * sets are used whole. 0 means the two distributions are indistinguishable to the features.
 */
export function kid(X: Float32Array[], Y: Float32Array[], opts: { subsetSize?: number; subsets?: number; seed?: number } = {}): number {
  if (X.length < 2 || Y.length < 2) throw new Error(`KID needs at least 2 feature vectors per set (got ${X.length} and ${Y.length})`);
  const d = X[0].length;
  for (const v of [...X, ...Y]) if (v.length !== d) throw new Error(`KID: feature vectors differ in length (${v.length} vs ${d})`);
  const subsetSize = opts.subsetSize ?? 1000;
  const k = (a: Float32Array, b: Float32Array) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += a[i] * b[i];
    return (s / d + 1) ** 3;
  };
  const mmd = (x: Float32Array[], y: Float32Array[]) => {
    const m = x.length;
    const n = y.length;
    let kxx = 0;
    let kyy = 0;
    let kxy = 0;
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) kxx += 2 * k(x[i], x[j]);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) kyy += 2 * k(y[i], y[j]);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) kxy += k(x[i], y[j]);
    return kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - (2 * kxy) / (m * n);
  };
  if (X.length <= subsetSize && Y.length <= subsetSize) return mmd(X, Y);
  // Deterministic subsets (mulberry32) so a report is reproducible.
  let state = (opts.seed ?? 1) >>> 0;
  const rand = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (a: Float32Array[], size: number) => {
    const idx = a.map((_, i) => i);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, size).map((i) => a[i]);
  };
  const size = Math.min(subsetSize, X.length, Y.length);
  const subsets = opts.subsets ?? 100;
  let s = 0;
  for (let t = 0; t < subsets; t++) s += mmd(pick(X, size), pick(Y, size));
  return s / subsets;
}
