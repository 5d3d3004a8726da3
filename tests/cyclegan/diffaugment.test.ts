/**
 * DiffAugment in CycleGAN training (tiny networks, 32x32, wasm): real training steps with the
 * policy color,translation,cutout on both discriminators, both adversarial terms and the pooled
 * fakes give finite losses (LSGAN, and WGAN-GP through the double backprop of its penalty); with it
 * off a step equals one without the option (same seed, no extra random draws); a checkpoint keeps
 * the policy and a resume may replace it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../training/backends';
import { Rng } from '../../training/data/unpaired';
import { CycleGanTrainer, type StepMetrics, type TrainerOptions } from '../../training/tasks/cyclegan/trainer';
import { toyCycleGanOptions } from '../helpers/toy-data';

/** One batch (batch 2, 32x32), deterministic. */
const batch = (seed: number) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: 2 * 32 * 32 * 3 }, () => r.next() * 2 - 1);
};

/** Two steps of a fresh trainer (batch 2, pool 2: the second step's D sees pooled fakes): metrics and RNG state. */
async function twoSteps(over: Partial<TrainerOptions>): Promise<{ m: StepMetrics[]; rng: number }> {
  const t = await CycleGanTrainer.create(toyCycleGanOptions({ batchSize: 2, poolSize: 2, ...over }));
  try {
    const m = [t.trainStep(batch(1), batch(2)), t.trainStep(batch(3), batch(4))];
    return { m, rng: t.rng.state };
  } finally {
    t.dispose();
  }
}

const LOSS_KEYS = ['gAdv', 'gAdvA2B', 'gAdvB2A', 'cycle', 'idt', 'dReal', 'dFake', 'gp', 'dAccReal', 'dAccFake', 'gradNormG', 'gradNormD'] as const;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

describe('CycleGAN steps with DiffAugment', () => {
  it('off: the steps equal ones without the option, draw for draw; on: finite losses, other values, more draws', async () => {
    const without = await twoSteps({});
    expect(await twoSteps({ diffAug: 'none' })).toEqual(without);
    const on = await twoSteps({ diffAug: 'color,translation,cutout' });
    for (const m of on.m) {
      expect(m.applied).toBe(true);
      for (const k of LOSS_KEYS) expect(Number.isFinite(m[k]), k).toBe(true);
      expect(m.gradNormG).toBeGreaterThan(0);
      expect(m.gradNormD).toBeGreaterThan(0);
    }
    // the first step's cycle and identity losses do not involve D; its adversarial terms and D's losses do
    expect(on.m[0].cycle).toBe(without.m[0].cycle);
    expect(on.m[0].gAdvA2B).not.toBe(without.m[0].gAdvA2B);
    expect(on.m[0].gAdvB2A).not.toBe(without.m[0].gAdvB2A);
    expect(on.m[0].dReal).not.toBe(without.m[0].dReal);
    expect(on.m[0].dFake).not.toBe(without.m[0].dFake);
    expect(on.rng).not.toBe(without.rng);
    expect(await twoSteps({ diffAug: 'color,translation,cutout' })).toEqual(on);
  });

  it('WGAN-GP: the penalty on D(T(x_hat)) back-propagates twice through the augmentation', async () => {
    const { m } = await twoSteps({ loss: 'wgan-gp', diffAug: 'color,translation,cutout' });
    for (const s of m) {
      expect(s.applied).toBe(true);
      for (const k of LOSS_KEYS) expect(Number.isFinite(s[k]), k).toBe(true);
      expect(s.gp).toBeGreaterThan(0);
    }
  });

  it('a checkpoint keeps the policy; a resume keeps it or replaces it (it is not architecture)', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cyclegan-diffaug-'));
    const t = await CycleGanTrainer.create(toyCycleGanOptions({ diffAug: 'translation' }));
    t.trainStep(batch(1).subarray(0, 32 * 32 * 3), batch(2).subarray(0, 32 * 32 * 3));
    const ck = await t.save(tmp, {}, 1);
    t.dispose();
    const kept = await CycleGanTrainer.resume(ck);
    expect([kept.step, kept.opts.diffAug, kept.diffAugPolicy]).toEqual([1, 'translation', ['translation']]);
    kept.dispose();
    const changed = await CycleGanTrainer.resume(ck, { diffAug: 'color,cutout' });
    expect([changed.opts.diffAug, changed.diffAugPolicy]).toEqual(['color,cutout', ['color', 'cutout']]);
    const m = changed.trainStep(batch(5).subarray(0, 32 * 32 * 3), batch(6).subarray(0, 32 * 32 * 3));
    expect(m.applied).toBe(true);
    changed.dispose();
    await fs.rm(tmp, { recursive: true, force: true });
  });
});
