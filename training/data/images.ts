/**
 * Image files <-> RGB pixels for the training pipeline.
 *
 * Decoding uses sharp (JPEG, PNG, WebP, TIFF, GIF, AVIF ...) and bmp-js for BMP, which sharp's
 * prebuilt libvips lacks (the T91 set is BMP). Every image comes back as 8-bit RGB, HWC:
 * grayscale is expanded, alpha dropped. Folder loading never throws on a bad file: it skips
 * or converts, and counts what it did, so a training run never dies mid-epoch on one image.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import bmp from 'bmp-js';
import { writeFileAtomic } from '../io/atomic';

export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes, row-major RGB. */
  data: Uint8Array;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.gif', '.avif']);

/** sharp refuses images above this many pixels unless told otherwise; we resize those instead. */
const SHARP_PIXEL_LIMIT = 268_402_689;

export class ImageDecodeError extends Error {}

/** Decodes one image file to RGB. Throws ImageDecodeError with the file name and the reason. */
export async function decodeImageFile(file: string, opts: { maxPixels?: number } = {}): Promise<RgbImage> {
  const buf = await fs.readFile(file);
  return decodeImageBuffer(buf, file, opts);
}

export async function decodeImageBuffer(
  buf: Buffer,
  label = 'image',
  opts: { maxPixels?: number } = {},
): Promise<RgbImage> {
  return (await decodeWithInfo(buf, label, opts)).image;
}

interface Decoded {
  image: RgbImage;
  /** Channels stored in the file (1-2: grayscale). */
  sourceChannels: number;
  sourcePixels: number;
}

async function decodeWithInfo(buf: Buffer, label: string, opts: { maxPixels?: number }): Promise<Decoded> {
  if (isBmp(buf)) {
    const image = decodeBmp(buf, label);
    return { image, sourceChannels: 3, sourcePixels: image.width * image.height };
  }
  try {
    let img = sharp(buf, { limitInputPixels: SHARP_PIXEL_LIMIT, failOn: 'error' });
    const meta = await img.metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions');
    const sourcePixels = meta.width * meta.height;
    if (opts.maxPixels && sourcePixels > opts.maxPixels) {
      const f = Math.sqrt(opts.maxPixels / sourcePixels);
      img = img.resize(Math.max(1, Math.floor(meta.width * f)), Math.max(1, Math.floor(meta.height * f)), {
        kernel: 'lanczos3',
      });
    }
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const image = toRgb(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height, info.channels, label);
    return { image, sourceChannels: meta.channels ?? 3, sourcePixels };
  } catch (err) {
    throw new ImageDecodeError(`${label}: not a readable image (${(err as Error).message})`);
  }
}

function isBmp(buf: Buffer): boolean {
  return buf.length > 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

function decodeBmp(buf: Buffer, label: string): RgbImage {
  let decoded: { width: number; height: number; data: Buffer };
  try {
    decoded = bmp.decode(buf);
  } catch (err) {
    throw new ImageDecodeError(`${label}: corrupt BMP (${(err as Error).message})`);
  }
  const { width, height, data } = decoded;
  if (!width || !height || data.length < width * height * 4) throw new ImageDecodeError(`${label}: corrupt BMP (truncated)`);
  const out = new Uint8Array(width * height * 3);
  // bmp-js gives ABGR bytes.
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    out[j] = data[i + 3];
    out[j + 1] = data[i + 2];
    out[j + 2] = data[i + 1];
  }
  return { width, height, data: out };
}

function toRgb(src: Uint8Array, width: number, height: number, channels: number, label: string): RgbImage {
  const n = width * height;
  if (channels === 3) return { width, height, data: new Uint8Array(src) };
  const out = new Uint8Array(n * 3);
  if (channels === 1 || channels === 2) {
    for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = src[i * channels];
    return { width, height, data: out };
  }
  if (channels === 4) {
    for (let i = 0; i < n; i++) {
      out[3 * i] = src[4 * i];
      out[3 * i + 1] = src[4 * i + 1];
      out[3 * i + 2] = src[4 * i + 2];
    }
    return { width, height, data: out };
  }
  throw new ImageDecodeError(`${label}: unsupported channel count ${channels}`);
}

