/**
 * Self-ensemble distillation (`train sr --distill`): option checks, the teacher's targets (a real
 * runner over real images), the sampler's alignment of teacher and HR patches, the loss, and real
 * tfjs training steps that follow the teacher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { distillLoss, pixelLoss, trainSr, type SrTrainOptions } from '../../training/tasks/sr/train';
import { attachTeacherTargets, checkDistillOptions } from '../../training/tasks/sr/distill';
import { loadSrDataset, Rng, sampleBatch } from '../../training/data/sr-dataset';
import { DEFAULT_SR_ROOT } from '../../training/eval/sr/evaluate';
import { bicubicRunner } from '../../training/eval/sr/runners';
import { imresize } from '../../training/data/bicubic';
import { tinySrOptions } from '../helpers/sr-options';

const T91 = path.join(DEFAULT_SR_ROOT, 'T91');
const haveData = existsSync(T91) && existsSync(path.join(DEFAULT_SR_ROOT, 'Set5'));

describe('distillation options and loss', () => {
  it('refuses an ensemble size or weight it cannot use, naming the option', () => {
    expect(() => checkDistillOptions({ teacher: 'sr-quality-x2', ensemble: 3, weight: 0.5 })).toThrow(/--distill-ensemble must be one of 1, 2, 4, 8, got 3/);
    expect(() => checkDistillOptions({ teacher: 'sr-quality-x2', ensemble: 8, weight: 0 })).toThrow(/--distill-weight must be in \(0, 1\], got 0/);
    expect(() => checkDistillOptions({ teacher: 'sr-quality-x2', ensemble: 8, weight: 1.5 })).toThrow(/--distill-weight/);
    expect(checkDistillOptions({ teacher: 'sr-quality-x2', ensemble: 8, weight: 1 }).weight).toBe(1);
  });

  it('weighs the HR and teacher terms', () => {
    const sr = tf.tensor4d([0.5, 0.2, 0.9, 0.0], [1, 2, 2, 1]);
    const hr = tf.tensor4d([0.1, 0.2, 0.6, 0.5], [1, 2, 2, 1]);
    const te = tf.tensor4d([0.5, 0.3, 0.9, 0.2], [1, 2, 2, 1]);
    const lHr = pixelLoss('l1', sr, hr).dataSync()[0];
    const lTe = pixelLoss('l1', sr, te).dataSync()[0];
    expect(lTe).toBeCloseTo(0.3 / 4, 6);
    expect(distillLoss('l1', sr, hr, te, 0.25).dataSync()[0]).toBeCloseTo(0.75 * lHr + 0.25 * lTe, 6);
    expect(distillLoss('l1', sr, hr, te, 1).dataSync()[0]).toBeCloseTo(lTe, 6);
  });
});

describe.skipIf(!haveData)('distillation on real images', () => {
  let dir: string;
  let data: string;
  const logs: string[] = [];
  const base = (): SrTrainOptions =>
    tinySrOptions(data, (s) => logs.push(s), { steps: 12, batch: 4, lr: 3e-3, lrMin: 1e-4, warmup: 0, seed: 3, valSet: undefined, ckptEvery: 0, keep: 1 });

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sr-distill-'));
    data = path.join(dir, 'data');
    await fs.mkdir(data);
    for (const f of ['t1.bmp', 't2.bmp', 't3.bmp']) await fs.copyFile(path.join(T91, f), path.join(data, f));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("keeps the teacher's whole-image output per pair and crops it like the HR patch", async () => {
    const ds = await loadSrDataset(data, { scale: 2, patch: 12 });
    const secs = await attachTeacherTargets(ds, bicubicRunner(2), 1, () => {});
    expect(secs).toBeGreaterThanOrEqual(0);
    for (const p of ds.pairs) expect(Buffer.from(p.teacher!.data).equals(Buffer.from(imresize(p.lr, 2).data))).toBe(true);
    // A x2 self-ensemble of bicubic (which commutes with a mirror) moves no pixel by more than rounding.
    const ds2 = await loadSrDataset(data, { scale: 2, patch: 12 });
    await attachTeacherTargets(ds2, bicubicRunner(2), 2, () => {});
    let worst = 0;
    ds2.pairs.forEach((p, i) => p.teacher!.data.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - ds.pairs[i].teacher!.data[j])))));
    expect(worst).toBeLessThanOrEqual(1);
    await expect(attachTeacherTargets(ds, bicubicRunner(4), 1, () => {})).rejects.toThrow(/is a x4 model, the run trains x2/);

    // Alignment: with the HR image as its own "teacher", every sampled teacher patch is the HR patch
    // (same image, offset and flip/rotation), and the draws are those of a run without a teacher.
    for (const p of ds.pairs) p.teacher = p.hr;
    const a = sampleBatch(ds, new Rng(5), 6);
    expect(a.teacher).toBeDefined();
    expect(Array.from(a.teacher!)).toEqual(Array.from(a.hr));
    for (const p of ds.pairs) delete p.teacher;
    const b = sampleBatch(ds, new Rng(5), 6);
    expect(b.teacher).toBeUndefined();
    expect(Array.from(b.hr)).toEqual(Array.from(a.hr));
  }, 60_000);

  it('trains towards the teacher: with weight 1 the loss is the distance to the teacher, far below the distance to HR', async () => {
    logs.length = 0;
    const plain = await trainSr({ ...base(), out: path.join(dir, 'plain') });
    const distilled = await trainSr({ ...base(), out: path.join(dir, 'distilled'), distill: { teacher: 'bicubic', ensemble: 2, weight: 1 } });
    expect(logs.some((l) => /^distillation: teacher bicubic with a x2 self-ensemble, weight 1 /.test(l))).toBe(true);
    expect(logs.some((l) => /^distillation: teacher targets for 3 images in \d+ s$/.test(l))).toBe(true);
    // The network adds a residual to a bicubic skip: matching bicubic is easy, matching HR is not.
    expect(distilled.lastLoss).toBeLessThan(plain.lastLoss / 2);
    const summary = JSON.parse(await fs.readFile(path.join(dir, 'distilled', 'summary.json'), 'utf8'));
    expect(summary.options.distill).toEqual({ teacher: 'bicubic', ensemble: 2, weight: 1 });

    await expect(trainSr({ ...base(), out: path.join(dir, 'gan'), gan: true, distill: { teacher: 'bicubic', ensemble: 2, weight: 0.5 } })).rejects.toThrow(/--distill works with clean training without --gan/);
    await expect(trainSr({ ...base(), out: path.join(dir, 'bad'), distill: { teacher: 'bicubic', ensemble: 5, weight: 0.5 } })).rejects.toThrow(/--distill-ensemble/);
  }, 120_000);
});
