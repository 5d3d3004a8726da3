/**
 * Real-world degradations for super-resolution training and evaluation, after Real-ESRGAN (Wang
 * et al. 2021, "high-order" pipeline) and BSRGAN (Zhang et al. 2021, shuffled order):
 *
 *   first order (on HR):  blur (isotropic / anisotropic Gaussian) -> downscale by s (bicubic,
 *                         bilinear or area) -> noise (Gaussian or Poisson, colour or gray) -> JPEG
 *   second order (on LR, with probability `secondProb`): blur, noise and JPEG once more, in a
 *                         random order (BSRGAN's shuffle)
 *
 * Every random choice comes from the caller's seeded `Rng`, and JPEG is a real baseline encoder
 * (libjpeg through sharp: standard quantisation tables, 4:2:0 chroma like camera JPEGs), so a
 * degradation is reproducible from its seed. Pixels stay float [0, 255] between steps and are
 * rounded to 8 bits only where a real pipeline would (before JPEG, at the end).
 *
 * Real-ESRGAN's reference ranges (blur sigma 0.2-3, noise sigma 1-30, Poisson scale 0.05-3, JPEG
 * 30-95, second order half the time) target heavily damaged inputs and large networks; the
 * defaults here are milder (see DEFAULT_DEGRADE) because the shipped photo tier must also stay
 * within 0.6 dB of the clean-trained quality tier on clean input. Every range is a CLI option.
 */
import sharp from 'sharp';
import { imresizeFloat } from './bicubic';
import type { RgbImage } from './images';
import { Rng } from './sr-dataset';

export type ResizeMethod = 'bicubic' | 'bilinear' | 'area';
export const RESIZE_METHODS: readonly ResizeMethod[] = ['bicubic', 'bilinear', 'area'];

/** A float image, HWC RGB, values nominally in [0, 255]. */
export interface FloatImage {
  width: number;
  height: number;
  data: Float32Array;
}

export interface DegradeConfig {
  /** Probability that a training patch is left clean (MATLAB-bicubic LR, like the benchmarks). */
  cleanProb: number;
  blurProb: number;
  /** Gaussian sigma range in HR pixels (first order). */
  blurSigma: [number, number];
  /** Probability that a blur is anisotropic (two sigmas, random rotation) rather than isotropic. */
  anisoProb: number;
  /** Downscaling methods, drawn uniformly. */
  resize: ResizeMethod[];
  noiseProb: number;
  /** Probability that a noise is Gaussian (else Poisson). */
  gaussianProb: number;
  /** Gaussian noise sigma range, in 8-bit grey levels. */
  noiseSigma: [number, number];
  /** Poisson noise scale range (Real-ESRGAN's `poisson_scale_range`). */
  poissonScale: [number, number];
  /** Probability that the noise is the same on the three channels (luma-only sensor noise). */
  grayNoiseProb: number;
  jpegProb: number;
  /** JPEG quality range (1-100), drawn uniformly as an integer. */
  jpegQuality: [number, number];
  /** Probability of the second-order pass (blur, noise, JPEG again at LR, in random order). */
  secondProb: number;
  /** Gaussian sigma range in LR pixels of the second-order blur. */
  blur2Sigma: [number, number];
}

export const DEFAULT_DEGRADE: DegradeConfig = {
  cleanProb: 0.15,
  blurProb: 0.5,
  blurSigma: [0.2, 1.5],
  anisoProb: 0.5,
  resize: ['bicubic', 'bilinear', 'area'],
  noiseProb: 0.4,
  gaussianProb: 0.5,
  noiseSigma: [1, 10],
  poissonScale: [0.05, 1.5],
  grayNoiseProb: 0.4,
  jpegProb: 0.85,
  jpegQuality: [30, 95],
  secondProb: 0.3,
  blur2Sigma: [0.2, 0.8],
};

/** Defaults for a scale: the HR blur range grows with the scale (Real-ESRGAN's 0.2-3 is for x4). */
export function defaultDegradeConfig(scale: number): DegradeConfig {
  return { ...DEFAULT_DEGRADE, blurSigma: [0.2, +(0.75 * scale).toFixed(2)] };
}

