/**
 * CUT's identity half in a worker thread (training/tasks/cut/identity-worker.ts): the step computes
 * exactly what the one-thread step computes (metrics and every weight after several real steps, bit
 * for bit, with and without flip equivariance and with WGAN-GP), leaks nothing, is planned only where
 * there is an identity half, and the run loop uses it by default.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../training/backends';
import { nativeThreadCount, setNativeThreads } from '../../training/backends/native/kernels';
import { nativeThreads } from '../../training/backends/native/ort';
import { planIdentityWorker } from '../../training/tasks/cut/identity-worker';
import { CutTrainer, modeDefaults, type CutOptions } from '../../training/tasks/cut/trainer';
import { runCut } from '../../training/tasks/cut/train';
import { expectSameSteps } from '../helpers/same-steps';
import { toyRunOptions, writeToyDataset } from '../helpers/toy-data';

const OPTS: CutOptions = {
  mode: 'cut',
  ...modeDefaults('cut'),
  generator: 'light',
  ngf: 4,
  nBlocks: 1,
  ndf: 4,
  dLayers: 2,
  loss: 'lsgan',
  lambdaGan: 1,
  numPatches: 16,
  nceT: 0.07,
  netFNc: 8,
  gpWeight: 10,
  lr: 2e-3,
  lrD: 2e-3,
  beta1: 0.5,
  batchSize: 2,
  crop: 32,
  steps: 100,
  decayFrom: 50,
  seed: 4,
};

const batch = (k: number, step: number): Float32Array => Float32Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => Math.cos(i * 0.011 * (k + 1) + step * 0.9));

let threadsBefore = 2;
beforeAll(async () => {
  await initBackend({ backend: 'native', log: () => {} });
  threadsBefore = nativeThreadCount();
  setNativeThreads(1); // as in the worker: the same kernels split the same way on both sides
});
afterAll(() => setNativeThreads(threadsBefore));

describe('CUT identity worker', () => {
  for (const over of [{}, { flipEquivariance: true }, { loss: 'wgan-gp' as const }]) {
    it(`computes exactly the one-thread step ${JSON.stringify(over)}: same metrics and weights after 3 steps, nothing leaked`, async () => {
      const one = await CutTrainer.create({ ...OPTS, ...over });
      const two = await CutTrainer.create({ ...OPTS, ...over });
      await two.startIdentityWorker(1);
      expectSameSteps(one, two, (t) => [t.G, t.D, ...t.heads], batch, 3, (m) => expect(m.nceIdt).toBeGreaterThan(0));
      one.dispose();
      two.dispose();
    }, 60_000);
  }

  it('is planned only for CUT with identity NCE, on the CPU backends with two cores', () => {
    expect(planIdentityWorker({ nceIdt: true, lambdaNce: 1 }, 'native', 2)).toEqual({ threads: 1 });
    expect(planIdentityWorker({ nceIdt: false, lambdaNce: 10 }, 'native', 2)).toEqual({ why: expect.stringMatching(/FastCUT/) });
    expect(planIdentityWorker({ nceIdt: true, lambdaNce: 0 }, 'wasm', 2)).toEqual({ why: expect.stringMatching(/no identity NCE/) });
    expect(planIdentityWorker({ nceIdt: true, lambdaNce: 1 }, 'native', 1)).toEqual({ why: expect.stringMatching(/one core/) });
  });

  it('the run loop trains CUT with the worker by default, FastCUT and --no-identity-worker without', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cut-worker-'));
    const data = path.join(tmp, 'toy');
    await writeToyDataset(data, { train: 4, test: 2 });
    const lines: string[] = [];
    const run = async (mode: 'cut' | 'fastcut', identityWorker: boolean) => {
      lines.length = 0;
      const r = await runCut({
        ...toyRunOptions(data, tmp),
        ...OPTS,
        ...modeDefaults(mode),
        mode,
        batchSize: 1,
        backend: 'native',
        steps: 2,
        decayFrom: 1,
        sampleEvery: 2,
        collapseWindow: 3,
        collapseThreshold: 0.02,
        identityWorker,
        log: (l) => lines.push(l),
      });
      expect(r.trainer.step).toBe(2);
      const used = r.trainer.identityWorker !== null;
      r.trainer.dispose();
      return used;
    };
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    expect(await run('cut', true)).toBe(cores >= 2 && nativeThreads() >= 2);
    expect(lines.some((l) => /^identity worker: (the identity NCE half|not used)/.test(l))).toBe(true);
    expect(await run('fastcut', true)).toBe(false);
    expect(lines).toContain('identity worker: not used (no identity NCE (FastCUT): nothing to split)');
    expect(await run('cut', false)).toBe(false);
    await fs.rm(tmp, { recursive: true, force: true });
  }, 120_000);
});
