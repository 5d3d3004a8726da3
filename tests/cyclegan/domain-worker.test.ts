/**
 * Domain-parallel CycleGAN steps (training/tasks/cyclegan/domain-worker.ts): domain B's halves of
 * a step in a worker thread compute exactly what the one-thread step computes (same weights after
 * several real steps, bit for bit, with every GAN loss including WGAN-GP's double backward), leak
 * nothing, refuse a worker whose networks differ, and the run loop uses one where it can.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../training/backends';
import { nativeThreadCount, setNativeThreads } from '../../training/backends/native/kernels';
import { nativeThreads } from '../../training/backends/native/ort';
import { planDomainWorker } from '../../training/tasks/cyclegan/domain-worker';
import { CycleGanTrainer, type TrainerOptions } from '../../training/tasks/cyclegan/trainer';
import { runCycleGan } from '../../training/tasks/cyclegan/train';
import { expectSameSteps } from '../helpers/same-steps';
import { toyRunOptions, writeToyDataset } from '../helpers/toy-data';

const OPTS = {
  generator: 'light',
  ngf: 4,
  nBlocks: 1,
  ndf: 4,
  dLayers: 2,
  lambdaCycle: 10,
  lambdaIdt: 0.5,
  gpWeight: 10,
  poolSize: 2,
  lr: 2e-3,
  lrD: 2e-3,
  beta1: 0.5,
  batchSize: 2,
  crop: 32,
  steps: 100,
  decayFrom: 50,
  seed: 5,
} as Omit<TrainerOptions, 'loss'>;

const batch = (k: number, step: number): Float32Array => Float32Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => Math.sin(i * 0.013 * (k + 1) + step * 0.7));

let threadsBefore = 2;
beforeAll(async () => {
  await initBackend({ backend: 'native', log: () => {} });
  threadsBefore = nativeThreadCount();
  // one onnxruntime thread on both sides, as in the worker: the same kernels split the same way
  setNativeThreads(1);
});
afterAll(() => setNativeThreads(threadsBefore));

describe('domain-parallel CycleGAN step', () => {
  for (const loss of ['lsgan', 'vanilla', 'wgan-gp'] as const) {
    it(`computes exactly the one-thread step (${loss}): same metrics and weights after 3 steps, nothing leaked`, async () => {
      const one = await CycleGanTrainer.create({ ...OPTS, loss });
      const two = await CycleGanTrainer.create({ ...OPTS, loss });
      await two.startDomainWorker(1);
      expectSameSteps(one, two, (t) => [t.G, t.F, t.DA, t.DB], batch);
      one.dispose();
      two.dispose();
    }, 60_000);
  }

  it('a worker whose networks differ from the training thread\'s is refused, saying so', async () => {
    const t = await CycleGanTrainer.create({ ...OPTS, loss: 'lsgan' });
    (t.opts as { ngf: number }).ngf = 8; // the worker would build wider generators
    await expect(t.startDomainWorker(1)).rejects.toThrow(/domain worker did not start: .*differ/);
    t.dispose();
  }, 60_000);

  it('an error in the worker comes back as an error of the training thread, naming the request', async () => {
    const t = await CycleGanTrainer.create({ ...OPTS, loss: 'lsgan' });
    await t.startDomainWorker(1);
    expect(() => t.domainB!.request('bogus')).toThrow(/domain worker \(bogus request\): Error: unknown request 'bogus'/);
    // the worker is still usable afterwards
    expect(t.trainStep(batch(0, 0), batch(1, 0)).applied).toBe(true);
    // a step that fails while the worker computes its half leaves the worker idle for the next one
    const halfOf = t.generatorHalfOf.bind(t);
    t.generatorHalfOf = (domain, real) => {
      if (domain === 'a') throw new Error('half a failed');
      return halfOf(domain, real);
    };
    expect(() => t.trainStep(batch(0, 1), batch(1, 1))).toThrow('half a failed');
    t.generatorHalfOf = halfOf;
    expect(t.trainStep(batch(0, 2), batch(1, 2)).applied).toBe(true);
    t.dispose();
  }, 60_000);

  it('is planned only where it can run: CPU backends, two or more cores, no DiffAugment', () => {
    expect(planDomainWorker({}, 'native', 2)).toEqual({ threads: 1 });
    expect(planDomainWorker({}, 'native', 4)).toEqual({ threads: 2 });
    expect(planDomainWorker({}, 'wasm', 2)).toEqual({ threads: 1 });
    expect(planDomainWorker({}, 'native', 1)).toEqual({ why: expect.stringMatching(/GANVAS_NATIVE_THREADS=1/) });
    expect(planDomainWorker({ diffAug: 'color,translation' }, 'native', 2)).toEqual({ why: expect.stringMatching(/DiffAugment/) });
    expect(planDomainWorker({ diffAug: 'none' }, 'native', 2)).toEqual({ threads: 1 });
    expect(planDomainWorker({}, 'webgpu', 8)).toEqual({ why: expect.stringMatching(/webgpu/) });
  });

  it('the run loop trains with a worker by default, and without one on --no-domain-worker', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-domain-'));
    const data = path.join(tmp, 'toy');
    await writeToyDataset(data, { train: 4, test: 2 });
    const lines: string[] = [];
    const run = async (domainWorker: boolean) => {
      lines.length = 0;
      const r = await runCycleGan({ ...toyRunOptions(data, tmp), backend: 'native', lambdaCycle: 10, lambdaIdt: 0.5, poolSize: 3, steps: 2, decayFrom: 1, sampleEvery: 2, domainWorker, log: (l) => lines.push(l) });
      expect(r.trainer.step).toBe(2);
      const hasWorker = r.trainer.domainB !== null;
      r.trainer.dispose();
      return hasWorker;
    };
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    expect(await run(true)).toBe(cores >= 2 && nativeThreads() >= 2);
    expect(lines.some((l) => /^domain worker: (domain B's halves|not used)/.test(l))).toBe(true);
    expect(await run(false)).toBe(false);
    expect(lines).toContain("domain worker: off (--no-domain-worker): both domains' halves of a step on this thread");
    await fs.rm(tmp, { recursive: true, force: true });
  }, 120_000);
});