const OPTION_NAMES: Record<keyof DegradeConfig, string> = {
  cleanProb: '--clean-prob',
  blurProb: '--blur-prob',
  blurSigma: '--blur-sigma',
  anisoProb: '--aniso-prob',
  resize: '--resize',
  noiseProb: '--noise-prob',
  gaussianProb: '--gaussian-prob',
  noiseSigma: '--noise-sigma',
  poissonScale: '--poisson-scale',
  grayNoiseProb: '--gray-noise-prob',
  jpegProb: '--jpeg-prob',
  jpegQuality: '--jpeg-quality',
  secondProb: '--second-prob',
  blur2Sigma: '--blur2-sigma',
};

export class DegradeOptionError extends Error {}

/** Throws DegradeOptionError naming the CLI option of the first value out of range. */
export function validateDegradeConfig(c: DegradeConfig): DegradeConfig {
  const bad = (k: keyof DegradeConfig, why: string): never => {
    throw new DegradeOptionError(`${OPTION_NAMES[k]} ${JSON.stringify(c[k])}: ${why}`);
  };
  for (const k of ['cleanProb', 'blurProb', 'anisoProb', 'noiseProb', 'gaussianProb', 'grayNoiseProb', 'jpegProb', 'secondProb'] as const) {
    if (!(c[k] >= 0 && c[k] <= 1)) bad(k, 'a probability must be in [0, 1]');
  }
  const range = (k: keyof DegradeConfig, lo: number, hi: number, what: string) => {
    const r = c[k] as [number, number];
    if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isFinite)) bad(k, 'must be two numbers "min,max"');
    if (r[0] > r[1]) bad(k, 'min is above max');
    if (r[0] < lo || r[1] > hi) bad(k, `${what} must be in [${lo}, ${hi}]`);
  };
  range('blurSigma', 0.05, 10, 'a blur sigma (HR pixels)');
  range('blur2Sigma', 0.05, 5, 'a blur sigma (LR pixels)');
  range('noiseSigma', 0, 100, 'a noise sigma (grey levels)');
  range('poissonScale', 0, 10, 'a Poisson scale');
  range('jpegQuality', 1, 100, 'a JPEG quality');
  if (!c.resize.length) bad('resize', 'give at least one of bicubic, bilinear, area');
  for (const m of c.resize) if (!RESIZE_METHODS.includes(m)) bad('resize', `unknown method "${m}" (bicubic, bilinear, area)`);
  return c;
}

/** Parses "a,b" (or one number "a" meaning a,a) for a range option, naming the option on error. */
export function parseRange(option: string, v: string): [number, number] {
  const parts = v.split(',').map((s) => s.trim());
  const n = parts.map(Number);
  if (!(parts.length === 1 || parts.length === 2) || parts.some((p) => p === '') || !n.every(Number.isFinite)) {
    throw new DegradeOptionError(`${option} must be "min,max" (or one number), got "${v}"`);
  }
  return parts.length === 1 ? [n[0], n[0]] : [n[0], n[1]];
}

// ---------------------------------------------------------------------------------------------
// Primitives (pure, deterministic given their parameters)

export function toFloat(img: RgbImage): FloatImage {
  return { width: img.width, height: img.height, data: Float32Array.from(img.data) };
}

export function toUint8(img: FloatImage): RgbImage {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(img.data[i]);
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width: img.width, height: img.height, data };
}

/** A normalised Gaussian kernel (size x size, row-major): isotropic when sx == sy and theta == 0. */
export function gaussianKernel(sx: number, sy: number, theta: number, size?: number): { size: number; k: Float64Array } {
  if (!(sx > 0 && sy > 0)) throw new Error(`gaussianKernel: sigmas must be > 0, got ${sx}, ${sy}`);
  const n = size ?? Math.min(21, 2 * Math.ceil(3 * Math.max(sx, sy)) + 1);
  const r = (n - 1) / 2;
  // Inverse covariance of R diag(sx^2, sy^2) R^T.
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  const a = (c * c) / (sx * sx) + (s * s) / (sy * sy);
  const b = c * s * (1 / (sx * sx) - 1 / (sy * sy));
  const d = (s * s) / (sx * sx) + (c * c) / (sy * sy);
  const k = new Float64Array(n * n);
  let sum = 0;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const u = x - r;
      const v = y - r;
      const e = Math.exp(-0.5 * (a * u * u + 2 * b * u * v + d * v * v));
      k[y * n + x] = e;
      sum += e;
    }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return { size: n, k };
}

