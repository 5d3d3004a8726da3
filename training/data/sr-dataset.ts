/**
 * Super-resolution patch sampler.
 *
 * Every training image is modcropped and downscaled once with MATLAB-compatible bicubic
 * (`bicubic.ts`), so the LR the network sees is made exactly like the benchmark LR. A batch is
 * a set of aligned LR/HR crops with random flips and 90-degree rotations (both commute with the
 * symmetric bicubic kernel on a modcropped grid, so augmenting the pair is the same as
 * augmenting HR and downscaling). All randomness comes from one seeded PRNG whose state is a
 * plain number array saved in checkpoints, so a resumed run draws exactly the batches an
 * uninterrupted run would have drawn.
 */
import path from 'node:path';
import { bicubicDownscale, crop, imresize } from './bicubic';
import { degradeRandom, type DegradeConfig } from './degrade';
import { describeLoadReport, loadImageFolder, type FolderLoadReport, type RgbImage } from './images';
import { knownOverlapReason } from './known-overlaps';

/** sfc32: small, fast, well-tested 128-bit-state PRNG; the state is JSON-serialisable. */
export class Rng {
  private s: Uint32Array;

  constructor(seedOrState: number | readonly number[]) {
    this.s = new Uint32Array(4);
    if (typeof seedOrState === 'number') {
      // splitmix32 to spread the seed over the state, then warm up.
      let z = seedOrState >>> 0;
      for (let i = 0; i < 4; i++) {
        z = (z + 0x9e3779b9) >>> 0;
        let t = z;
        t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
        t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
        this.s[i] = (t ^ (t >>> 15)) >>> 0;
      }
      for (let i = 0; i < 15; i++) this.nextUint32();
    } else {
      if (seedOrState.length !== 4) throw new Error(`Rng state must be 4 numbers, got ${seedOrState.length}`);
      this.s.set(seedOrState.map((v) => v >>> 0));
    }
  }

  state(): number[] {
    return Array.from(this.s);
  }

