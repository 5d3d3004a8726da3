/**
 * Bad dataset input for the unpaired trainers (CUT and CycleGAN share training/data/unpaired):
 * what the CycleGAN suite does not already cover (missing trainA/trainB, too few, corrupt,
 * grayscale, mixed sizes are in tests/cyclegan): a trainA that is a file, images too small to
 * train on, RGBA and 16-bit PNGs; and the `train cut` command itself: a clear one-line error,
 * exit code 1, no stack trace, and no lock left behind.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadUnpairedDataset } from '../../training/data/unpaired';
import { LOCK_FILE } from '../../training/checkpoint/lock';

const ROOT = path.resolve(__dirname, '../..');
let tmp: string;

const png = (file: string, w: number, h: number, channels: 1 | 3 | 4 = 3) =>
  sharp(Buffer.alloc(w * h * channels, 120), { raw: { width: w, height: h, channels } }).png().toFile(file);

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cut-bad-'));
});

describe('unpaired dataset bad input', () => {
  it('a trainA that is a file is named as such', async () => {
    const root = path.join(tmp, 'file');
    await fs.mkdir(path.join(root, 'trainB'), { recursive: true });
    await fs.writeFile(path.join(root, 'trainA'), 'not a folder');
    await expect(loadUnpairedDataset(root, { loadSize: 36 })).rejects.toThrow(/trainA is a file, not a folder/);
  });

  it('skips images too small to train on (with the reason), loads RGBA and 16-bit PNGs as RGB', async () => {
    const root = path.join(tmp, 'mixed');
    for (const d of ['trainA', 'trainB']) await fs.mkdir(path.join(root, d), { recursive: true });
    await png(path.join(root, 'trainA', 'rgba.png'), 40, 40, 4);
    await sharp(Buffer.alloc(40 * 40 * 3, 200), { raw: { width: 40, height: 40, channels: 3 } }).toColourspace('rgb16').png().toFile(path.join(root, 'trainA', 'deep.png'));
    await png(path.join(root, 'trainA', 'dot.png'), 1, 1);
    await png(path.join(root, 'trainB', 'a.png'), 50, 30);
    await png(path.join(root, 'trainB', 'b.png'), 30, 50, 1);
    const logs: string[] = [];
    const ds = await loadUnpairedDataset(root, { loadSize: 36, log: (l) => logs.push(l) });
    expect(ds.trainA.files.map((f) => path.basename(f)).sort()).toEqual(['deep.png', 'rgba.png']);
    expect(ds.trainA.images.every((im) => im.data.length === 36 * 36 * 3)).toBe(true);
    expect(ds.trainA.report.skipped).toEqual([{ file: 'dot.png', reason: expect.stringMatching(/too small \(1x1: under 9 px/) }]);
    expect(logs.join('\n')).toMatch(/trainA: 2 loaded, 1 skipped \(dot\.png: too small/);
    expect(ds.trainB.images.length).toBe(2);
  });
});

describe('train cut on bad input', () => {
  it('exits 1 with one clear line, no stack trace, and leaves no lock', async () => {
    const root = path.join(tmp, 'onlyA');
    await fs.mkdir(path.join(root, 'trainA'), { recursive: true });
    const out = path.join(tmp, 'run-bad');
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'training/cli.ts'), 'train', 'cut', '--data', root, '--out', out, '--backend', 'wasm', '--crop', '32'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: dataset folder .*onlyA lacks trainB: a CycleGAN dataset needs trainA\/ .* and trainB\//m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await expect(fs.access(path.join(out, LOCK_FILE))).rejects.toThrow();
    await expect(fs.access(path.join(out, 'checkpoints'))).rejects.toThrow();
  });
});