/** Writes RGB pixels as PNG, atomically (temp file + rename). */
export async function writePng(file: string, img: RgbImage): Promise<void> {
  const png = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .png()
    .toBuffer();
  await writeFileAtomic(file, png);
}

export interface FolderLoadOptions {
  /** Images whose shorter side is below this are skipped (e.g. smaller than a training crop). */
  minSide?: number;
  /** Images above this many pixels are downscaled to it (huge scans would exhaust memory). */
  maxPixels?: number;
  /** Stop after this many images (for quick runs and tests). */
  limit?: number;
  /** Returns a reason to leave a file out (e.g. a known copy of a benchmark image), or null. */
  exclude?: (name: string, bytes: Buffer) => string | null;
}

export interface FolderLoadReport {
  folder: string;
  /** Name shown in logs instead of the folder's basename (e.g. for several merged folders). */
  label?: string;
  loaded: number;
  grayscaleExpanded: number;
  downscaled: number;
  skipped: { file: string; reason: string }[];
}

/** Lists image files of a folder (sorted, non-recursive); non-image names are reported as skipped. */
export async function listImageFiles(folder: string): Promise<{ files: string[]; ignored: string[] }> {
  let entries: string[];
  try {
    entries = (await fs.readdir(folder)).sort();
  } catch (err) {
    throw new Error(`cannot read image folder ${folder}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const files: string[] = [];
  const ignored: string[] = [];
  for (const e of entries) {
    if (e.startsWith('.')) continue;
    (IMAGE_EXTENSIONS.has(path.extname(e).toLowerCase()) ? files : ignored).push(e);
  }
  return { files: files.map((f) => path.join(folder, f)), ignored };
}

/**
 * Loads every image of a folder into memory as RGB. Bad files are skipped and counted, grayscale
 * is expanded, huge images are downscaled: the report says what happened to each.
 */
export async function loadImageFolder(
  folder: string,
  opts: FolderLoadOptions = {},
): Promise<{ images: RgbImage[]; files: string[]; report: FolderLoadReport }> {
  const { files, ignored } = await listImageFiles(folder);
  const report: FolderLoadReport = {
    folder,
    loaded: 0,
    grayscaleExpanded: 0,
    downscaled: 0,
    skipped: ignored.map((f) => ({ file: f, reason: 'not an image file' })),
  };
  const images: RgbImage[] = [];
  const kept: string[] = [];
  for (const file of files) {
    if (opts.limit !== undefined && images.length >= opts.limit) break;
    const name = path.basename(file);
    try {
      const bytes = await fs.readFile(file);
      const excluded = opts.exclude?.(name, bytes);
      if (excluded) {
        report.skipped.push({ file: name, reason: excluded });
        continue;
      }
      const { image: img, sourceChannels, sourcePixels } = await decodeWithInfo(bytes, name, opts);
      if (opts.minSide && Math.min(img.width, img.height) < opts.minSide) {
        report.skipped.push({ file: name, reason: `too small (${img.width}x${img.height} < ${opts.minSide} px)` });
        continue;
      }
      if (sourceChannels < 3) report.grayscaleExpanded++;
      if (img.width * img.height < sourcePixels) report.downscaled++;
      images.push(img);
      kept.push(file);
      report.loaded++;
    } catch (err) {
      report.skipped.push({ file: name, reason: (err as Error).message.replace(`${name}: `, '') });
    }
  }
  return { images, files: kept, report };
}

/** One line for logs: "trainA: 500 loaded, 2 grayscale expanded, 1 skipped (x.txt: not an image file)". */
export function describeLoadReport(r: FolderLoadReport): string {
  const parts = [`${r.loaded} loaded`];
  if (r.grayscaleExpanded) parts.push(`${r.grayscaleExpanded} grayscale expanded to RGB`);
  if (r.downscaled) parts.push(`${r.downscaled} downscaled`);
  if (r.skipped.length) {
    const shown = r.skipped.slice(0, 3).map((s) => `${s.file}: ${s.reason}`);
    parts.push(`${r.skipped.length} skipped (${shown.join('; ')}${r.skipped.length > 3 ? '; ...' : ''})`);
  }
  return `${r.label ?? path.basename(r.folder)}: ${parts.join(', ')}`;
}