  nextUint32(): number {
    const s = this.s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

export interface SrPair {
  hr: RgbImage;
  lr: RgbImage;
  /** A teacher's upscaling of `lr` (HR size), the second target of a distilled run (training/tasks/sr/distill.ts). */
  teacher?: RgbImage;
}

export interface SrDatasetOptions {
  scale: number;
  /** LR patch side; HR patch side is patch * scale. */
  patch: number;
  /** Images above this many pixels are downscaled on load. */
  maxPixels?: number;
  limit?: number;
  /**
   * LR pixels of context kept around every degraded patch (blur and JPEG see real neighbours,
   * not a border); images smaller than patch + 2 * margin are skipped. 0 for clean training.
   */
  margin?: number;
}

export interface SrDataset {
  pairs: SrPair[];
  report: FolderLoadReport;
  /** Per folder: images used and prescale (for logs and model cards). */
  sources: { folder: string; prescale?: number; loaded: number }[];
  scale: number;
  patch: number;
  margin: number;
  /** Indices of pairs on which a degradation failed: never drawn again (see sampleDegradedBatch). */
  failed?: Map<number, string>;
  /**
   * How a patch's image is drawn: `image` (default) gives every image (and scale copy) the same
   * share of patches, so a small T91 picture is sampled as often as a 481x321 BSD200 photo;
   * `area` draws images in proportion to their patch positions, i.e. every LR pixel equally
   * (VDSR's dense patch extraction), which puts the training mix on the larger photos.
   */
  sampleBy?: SrSampling;
  /** Cumulative patch-position counts of `pairs`, made on the first `area` draw. */
  areaCdf?: Float64Array;
}

export type SrSampling = 'image' | 'area';
export const SR_SAMPLINGS: readonly SrSampling[] = ['image', 'area'];

/** Index of the pair the next patch comes from (see SrDataset.sampleBy); one Rng draw either way. */
export function drawPairIndex(ds: SrDataset, rng: Rng): number {
  if ((ds.sampleBy ?? 'image') === 'image') return rng.int(ds.pairs.length);
  const cdf = (ds.areaCdf ??= patchPositionCdf(ds));
  const u = rng.next() * cdf[cdf.length - 1];
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function patchPositionCdf(ds: SrDataset): Float64Array {
  const cdf = new Float64Array(ds.pairs.length);
  let total = 0;
  ds.pairs.forEach((q, i) => {
    total += Math.max(1, q.lr.width - ds.patch + 1) * Math.max(1, q.lr.height - ds.patch + 1);
    cdf[i] = total;
  });
  return cdf;
}

/** One training folder; `prescale` < 1 downscales its images first (MATLAB bicubic, antialiased). */
export interface SrSource {
  folder: string;
  prescale?: number;
}

/**
 * Parses `--data`: comma-separated folders, each optionally followed by `@factor` to downscale
 * its images by that factor before use, e.g. `T91,photos@0.5` (downscaling JPEG photos by 2
 * hides most of their 8x8 blocking, so the network is not taught to predict compression noise).
 */
export function parseSrSources(spec: string, resolve: (p: string) => string = (p) => p): SrSource[] {
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new Error('--data: no folder given');
  return parts.map((part) => {
    const at = part.lastIndexOf('@');
    if (at < 0) return { folder: resolve(part) };
    const f = Number(part.slice(at + 1));
    if (!(f > 0 && f <= 1)) throw new Error(`--data ${part}: the factor after @ must be in (0, 1], e.g. @0.5`);
    return { folder: resolve(part.slice(0, at)), prescale: f };
  });
}

/** Named training sets: "291" is VDSR's T91 + BSD200 (its Set5 duplicate is left out by known-overlaps.ts). */
export const DATA_ALIASES: Record<string, string[]> = { '291': ['T91', 'BSD200'] };

/** Expands aliases in a --data spec ("291@0.5" -> "<root>/T91@0.5,<root>/BSD200@0.5"); other parts are kept. */
export function expandDataAliases(spec: string, srRoot: string): string {
  return spec
    .split(',')
    .map((part) => {
      const t = part.trim();
      const at = t.lastIndexOf('@');
      const name = at < 0 ? t : t.slice(0, at);
      const suffix = at < 0 ? '' : t.slice(at);
      const sets = DATA_ALIASES[name];
      return sets ? sets.map((d) => `${path.join(srRoot, d)}${suffix}`).join(',') : t;
    })
    .join(',');
}

/**
 * FSRCNN-style scale augmentation (Dong et al. 2016): every source also downscaled by each factor
 * (times its own prescale), so the network sees the same content at several sharpnesses; the
 * smaller copies look more like the fine detail of natural photos than T91's smooth images.
 * Factors in (0, 1]; 1 keeps the source as it is.
 */
export function withScaleAugmentation(sources: SrSource[], factors: number[]): SrSource[] {
  if (!factors.length) throw new Error('--scale-aug: no factor given (use 1 for none)');
  for (const f of factors) if (!(f > 0 && f <= 1)) throw new Error(`--scale-aug: factors must be in (0, 1], got ${f}`);
  const unique = [...new Set(factors)];
  return sources.flatMap((s) =>
    unique.map((f) => {
      const p = +((s.prescale ?? 1) * f).toFixed(6);
      return p === 1 ? { folder: s.folder } : { folder: s.folder, prescale: p };
    }),
  );
}

/** Merges the load reports of several folders into one (folder names joined). */
function mergeReports(reports: FolderLoadReport[]): FolderLoadReport {
  if (reports.length === 1) return reports[0];
  return {
    folder: reports.map((r) => r.folder).join(', '),
    label: reports.map((r) => `${path.basename(path.dirname(r.folder))}/${path.basename(r.folder)}`).join(' + '),
    loaded: reports.reduce((a, r) => a + r.loaded, 0),
    grayscaleExpanded: reports.reduce((a, r) => a + r.grayscaleExpanded, 0),
    downscaled: reports.reduce((a, r) => a + r.downscaled, 0),
    skipped: reports.flatMap((r) => r.skipped.map((s) => ({ file: path.join(path.basename(r.folder), s.file), reason: s.reason }))),
  };
}

/**
 * Loads one or more folders of HR images and makes their benchmark-style LR. Bad files are
 * skipped and counted; images too small for a patch (after any prescale) are skipped too.
 */
export async function loadSrDataset(sources: string | SrSource[], opts: SrDatasetOptions): Promise<SrDataset> {
  const { scale, patch } = opts;
  const margin = opts.margin ?? 0;
  const need = patch + 2 * margin;
  const list = typeof sources === 'string' ? [{ folder: sources }] : sources;
  const pairs: SrPair[] = [];
  const reports: FolderLoadReport[] = [];
  const used: SrDataset['sources'] = [];
  for (const src of list) {
    const f = src.prescale ?? 1;
    const { images, files, report } = await loadImageFolder(src.folder, {
      minSide: Math.ceil((need * scale) / f),
      maxPixels: opts.maxPixels ?? 4_000_000,
      limit: opts.limit,
      exclude: knownOverlapReason,
    });
    images.forEach((im, i) => {
      const hr = f < 1 ? imresize(im, f) : im;
      if (Math.min(hr.width, hr.height) < need * scale) {
        report.loaded--;
        report.skipped.push({ file: path.basename(files[i]), reason: `too small after @${f} (${hr.width}x${hr.height})` });
        return;
      }
      pairs.push(bicubicDownscale(hr, scale));
    });
    reports.push(report);
    used.push({ folder: src.folder, prescale: src.prescale, loaded: report.loaded });
  }
  const report = mergeReports(reports);
  if (!pairs.length) throw new Error(`no usable training images in ${report.folder} (${describeLoadReport(report)})`);
  return { pairs, report, sources: used, scale, patch, margin };
}

/** "T91 (90 images) + photo2monet/trainA (1700 images, downscaled x0.5)": what a model was trained on. */
export function describeSrSources(sources: SrDataset['sources']): string {
  return sources
    .map((s) => `${path.basename(path.dirname(s.folder))}/${path.basename(s.folder)} (${s.loaded} images${s.prescale && s.prescale < 1 ? `, downscaled x${s.prescale}` : ''})`)
    .join(' + ');
}

/**
 * Samples a batch: NHWC float32 in [0,1], LR [n, p, p, 3] and HR [n, p*s, p*s, 3], and the
 * teacher's patches aligned with HR when every pair has one (a distilled run).
 * Augmentation: one of the 8 dihedral transforms (flips x rotations by 90 degrees).
 */
export function sampleBatch(ds: SrDataset, rng: Rng, batch: number): { lr: Float32Array; hr: Float32Array; teacher?: Float32Array } {
  const { scale: s, patch: p } = ds;
  const P = p * s;
  const lr = new Float32Array(batch * p * p * 3);
  const hr = new Float32Array(batch * P * P * 3);
  const teacher = ds.pairs.every((q) => q.teacher) ? new Float32Array(hr.length) : undefined;
  for (let b = 0; b < batch; b++) {
    const pair = ds.pairs[drawPairIndex(ds, rng)];
    const x = rng.int(pair.lr.width - p + 1);
    const y = rng.int(pair.lr.height - p + 1);
    const t = rng.int(8);
    copyPatch(pair.lr, x, y, p, t, lr, b * p * p * 3);
    copyPatch(pair.hr, x * s, y * s, P, t, hr, b * P * P * 3);
    if (teacher) copyPatch(pair.teacher!, x * s, y * s, P, t, teacher, b * P * P * 3);
  }
  return teacher ? { lr, hr, teacher } : { lr, hr };
}

/** Copies a size x size patch at (x0, y0), transformed by dihedral transform t (0..7), into dst as [0,1] floats. */
export function copyPatch(img: RgbImage, x0: number, y0: number, size: number, t: number, dst: Float32Array, offset: number): void {
  const transpose = (t & 4) !== 0;
  const flipX = (t & 1) !== 0;
  const flipY = (t & 2) !== 0;
  const W = img.width;
  const d = img.data;
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      let sx = transpose ? oy : ox;
      let sy = transpose ? ox : oy;
      if (flipX) sx = size - 1 - sx;
      if (flipY) sy = size - 1 - sy;
      const si = ((y0 + sy) * W + x0 + sx) * 3;
      const di = offset + (oy * size + ox) * 3;
      dst[di] = d[si] / 255;
      dst[di + 1] = d[si + 1] / 255;
      dst[di + 2] = d[si + 2] / 255;
    }
  }
}

/** Counts of the degraded sampler, for logs and the run summary. */
export interface DegradeStats {
  clean: number;
  degraded: number;
  /** Samples whose degradation threw: the image is then skipped for the rest of the run. */
  failed: number;
}

/**
 * Samples a batch of (degraded LR, clean HR) patches, like sampleBatch but with the LR made by the
 * random Real-ESRGAN/BSRGAN-style pipeline of `degrade.ts` from an HR region with `ds.margin` LR
 * pixels of context (at a random offset, so JPEG's 8x8 grid falls anywhere on the patch). With
 * probability cfg.cleanProb the patch is the benchmark-style MATLAB-bicubic LR instead. An image
 * on which a degradation throws is counted, remembered in ds.failed and never drawn again; the
 * sample is redrawn from another image, so one bad image never stops an epoch. Deterministic
 * given the Rng state (all draws are sequential).
 */
export async function sampleDegradedBatch(
  ds: SrDataset,
  rng: Rng,
  batch: number,
  cfg: DegradeConfig,
  stats: DegradeStats,
  log: (s: string) => void = () => {},
): Promise<{ lr: Float32Array; hr: Float32Array }> {
  const { scale: s, patch: p, margin: m } = ds;
  const P = p * s;
  const R = p + 2 * m;
  const lr = new Float32Array(batch * p * p * 3);
  const hr = new Float32Array(batch * P * P * 3);
  ds.failed ??= new Map();
  for (let b = 0; b < batch; b++) {
    for (let attempt = 0; ; attempt++) {
      if (ds.failed.size >= ds.pairs.length) throw new Error(`every training image failed to degrade (first: ${[...ds.failed.values()][0]})`);
      const index = drawPairIndex(ds, rng);
      if (ds.failed.has(index)) continue;
      const pair = ds.pairs[index];
      const t = rng.int(8);
      if (rng.next() < cfg.cleanProb) {
        const x = rng.int(pair.lr.width - p + 1);
        const y = rng.int(pair.lr.height - p + 1);
        copyPatch(pair.lr, x, y, p, t, lr, b * p * p * 3);
        copyPatch(pair.hr, x * s, y * s, P, t, hr, b * P * P * 3);
        stats.clean++;
        break;
      }
      try {
        const rw = Math.min(R, pair.lr.width);
        const rh = Math.min(R, pair.lr.height);
        if (rw < p || rh < p || pair.hr.width < rw * s || pair.hr.height < rh * s) throw new Error(`too small for a ${p}px LR patch at x${s}`);
        if (pair.hr.data.length !== pair.hr.width * pair.hr.height * 3) throw new Error(`corrupt pixel buffer (${pair.hr.data.length} bytes)`);
        const x = rng.int(pair.lr.width - rw + 1);
        const y = rng.int(pair.lr.height - rh + 1);
        // Patch offset inside the region: anywhere that keeps at least half the margin of context.
        const ox = rw - p > 1 ? Math.floor((rw - p) / 4) + rng.int(Math.floor((rw - p) / 2) + 1) : 0;
        const oy = rh - p > 1 ? Math.floor((rh - p) / 4) + rng.int(Math.floor((rh - p) / 2) + 1) : 0;
        const region = crop(pair.hr, x * s, y * s, rw * s, rh * s);
        const { lr: lrRegion } = await degradeRandom(region, s, cfg, rng);
        copyPatch(lrRegion, ox, oy, p, t, lr, b * p * p * 3);
        copyPatch(region, ox * s, oy * s, P, t, hr, b * P * P * 3);
        stats.degraded++;
        break;
      } catch (err) {
        const why = `image #${index} (${pair.hr.width}x${pair.hr.height}): ${(err as Error).message}`;
        ds.failed.set(index, why);
        stats.failed++;
        log(`degradation failed on ${why}; skipping this image from now on (${ds.failed.size} skipped)`);
        if (attempt > 4 * ds.pairs.length) throw new Error(`degradation keeps failing: ${why}`);
      }
    }
  }
  return { lr, hr };
}