/** Reflect-101 index (as cv2.BORDER_REFLECT_101), valid for any offset. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const p = 2 * n - 2;
  i = ((i % p) + p) % p;
  return i < n ? i : p - i;
}

/** 2-D convolution of an RGB float image with a square kernel, borders reflected. */
export function convolve(img: FloatImage, kernel: { size: number; k: Float64Array }): FloatImage {
  const { width: W, height: H, data } = img;
  const { size: n, k } = kernel;
  const r = (n - 1) / 2;
  const out = new Float32Array(data.length);
  const xs = new Int32Array(W * n);
  for (let x = 0; x < W; x++) for (let j = 0; j < n; j++) xs[x * n + j] = reflect(x + j - r, W) * 3;
  for (let y = 0; y < H; y++) {
    for (let i = 0; i < n; i++) {
      const row = reflect(y + i - r, H) * W * 3;
      for (let x = 0; x < W; x++) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        const kb = i * n;
        const xb = x * n;
        for (let j = 0; j < n; j++) {
          const w = k[kb + j];
          const si = row + xs[xb + j];
          s0 += w * data[si];
          s1 += w * data[si + 1];
          s2 += w * data[si + 2];
        }
        const o = (y * W + x) * 3;
        out[o] += s0;
        out[o + 1] += s1;
        out[o + 2] += s2;
      }
    }
  }
  return { width: W, height: H, data: out };
}

/** Normalised 1-D Gaussian taps (radius ceil(3 sigma), at most 10). */
function gauss1d(sigma: number): Float64Array {
  const r = Math.min(10, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * Gaussian blur with covariance R diag(sx^2, sy^2) R^T (R: rotation by theta) in two 1-D passes
 * (Geusebroek et al. 2003): a horizontal Gaussian of variance a - c^2/b, then a Gaussian of
 * variance b along the sheared direction (c/b, 1), sampled with linear interpolation, where
 * [[a, c], [c, b]] is the covariance. The same result as `convolve(img, gaussianKernel(...))`
 * up to the interpolation, at ~6x less work for a 21x21 kernel. Borders reflected.
 */
export function gaussianBlur(img: FloatImage, sx: number, sy: number, theta: number): FloatImage {
  if (!(sx > 0 && sy > 0)) throw new Error(`gaussianBlur: sigmas must be > 0, got ${sx}, ${sy}`);
  const { width: W, height: H, data } = img;
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  const a = c * c * sx * sx + s * s * sy * sy;
  const b = s * s * sx * sx + c * c * sy * sy;
  const cov = c * s * (sx * sx - sy * sy);
  const mu = cov / b;
  const varX = Math.max(0, a - (cov * cov) / b);
  // Pass 1: horizontal.
  let tmp = data;
  if (varX > 1e-4) {
    const k = gauss1d(Math.sqrt(varX));
    const r = (k.length - 1) / 2;
    tmp = new Float32Array(data.length);
    for (let y = 0; y < H; y++) {
      const row = y * W * 3;
      for (let x = 0; x < W; x++) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        for (let j = -r; j <= r; j++) {
          const w = k[j + r];
          const xj = x + j;
          const si = row + (xj >= 0 && xj < W ? xj : reflect(xj, W)) * 3;
          s0 += w * data[si];
          s1 += w * data[si + 1];
          s2 += w * data[si + 2];
        }
        const o = row + x * 3;
        tmp[o] = s0;
        tmp[o + 1] = s1;
        tmp[o + 2] = s2;
      }
    }
  }
  // Pass 2: along (mu, 1).
  const k = gauss1d(Math.sqrt(b));
  const r = (k.length - 1) / 2;
  const out = new Float32Array(data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      for (let t = -r; t <= r; t++) {
        const w = k[t + r];
        const yt = y + t;
        const row = (yt >= 0 && yt < H ? yt : reflect(yt, H)) * W * 3;
        const fx = x + mu * t;
        const x0 = Math.floor(fx);
        const f = fx - x0;
        const inside = x0 >= 0 && x0 + 1 < W;
        const i0 = row + (inside ? x0 : reflect(x0, W)) * 3;
        const i1 = row + (inside ? x0 + 1 : reflect(x0 + 1, W)) * 3;
        const w0 = w * (1 - f);
        const w1 = w * f;
        s0 += w0 * tmp[i0] + w1 * tmp[i1];
        s1 += w0 * tmp[i0 + 1] + w1 * tmp[i1 + 1];
        s2 += w0 * tmp[i0 + 2] + w1 * tmp[i1 + 2];
      }
      const o = (y * W + x) * 3;
      out[o] = s0;
      out[o + 1] = s1;
      out[o + 2] = s2;
    }
  }
  return { width: W, height: H, data: out };
}

