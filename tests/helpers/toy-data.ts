/** Tiny unpaired datasets for the GAN training tests (tests/cyclegan, tests/cut). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { TrainerOptions } from '../../training/tasks/cyclegan/trainer';

/** A w x h PNG of seeded noise: red-ish or blue-ish (or grey with `channels` 1), brighter towards the bottom. */
export async function toyImage(file: string, w: number, h: number, hue: 'red' | 'blue', seed: number, channels: 1 | 3 = 3): Promise<void> {
  const px = Buffer.alloc(w * h * channels);
  let s = seed;
  for (let i = 0; i < w * h; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const n = (s / 2147483648) * 90;
    const y = Math.floor(i / w);
    if (channels === 1) px[i] = 60 + n + y;
    else {
      px[i * 3] = hue === 'red' ? 150 + n : 20 + n / 3;
      px[i * 3 + 1] = 40 + n / 2 + y;
      px[i * 3 + 2] = hue === 'blue' ? 150 + n : 20 + n / 3;
    }
  }
  await sharp(px, { raw: { width: w, height: h, channels } }).png().toFile(file);
}

/** trainA/ (red), trainB/ (blue) with `train` 40x40 images each, testA/, testB/ with `test` each. */
export async function writeToyDataset(dir: string, counts: { train: number; test: number }): Promise<void> {
  for (const d of ['trainA', 'trainB', 'testA', 'testB']) await fs.mkdir(path.join(dir, d), { recursive: true });
  for (let i = 0; i < counts.train; i++) {
    await toyImage(path.join(dir, 'trainA', `a${i}.png`), 40, 40, 'red', i + 1);
    await toyImage(path.join(dir, 'trainB', `b${i}.png`), 40, 40, 'blue', i + 11);
  }
  for (let i = 0; i < counts.test; i++) {
    await toyImage(path.join(dir, 'testA', `a${i}.png`), 40, 40, 'red', i + 21);
    await toyImage(path.join(dir, 'testB', `b${i}.png`), 40, 40, 'blue', i + 31);
  }
}

/**
 * The run options the GAN tests share: tiny networks (light generator ngf 4, 1 block, PatchGAN
 * ndf 4 / 2 layers), 32x32 crops, wasm, a fresh run folder under `tmp`; a task adds its own
 * losses and schedule.
 */
export function toyRunOptions(data: string, tmp: string) {
  return {
    data,
    out: path.join(tmp, `run-${Math.random().toString(36).slice(2)}`),
    resume: false,
    generator: 'light' as const,
    ngf: 4,
    nBlocks: 1,
    ndf: 4,
    dLayers: 2,
    loss: 'lsgan' as const,
    gpWeight: 10,
    lr: 2e-4,
    lrD: 2e-4,
    beta1: 0.5,
    batchSize: 1,
    crop: 32,
    loadSize: 36,
    seed: 3,
    checkpointEvery: 2,
    logEvery: 1,
    keep: 3,
    backend: 'wasm',
    healthWindow: 4,
    maxRollbacks: 3,
    log: () => {},
  };
}

/** CycleGanTrainer options with the same tiny networks (for tests that build a trainer directly). */
export function toyCycleGanOptions(over: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    generator: 'light',
    ngf: 4,
    nBlocks: 1,
    ndf: 4,
    dLayers: 2,
    loss: 'lsgan',
    lambdaCycle: 10,
    lambdaIdt: 0.5,
    gpWeight: 10,
    poolSize: 2,
    lr: 2e-4,
    lrD: 2e-4,
    beta1: 0.5,
    batchSize: 1,
    crop: 32,
    steps: 10,
    decayFrom: 5,
    seed: 7,
    ...over,
  };
}
