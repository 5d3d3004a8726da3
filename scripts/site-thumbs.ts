/**
 * Before/after thumbnails for the Models page (public/thumbs/<model id>.webp), made with the
 * shipped ONNX models themselves in onnxruntime-node:
 *   npx tsx scripts/site-thumbs.ts
 * Translation: a 128x128 centre crop of one test photo of the model's source domain, before | after.
 * Super-resolution: a crop of Set14 "monarch" (official bicubic LR) upscaled to 128x128: plain
 * bicubic resize | the model. Writes public/thumbs/index.json (the ids that have one). Needs ../shared/datasets (never copied into the repo).
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { parseManifest, type ModelEntry } from '../lib/contract/manifest';
import { nchwToRGBA, rgbaToNCHW } from '../lib/imaging';

const ROOT = path.resolve(import.meta.dirname, '..');
const DATA = path.resolve(ROOT, '../shared/datasets');
const OUT = path.join(ROOT, 'public/thumbs');
const S = 128;

async function rgba(file: string, w: number, h: number, crop?: { left: number; top: number; width: number; height: number }): Promise<Uint8Array> {
  let img = sharp(file).ensureAlpha();
  if (crop) img = img.extract(crop);
  return new Uint8Array(await img.resize(w, h, { fit: 'cover' }).raw().toBuffer());
}

async function runModel(m: ModelEntry, px: Uint8Array, w: number, h: number): Promise<Uint8ClampedArray> {
  const s = await ort.InferenceSession.create(readFileSync(path.join(ROOT, 'public/models', m.file)));
  const x = new ort.Tensor('float32', rgbaToNCHW(px, w, h, m.input.range as [number, number]), [1, 3, h, w]);
  const y = (await s.run({ [s.inputNames[0]]: x }))[s.outputNames[0]];
  const [, , oh, ow] = y.dims as number[];
  await s.release();
  return nchwToRGBA(y.data as Float32Array, ow, oh, m.output.range as [number, number]);
}

async function pair(before: Uint8Array | Uint8ClampedArray, after: Uint8Array | Uint8ClampedArray, file: string): Promise<void> {
  const raw = { width: S, height: S, channels: 4 as const };
  await sharp({ create: { width: 2 * S + 2, height: S, channels: 4, background: '#ffffff' } })
    .composite([
      { input: Buffer.from(before), raw, left: 0, top: 0 },
      { input: Buffer.from(after), raw, left: S + 2, top: 0 },
    ])
    .webp({ quality: 80 })
    .toFile(file);
}

async function main() {
  const { models } = parseManifest(JSON.parse(readFileSync(path.join(ROOT, 'public/models/manifest.json'), 'utf8')));
  mkdirSync(OUT, { recursive: true });
  const made: string[] = [];
  for (const m of models) {
    const out = path.join(OUT, `${m.id}.webp`);
    if (m.task === 'translation') {
      const dir = path.join(DATA, 'cyclegan', m.dataset ?? '', m.direction === 'BtoA' ? 'testB' : 'testA');
      const photo = path.join(dir, readdirSync(dir).sort()[2]);
      const px = await rgba(photo, S, S);
      await pair(px, await runModel(m, px, S, S), out);
    } else {
      const lr = S / m.scale;
      const file = path.join(DATA, 'sr/Set14/LR_bicubic', `X${m.scale}`, 'monarch.png');
      const meta = await sharp(file).metadata();
      const side = Math.round((meta.width! * 48) / 512 / (4 / m.scale)) * 2; // the same scene area at every scale
      const crop = { left: Math.round(meta.width! * 0.35), top: Math.round(meta.height! * 0.3), width: side, height: side };
      const px = await rgba(file, lr, lr, crop);
      const bicubic = new Uint8Array(await sharp(Buffer.from(px), { raw: { width: lr, height: lr, channels: 4 } }).resize(S, S, { kernel: 'cubic' }).raw().toBuffer());
      await pair(bicubic, await runModel(m, px, lr, lr), out);
    }
    console.log(`${out}`);
    made.push(m.id);
  }
  // the Models page imports this list, so it never asks for a thumbnail that does not exist
  writeFileSync(path.join(OUT, 'index.json'), `${JSON.stringify(made.sort(), null, 2)}\n`);
}

void main();