/** Downscales by an integer factor: MATLAB bicubic (antialiased), bilinear without antialiasing (cv2 INTER_LINEAR), or area (box mean). */
export function downscale(img: FloatImage, s: number, method: ResizeMethod): FloatImage {
  if (!Number.isInteger(s) || s < 1) throw new Error(`downscale: factor must be a positive integer, got ${s}`);
  if (img.width % s || img.height % s) throw new Error(`downscale: ${img.width}x${img.height} is not a multiple of ${s}`);
  const W = img.width / s;
  const H = img.height / s;
  if (W < 1 || H < 1) throw new Error(`downscale: ${img.width}x${img.height} is too small for x${s}`);
  if (method === 'bicubic') {
    const r = imresizeFloat(img.data, img.width, img.height, 3, 1 / s);
    return { width: r.width, height: r.height, data: Float32Array.from(r.data) };
  }
  const out = new Float32Array(W * H * 3);
  const src = img.data;
  const SW = img.width;
  if (method === 'area') {
    const inv = 1 / (s * s);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) acc += src[((y * s + dy) * SW + x * s + dx) * 3 + c];
          out[(y * W + x) * 3 + c] = acc * inv;
        }
    return { width: W, height: H, data: out };
  }
  if (method === 'bilinear') {
    // Sample at (i + 0.5) * s - 0.5: the two nearest source pixels, no low-pass (aliasing like cv2).
    const f = 0.5 * s - 0.5;
    const i0 = Math.floor(f);
    const t = f - i0;
    for (let y = 0; y < H; y++) {
      const y0 = Math.min(img.height - 1, y * s + i0);
      const y1 = Math.min(img.height - 1, y0 + 1);
      for (let x = 0; x < W; x++) {
        const x0 = Math.min(SW - 1, x * s + i0);
        const x1 = Math.min(SW - 1, x0 + 1);
        for (let c = 0; c < 3; c++) {
          const a = src[(y0 * SW + x0) * 3 + c] * (1 - t) + src[(y0 * SW + x1) * 3 + c] * t;
          const b = src[(y1 * SW + x0) * 3 + c] * (1 - t) + src[(y1 * SW + x1) * 3 + c] * t;
          out[(y * W + x) * 3 + c] = a * (1 - t) + b * t;
        }
      }
    }
    return { width: W, height: H, data: out };
  }
  throw new Error(`downscale: unknown method "${method as string}" (bicubic, bilinear, area)`);
}

/** Standard normal variate (Box-Muller) from the seeded Rng. */
function gauss(rng: Pick<Rng, 'next'>): number {
  let u = rng.next();
  if (u < 1e-12) u = 1e-12;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Adds zero-mean Gaussian noise of `sigma` grey levels; `gray` uses one value for all three channels. */
export function addGaussianNoise(img: FloatImage, sigma: number, gray: boolean, rng: Pick<Rng, 'next'>): FloatImage {
  const out = new Float32Array(img.data);
  for (let i = 0; i < out.length; i += 3) {
    if (gray) {
      const n = sigma * gauss(rng);
      out[i] += n;
      out[i + 1] += n;
      out[i + 2] += n;
    } else {
      out[i] += sigma * gauss(rng);
      out[i + 1] += sigma * gauss(rng);
      out[i + 2] += sigma * gauss(rng);
    }
  }
  return { ...img, data: out };
}

/** Poisson variate of mean lambda: Knuth below 30, a rounded normal above (the error is far below 8-bit quantisation there). */
function poisson(lambda: number, rng: Rng): number {
  if (lambda <= 0) return 0;
  if (lambda < 30) {
    const L = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= rng.next();
    } while (p > L);
    return k - 1;
  }
  return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss(rng)));
}

