/**
 * DiffAugment in CUT training (tiny networks, 32x32, wasm): real training steps with
 * --diffaug color,translation,cutout give finite losses (LSGAN, and WGAN-GP whose penalty
 * back-propagates twice through the augmentation), with it off a step equals one without the
 * option (same seed, no extra random draws), the --diffaug flag of both GAN commands, and --resume
 * keeping or changing the policy while changed architecture flags are still refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../../training/backends';
import { Rng } from '../../training/data/unpaired';
import { findLatestCheckpoint, readCheckpointState } from '../../training/checkpoint';
import { runCut, type CutRunOptions } from '../../training/tasks/cut/train';
import { CutTrainer, modeDefaults, type CutOptions, type CutStepMetrics } from '../../training/tasks/cut/trainer';
import { cutRunOptionsFromCli, registerCutCommands } from '../../training/tasks/cut/command';
import { cycleganRunOptionsFromCli, registerCycleGanCommands } from '../../training/tasks/cyclegan/command';
import { toyRunOptions, writeToyDataset } from '../helpers/toy-data';

let tmp: string;
let data: string;

const base = (over: Partial<CutRunOptions> = {}): CutRunOptions => ({
  ...toyRunOptions(data, tmp),
  mode: 'cut',
  ...modeDefaults('cut'),
  lambdaGan: 1,
  numPatches: 16,
  nceT: 0.07,
  netFNc: 8,
  steps: 2,
  decayFrom: 1,
  sampleEvery: 100,
  collapseWindow: 3,
  collapseThreshold: 0.02,
  ...over,
});

/** One batch of real x and y (batch 2, 32x32), deterministic. */
const batch = (seed: number) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: 2 * 32 * 32 * 3 }, () => r.next() * 2 - 1);
};

/** One step of a fresh trainer built from `o` (batch 2): its metrics and the RNG state after it. */
async function oneStep(o: CutOptions): Promise<{ m: CutStepMetrics; rng: number }> {
  const t = await CutTrainer.create({ ...o, batchSize: 2 });
  try {
    const m = t.trainStep(batch(1), batch(2));
    return { m, rng: t.rng.state };
  } finally {
    t.dispose();
  }
}

const LOSS_KEYS = ['gAdv', 'nce', 'nceIdt', 'dReal', 'dFake', 'gp', 'dAccReal', 'dAccFake', 'gradNormG', 'gradNormD', 'identityDistance'] as const;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cut-diffaug-'));
  data = path.join(tmp, 'toy');
  await writeToyDataset(data, { train: 3, test: 1 });
});

describe('CUT step with DiffAugment', () => {
  it('off: the step equals one without the option, draw for draw; on: finite losses, other values, more draws', async () => {
    const without = await oneStep(base());
    const none = await oneStep(base({ diffAug: 'none' }));
    const empty = await oneStep(base({ diffAug: '' }));
    expect(none).toEqual(without);
    expect(empty).toEqual(without);
    const on = await oneStep(base({ diffAug: 'color,translation,cutout' }));
    expect(on.m.applied).toBe(true);
    for (const k of LOSS_KEYS) expect(Number.isFinite(on.m[k]), k).toBe(true);
    expect(on.m.gradNormG).toBeGreaterThan(0);
    expect(on.m.gradNormD).toBeGreaterThan(0);
    // D saw other images (G's adversarial term and D's losses change; NCE does not involve D)
    expect(on.m.gAdv).not.toBe(without.m.gAdv);
    expect(on.m.dReal).not.toBe(without.m.dReal);
    expect(on.m.nce).toBe(without.m.nce);
    expect(on.rng).not.toBe(without.rng);
    // the same seed reproduces the augmented step exactly
    expect(await oneStep(base({ diffAug: 'color,translation,cutout' }))).toEqual(on);
  });

  it('WGAN-GP: the penalty on D(T(x_hat)) back-propagates twice through the augmentation', async () => {
    const { m } = await oneStep(base({ loss: 'wgan-gp', diffAug: 'color,translation,cutout' }));
    expect(m.applied).toBe(true);
    for (const k of LOSS_KEYS) expect(Number.isFinite(m[k]), k).toBe(true);
    expect(m.gp).toBeGreaterThan(0);
  });
});

describe('--diffaug on the command line', () => {
  function parse(task: 'cyclegan' | 'cut', args: string[]) {
    const train = new Command('train').exitOverride();
    registerCycleGanCommands(train, new Command('eval'));
    registerCutCommands(train);
    const cmd = train.commands.find((c) => c.name() === task)!;
    cmd.exitOverride().configureOutput({ writeErr: () => {} }).action(() => {});
    cmd.parse(['--data', 'x', ...args], { from: 'user' });
    const fromCli = (name: string) => cmd.getOptionValueSource(name) === 'cli';
    return task === 'cyclegan' ? cycleganRunOptionsFromCli(cmd.opts(), fromCli) : cutRunOptionsFromCli(cmd.opts(), fromCli);
  }
  for (const task of ['cyclegan', 'cut'] as const) {
    it(`${task}: off by default (a resume keeps the saved policy), a given policy is normalised and replaces it, bad words are refused`, () => {
      const d = parse(task, []);
      expect([d.diffAug, d.keepSavedDiffAug]).toEqual(['none', true]);
      const on = parse(task, ['--diffaug', 'color, Translation,cutout']);
      expect([on.diffAug, on.keepSavedDiffAug]).toEqual(['color,translation,cutout', false]);
      expect(parse(task, ['--diffaug', 'none']).keepSavedDiffAug).toBe(false);
      expect(() => parse(task, ['--diffaug', 'color,blur'])).toThrow(/unknown augmentation "blur"; valid: color, translation, cutout/);
    });
  }
});

describe('CUT --resume with DiffAugment', () => {
  it('keeps the saved policy unless one is given, may change it, and still refuses changed architecture flags', async () => {
    const o = base({ diffAug: 'color' });
    (await runCut(o)).trainer.dispose();
    const ck = path.join(o.out, 'checkpoints');
    // as the CLI without --diffaug: the checkpoint's policy
    let r = await runCut({ ...o, resume: true, steps: 3, diffAug: 'none', keepSavedDiffAug: true, explicit: [] });
    expect([r.trainer.step, r.trainer.opts.diffAug]).toEqual([3, 'color']);
    r.trainer.dispose();
    // --diffaug given: it replaces the saved one, saved with the next checkpoint
    const lines: string[] = [];
    r = await runCut({ ...o, resume: true, steps: 4, diffAug: 'color,translation,cutout', keepSavedDiffAug: false, explicit: [], log: (l) => lines.push(l) });
    expect([r.trainer.step, r.trainer.opts.diffAug]).toEqual([4, 'color,translation,cutout']);
    expect(r.trainer.diffAugPolicy).toEqual(['color', 'translation', 'cutout']);
    expect(lines).toContain('DiffAugment now color,translation,cutout (the checkpoint trained with color)');
    r.trainer.dispose();
    const latest = (await findLatestCheckpoint(ck))!;
    const st = await readCheckpointState(latest);
    expect(st.step).toBe(4);
    expect((st.state.options as CutOptions).diffAug).toBe('color,translation,cutout');
    // the architecture check still works next to a changed policy
    await expect(runCut({ ...o, resume: true, steps: 5, diffAug: 'cutout', keepSavedDiffAug: false, ngf: 8, explicit: ['ngf'] })).rejects.toThrow(
      /--ngf 8 \(the checkpoint has 4\).*drop these flags/,
    );
  });
});
