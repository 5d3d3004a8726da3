/** The options of a tiny real SR training run (a few steps of a small real-time network on wasm), for tests. */
import type { SrTrainOptions } from '../../training/tasks/sr/train';

export function tinySrOptions(data: string, log: (s: string) => void, overrides: Partial<SrTrainOptions> = {}): SrTrainOptions {
  return {
    tier: 'real-time',
    scale: 2,
    data,
    out: '',
    steps: 6,
    batch: 2,
    patch: 12,
    lr: 1e-3,
    lrMin: 1e-5,
    schedule: 'cosine',
    warmup: 2,
    resume: false,
    seed: 7,
    backend: 'wasm',
    features: [16, 8],
    valSet: 'Set5',
    valEvery: 0,
    valLimit: 1,
    ckptEvery: 3,
    keep: 2,
    gan: false,
    ganLoss: 'bce',
    advWeight: 5e-3,
    dLr: 1e-4,
    progress: false,
    log,
    ...overrides,
  };
}
