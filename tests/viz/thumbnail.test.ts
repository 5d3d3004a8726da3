/**
 * The Models page thumbnails that the ship steps write (training/viz/thumbnail.ts), made with real
 * shipped ONNX files through onnxruntime-node: a translation model and an SR model each get a
 * 258x128 before | after webp whose halves differ, and index.json gains exactly the ids written.
 * Skipped when ../shared/datasets is absent.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../lib/contract/manifest';
import { shipThumbnails, sitePlaces, updateThumbIndex, writeThumbnail } from '../../training/viz/thumbnail';

const ROOT = path.resolve(__dirname, '../..');
const DATA = path.resolve(ROOT, '../shared/datasets');
const manifest = parseManifest(JSON.parse(readFileSync(path.join(ROOT, 'public/models/manifest.json'), 'utf8')));
const byId = (id: string) => manifest.models.find((m) => m.id === id)!;

async function halves(file: string): Promise<{ w: number; h: number; diff: number }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let diff = 0;
  for (let y = 0; y < info.height; y++)
    for (let x = 0; x < 128; x++)
      for (let c = 0; c < 3; c++) diff += Math.abs(data[(y * info.width + x) * 3 + c] - data[(y * info.width + x + 130) * 3 + c]);
  return { w: info.width, h: info.height, diff: diff / (128 * info.height * 3) };
}

describe.skipIf(!existsSync(DATA))('Models page thumbnails from the shipped ONNX', () => {
  it('ship writes a before | after thumbnail per entry and adds it to index.json', async () => {
    const thumbsDir = mkdtempSync(path.join(tmpdir(), 'thumbs-'));
    writeFileSync(path.join(thumbsDir, 'index.json'), '["gone-model"]\n'); // listed but no file: dropped
    const places = sitePlaces(ROOT, { thumbsDir });
    const entries = [byId('cyclegan-summer2winter'), byId('sr-realtime-x2')];
    await shipThumbnails(entries, places, () => {});
    for (const e of entries) {
      const h = await halves(path.join(thumbsDir, `${e.id}.webp`));
      expect([h.w, h.h]).toEqual([258, 128]);
      // the model changed the picture (a translation more than an upscale of the same crop)
      expect(h.diff).toBeGreaterThan(e.task === 'translation' ? 5 : 1);
    }
    expect(JSON.parse(readFileSync(path.join(thumbsDir, 'index.json'), 'utf8'))).toEqual(['cyclegan-summer2winter', 'sr-realtime-x2']);
    // the whole-site rewrite keeps exactly what it is given
    expect(await updateThumbIndex(thumbsDir, ['sr-realtime-x2'], true)).toEqual(['sr-realtime-x2']);
  }, 60_000);

  it('a translation thumbnail reads the ship step\'s --data folder, and says where photos are missing', async () => {
    const thumbsDir = mkdtempSync(path.join(tmpdir(), 'thumbs-'));
    const m = byId('cyclegan-summer2winter');
    await expect(writeThumbnail(m, sitePlaces(ROOT, { thumbsDir, translationData: path.join(thumbsDir, 'nowhere') }))).rejects.toThrow(/no test photos at .*nowhere/);
    const out = await writeThumbnail(m, sitePlaces(ROOT, { thumbsDir, translationData: path.join(DATA, 'cyclegan/summer2winter_landscapes') }));
    expect(existsSync(out)).toBe(true);
  }, 60_000);
});