/**
 * Signal-dependent (shot) noise as Real-ESRGAN's `add_poisson_noise`: x in [0,1] becomes
 * Poisson(x * 256) / 256, and the difference is multiplied by `scale`. `gray` draws the noise on
 * the luma and adds it to all three channels.
 */
export function addPoissonNoise(img: FloatImage, scale: number, gray: boolean, rng: Rng): FloatImage {
  const vals = 256;
  const out = new Float32Array(img.data);
  const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let i = 0; i < out.length; i += 3) {
    if (gray) {
      const yv = clamp01((0.299 * out[i] + 0.587 * out[i + 1] + 0.114 * out[i + 2]) / 255);
      const n = ((poisson(yv * vals, rng) / vals - yv) * scale) * 255;
      out[i] += n;
      out[i + 1] += n;
      out[i + 2] += n;
    } else {
      for (let c = 0; c < 3; c++) {
        const v = clamp01(out[i + c] / 255);
        out[i + c] += (poisson(v * vals, rng) / vals - v) * scale * 255;
      }
    }
  }
  return { ...img, data: out };
}

/**
 * Baseline JPEG round trip at `quality` (1-100) with libjpeg's standard (Annex K) quantisation
 * tables scaled by quality, 4:2:0 chroma subsampling, no trellis/mozjpeg tricks: what a camera,
 * phone or `cjpeg -quality q` writes.
 */
