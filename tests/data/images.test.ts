import { describe, expect, it, beforeAll } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImageFile, describeLoadReport, loadImageFolder, writePng } from '../../training/data/images';

const DATA = path.resolve(__dirname, '../../../shared/datasets');
// The BMP cases use a real T91 file from ../shared/datasets (as the SR tests do); skipped without it.
const haveT91 = existsSync(path.join(DATA, 'sr/T91/t1.bmp'));

describe.skipIf(!haveT91)('image folder loading', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-images-'));
    const rgb = Buffer.alloc(40 * 30 * 3, 0).map((_, i) => (i * 7) % 256);
    await sharp(rgb, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(path.join(dir, 'a-rgb.png'));
    await sharp(Buffer.alloc(40 * 30, 128), { raw: { width: 40, height: 30, channels: 1 } }).toColourspace('b-w').jpeg().toFile(path.join(dir, 'b-gray.jpg'));
    await sharp(Buffer.alloc(8 * 8 * 3, 9), { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path.join(dir, 'c-tiny.png'));
    await sharp(Buffer.alloc(400 * 300 * 4, 200), { raw: { width: 400, height: 300, channels: 4 } }).png().toFile(path.join(dir, 'd-huge-alpha.png'));
    const good = await fs.readFile(path.join(dir, 'a-rgb.png'));
    await fs.writeFile(path.join(dir, 'e-truncated.png'), good.subarray(0, 60));
    await fs.writeFile(path.join(dir, 'f-garbage.jpg'), 'this is not a jpeg');
    await fs.writeFile(path.join(dir, 'notes.txt'), 'hello');
    await fs.copyFile(path.join(DATA, 'sr/T91/t1.bmp'), path.join(dir, 'g-t91.bmp'));
  });

  it('skips, converts and counts, never throws', async () => {
    const { images, report } = await loadImageFolder(dir, { minSide: 16, maxPixels: 200 * 150 });
    expect(report.loaded).toBe(4); // rgb, gray, huge (downscaled), bmp
    expect(images.every((im) => im.data.length === im.width * im.height * 3)).toBe(true);
    expect(report.grayscaleExpanded).toBe(1);
    expect(report.downscaled).toBe(1);
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.file, s.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['c-tiny.png', 'e-truncated.png', 'f-garbage.jpg', 'notes.txt']);
    expect(reasons['c-tiny.png']).toMatch(/too small/);
    expect(reasons['notes.txt']).toMatch(/not an image/);
    expect(reasons['f-garbage.jpg']).toMatch(/not a readable image/);
    expect(describeLoadReport(report)).toMatch(/4 loaded, 1 grayscale expanded to RGB, 1 downscaled, 4 skipped/);
  });

  it('decodes BMP (T91) to the same pixels sharp reads from a PNG copy', async () => {
    const bmpImg = await decodeImageFile(path.join(dir, 'g-t91.bmp'));
    const png = path.join(dir, 'copy.png');
    await writePng(png, bmpImg);
    const back = await decodeImageFile(png);
    expect([back.width, back.height]).toEqual([bmpImg.width, bmpImg.height]);
    expect(Buffer.compare(Buffer.from(back.data), Buffer.from(bmpImg.data))).toBe(0);
    // Not all one colour: the channel order is real RGB, not garbage.
    expect(new Set(bmpImg.data.subarray(0, 3000)).size).toBeGreaterThan(20);
  });

  it('gives a clear message for a missing folder', async () => {
    await expect(loadImageFolder(path.join(dir, 'nope'))).rejects.toThrow(/cannot read image folder .*nope: ENOENT/);
  });
});
