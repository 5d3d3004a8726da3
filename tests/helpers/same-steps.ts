/**
 * Two trainers built alike, stepped alike: every step's metrics equal, every weight equal to the
 * last bit at the end (after a real change), and no tensors leaked between the last steps. The
 * half-step worker tests (tests/cyclegan/domain-worker.test.ts, tests/cut/identity-worker.test.ts)
 * compare a one-thread trainer with one whose worker computes part of each step.
 */
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

interface Stepped {
  trainStep(a: Float32Array, b: Float32Array): { applied: boolean };
}

const weightsOf = (models: LayersModel[]): Float32Array[] => models.flatMap((m) => m.getWeights().map((w) => w.dataSync() as Float32Array));

export function expectSameSteps<T extends Stepped>(
  one: T,
  two: T,
  models: (t: T) => LayersModel[],
  batch: (k: number, step: number) => Float32Array,
  steps = 3,
  check: (m: ReturnType<T['trainStep']>) => void = () => {},
): void {
  const start = weightsOf(models(one)).map((w) => w.slice());
  const counts: number[] = [];
  for (let s = 0; s < steps; s++) {
    const m1 = one.trainStep(batch(0, s), batch(1, s));
    const m2 = two.trainStep(batch(0, s), batch(1, s));
    expect(m2).toEqual(m1);
    expect(m1.applied).toBe(true);
    check(m1 as ReturnType<T['trainStep']>);
    counts.push(tf.memory().numTensors);
  }
  expect(counts[steps - 1]).toBe(counts[steps - 2]);
  const w1 = weightsOf(models(one));
  const w2 = weightsOf(models(two));
  expect(w2.length).toBe(w1.length);
  // a real change happened, and it is the same change to the last bit
  expect(w1.some((w, i) => w.some((v, j) => v !== start[i][j]))).toBe(true);
  for (let i = 0; i < w1.length; i++) expect(Buffer.from(w2[i].buffer).equals(Buffer.from(w1[i].buffer))).toBe(true);
}
