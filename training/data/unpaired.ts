/**
 * Unpaired image datasets for CycleGAN (a folder with trainA/trainB, optionally testA/testB)
 * and the paper's jitter: resize to loadSize x loadSize, random crop to cropSize, random
 * horizontal flip. Images are decoded once (bad files skipped and counted, grayscale expanded,
 * mixed sizes resized, images too small to upscale to loadSize (shorter side under loadSize / 4)
 * skipped with the reason) and kept in memory as 8-bit RGB at loadSize.
 *
 * Every random choice comes from a small seeded generator whose whole state is one number, so a
 * resumed run draws exactly the crops, flips and pool choices it would have drawn.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describeLoadReport, loadImageFolder, type FolderLoadReport, type RgbImage } from './images';

/** Mulberry32: tiny, fast, good enough for augmentation; its state is one uint32. */
export class Rng {
  state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

export interface UnpairedOptions {
  /** Images are resized to loadSize x loadSize when loaded (CycleGAN: 286 for 256 crops). */
  loadSize: number;
  /** Stop after this many images per folder (quick runs, tests). */
  limit?: number;
  /** Fewer usable images than this in trainA or trainB is an error. */
  minImages?: number;
  /** Also load testA/testB when they exist. */
  withTest?: boolean;
  log?: (line: string) => void;
}

export interface Domain {
  name: string;
  images: RgbImage[];
  files: string[];
  report: FolderLoadReport;
}

export interface UnpairedDataset {
  root: string;
  loadSize: number;
  trainA: Domain;
  trainB: Domain;
  testA?: Domain;
  testB?: Domain;
}

export const MIN_TRAIN_IMAGES = 2;

/** Checks the folder layout and loads trainA/trainB (and testA/testB). Throws clear errors. */
export async function loadUnpairedDataset(root: string, opts: UnpairedOptions): Promise<UnpairedDataset> {
  const log = opts.log ?? (() => {});
  const minImages = opts.minImages ?? MIN_TRAIN_IMAGES;
  let stat;
  try {
    stat = await fs.stat(root);
  } catch {
    throw new Error(`dataset folder ${root} does not exist`);
  }
  if (!stat.isDirectory()) throw new Error(`dataset path ${root} is not a folder`);
  const entries = new Set(await fs.readdir(root));
  const missing = ['trainA', 'trainB'].filter((d) => !entries.has(d));
  if (missing.length) {
    throw new Error(
      `dataset folder ${root} lacks ${missing.join(' and ')}: a CycleGAN dataset needs trainA/ (domain A images) and trainB/ (domain B images), optionally testA/ and testB/`,
    );
  }
  for (const d of ['trainA', 'trainB', 'testA', 'testB'].filter((x) => entries.has(x))) {
    if (!(await fs.stat(path.join(root, d))).isDirectory()) {
      throw new Error(`${path.join(root, d)} is a file, not a folder: a CycleGAN dataset needs trainA/ and trainB/ folders of images`);
    }
  }
  const minSide = Math.max(8, Math.ceil(opts.loadSize / 4));
  const load = async (name: string): Promise<Domain> => {
    const folder = path.join(root, name);
    const loaded = await loadImageFolder(folder, { limit: opts.limit, maxPixels: 4096 * 4096 });
    const report = loaded.report;
    const images: RgbImage[] = [];
    const files: string[] = [];
    loaded.images.forEach((img, i) => {
      if (Math.min(img.width, img.height) < minSide) {
        report.skipped.push({ file: path.basename(loaded.files[i]), reason: `too small (${img.width}x${img.height}: under ${minSide} px, a quarter of --load-size ${opts.loadSize})` });
        report.loaded--;
        return;
      }
      images.push(img);
      files.push(loaded.files[i]);
    });
    log(describeLoadReport(report));
    const resized: RgbImage[] = [];
    for (const img of images) resized.push(await resizeRgb(img, opts.loadSize, opts.loadSize));
    return { name, images: resized, files, report };
  };
  const trainA = await load('trainA');
  const trainB = await load('trainB');
  for (const d of [trainA, trainB]) {
    if (d.images.length < minImages) {
      throw new Error(
        `${path.join(root, d.name)} has ${d.images.length} usable image(s); at least ${minImages} are needed` +
          (d.report.skipped.length ? ` (${d.report.skipped.length} skipped: ${d.report.skipped.slice(0, 3).map((s) => `${s.file}: ${s.reason}`).join('; ')})` : ''),
      );
    }
  }
  const ds: UnpairedDataset = { root, loadSize: opts.loadSize, trainA, trainB };
  if (opts.withTest) {
    if (entries.has('testA')) ds.testA = await load('testA');
    if (entries.has('testB')) ds.testB = await load('testB');
  }
  return ds;
}

/** Resizes 8-bit RGB with sharp (Lanczos), returning the same image when the size already fits. */
export async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (img.width === width && img.height === height) return img;
  const data = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/**
 * Writes one jittered crop (random crop of cropSize, random horizontal flip) of `img` into `out`
 * at `offset` as NHWC floats in [-1, 1].
 */
export function jitterInto(img: RgbImage, cropSize: number, rng: Rng, flip: boolean, out: Float32Array, offset: number): void {
  if (img.width < cropSize || img.height < cropSize) throw new Error(`image ${img.width}x${img.height} is smaller than the crop ${cropSize}`);
  const x0 = rng.int(img.width - cropSize + 1);
  const y0 = rng.int(img.height - cropSize + 1);
  const mirror = flip && rng.next() < 0.5;
  let o = offset;
  for (let y = 0; y < cropSize; y++) {
    const row = (y0 + y) * img.width;
    for (let x = 0; x < cropSize; x++) {
      const sx = mirror ? x0 + cropSize - 1 - x : x0 + x;
      const i = (row + sx) * 3;
      out[o++] = img.data[i] / 127.5 - 1;
      out[o++] = img.data[i + 1] / 127.5 - 1;
      out[o++] = img.data[i + 2] / 127.5 - 1;
    }
  }
}

/** A batch of `n` random images of a domain, jittered: Float32Array NHWC [n, crop, crop, 3] in [-1, 1]. */
export function sampleBatch(images: RgbImage[], n: number, cropSize: number, rng: Rng, flip = true): Float32Array {
  const out = new Float32Array(n * cropSize * cropSize * 3);
  for (let b = 0; b < n; b++) jitterInto(images[rng.int(images.length)], cropSize, rng, flip, out, b * cropSize * cropSize * 3);
  return out;
}

/** Centre crop (no randomness) of an image as NHWC floats in [-1, 1], for fixed sample grids. */
export function centerCrop(img: RgbImage, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  const x0 = Math.floor((img.width - size) / 2);
  const y0 = Math.floor((img.height - size) / 2);
  let o = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = ((y0 + y) * img.width + x0 + x) * 3;
      out[o++] = img.data[i] / 127.5 - 1;
      out[o++] = img.data[i + 1] / 127.5 - 1;
      out[o++] = img.data[i + 2] / 127.5 - 1;
    }
  }
  return out;
}