export async function jpegRoundTrip(img: RgbImage, quality: number): Promise<RgbImage> {
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new DegradeOptionError(`JPEG quality must be an integer in [1, 100], got ${quality}`);
  const jpg = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: '4:2:0', mozjpeg: false, trellisQuantisation: false, overshootDeringing: false, optimiseScans: false, progressive: false, quantisationTable: 0 })
    .toBuffer();
  const { data, info } = await sharp(jpg).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== img.width || info.height !== img.height) throw new Error(`JPEG round trip changed the image to ${info.width}x${info.height}x${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

// ---------------------------------------------------------------------------------------------
// The random pipeline

const uniform = (rng: Rng, [a, b]: [number, number]) => a + (b - a) * rng.next();

function randomBlur(img: FloatImage, sigma: [number, number], anisoProb: number, rng: Rng, steps: string[], tag: string): FloatImage {
  if (rng.next() < anisoProb) {
    const sx = uniform(rng, sigma);
    const sy = uniform(rng, sigma);
    const th = (rng.next() * 2 - 1) * Math.PI;
    steps.push(`${tag}aniso(${sx.toFixed(2)},${sy.toFixed(2)},${th.toFixed(2)})`);
    return gaussianBlur(img, sx, sy, th);
  }
  const s = uniform(rng, sigma);
  steps.push(`${tag}iso(${s.toFixed(2)})`);
  return gaussianBlur(img, s, s, 0);
}

function randomNoise(img: FloatImage, c: DegradeConfig, rng: Rng, steps: string[]): FloatImage {
  const gray = rng.next() < c.grayNoiseProb;
  if (rng.next() < c.gaussianProb) {
    const s = uniform(rng, c.noiseSigma);
    steps.push(`gauss(${s.toFixed(1)}${gray ? ',gray' : ''})`);
    return addGaussianNoise(img, s, gray, rng);
  }
  const s = uniform(rng, c.poissonScale);
  steps.push(`poisson(${s.toFixed(2)}${gray ? ',gray' : ''})`);
  return addPoissonNoise(img, s, gray, rng);
}

async function randomJpeg(img: FloatImage, c: DegradeConfig, rng: Rng, steps: string[]): Promise<FloatImage> {
  const [a, b] = c.jpegQuality;
  const q = Math.round(a) + rng.int(Math.round(b) - Math.round(a) + 1);
  steps.push(`jpeg(${q})`);
  return toFloat(await jpegRoundTrip(toUint8(img), q));
}

export interface DegradeResult {
  lr: RgbImage;
  /** What was applied, in order, e.g. ["aniso(1.2,0.4,0.3)", "area", "gauss(4.1)", "jpeg(57)"]. */
  steps: string[];
}

/**
 * Degrades an HR image (both sides a multiple of `scale`) into an LR image of 1/scale its size
 * with the random first- and (maybe) second-order pipeline. Deterministic given the Rng state.
 * The caller decides about clean samples (`cleanProb`): this always degrades.
 */
export async function degradeRandom(hr: RgbImage | FloatImage, scale: number, c: DegradeConfig, rng: Rng): Promise<DegradeResult> {
  const steps: string[] = [];
  let x: FloatImage = hr.data instanceof Uint8Array ? toFloat(hr as RgbImage) : (hr as FloatImage);
  if (x.width < scale * 2 || x.height < scale * 2) throw new Error(`image ${x.width}x${x.height} is too small to degrade at x${scale}`);
  if (rng.next() < c.blurProb) x = randomBlur(x, c.blurSigma, c.anisoProb, rng, steps, '');
  const method = c.resize[rng.int(c.resize.length)];
  steps.push(method);
  x = downscale(x, scale, method);
  if (rng.next() < c.noiseProb) x = randomNoise(x, c, rng, steps);
  if (rng.next() < c.jpegProb) x = await randomJpeg(x, c, rng, steps);
  if (rng.next() < c.secondProb) {
    steps.push('|');
    const order = [0, 1, 2];
    for (let i = 2; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const op of order) {
      if (op === 0 && rng.next() < c.blurProb) x = randomBlur(x, c.blur2Sigma, c.anisoProb, rng, steps, '2:');
      if (op === 1 && rng.next() < c.noiseProb) x = randomNoise(x, c, rng, steps);
      if (op === 2 && rng.next() < c.jpegProb) x = await randomJpeg(x, c, rng, steps);
    }
  }
  return { lr: toUint8(x), steps };
}

// ---------------------------------------------------------------------------------------------
// Fixed degradations of evaluation LR images: `eval sr --degrade jpeg:60`

export type FixedDegradation = { kind: 'jpeg'; quality: number } | { kind: 'noise'; sigma: number } | { kind: 'blur'; sigma: number };

/**
 * Parses `--degrade` specs, applied in order to the official LR images: `jpeg:Q` (baseline JPEG,
 * quality Q in 1-100), `noise:S` (Gaussian, S grey levels, seed fixed per image), `blur:S`
 * (isotropic Gaussian, S LR pixels). Several with `+`, e.g. `noise:5+jpeg:75`.
 */
export function parseFixedDegradations(spec: string): FixedDegradation[] {
  const parts = spec.split('+').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new DegradeOptionError(`--degrade: empty (use e.g. jpeg:60, noise:5, blur:1, or noise:5+jpeg:75)`);
  return parts.map((p) => {
    const m = /^(jpeg|noise|blur):([0-9.]+)$/.exec(p);
    if (!m) throw new DegradeOptionError(`--degrade "${p}": expected jpeg:<quality 1-100>, noise:<sigma grey levels> or blur:<sigma LR pixels>`);
    const v = Number(m[2]);
    if (m[1] === 'jpeg') {
      if (!(Number.isInteger(v) && v >= 1 && v <= 100)) throw new DegradeOptionError(`--degrade ${p}: JPEG quality must be an integer in [1, 100]`);
      return { kind: 'jpeg', quality: v };
    }
    if (!(Number.isFinite(v) && v > 0 && v <= 100)) throw new DegradeOptionError(`--degrade ${p}: sigma must be in (0, 100]`);
    return m[1] === 'noise' ? { kind: 'noise', sigma: v } : { kind: 'blur', sigma: v };
  });
}

export function describeFixedDegradations(d: FixedDegradation[]): string {
  return d.map((x) => (x.kind === 'jpeg' ? `jpeg:${x.quality}` : `${x.kind}:${x.sigma}`)).join('+');
}

/** FNV-1a of a string: a per-image noise seed, so every model sees the same noisy LR. */
function hashSeed(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Applies fixed degradations to an LR image; `key` (e.g. "Set5/baby.png") seeds the noise. */
export async function applyFixedDegradations(lr: RgbImage, d: FixedDegradation[], key: string): Promise<RgbImage> {
  let img = lr;
  for (const x of d) {
    if (x.kind === 'jpeg') img = await jpegRoundTrip(img, x.quality);
    else if (x.kind === 'blur') img = toUint8(gaussianBlur(toFloat(img), x.sigma, x.sigma, 0));
    else img = toUint8(addGaussianNoise(toFloat(img), x.sigma, false, new Rng(hashSeed(`${key}:${x.sigma}`))));
  }
  return img;
}
