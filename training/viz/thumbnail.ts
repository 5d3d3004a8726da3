/**
 * Before/after thumbnails for the site's Models page (public/thumbs/<model id>.webp), made with the
 * shipped ONNX model itself in onnxruntime-node. Written by every ship step for the model it ships,
 * and for all manifest models by `npx tsx scripts/site-thumbs.ts`.
 *   Translation: a 128x128 centre crop of one test photo of the model's source domain, before | after.
 *   Super-resolution: a crop of Set14 "monarch" (official bicubic LR) upscaled to 128x128: plain
 *   bicubic resize | the model.
 * public/thumbs/index.json lists the ids that have one: the Models page imports it, so it never asks
 * for a thumbnail that does not exist. The datasets are read from ../shared/datasets, never copied.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import type { ModelEntry } from '../../lib/contract/manifest';
import { nchwToRGBA, rgbaToNCHW } from '../../lib/imaging';
import { writeFileAtomic } from '../io/atomic';

/** the thumbnail's half: before | after, each SIDE x SIDE, 2 px apart */
export const THUMB_SIDE = 128;

export interface ThumbPlaces {
  /** folder of the ONNX files named by the manifest (public/models) */
  modelsDir: string;
  /** folder of the thumbnails and index.json (public/thumbs) */
  thumbsDir: string;
  /** ../shared/datasets */
  dataRoot: string;
  /** a translation dataset's folder (testA/testB) when it is not dataRoot/cyclegan/<dataset> (a ship step's --data) */
  translationData?: string;
}

/** The site's places in a checkout: public/models, public/thumbs, ../shared/datasets. */
export function sitePlaces(repoRoot: string, extra: Partial<ThumbPlaces> = {}): ThumbPlaces {
  return {
    modelsDir: path.join(repoRoot, 'public/models'),
    thumbsDir: path.join(repoRoot, 'public/thumbs'),
    dataRoot: path.resolve(repoRoot, '../shared/datasets'),
    ...extra,
  };
}

async function rgba(file: string, w: number, h: number, crop?: { left: number; top: number; width: number; height: number }): Promise<Uint8Array> {
  let img = sharp(file).ensureAlpha();
  if (crop) img = img.extract(crop);
  return new Uint8Array(await img.resize(w, h, { fit: 'cover' }).raw().toBuffer());
}

async function runModel(m: ModelEntry, modelsDir: string, px: Uint8Array, w: number, h: number): Promise<Uint8ClampedArray> {
  const s = await ort.InferenceSession.create(await readFile(path.join(modelsDir, m.file)));
  try {
    const x = new ort.Tensor('float32', rgbaToNCHW(px, w, h, m.input.range as [number, number]), [1, 3, h, w]);
    const y = (await s.run({ [s.inputNames[0]]: x }))[s.outputNames[0]];
    const [, , oh, ow] = y.dims as number[];
    return nchwToRGBA(y.data as Float32Array, ow, oh, m.output.range as [number, number]);
  } finally {
    await s.release();
  }
}

/** The "before" picture and the model's input for one manifest model. */
async function beforeAndInput(m: ModelEntry, places: ThumbPlaces): Promise<{ before: Uint8Array; input: Uint8Array; side: number }> {
  const S = THUMB_SIDE;
  const { dataRoot } = places;
  if (m.task === 'translation') {
    const dir = path.join(places.translationData ?? path.join(dataRoot, 'cyclegan', m.dataset ?? ''), m.direction === 'BtoA' ? 'testB' : 'testA');
    if (!existsSync(dir)) throw new Error(`thumbnail for ${m.id}: no test photos at ${dir}`);
    const photo = path.join(dir, readdirSync(dir).sort()[2]);
    const px = await rgba(photo, S, S);
    return { before: px, input: px, side: S };
  }
  const lr = S / m.scale;
  const file = path.join(dataRoot, 'sr/Set14/LR_bicubic', `X${m.scale}`, 'monarch.png');
  if (!existsSync(file)) throw new Error(`thumbnail for ${m.id}: no Set14 LR image at ${file}`);
  const meta = await sharp(file).metadata();
  const side = Math.round((meta.width! * 48) / 512 / (4 / m.scale)) * 2; // the same scene area at every scale
  const crop = { left: Math.round(meta.width! * 0.35), top: Math.round(meta.height! * 0.3), width: side, height: side };
  const px = await rgba(file, lr, lr, crop);
  const bicubic = new Uint8Array(await sharp(Buffer.from(px), { raw: { width: lr, height: lr, channels: 4 } }).resize(S, S, { kernel: 'cubic' }).raw().toBuffer());
  return { before: bicubic, input: px, side: lr };
}

/** Writes public/thumbs/<id>.webp (atomically) for one manifest model; returns its path. */
export async function writeThumbnail(m: ModelEntry, places: ThumbPlaces): Promise<string> {
  const S = THUMB_SIDE;
  const { before, input, side } = await beforeAndInput(m, places);
  const after = await runModel(m, places.modelsDir, input, side, side);
  if (after.length !== S * S * 4) throw new Error(`thumbnail for ${m.id}: the model returned ${Math.sqrt(after.length / 4)} px, expected ${S}`);
  const raw = { width: S, height: S, channels: 4 as const };
  const webp = await sharp({ create: { width: 2 * S + 2, height: S, channels: 4, background: '#ffffff' } })
    .composite([
      { input: Buffer.from(before), raw, left: 0, top: 0 },
      { input: Buffer.from(after), raw, left: S + 2, top: 0 },
    ])
    .webp({ quality: 80 })
    .toBuffer();
  const out = path.join(places.thumbsDir, `${m.id}.webp`);
  await writeFileAtomic(out, webp);
  return out;
}

/**
 * Rewrites index.json: `ids` added to what it lists (or, with `replace`, exactly `ids`), sorted,
 * keeping only ids whose .webp exists.
 */
export async function updateThumbIndex(thumbsDir: string, ids: string[], replace = false): Promise<string[]> {
  const file = path.join(thumbsDir, 'index.json');
  const old: string[] = !replace && existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as string[]) : [];
  const all = [...new Set([...old, ...ids])].filter((id) => existsSync(path.join(thumbsDir, `${id}.webp`))).sort();
  await writeFileAtomic(file, `${JSON.stringify(all, null, 2)}\n`);
  return all;
}

/** The ship steps' call: a thumbnail for each shipped entry, added to the index. */
export async function shipThumbnails(entries: ModelEntry[], places: ThumbPlaces, log: (s: string) => void = console.log): Promise<void> {
  for (const e of entries) log(`thumbnail: ${await writeThumbnail(e, places)}`);
  await updateThumbIndex(places.thumbsDir, entries.map((e) => e.id));
}
